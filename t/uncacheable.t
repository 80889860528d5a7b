# Responses that must never be stored: Set-Cookie, private, no-store,
# no-cache, Vary: *, 5xx, statuses outside SharedCacheStatuses, and
# responses without freshness when SharedCacheTTL is 0.
use strict;
use warnings;
use Test::More;
use SCTest;

my $mc = SCTest::Memcached->start;
# mod_asis, like CGI and FastCGI, hands its headers to httpd in
# err_headers_out: they must count as much as any other.
my %asis = (
    'private.asis' => "Cache-Control: private\n",
    'cookie.asis'  => "Set-Cookie: sessionid=s3cret\n",
    'nostore.asis' => "Cache-Control: no-store\n",
    'public.asis'  => "Cache-Control: max-age=60\n",
);
$_ = "Status: 200 OK\nContent-Type: text/plain\n${_}\nbody\n" for values %asis;
my $ap = SCTest::Apache->start(memcached => [$mc], files => \%asis,
                               modules => ['asis'], conf => <<'CONF');
AddHandler send-as-is asis
<Location />
    SharedCache On
    SharedCacheTTL 60
</Location>
<Location /app>
    SharedCache On
    SharedCacheTTL 60
</Location>
<Location /app/rfc>
    SharedCacheTTL 0
</Location>
CONF

# Entries only: generation counters are created before any miss renders.
sub entries { scalar grep { /^sc:e:/ } $mc->keys }
my $items_before = entries();
my @cases = (
    [ 'Set-Cookie',                 '/app/u1?cookie=1' ],
    [ 'Set-Cookie with max-age',    '/app/u2?cookie=1&cc=public,max-age%3D60' ],
    [ 'Cache-Control: private',     '/app/u3?cc=private' ],
    [ 'Cache-Control: no-store',    '/app/u4?cc=no-store' ],
    [ 'Cache-Control: no-cache',    '/app/u5?cc=no-cache' ],
    [ 'private beats Surrogate-Control', '/app/u6?cc=private&sc=max-age%3D60' ],
    [ 'Vary: *',                    '/app/u7?vary=*' ],
    [ '500',                        '/app/u8?status=500' ],
    [ '503',                        '/app/u9?status=503' ],
    [ 'a 302 without freshness of its own (SharedCacheTTL never applies)',
      '/app/u10?status=302&loc=/x' ],
    [ 'status not in the list (418 is not)', '/app/u13?status=418&cc=max-age%3D60' ],
    [ 'no freshness with SharedCacheTTL 0', '/app/rfc/u11' ],
    [ 'Expires in the past',        '/app/rfc/u12?expires=Thu,%2001%20Jan%201970%2000:00:00%20GMT' ],
);
for my $c (@cases) {
    my ($name, $path) = @$c;
    my $a = $ap->get($path);
    my $b = $ap->get($path);
    cache_is($b, 'UNCACHEABLE', "$name: UNCACHEABLE");
    isnt($a->{body}, $b->{body}, "$name: rendered anew each time");
}
for my $f ('private.asis', 'cookie.asis', 'nostore.asis') {
    $ap->get("/$f");
    cache_is($ap->get("/$f"), 'UNCACHEABLE',
             "a CGI-style response ($f) is not stored");
}
my $cookie = $ap->get('/app/u1?cookie=1');
like($cookie->{headers}{'set-cookie'} // '', qr/sessionid=/,
     'the Set-Cookie still reaches its own client');
is(entries(), $items_before, 'memcached holds no new entry at all');

$ap->get('/public.asis');
cache_is($ap->get('/public.asis'), 'HIT',
         'a CGI-style cacheable response is stored (control)');

# The positive control: the same harness does store a plain page.
$ap->get('/app/u0');
cache_is($ap->get('/app/u0'), 'HIT', 'a plain page is stored (control)');
cmp_ok(entries(), '>', $items_before, 'memcached now holds it');

# RFC freshness with SharedCacheTTL 0.
$ap->get('/app/rfc/fresh?cc=max-age%3D30');
cache_is($ap->get('/app/rfc/fresh?cc=max-age%3D30'), 'HIT',
         'with TTL 0 a response with its own max-age is stored');

# A 302, 303 or 307 with freshness of its own is stored (RFC 9111: not
# heuristically cacheable, explicitly fresh ones are).
for my $st (302, 303, 307) {
    my $p = "/app/redir$st?status=$st&loc=/x&cc=max-age%3D60";
    $ap->get($p);
    my $r = $ap->get($p);
    cache_is($r, 'HIT', "a $st with max-age is stored");
    is($r->{status}, $st, "and replayed as a $st");
}

$ap->stop;
done_testing;
