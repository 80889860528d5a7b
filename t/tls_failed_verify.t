# SSLVerifyClient optional_no_ca lets a certificate through that fails
# verification (self-signed, another CA's): mod_ssl then reports
# SSL_CLIENT_VERIFY=FAILED:<reason>, not GENEROUS, and hands the
# application the certificate's names (SSL_CLIENT_S_DN_CN) all the same.
# A request with any client certificate, verified or not, bypasses: the
# page made for it is never stored (normal and quick mode).  Found by an
# outside attack (round 64): a client without a certificate got mallory's
# page.  SharedCache Off is the control.
use strict;
use warnings;
use Test::More;
use SCTest;

my $pki = SCTest::test_pki();   # CA, server 127.0.0.1, alice, bob
my $quiet = sub { system("@_ >/dev/null 2>&1") == 0 or die "failed: @_" };
my $ec = '-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes';
# mallory: self-signed; eve: signed by a CA the server does not know
$quiet->("openssl req -x509 -new -days 2 -subj /CN=mallory $ec"
         . " -keyout $pki/mallory.key -out $pki/mallory.crt");
$quiet->("openssl req -x509 -new -days 2 -subj /CN=other-ca $ec"
         . " -keyout $pki/oca.key -out $pki/oca.crt");
$quiet->("openssl req -new -subj /CN=eve $ec -keyout $pki/eve.key -out $pki/eve.csr");
$quiet->("openssl x509 -req -days 2 -CAcreateserial -in $pki/eve.csr"
         . " -CA $pki/oca.crt -CAkey $pki/oca.key -out $pki/eve.crt");
chmod 0644, glob "$pki/*";

my $mc = SCTest::Memcached->start;
for my $mode ('off', 'normal', 'quick') {
    my $tls = SCTest::free_port();
    my $sc = $mode eq 'off' ? 'Off' : 'On';
    my $quick = $mode eq 'quick' ? 'SharedCacheQuickHandler On' : '';
    my $ap = SCTest::Apache->start(
        memcached => [$mc],
        modules => [qw(ssl socache_shmcb)],
        conf => SCTest::PKI::tls_vhost($pki, $tls, <<"CONF"));
    SSLVerifyClient optional_no_ca
    SSLOptions +StdEnvVars
    <Location /app>
        SharedCache $sc
        SharedCacheTTL 60
        $quick
    </Location>
CONF
    my $get = sub { SCTest::PKI::tls_get($ap, $pki, $tls, @_) };
    for my $who ('mallory', 'eve') {
        my $p = "/app/$mode-$who?env=SSL_CLIENT_VERIFY,SSL_CLIENT_S_DN_CN";
        my $own = $get->($p, $who);
        like($own->{body}, qr/SSL_CLIENT_VERIFY='FAILED/,
             "$mode: $who's certificate fails verification and is let through");
        like($own->{body}, qr/DN_CN='$who'/, "$mode: $who gets $who\'s page");
        $get->($p, $who);
        unlike($get->($p)->{body}, qr/DN_CN='$who'/,
               "$mode: a client without a certificate never gets $who\'s page");
        unlike($get->($p, 'alice')->{body}, qr/DN_CN='$who'/,
               "$mode: nor alice");
    }
    $ap->stop;
}
done_testing;
