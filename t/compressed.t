# Compressed storage (SharedCacheCompress, on by default): a compressible
# response is stored gzip- and br-coded, never as identity bytes; each
# client gets the stored coding it prefers (Accept-Encoding, q-values),
# or the body decoded when it accepts none; the coding is labelled as
# mod_deflate and mod_brotli label theirs (Content-Encoding, Vary,
# ETag "tag-gzip"), so HEAD, 304 and Range work per coding.
#   A: no compression module: every coding comes from the cache.
#   B: Debian's deflate.conf and mod_brotli's recipe: a hit is never
#      compressed a second time, and a client that refuses a coding does
#      not get it from mod_deflate either.
use strict;
use warnings;
use File::Temp qw(tempfile);
use IO::Uncompress::Gunzip qw(gunzip $GunzipError);
use Test::More;
use SCTest;

my @GZ = ('Accept-Encoding' => 'gzip, deflate');
my @BR = ('Accept-Encoding' => 'gzip, deflate, br');

sub h {
    my ($r, $name) = @_;
    my $v = $r->{headers}{lc $name};
    return ref $v ? join(', ', @$v) : $v // '';
}

# The body decoded as its own Content-Encoding says, or undef.
sub decoded {
    my ($r) = @_;
    my $ce = h($r, 'content-encoding');
    my $body = $r->{body};
    return $body if $ce eq '';
    if ($ce eq 'gzip') {
        my $out;
        gunzip(\$body => \$out, Transparent => 0) or return undef;
        return $out;
    }
    if ($ce eq 'br') {
        my ($fh, $file) = tempfile(UNLINK => 1);
        binmode $fh;
        print $fh $body;
        close $fh;
        my $out = `brotli -d -c $file 2>/dev/null`;
        return $? == 0 ? $out : undef;
    }
    return undef;
}

sub largest_value {
    my ($mc) = @_;
    my $max = 0;
    for my $k ($mc->keys) {
        my $v = $mc->get_raw($k) // '';
        $max = length $v if length $v > $max;
    }
    return $max;
}

my $mc = SCTest::Memcached->start;
my $ap = SCTest::Apache->start(memcached => [$mc], conf => <<'CONF');
<Location /app>
    SharedCache On
    SharedCacheTTL 60
</Location>
<Location /app/esi>
    SharedCacheESI On
</Location>
<Location /app/off>
    SharedCacheCompress Off
</Location>
CONF

my $page_url = '/app/page?size=16384&etag=%22v1%22';
my $miss = $ap->get($page_url, @GZ);
cache_is($miss, 'MISS', 'the first gzip client is a MISS');
my $page = $miss->{body};
is(length $page, 16384, 'no compression module: the MISS is identity');
my $stored = largest_value($mc);
ok($stored > 0 && $stored < 4096,
   "the 16 KiB page is stored compressed ($stored bytes, the largest value)");

my $gz = $ap->get($page_url, @GZ);
cache_is($gz, 'HIT', 'gzip client: HIT');
is(h($gz, 'content-encoding'), 'gzip', 'gzip client: Content-Encoding gzip');
is(decoded($gz), $page, 'gzip client: decodes to the page');
is(h($gz, 'content-length'), length $gz->{body},
   'gzip client: Content-Length is the coded length');
is(h($gz, 'etag'), '"v1-gzip"', 'gzip client: ETag "v1-gzip"');
like(h($gz, 'vary'), qr/accept-encoding/i, 'gzip client: Vary: Accept-Encoding');

my $br = $ap->get($page_url, @BR);
cache_is($br, 'HIT', 'br client: HIT');
is(h($br, 'content-encoding'), 'br', 'br client (gzip, deflate, br): br');
is(decoded($br), $page, 'br client: decodes to the page');
is(h($br, 'etag'), '"v1-br"', 'br client: ETag "v1-br"');
ok(length $br->{body} < length $gz->{body}, 'br is the smaller coding');

my $id = $ap->get($page_url);
cache_is($id, 'HIT', 'identity client: HIT');
is(h($id, 'content-encoding'), '', 'identity client: no Content-Encoding');
is($id->{body}, $page, 'identity client: the page, decoded by the cache');
is(h($id, 'etag'), '"v1"', 'identity client: the stored ETag');
like(h($id, 'vary'), qr/accept-encoding/i, 'identity client: Vary too');

