# Cache-Status (RFC 9211) on every decision: what was served from the
# cache and how fresh it is, why a request went to the application, and
# why a response was not stored, in the tokens the README lists.
use strict;
use warnings;
use Test::More;
use SCTest;

my $mc = SCTest::Memcached->start;
my $ap = SCTest::Apache->start(memcached => [$mc], wsgi_processes => 2,
                               conf => <<'CONF');
<Location /app>
    SharedCache On
    SharedCacheTTL 60
</Location>
<Location /app/small>
    SharedCacheMaxSize 100
</Location>
<Location /app/quiet>
    SharedCacheHeader Off
</Location>
<Location /app/bypass>
    SharedCacheBypassCookie nocache
</Location>
CONF

# The Cache-Status field of a response, its lines joined as one list.
sub cs {
    my ($res) = @_;
    my $v = $res->{headers}{'cache-status'};
    return join(', ', ref $v ? @$v : defined $v ? ($v) : ());
}

# --- served from the cache, and how it got there -------------------------
my $miss = $ap->get('/app/p1');
like(cs($miss), qr/^sharedcache; fwd=uri-miss; fwd-status=200; stored; ttl=60$/,
     'a miss that is stored: fwd=uri-miss, the status, stored, its ttl');
my $hit = $ap->get('/app/p1');
cache_is($hit, 'HIT', 'then a hit');
like(cs($hit), qr/^sharedcache; hit; ttl=(59|60)$/,
     'a hit: hit and the seconds of freshness left');

$ap->get('/app/v1?vary=Accept-Language', 'Accept-Language' => 'en');
like(cs($ap->get('/app/v1?vary=Accept-Language', 'Accept-Language' => 'fr')),
     qr/^sharedcache; fwd=vary-miss; fwd-status=200; stored/,
     'a Vary record without the variant asked for: fwd=vary-miss');

# An entry whose page was invalidated is there, but not served.
$ap->get('/app/inv1');
$ap->request('POST', '/app/inv1');
like(cs($ap->get('/app/inv1')), qr/^sharedcache; fwd=stale; fwd-status=200; stored/,
     'an invalidated entry: fwd=stale');

# Two requests at once for a page that takes 1 s: one renders, the other
# waits for its store (the fill lock) and says so.
my @both = SCTest::Apache->burst([$ap, '/app/slow?sleep=1000'],
                                 [$ap, '/app/slow?sleep=1000']);
my @cs = sort map { cs($_) } @both;
like($cs[0], qr/^sharedcache; fwd=uri-miss; fwd-status=200; stored/,
     'the fill lock: one request renders');
like($cs[1], qr/^sharedcache; hit; collapsed; ttl=\d+$/,
     'the other is a hit, collapsed with it');

# --- why a response was not stored ---------------------------------------
my @refused = (
    [ '/app/u1?cookie=1',   'set-cookie' ],
    [ '/app/u2?cc=private', 'private' ],
    [ '/app/u3?cc=no-store', 'no-store' ],
    [ '/app/u4?cc=no-cache', 'no-cache' ],
    [ '/app/u5?vary=*',     'vary-star' ],
    [ '/app/u6?status=418&cc=max-age%3D60', 'status' ],
    [ '/app/u7?cc=max-age%3D0', 'no-freshness' ],
    [ '/app/small/u8?size=500', 'too-large' ],
    [ '/app/u9?sc=no-store', 'targeted-refusal' ],
);
for my $c (@refused) {
    my ($path, $detail) = @$c;
    my $r = $ap->get($path);
    cache_is($r, 'UNCACHEABLE', "$detail: UNCACHEABLE");
    like(cs($r), qr/^sharedcache; fwd=uri-miss; fwd-status=\d+; detail=\Q$detail\E$/,
         "$path: not stored, detail=$detail");
}
like(cs($ap->get('/app/u10', 'Cache-Control' => 'no-store')),
     qr/; detail=request-no-store$/, 'the request said no-store');
like(cs($ap->request('HEAD', '/app/u11')),
     qr/^sharedcache; fwd=uri-miss; fwd-status=200; detail=head$/,
     'a HEAD miss has no body to store');

# --- why a request did not use the cache ---------------------------------
like(cs($ap->request('POST', '/app/p1')), qr/^sharedcache; fwd=method$/,
     'a POST: fwd=method');
like(cs($ap->get('/app/p1', Authorization => 'Basic dTpw')),
     qr/^sharedcache; fwd=bypass; detail=authorization$/,
     'credentials: fwd=bypass, detail=authorization');
like(cs($ap->get('/app/bypass/p', Cookie => 'nocache=1')),
     qr/^sharedcache; fwd=bypass; detail=bypass-cookie$/,
     'a SharedCacheBypassCookie: detail=bypass-cookie');

# --- a cache before this one (a proxied backend's) ------------------------
my $up = $ap->get('/app/up?hdr=Cache-Status:upstream%3B%20hit');
is(cs($up), 'upstream; hit, sharedcache; fwd=uri-miss; fwd-status=200; stored; ttl=60',
   "the backend's Cache-Status first, this cache's last (RFC 9211 2)");
is(cs($ap->get('/app/up?hdr=Cache-Status:upstream%3B%20hit')) =~ s/ttl=\d+/ttl=N/r,
   'sharedcache; hit; ttl=N',
   "a hit does not replay the backend's Cache-Status of the time it was stored");

# --- SharedCacheHeader Off ------------------------------------------------
my $quiet = $ap->get('/app/quiet/p');
is(cs($quiet), '', 'SharedCacheHeader Off: no Cache-Status');
is($quiet->{cache}, '', '... nor X-SharedCache');

# --- memcached down --------------------------------------------------------
my $down = SCTest::Apache->start(
    memcached => ['127.0.0.1:' . SCTest::free_port()],
    conf => "<Location /app>\n    SharedCache On\n</Location>\n");
like(cs($down->get('/app/d')), qr/^sharedcache; fwd=miss; detail=memcached-error$/,
     'memcached unreachable: fwd=miss, detail=memcached-error');
$down->stop(allow => [qr/SC020[19]/]);

done_testing;
