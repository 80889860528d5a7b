# F1 in the README's load-balancer recipe: mod_remoteip consumes the load
# balancer's X-Forwarded-For (so the request no longer bypasses), mod_proxy
# forwards the real client's address to the backend as X-Forwarded-For;
# the backend's Vary: X-Forwarded-For is not honoured.  (The backend here is the
# same Apache, whose mod_remoteip turns the X-Forwarded-For into REMOTE_ADDR.)
use strict;
use warnings;
use Test::More;
use SCTest;

my $mc = SCTest::Memcached->start;
my $ap = SCTest::Apache->start(memcached => [$mc],
                               modules => [qw(proxy proxy_http remoteip)],
                               conf => <<'CONF');
RemoteIPHeader X-Forwarded-For
RemoteIPTrustedProxy 127.0.0.1
<Location /app/raw>
    SharedCache Off
</Location>
ProxyPass /px/ http://127.0.0.1:@PORT@/app/raw/
<Location /px>
    SharedCache On
    SharedCacheTTL 60
</Location>
CONF
my $page = '/px/a?vary=X-Forwarded-For&env=REMOTE_ADDR';
# the load balancer (127.0.0.1) forwards two clients
my $one = $ap->raw('GET', $page, 'X-Forwarded-For' => '198.51.100.7');
my $two = $ap->raw('GET', $page, 'X-Forwarded-For' => '203.0.113.9');
diag("client 198.51.100.7: ".($one->{headers}{'x-sharedcache'}//'')." $one->{body}");
diag("client 203.0.113.9: ".($two->{headers}{'x-sharedcache'}//'')." $two->{body}");
like($two->{body}, qr/203\.0\.113\.9/, 'the second client gets a page rendered for its address');
$ap->stop;
done_testing;
