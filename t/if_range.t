# If-Range on hits (RFC 9110 13.1.5).  A date names the representation a
# client has only where every response for it has the same bytes: the
# MISS goes out as the application (or mod_deflate) made it, the HITs in
# the coding the cache stored, under one Last-Modified, or coded by
# mod_deflate under the same "-gzip" entity-tag from other bytes (also
# for a client the cache then gives identity); a resumed download would
# splice two encodings.  A hit of an entry stored coded answers If-Range
# with the whole representation; one stored as it is answers a range.  An assembled ESI page has no validator at
# all: the shell's Last-Modified is not the page's.
use strict;
use warnings;
use IO::Uncompress::Gunzip qw(gunzip);
use Test::More;
use SCTest;

my $mc = SCTest::Memcached->start;
my $ap = SCTest::Apache->start(memcached => [$mc], conf => <<'CONF');
Alias /s @DIR@/htdocs
<Location /s>
    SharedCache On
    SharedCacheTTL 60
</Location>
<Directory @DIR@/htdocs>
    FileETag None
</Directory>
<Location /app/esi>
    SharedCache On
    SharedCacheTTL 60
    SharedCacheESI On
</Location>
CONF
srand(7);
my $doc = join '', map {
    '<p>' . join(' ', map { join '', map { chr(97 + int rand 26) } 1 .. 1 + int rand 9 } 1 .. 12)
    . "</p>\n" } 1 .. 3000;
my $file = $ap->dir . '/htdocs/article.html';
open my $fh, '>', $file or die $!;
print $fh $doc;
close $fh;
chmod 0644, $file;
utime(time - 86400, time - 86400, $file);

my @gz = ('Accept-Encoding' => 'gzip');
my $miss = $ap->get('/s/article.html', @gz);
cache_is($miss, 'MISS', 'the first download is the MISS');
is($miss->{headers}{'content-encoding'} // 'identity', 'identity',
   '... as the file is (no compression filter)');
my $lm = $miss->{headers}{'last-modified'};
ok($lm, 'it has a Last-Modified');

# A gzip client resumes by date: the hit is gzip, the bytes it has are not.
my $r = $ap->get('/s/article.html', @gz, Range => 'bytes=10000-', 'If-Range' => $lm);
cache_is($r, 'HIT', 'the resumption is a hit');
is($r->{status}, 200, '... of the whole representation, not a range of '
   . 'another coding');
