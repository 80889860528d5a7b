# SharedCacheQuickHandler next to mod_ssl's access rules (THREATS 36):
# a per-directory SSLVerifyClient require (renegotiation, TLS 1.2), with
# and without SSLUserName.  (An SSLRequire, which may deny by anything,
# fails configtest next to quick mode, t/quick_denylist.t, and so does a
# Require user in a quick location, t/config.t.)  Alice, whose
# certificate the rules accept, gets the pages; a client without a
# certificate must never get them, neither from the quick handler nor
# from the normal one.  A public page of the same virtual host still gets quick HITs over
# TLS (control).  Two rules make this hold: a request with a verified
# client certificate bypasses the cache (nothing of alice's is stored),
# and the quick-mode probe never vouches for an entry from a connection
# that carries a certificate (it cannot make such a connection anonymous).
# With SharedCacheVaryByUser On and SSLUserName, alice's pages are stored
# under her name: they must still never be quick-servable.
use strict;
use warnings;
use Test::More;
use SCTest;

my $pki = SCTest::test_pki();   # CA, server 127.0.0.1, alice, bob
my $tls = SCTest::free_port();
my $mc = SCTest::Memcached->start;
my $ap = SCTest::Apache->start(
    memcached => [$mc],
    modules => [qw(ssl socache_shmcb)],
    conf => <<"CONF");
LogLevel warn sharedcache:trace1 ssl:warn
Listen 127.0.0.1:$tls
SSLSessionCache shmcb:\@DIR\@/ssl_scache(512000)
<VirtualHost 127.0.0.1:$tls>
    ServerName 127.0.0.1
    SSLEngine on
    SSLProtocol -all +TLSv1.2
    SSLCertificateFile $pki/server.crt
    SSLCertificateKeyFile $pki/server.key
    SSLCACertificateFile $pki/ca.crt
    SSLVerifyDepth 2
    <Location /app/quick>
        SharedCache On
        SharedCacheTTL 60
        SharedCacheQuickHandler On
    </Location>
    <Location /app/quick/req>
        SSLVerifyClient require
    </Location>
    <Location /app/quick/user>
        SSLVerifyClient require
        SSLUserName SSL_CLIENT_S_DN_CN
        SharedCacheVaryByUser On
    </Location>
</VirtualHost>
CONF

sub tls_get { SCTest::PKI::tls_get($ap, $pki, $tls, @_) }

# the control: quick mode works on this virtual host
tls_get('/app/quick/pub');
my $pub = tls_get('/app/quick/pub');
is($pub->{cache}, 'HIT', 'a public page is a HIT over TLS');
like($ap->error_log, qr/served by the quick handler/, 'and from the quick handler');

# who must be refused: any valid certificate passes "require"
my %refused = (req => [undef], user => [undef]);
for my $where ('req', 'user') {
    my $path = "/app/quick/$where/page";
    my $a1 = tls_get($path, 'alice');
    is($a1->{status}, 200, "$where: alice gets the page (control)");
    my $a2 = tls_get($path, 'alice');
    is($a2->{status}, 200, "$where: and again");
    for my $who (@{ $refused{$where} }) {
        my $name = $who // 'a client without a certificate';
        my $r = tls_get($path, $who);
        isnt($r->{status}, 200,
             "LEAK if failing: $where: $name does not get alice's page")
            or diag("$r->{status} $r->{cache} $r->{body}");
    }
}
$ap->stop(allow => [qr/AH02039|AH02261|AH02229|AH02219|AH02008|AH02255|peer did not return a certificate/]);
done_testing;
