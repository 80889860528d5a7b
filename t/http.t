# HTTP behaviour of hits (DESIGN section 4).
# sc-test: alone (it measures time; make prove runs the others two at a time)
use strict;
use warnings;
use Test::More;
use Time::HiRes qw(sleep);
use SCTest;

my $mc = SCTest::Memcached->start;
my $ap = SCTest::Apache->start(
    memcached => [$mc],
    files => {
        'page.html' => "<p>static page</p>\n" x 100,
        'hop.asis' => "Status: 200 OK\nContent-Type: text/plain\n"
            . "Connection: X-Hop\nX-Hop: per-connection\n"
            . "Proxy-Authenticate: Basic realm=x\nX-Kept: yes\n\nhop body\n",
    },
    modules => ['asis'],
    conf => <<'CONF');
AddHandler send-as-is asis
SetEnvIf Request_URI "/app/noenv" no-sharedcache
<Location /app>
    SharedCache On
    SharedCacheTTL 60
</Location>
<Location /app/short>
    SharedCacheTTL 1
</Location>
<Location /app/force>
    SharedCacheForceTTL On
</Location>
<Location /app/month>
    SharedCacheTTL 2600000
    SharedCacheMaxTTL 3000000
</Location>
<Location /hop.asis>
    SharedCache On
    SharedCacheTTL 60
</Location>
<Location /page.html>
    SharedCache On
    SharedCacheTTL 60
</Location>
CONF

# HEAD is answered from the GET entry; a HEAD miss stores nothing.
my $get = $ap->get('/app/head');
my $head = $ap->request('HEAD', '/app/head');
cache_is($head, 'HIT', 'HEAD after GET is a HIT');
is($head->{body}, '', 'with no body');
is($head->{headers}{'content-length'}, length $get->{body},
   'and the GET\'s Content-Length');
$ap->request('HEAD', '/app/headfirst');
cache_is($ap->get('/app/headfirst'), 'MISS',
         'a HEAD miss stores nothing: the GET after it is a MISS');

# Conditional requests on a hit.
my $etag = '/app/cond?etag=%22v1%22&lm=Mon,%2001%20Jan%202024%2000:00:00%20GMT';
$ap->get($etag);
my $c1 = $ap->get($etag, 'If-None-Match' => '"v1"');
is($c1->{status}, 304, 'If-None-Match matching the stored ETag: 304');
cache_is($c1, 'HIT', 'answered from the cache');
is($c1->{body}, '', '304 has no body');
my $c2 = $ap->get($etag, 'If-None-Match' => '"v2"',
                  'If-Modified-Since' => 'Wed, 01 Jan 2025 00:00:00 GMT');
is($c2->{status}, 200, 'If-None-Match not matching wins over '
                       . 'If-Modified-Since: 200');
my $c3 = $ap->get($etag,
                  'If-Modified-Since' => 'Wed, 01 Jan 2025 00:00:00 GMT');
is($c3->{status}, 304, 'If-Modified-Since after Last-Modified: 304');
my $c4 = $ap->get($etag,
                  'If-Modified-Since' => 'Sat, 01 Jan 2000 00:00:00 GMT');
is($c4->{status}, 200, 'If-Modified-Since before Last-Modified: 200');
is($ap->renders('/app/cond'), 1, 'all from one render');

# Authorization: neither served from nor stored into the cache.
$ap->get('/app/auth');
my $auth = $ap->get('/app/auth', Authorization => 'Basic dTpw');
cache_is($auth, 'BYPASS', 'a request with Authorization: BYPASS');
is($ap->renders('/app/auth'), 2, 'rendered by the app');
$ap->get('/app/auth2', Authorization => 'Basic dTpw');
cache_is($ap->get('/app/auth2'), 'MISS',
         'and its response was not stored');

# The no-sharedcache environment variable.
$ap->get('/app/noenv');
cache_is($ap->get('/app/noenv'), 'BYPASS', 'no-sharedcache: BYPASS');
is($ap->renders('/app/noenv'), 2, 'rendered every time');

# A GET with a body is never served from the cache (THREATS 13).
$ap->get('/app/body');
my $body = $ap->{client}->request('GET', $ap->url('/app/body'),
    { content => 'x=1', headers => { 'Content-Type' => 'text/plain' } });
cache_is($body->{headers}{'x-sharedcache'}, 'BYPASS',
         'a GET with a body: BYPASS');

