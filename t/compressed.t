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
use IO::Compress::Gzip ();
use IO::Uncompress::Gunzip qw(gunzip $GunzipError);
use Time::HiRes ();
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

my $css = join '', map { ".r$_ { margin: ${_}px; }\n" } 1 .. 200;
my $css_gz;
IO::Compress::Gzip::gzip(\$css => \$css_gz) or die;
my $mc = SCTest::Memcached->start;
my $ap = SCTest::Apache->start(memcached => [$mc],
                               files => { 'page.css.gz' => $css_gz },
                               conf => <<'CONF');
<Location /app>
    SharedCache On
    SharedCacheTTL 60
</Location>
<Location /app/esi>
    SharedCacheESI On
</Location>
<Location /app/grace>
    SharedCacheGrace 30
</Location>
<Location /app/small-max>
    SharedCacheMaxSize 4K
</Location>
BrowserMatch ^Mozilla/4 gzip-only-text/html
AddEncoding gzip .gz
<Location /page.css.gz>
    SharedCache On
    SharedCacheTTL 60
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
is(h($nm, 'content-encoding'), '',
   '... and no Content-Encoding (RFC 9110 15.4.5: no representation '
   . 'metadata a cache would apply to the copy it has)');
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


# Labels that follow the coding: a tag that is not quoted gets its suffix
# as mod_deflate gives it; digests of the identity body are not sent with
# a coding; mod_deflate's gzip-only-text/html keeps gzip to HTML.
$ap->get('/app/uq?size=4000&etag=abc');
is(h($ap->get('/app/uq?size=4000&etag=abc', @GZ), 'etag'), 'abc-gzip',
   'an unquoted ETag: abc-gzip, as mod_deflate labels it');
$ap->get('/app/md?size=4000&hdr=Content-MD5:xyz');
my $md = $ap->get('/app/md?size=4000&hdr=Content-MD5:xyz', @GZ);
is(h($md, 'content-encoding'), 'gzip', 'Content-MD5 page: gzip');
is(h($md, 'content-md5'), '', '... without the identity body\'s Content-MD5');
is(h($ap->get('/app/md?size=4000&hdr=Content-MD5:xyz'), 'content-md5'), 'xyz',
   '... which the identity client gets');
# (the variable is derived from the request: such clients have entries of
# their own; the second request is their HIT)
my @OLD = (@GZ, 'User-Agent' => 'Mozilla/4.0');
my $css_url = '/app/css?size=4000&type=text/css';
$ap->get($css_url, @OLD);
my $old_ua = $ap->get($css_url, @OLD);
cache_is($old_ua, 'HIT', 'gzip-only-text/html (BrowserMatch): HIT');
is(h($old_ua, 'content-encoding'), '',
   '... a stylesheet is not sent gzip');
$ap->get('/app/page?size=16384&etag=%22v1%22', @OLD);
is(h($ap->get('/app/page?size=16384&etag=%22v1%22', @OLD),
     'content-encoding'), 'gzip', '... an HTML page is');

# A file labelled by mod_mime (AddEncoding gzip .gz) keeps its label on
# hits, and is not coded a second time.
my $fm = $ap->get('/page.css.gz', @GZ);
my $fh = $ap->get('/page.css.gz', @GZ);
cache_is($fh, 'HIT', 'AddEncoding gzip .gz: HIT');
is(h($fm, 'content-encoding'), 'gzip', '... the MISS is labelled gzip');
is(h($fh, 'content-encoding'), 'gzip', '... and so is the HIT');
is($fh->{body}, $css_gz, '... the file\'s bytes, as they are');

# Grace: the refresh after a stale hit stores the page coded again, and
# a stale hit of an identity client refreshes it too.
sub second_start {
    my $t = Time::HiRes::time();
    Time::HiRes::sleep(1.05 - ($t - int $t));
}
for my $who (['a gzip client', @GZ], ['an identity client']) {
    my ($label, @hdr) = @$who;
    my $g = '/app/grace/p?size=16384&cc=max-age%3D2&n=' . length $label;
    second_start();
    $ap->get($g, @GZ);
    Time::HiRes::sleep(2.5);
    my $st = $ap->get($g, @hdr);
    cache_is($st, 'STALE', "grace, $label: STALE");
    my $after;
    for (1 .. 40) {
        Time::HiRes::sleep(0.05);
        $after = $ap->get($g, @hdr);
        last if $after->{cache} eq 'HIT';
    }
    cache_is($after, 'HIT', "grace, $label: refreshed, then a HIT");
    is(h($ap->get($g, @GZ), 'content-encoding'), 'gzip',
       "grace, $label: the refreshed entry is stored coded");
    is($ap->renders('/app/grace/p'), 2 * (length($label) == 13 ? 1 : 2),
       "grace, $label: rendered again once");
}


