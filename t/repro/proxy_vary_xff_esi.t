# F1 for an ESI fragment: the fragment comes through mod_proxy_http from a
# backend that renders per X-Forwarded-For and sends Vary: X-Forwarded-For.
use strict;
use warnings;
use Test::More;
use SCTest;

my $mc = SCTest::Memcached->start;
my $ap = SCTest::Apache->start(memcached => [$mc],
                               modules => [qw(proxy proxy_http)],
                               conf => <<'CONF');
<Location /app>
    SharedCache On
    SharedCacheTTL 60
    SharedCacheESI On
</Location>
<Location /app/raw>
    SharedCache Off
</Location>
ProxyPass /px/ http://127.0.0.1:@PORT@/app/raw/
<Location /px>
    SharedCache On
    SharedCacheTTL 60
</Location>
CONF
my $page = esi_page('/app/page', 'shell ' . esi_inc('/px/frag?vary=X-Forwarded-For&reflect=X-Forwarded-For&cc=max-age%3D60'), '&cc=max-age%3D60');
my $one = $ap->raw('GET', $page, _from => '127.0.0.1');
my $two = $ap->raw('GET', $page, _from => '127.0.0.5');
my ($r2) = $two->{body} =~ /reflected=(\S*)/;
diag("127.0.0.1: $one->{status} ".($one->{headers}{'x-sharedcache'}//'')." body=$one->{body}");
diag("127.0.0.5: $two->{status} ".($two->{headers}{'x-sharedcache'}//'')." body=$two->{body}");
is($r2, '127.0.0.5', 'the second client gets a fragment rendered for itself');
$ap->stop;
done_testing;
