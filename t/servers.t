# SharedCacheServers: several servers share the keys (rendezvous placement),
# every process finds every entry; a unix socket works too.
use strict;
use warnings;
use Test::More;
use SCTest;

my @mc = map { SCTest::Memcached->start } 1 .. 2;
my $ap = SCTest::Apache->start(memcached => \@mc);
sub entries { scalar grep { /^sc:e:/ } $_[0]->keys }
my @before = map { entries($_) } @mc;
$ap->get("/app/spread/$_") for 1 .. 40;
my @hits = grep { $ap->get("/app/spread/$_")->{cache} eq 'HIT' } 1 .. 40;
is(scalar @hits, 40, 'with two servers all 40 pages are HITs');
my @added = map { entries($mc[$_]) - $before[$_] } 0 .. 1;
cmp_ok($added[0], '>', 5, "server 1 holds some entries ($added[0])");
cmp_ok($added[1], '>', 5, "server 2 holds some entries ($added[1])");
is($added[0] + $added[1], 40, 'each entry is stored once');
$ap->stop;

my $sock = SCTest::Memcached->start(socket => 1);
my $ap2 = SCTest::Apache->start(memcached => [$sock]);
$ap2->get('/app/unix');
cache_is($ap2->get('/app/unix'), 'HIT', 'through a unix socket: HIT');
$ap2->stop;
done_testing;
