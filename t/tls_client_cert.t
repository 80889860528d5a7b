# TLS client certificates without SSLUserName: the application gets the
# identity from mod_ssl's environment (SSLOptions +StdEnvVars:
# SSL_CLIENT_S_DN_CN, SSL_CLIENT_CERT, ...), r->user stays NULL, there is no
# Authorization header, so nothing bypasses: alice's page is stored and
# served to an anonymous client and to bob.  (RequestHeader copies the
# variable into a header only so that the test app can show it: a real app
# reads the environment variable.)
# sc-test: alone (it measures time; make prove runs the others two at a time)
use strict;
use warnings;
use Test::More;
use Time::HiRes qw(sleep time);
use SCTest;

my $pki = SCTest::test_pki();   # CA, server 127.0.0.1, alice, bob

my $tls = SCTest::free_port();
my $mc = SCTest::Memcached->start;
my $ap = SCTest::Apache->start(
    memcached => [$mc],
    modules => [qw(ssl socache_shmcb)],
    conf => SCTest::PKI::tls_vhost($pki, $tls, <<"CONF"));
    SSLVerifyClient optional
    SSLOptions +StdEnvVars
    RequestHeader set X-Cert-CN "%{SSL_CLIENT_S_DN_CN}s"
    <Location /app>
        SharedCache On
        SharedCacheTTL 60
    </Location>
CONF

# GET over TLS as alice, bob or nobody (SCTest::PKI::tls_get).
sub tls_get { SCTest::PKI::tls_get($ap, $pki, $tls, @_) }

sub token { $_[0]{body} =~ /token=([0-9a-f]{32})/ ? $1 : '' }

my $p = '/app/me?reflect=X-Cert-CN';
my $a1 = tls_get($p, 'alice');
like($a1->{body}, qr/^reflected=alice$/m, 'alice: rendered for alice (control)');
diag("alice: $a1->{cache}");
my $n1 = tls_get($p);
diag("anonymous: $n1->{cache} $n1->{body}");
unlike($n1->{body}, qr/alice/, 'LEAK if failing: a client without a certificate gets alice\'s page');
my $b1 = tls_get($p, 'bob');
diag("bob: $b1->{cache} $b1->{body}");
unlike($b1->{body}, qr/alice/, 'LEAK if failing: bob gets alice\'s page');
$ap->stop;
done_testing;
