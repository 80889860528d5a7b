# TLS client certificates without SSLUserName: the application gets the
# identity from mod_ssl's environment (SSLOptions +StdEnvVars:
# SSL_CLIENT_S_DN_CN, SSL_CLIENT_CERT, ...), r->user stays NULL, there is no
# Authorization header, so nothing bypasses: alice's page is stored and
# served to an anonymous client and to bob.  (RequestHeader copies the
# variable into a header only so that the test app can show it: a real app
# reads the environment variable.)
use strict;
use warnings;
use Test::More;
use Time::HiRes qw(sleep time);
use SCTest;

my $pki = SCTest::workdir();
# Run a command quietly (openssl chats on stderr); die if it fails.
sub run {
    open my $err, '>&', \*STDERR or die $!;
    open STDERR, '>', "$pki/openssl.log" or die $!;
    my $rc = system(@_);
    open STDERR, '>&', $err or die $!;
    $rc == 0 or die "failed (see $pki/openssl.log): @_";
}
sub ext_file {
    my ($name, $text) = @_;
    open my $fh, '>', "$pki/$name.ext" or die $!;
    print $fh $text;
    close $fh;
    return "$pki/$name.ext";
}
my @ec = ('-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1',
          '-nodes');
run(qw(openssl req -x509 -new -days 2 -subj /CN=sc-test-ca), @ec,
    '-keyout', "$pki/ca.key", '-out', "$pki/ca.crt");
for ([server => '127.0.0.1', "subjectAltName=IP:127.0.0.1\n"
                             . "extendedKeyUsage=serverAuth\n"],
     [alice => 'alice', "extendedKeyUsage=clientAuth\n"],
     [bob => 'bob', "extendedKeyUsage=clientAuth\n"]) {
    my ($name, $cn, $ext) = @$_;
    run(qw(openssl req -new), @ec, '-subj', "/CN=$cn",
        '-keyout', "$pki/$name.key", '-out', "$pki/$name.csr");
    run(qw(openssl x509 -req -days 2 -CAcreateserial),
        '-in', "$pki/$name.csr", '-CA', "$pki/ca.crt", '-CAkey',
        "$pki/ca.key", '-out', "$pki/$name.crt",
        '-extfile', ext_file($name, "basicConstraints=CA:FALSE\n$ext"));
}
chmod 0644, glob "$pki/*";

my $tls = SCTest::free_port();
my $mc = SCTest::Memcached->start;
my $ap = SCTest::Apache->start(
    memcached => [$mc],
    modules => [qw(ssl socache_shmcb)],
    conf => <<"CONF");
Listen 127.0.0.1:$tls
SSLSessionCache shmcb:\@DIR\@/ssl_scache(512000)
<VirtualHost 127.0.0.1:$tls>
    ServerName 127.0.0.1
    SSLEngine on
    SSLCertificateFile $pki/server.crt
    SSLCertificateKeyFile $pki/server.key
    SSLCACertificateFile $pki/ca.crt
    SSLVerifyClient optional
    SSLVerifyDepth 2
    SSLOptions +StdEnvVars
    RequestHeader set X-Cert-CN "%{SSL_CLIENT_S_DN_CN}s"
    <Location /app>
        SharedCache On
        SharedCacheTTL 60
    </Location>
</VirtualHost>
CONF

sub log_lines {
    open my $fh, '<', $ap->dir . '/access_log' or return 0;
    my $n = 0;
    $n++ while <$fh>;
    return $n;
}

# GET over TLS as alice, bob or nobody (no certificate).  curl stops at the
# end of the body; waiting for the access log line makes sure the request
# (and the store after a MISS) is over before the next one is sent.
sub tls_get {
    my ($path, $who) = @_;
    my @cert = $who ? ('--cert', "$pki/$who.crt", '--key', "$pki/$who.key")
                    : ();
    my $before = log_lines();
    open my $fh, '-|', 'curl', '-sS', '-i', '--http1.1', '--max-time', '30',
        '--cacert', "$pki/ca.crt", @cert, "https://127.0.0.1:$tls$path"
        or die "curl: $!";
    my $out = do { local $/; <$fh> } // '';
    close $fh;
    my $until = time + 5;
    sleep 0.02 while log_lines() <= $before && time < $until;
    my ($head, $body) = split /\r\n\r\n/, $out, 2;
    my ($status) = ($head // '') =~ m{^HTTP/\S+ (\d{3})};
    my ($cache) = ($head // '') =~ /^X-SharedCache: (\S+)/mi;
    return { status => $status // 0, cache => $cache // '',
             body => $body // '' };
}

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
