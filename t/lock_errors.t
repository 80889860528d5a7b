# The fill lock and a render that ends as an error: a 5xx of the backend,
# or any error an ErrorDocument answers (a 404 that ProxyErrorOverride
# replaces).  Nothing is stored, so the requests waiting on the lock must
# not take it over one after the other, each rendering the error again:
# six clients of a page whose render takes 0.7 s were answered after 0.7,
# 1.4, ... 4.2 s (found by the outside attack).  Now the lease is left
# marked: a 5xx for two seconds (a failing backend is tried again soon),
# another error for SharedCacheLockTimeout, as an uncacheable response;
# the waiters render at once, as they would without the cache.  So do
# the waiters of a response refused before any decision: a status the
# cache does not keep (403, 201), a Content-Length above
# SharedCacheMaxSize (they were let go unmarked, and took the lease over
# one after the other: found by the outside attack).  A refusal that is
# not a failure marks the lease when a second render in a row is refused
# (one client could shape the first): at most two renders in a row,
# 1.4 s here, then the rest at once; one after the other took 4.2 s.
use strict;
use warnings;
use Test::More;
use SCTest;

my $mc = SCTest::Memcached->start;
my $port = SCTest::free_port();
my $ap = SCTest::Apache->start(memcached => [$mc], port => $port,
    modules => [qw(proxy proxy_http)], files => { 'err.html' => "custom error\n" },
    conf => <<"CONF");
ProxyPass /px/ http://127.0.0.1:$port/app/raw/
<Location /px/>
    ProxyErrorOverride On
</Location>
ErrorDocument 404 /err.html
ErrorDocument 500 /err.html
<Location />
    SharedCache On
    SharedCacheTTL 60
    SharedCacheMaxSize 100000
</Location>
<Location /app/raw>
    SharedCache Off
</Location>
CONF
my $n = 0;
for my $case (['/app', 'status=500'], ['/app', 'status=503'],
              ['/px', 'status=404&cc=max-age%3D60'], ['/px', 'status=500'],
              ['/app', 'cc=no-store'], ['/app', 'status=403&cc=max-age%3D60'],
              ['/app', 'status=201&cc=max-age%3D60'],
              ['/app', 'size=200000&cc=max-age%3D60']) {
    my ($pre, $q) = @$case;
    my $u = "$pre/c" . $n++ . "?$q&sleep=700";
    my @r = $ap->parallel_get($u, total => 6, conns => 6);
    my @ms = sort { $a <=> $b } map { $_->{ms} } @r;
    cmp_ok($ms[-1], '<', 3200, "$u: six clients at once, the last answered after "
           . int($ms[-1]) . ' ms, not queued render after render');
}
$ap->stop(allow => [qr/AH01/]);
done_testing;
