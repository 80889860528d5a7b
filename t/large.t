# Large bodies and long URLs: a 1.5 MB response is stored in chunks and
# served byte-identical; a 4 KB URL is cached; bodies above
# SharedCacheMaxSize pass through uncached, and one that turns out too
# large only while it streams does not make the requests for it queue.
# sc-test: alone (it measures time; make prove runs the others two at a time)
use strict;
use warnings;
use Test::More;
use SCTest;

my $mc = SCTest::Memcached->start;
my $ap = SCTest::Apache->start(memcached => [$mc], conf => <<'CONF');
<Location /app>
    SharedCache On
    SharedCacheTTL 60
</Location>
<Location /app/small>
    SharedCacheMaxSize 10K
</Location>
<Location /app/stream-big>
    SharedCacheLockTimeout 4
</Location>
CONF

my $size = 1_500_000;
my $miss = $ap->get("/app/big?size=$size");
is(length $miss->{body}, $size, '1.5 MB body delivered on the MISS');
cache_is($miss, 'MISS', 'first is a MISS');
my $hit = $ap->get("/app/big?size=$size");
cache_is($hit, 'HIT', '1.5 MB response is a HIT');
is($hit->{md5}, $miss->{md5}, 'and byte-identical');
is($hit->{headers}{'content-length'}, $size, 'with the right Content-Length');
is($ap->renders('/app/big'), 1, 'rendered once');

my $huge = 3_500_000;
my $m2 = $ap->get("/app/huge?size=$huge");
my $h2 = $ap->get("/app/huge?size=$huge");
cache_is($h2, 'HIT', '3.5 MB (four chunks) is a HIT');
is($h2->{md5}, $m2->{md5}, 'and byte-identical');

my $q = 'q=' . ('x' x 4096);
my $long1 = $ap->get("/app/long?$q");
my $long2 = $ap->get("/app/long?$q");
cache_is($long2, 'HIT', 'a URL of 4 KB is cached');
is($long2->{body}, $long1->{body}, 'and served identical');
my $other = $ap->get("/app/long?${q}y");
cache_is($other, 'MISS', 'a URL differing only in its last byte is not');

$ap->get('/app/small/x?size=20000');
my $s = $ap->get('/app/small/x?size=20000');
cache_is($s, 'UNCACHEABLE', 'above SharedCacheMaxSize: not stored');
is(length $s->{body}, 20000, 'but passed through whole');
$ap->get('/app/small/y?size=5000');
cache_is($ap->get('/app/small/y?size=5000'), 'HIT',
         'below SharedCacheMaxSize: stored');

# A storable response that turns out too large (streamed past
# SharedCacheMaxSize, no Content-Length) does not make requests queue.
{
    my $big = '/app/stream-big?stream=90&chunkms=10';
    my @r = SCTest::Apache->burst(map { [ $ap, $big ] } 1 .. 5);
    my $worst = (sort { $b <=> $a } map { $_->{ms} } @r)[0];
    is(scalar(grep { $_->{status} == 200 } @r), 5, 'too large: 5 x 200');
    cmp_ok($worst, '<', 3500, sprintf('not one after another (worst %.0f ms)',
                                      $worst));
}

$ap->stop;
done_testing;