# Client Cache-Control: no-cache does not force a render.
$ap->get('/app/nocache');
cache_is($ap->get('/app/nocache', 'Cache-Control' => 'no-cache'), 'HIT',
         'request Cache-Control: no-cache is still a HIT');
# only-if-cached (RFC 9111 5.2.1.7): a stored response, or a 504, never a
# render; min-fresh, like no-cache, cannot make a client force renders.
cache_is($ap->get('/app/nocache', 'Cache-Control' => 'only-if-cached'), 'HIT',
         'only-if-cached of a stored page: the HIT');
my $oic = $ap->get('/app/oic', 'Cache-Control' => 'only-if-cached');
is($oic->{status}, 504, 'only-if-cached of a page not stored: 504');
is($ap->renders('/app/oic'), 0, '... without a render');
cache_is($ap->get('/app/nocache', 'Cache-Control' => 'min-fresh=100000'), 'HIT',
         'min-fresh does not force a render');
cache_is($ap->get('/app/nocache', 'Cache-Control' => 'max-age=0'), 'HIT',
         'nor does max-age=0');

# Targeted headers: honoured, then removed.
my $t = '/app/targeted?cc=max-age%3D0&sc=max-age%3D60';
my $t1 = $ap->get($t);
my $t2 = $ap->get($t);
cache_is($t2, 'HIT', 'Surrogate-Control max-age beats Cache-Control');
ok(!exists $t1->{headers}{'surrogate-control'}
   && !exists $t2->{headers}{'surrogate-control'},
   'Surrogate-Control never reaches the client');

# Freshness.
$ap->get('/app/short/x');
cache_is($ap->get('/app/short/x'), 'HIT', 'fresh within its TTL');
sleep 2.2;
my $aged = $ap->get('/app/short/x');
cache_is($aged, 'MISS', 'a MISS once the TTL has passed');
$ap->get('/app/age');
sleep 1.1;
cmp_ok($ap->get('/app/age')->{headers}{age}, '>=', 1, 'Age counts up');

$ap->get('/app/force?cc=max-age%3D0');
cache_is($ap->get('/app/force?cc=max-age%3D0'), 'HIT',
         'SharedCacheForceTTL overrides max-age=0');
$ap->get('/app/noforce?cc=max-age%3D0');
cache_is($ap->get('/app/noforce?cc=max-age%3D0'), 'UNCACHEABLE',
         'without it max-age=0 is not stored');

# A TTL above 30 days: memcached reads it as an absolute time.
$ap->get('/app/month/x');
cache_is($ap->get('/app/month/x'), 'HIT', 'a 30-day+ TTL is stored');

# Statuses in the default list are stored.
$ap->get('/app/gone?status=404');
cache_is($ap->get('/app/gone?status=404'), 'HIT', '404 is stored');
my $moved = $ap->get('/app/moved?status=301');
my $moved2 = $ap->get('/app/moved?status=301');
is($moved2->{status}, 301, '301 replayed with its status');
is($moved2->{headers}{location}, $moved->{headers}{location},
   'and its Location');

# Any handler: a static file.
my $s1 = $ap->get('/page.html');
my $s2 = $ap->get('/page.html');
cache_is($s2, 'HIT', 'a static file is cached like any response');
is($s2->{body}, $s1->{body}, 'byte-identical');
is($s2->{headers}{'content-type'}, 'text/html', 'with its Content-Type');

# Hop-by-hop headers, and those named in Connection, are never stored.
$ap->get('/hop.asis');
my $hop = $ap->get('/hop.asis');
cache_is($hop, 'HIT', 'a response with hop-by-hop headers is a HIT');
is($hop->{headers}{'x-kept'}, 'yes', 'end-to-end headers are replayed');
ok(!exists $hop->{headers}{'x-hop'}, 'a header named in Connection is not');
ok(!exists $hop->{headers}{'proxy-authenticate'},
   'Proxy-Authenticate is not');

$ap->stop;

# The decision is logged with %{sharedcache-status}e.
open my $log, '<', $ap->dir . '/access_log' or die;
my @lines = <$log>;
ok((grep { /GET \/app\/head HTTP\S+" 200 \d+ MISS/ } @lines),
   'access log shows MISS');
ok((grep { /HEAD \/app\/head HTTP\S+" 200 \S+ HIT/ } @lines),
   'access log shows HIT');
done_testing;