# Accept-Encoding preferences (RFC 9110 12.5.3)
for my $case (['gzip;q=0', ''], ['gzip;q=0, br;q=0', ''], ['*;q=0', ''],
              ['br;q=0.5, gzip', 'gzip'], ['*', 'br'], ['x-gzip', 'gzip'],
              ['gzip;q=0.5, identity', ''], ['identity;q=0.2, gzip', 'gzip'],
              ['GZIP;Q=1', 'gzip'], ['gzip;q=2', ''], ['br;q=0.001', 'br'],
              ['', '']) {
    my ($ae, $want) = @$case;
    my $r = $ap->get($page_url, 'Accept-Encoding' => $ae);
    is(h($r, 'content-encoding'), $want,
       "Accept-Encoding '$ae': " . ($want || 'identity'));
    is(decoded($r), $page, "Accept-Encoding '$ae': decodes to the page");
}

# HEAD, conditional requests and Range, per coding
my $head = $ap->request('HEAD', $page_url, @GZ);
is($head->{status}, 200, 'HEAD, gzip client: 200');
is(h($head, 'content-encoding'), 'gzip', 'HEAD, gzip client: gzip');
is(h($head, 'content-length'), length $gz->{body},
   'HEAD, gzip client: the gzip length');
is($head->{body}, '', 'HEAD: no body');
my $head_id = $ap->request('HEAD', $page_url);
is(h($head_id, 'content-length'), 16384, 'HEAD, identity client: 16384');
is(h($head_id, 'content-encoding'), '', 'HEAD, identity client: identity');

my $nm = $ap->get($page_url, @GZ, 'If-None-Match' => '"v1-gzip"');
is($nm->{status}, 304, 'If-None-Match "v1-gzip" from a gzip client: 304');
is(h($nm, 'etag'), '"v1-gzip"', '... with the gzip ETag');
my $nm2 = $ap->get($page_url, @GZ, 'If-None-Match' => '"v1"');
is($nm2->{status}, 200,
   'If-None-Match "v1" (the identity tag) from a gzip client: 200');
is(h($nm2, 'content-encoding'), 'gzip', '... in gzip');
my $nm3 = $ap->get($page_url, 'If-None-Match' => '"v1"');
is($nm3->{status}, 304, 'If-None-Match "v1" from an identity client: 304');
my $nm4 = $ap->get($page_url, @BR, 'If-None-Match' => 'W/"v1-br"');
is($nm4->{status}, 304, 'If-None-Match W/"v1-br" from a br client: 304');

my $range = $ap->get($page_url, @GZ, Range => 'bytes=0-99');
is($range->{status}, 206, 'Range from a gzip client: 206');
is($range->{body}, substr($gz->{body}, 0, 100),
   '... of the gzip bytes (the selected representation)');
is(h($range, 'content-encoding'), 'gzip', '... labelled gzip');
my $range_id = $ap->get($page_url, Range => 'bytes=100-199');
is($range_id->{body}, substr($page, 100, 100),
   'Range from an identity client: the decoded bytes');

# a page that varies (Django's Vary: Cookie): its Vary record and its
# coded variants
my $vary = '/app/vary?size=8000&vary=Cookie';
my $vm = $ap->get($vary, @GZ);
my $vh = $ap->get($vary, @GZ);
cache_is($vh, 'HIT', 'Vary: Cookie, coded: HIT');
is(h($vh, 'content-encoding'), 'gzip', '... in gzip');
is(decoded($vh), $vm->{body}, '... decodes to the page');
like(h($vh, 'vary'), qr/cookie/i, '... Vary names Cookie');
like(h($vh, 'vary'), qr/accept-encoding/i, '... and Accept-Encoding');
my $vc = $ap->get($vary, @GZ, Cookie => 'a=1');
cache_is($vc, 'MISS', 'another cookie: its own variant');
cache_is($ap->get($vary, @GZ, Cookie => 'a=1'), 'HIT', '... then a HIT');

# a weak validator keeps its W/
$ap->get('/app/weak?size=4000&etag=W/%22w1%22');
is(h($ap->get('/app/weak?size=4000&etag=W/%22w1%22', @GZ), 'etag'),
   'W/"w1-gzip"', 'a weak ETag: W/"w1-gzip"');

# stored as they are: no-transform, SharedCacheCompress Off, small
# bodies, a type that is not text, what the application coded itself
for my $case (['/app/nt?size=8000&cc=max-age=60,no-transform', 'no-transform'],
              ['/app/off/p?size=8000', 'SharedCacheCompress Off'],
              ['/app/small?size=100', 'a body under 256 bytes'],
              ['/app/png?size=8000&type=image/png', 'image/png']) {
    my ($url, $why) = @$case;
    my $first = $ap->get($url, @GZ);
    my $hit = $ap->get($url, @GZ);
    cache_is($hit, 'HIT', "$why: HIT");
    is(h($hit, 'content-encoding'), '', "$why: served as stored, identity");
    is($hit->{body}, $first->{body}, "$why: the same body");
}
my $nt = $ap->get($page_url, @GZ, 'Cache-Control' => 'no-transform');
is(h($nt, 'content-encoding'), '',
   'a request with Cache-Control: no-transform gets identity');