my $body = $r->{body};
gunzip(\$r->{body} => \$body) if ($r->{headers}{'content-encoding'} // '') eq 'gzip';
is($body, $doc, '... the document');

# By the gzip entity-tag: mod_deflate coded the MISS under the same
# "-gzip" tag, from its own compressor (other bytes than the hit's).
my $ap2 = SCTest::Apache->start(memcached => [$mc], modules => ['filter', 'deflate'],
                                conf => <<'CONF');
AddOutputFilterByType DEFLATE text/html text/plain
<Location /app>
    SharedCache On
    SharedCacheTTL 60
</Location>
<Location /app/asis>
    SharedCacheCompress Off
    SharedCacheRequireLength Off
    SharedCachePurge On
</Location>
<Location /app/asis/q>
    SharedCacheQuickHandler On
</Location>
CONF
my $u = '/app/t?size=30000&etag=%22v1%22';
my $dm = $ap2->get($u, @gz);
is($dm->{headers}{'content-encoding'}, 'gzip', 'mod_deflate codes the MISS');
my $tag = $dm->{headers}{etag};
my $part = $ap2->get($u, @gz, Range => 'bytes=100-', 'If-Range' => $tag);
cache_is($part, 'HIT', 'a gzip hit');
is($part->{status}, 200, 'If-Range with the MISS\'s gzip entity-tag: the whole '
   . 'representation, not a range of other bytes');
my $unz;
gunzip(\$part->{body} => \$unz);
is(length $unz, 30000, '... which decodes whole');
# A client that weights identity above gzip: mod_deflate (which reads no
# weight but 0) coded its MISS, the cache gives it identity.
my $lmq = 'lm=Mon,%2001%20Jan%202024%2000:00:00%20GMT';
my @w = ('Accept-Encoding' => 'gzip;q=0.5, identity');
my $wm = $ap2->get("/app/w?size=30000&$lmq", @w);
is($wm->{headers}{'content-encoding'}, 'gzip', 'mod_deflate codes that MISS');
my $wr = $ap2->get("/app/w?size=30000&$lmq", @w, Range => 'bytes=100-',
                   'If-Range' => 'Mon, 01 Jan 2024 00:00:00 GMT');
cache_is($wr, 'HIT', 'its resumption is a hit');
is($wr->{status}, 200, '... of the whole representation');
# An entry stored as it is (not compressible): every response has the
# MISS's bytes, and a date in If-Range gets a range.
my $idlm = "/app/t2?size=30000&type=image/png&$lmq";
my $m2 = $ap2->get($idlm);
my $p2 = $ap2->get($idlm, Range => 'bytes=100-199',
                   'If-Range' => 'Mon, 01 Jan 2024 00:00:00 GMT');
cache_is($p2, 'HIT', 'identity hit');
is($p2->{status}, 206, '... If-Range with its date: 206');
is($p2->{body}, substr($m2->{body}, 100, 100), '... of the MISS\'s bytes');

# An entry stored as it is whose MISS mod_deflate coded: the MISS streamed
# (a sync flush per piece), the hit one brigade: other gzip bytes under
# the same "-gzip" entity-tag; in quick mode the hit is identity under the
# same date.  Its hits answer If-Range with the whole representation.
my $text = 'abcdefghij' x 50;
for my $su ("/app/asis/dl?text=$text&stream=4&chunkms=50&etag=%22s1%22&$lmq",
            "/app/asis/q/dl?text=$text&stream=4&chunkms=50&etag=%22s1%22&$lmq") {
my $sm = $ap2->raw(GET => $su, @gz);
is($sm->{headers}{'content-encoding'}, 'gzip', 'a streamed MISS coded by mod_deflate');
my $sh = $ap2->raw(GET => $su, @gz);
cache_is($sh, 'HIT', '... its hit');
is($sh->{headers}{'content-encoding'} // 'identity', $su =~ m{/q/} ? 'identity' : 'gzip',
   '... coded by mod_deflate too (identity in quick mode: no filter runs)');
for my $ir ($sm->{headers}{etag}, 'Mon, 01 Jan 2024 00:00:00 GMT') {
    my $sr = $ap2->raw(GET => $su, @gz, Range => 'bytes=200-', 'If-Range' => $ir);
    cache_is($sr, 'HIT', "If-Range $ir on that hit");
    is($sr->{status}, 200, '... gets the whole representation');
    my $sd;
    gunzip(\$sr->{body} => \$sd);
    is(length $sd, length($text) + 400_000, '... which decodes whole');
}
my $sn = $ap2->raw(GET => $su, @gz, Range => 'bytes=200-299');
is($sn->{status}, 206, 'a Range without If-Range is answered (the client\'s own risk)');
}
# Stored again by a client mod_deflate does not code for (after a PURGE,
# an expiry), under the same date: the bytes the first MISS gave out are
# still someone's.  mod_deflate's Vary says it codes this resource.
my $qu = "/app/asis/q/re?size=30000&$lmq";
my $qm = $ap2->raw(GET => $qu, @gz);
is($qm->{headers}{'content-encoding'}, 'gzip', 'a MISS coded by mod_deflate');
is($ap2->raw(PURGE => $qu)->{status}, 200, '... purged');
my $qi = $ap2->raw(GET => $qu, 'Accept-Encoding' => 'identity');
cache_is($qi, 'MISS', '... stored again by an identity client');
my $qr = $ap2->raw(GET => $qu, @gz, Range => 'bytes=200-',
                   'If-Range' => 'Mon, 01 Jan 2024 00:00:00 GMT');
cache_is($qr, 'HIT', 'the gzip client resumes from a quick hit');
is($qr->{status}, 200, '... which gives the whole representation');
$ap2->stop;

# An ESI page: the shell's Last-Modified matches nothing.
my $esi = '/app/esi/p?size=4000&esiparts=2&sc=content%3D%22ESI%2F1.0%22&lm=Mon,%2001%20Jan%202024%2000:00:00%20GMT';
$ap->get($esi);
my $e = $ap->get($esi, Range => 'bytes=0-9',
                 'If-Range' => 'Mon, 01 Jan 2024 00:00:00 GMT');
is($e->{status}, 200, 'ESI page: If-Range with the shell\'s date gets the whole page');
ok(!$e->{headers}{'last-modified'}, '... which has no Last-Modified');
is(length $e->{body}, 4000, '... all of it');
$ap->stop;
done_testing;
