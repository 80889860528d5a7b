# Large bodies and long URLs: a 1.5 MB response is stored in chunks and
# served byte-identical; a 4 KB URL is cached; bodies above
# SharedCacheMaxSize pass through uncached.
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

$ap->stop;
done_testing;