# A record the module did not write (anyone who can write to memcached
# can): codings that do not fill the body in order, or a decoded length
# above SharedCacheMaxSize, are a miss for every client, never bytes
# served as they are nor a gigantic allocation.
{
    my $url = '/app/hostile?size=16384';
    $ap->get($url);
    my ($key) = grep { my $v = $mc->get_raw($_) // '';
                       substr($v, 0, 4) eq "SCE\x03"
                       && index($v, '/app/hostile') >= 0 } $mc->keys;
    ok($key, 'the coded record is format 3');
    my $orig = $mc->get_raw($key // '') // '';
    # body_kind(1) body_len(8) ends the head of an inline record
    my ($at) = grep { substr($orig, $_, 1) eq "\0"
                      && unpack('Q>', substr($orig, $_ + 1, 8))
                         == length($orig) - $_ - 9 }
               reverse 0 .. length($orig) - 9;
    my $codings = $at - 8 - 2 * 17;   # gzip's entry, then br's
    for my $case (
        ['a decoded length above SharedCacheMaxSize', sub {
             substr($_[0], $at - 8, 8) = pack('Q>', 9 << 20) }],
        ['gzip and br swapped', sub {
             substr($_[0], $codings, 1) = "\x02";
             substr($_[0], $codings + 17, 1) = "\x01" }],
        ['a gzip coding cut before its trailer', sub {
             my $gz = unpack('Q>', substr($_[0], $codings + 9, 8));
             substr($_[0], $codings + 9, 8) = pack('Q>', $gz - 8);
             substr($_[0], $codings + 17 + 1, 8) = pack('Q>', $gz - 8);
             my $br = unpack('Q>', substr($_[0], $codings + 17 + 9, 8));
             substr($_[0], $codings + 17 + 9, 8) = pack('Q>', $br + 8) }]) {
        my ($what, $edit) = @$case;
        for my $c ([gzip => @GZ], [br => @BR], ['identity']) {
            my ($who, @hdr) = @$c;
            my $bad = $orig;
            $edit->($bad);
            $mc->set_raw($key, $bad, 0);
            my $r = $ap->get($url, @hdr);
            isnt($r->{cache}, "HIT", "$what, $who client: not a HIT")
                or diag(h($r, "content-encoding") . " " . length($r->{body}));
            my $d = decoded($r) // '';
            like($d, qr/\Atoken=\w+\n/, "$what, $who client: a page");
            is(length $d, 16384, "$what, $who client: the whole page");
            # the miss stores the page again, maybe after its response:
            # wait for it before the next hostile record
            for (1 .. 100) {
                last if ($mc->get_raw($key) // $bad) ne $bad;
                Time::HiRes::sleep(0.02);
            }
        }
    }
}

# A fragment of an ESI page is spliced in decoded, even when the same URL
# was stored coded for a browser.
my $frag = $ap->get('/app/frag?size=2000', @GZ);
$ap->get('/app/frag?size=2000', @GZ);
my $shell = $ap->get(esi_page('/app/esi/shell', 'A' . esi_inc('/app/frag?size=2000')
                                           . 'B'), @GZ);
is(h($shell, 'content-encoding'), 'gzip',
   'an ESI page is gzip-coded for a gzip client (sc_assemble.c)');
is(decoded($shell), 'A' . decoded($frag) . 'B',
   'an ESI page includes the coded fragment decoded');

# A 204 has no content, whatever its application wrote: never stored coded.
my $nc = '/app/nocontent?status=204&size=4000&cc=max-age%3D60';
$ap->get($nc, @GZ);
my $nch = $ap->get($nc, @GZ);
cache_is($nch, 'HIT', 'a 204 is stored');
is(h($nch, 'content-encoding'), '', '... and its hit is not labelled coded');

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