is($nt->{body}, $page, '... the page');

my $self_miss = $ap->get('/app/self?size=16384&gz=1', @GZ);
my $self_hit = $ap->get('/app/self?size=16384&gz=1', @GZ);
cache_is($self_hit, 'HIT', 'an application that compresses itself: HIT');
is(h($self_hit, 'content-encoding'), 'gzip', '... gzip, once');
is($self_hit->{body}, $self_miss->{body},
   '... the bytes the application sent, as they were');
my $self_id = $ap->get('/app/self?size=16384&gz=1');
is(h($self_id, 'content-encoding'), '',
   '... and its identity variant for an identity client');
is(length $self_id->{body}, 16384, '... the whole page');

# A fragment of an ESI page is spliced in decoded, even when the same URL
# was stored coded for a browser.
my $frag = $ap->get('/app/frag?size=2000', @GZ);
$ap->get('/app/frag?size=2000', @GZ);
my $shell = $ap->get(esi_page('/app/esi/shell', 'A' . esi_inc('/app/frag?size=2000')
                                           . 'B'), @GZ);
is($shell->{body}, 'A' . $frag->{body} . 'B',
   'an ESI page includes the coded fragment decoded');

$ap->stop;

# B: Debian's deflate.conf (mod_filter, mod_deflate) and mod_brotli's
# recipe, server-wide.
my $mc2 = SCTest::Memcached->start;
my $b = SCTest::Apache->start(memcached => [$mc2],
                              modules => ['filter', 'deflate', 'brotli'],
                              conf => <<'CONF');
<IfModule mod_filter.c>
    AddOutputFilterByType DEFLATE text/html text/plain text/xml text/css text/javascript
    AddOutputFilterByType DEFLATE application/x-javascript application/javascript application/ecmascript
    AddOutputFilterByType DEFLATE application/rss+xml
    AddOutputFilterByType DEFLATE application/wasm
    AddOutputFilterByType DEFLATE application/xml
    AddOutputFilterByType BROTLI_COMPRESS text/html text/plain text/xml text/css text/javascript application/javascript
</IfModule>
<Location /app>
    SharedCache On
    SharedCacheTTL 60
</Location>
CONF
my $bm = $b->get($page_url, @GZ);
cache_is($bm, 'MISS', 'mod_deflate: the gzip client MISS');
is(h($bm, 'content-encoding'), 'gzip', '... compressed by mod_deflate');
my $bpage = decoded($bm);
is(length($bpage // ''), 16384, '... decodes to the page');
is(h($bm, 'etag'), '"v1-gzip"', "... mod_deflate's ETag \"v1-gzip\"");
my $bg = $b->get($page_url, @GZ);
cache_is($bg, 'HIT', 'mod_deflate: gzip client HIT');
is(h($bg, 'content-encoding'), 'gzip', '... labelled gzip once');
is(decoded($bg), $bpage, '... decodes once to the page (not compressed twice)');
is(h($bg, 'etag'), '"v1-gzip"', '... the same ETag as the MISS');
my $bb = $b->get($page_url, @BR);
is(h($bb, 'content-encoding'), 'br', 'mod_brotli too: br client gets br once');
is(decoded($bb), $bpage, '... decodes to the page');
my $bi = $b->get($page_url);
is(h($bi, 'content-encoding'), '', 'identity client: identity');
is($bi->{body}, $bpage, '... the page');
my $bq = $b->get($page_url, 'Accept-Encoding' => 'gzip;q=0');
cache_is($bq, 'HIT', 'gzip;q=0: HIT');
is(h($bq, 'content-encoding'), '',
   'gzip;q=0: identity, mod_deflate does not compress it after the cache');
is($bq->{body}, $bpage, '... the page');
my $bp = $b->get($page_url, 'Accept-Encoding' => 'gzip;q=0.5, identity');
is(h($bp, 'content-encoding'), '',
   'gzip;q=0.5, identity: identity (the cache chose it: mod_deflate, which '
   . 'reads no weights but 0, does not compress it after the cache)');
is($bp->{body}, $bpage, '... the page');
$b->stop;

done_testing;
