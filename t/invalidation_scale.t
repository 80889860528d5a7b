# Invalidation costs O(1) memcached operations whatever the number of
# tagged entries: 10,000 entries tagged "big" are invalidated by a single
# incr, counted by memcached itself.
# sc-test: alone (it measures time; make prove runs the others two at a time)
use strict;
use warnings;
use HTTP::Tiny;
use POSIX ();
use Test::More;
use Time::HiRes qw(time);
use SCTest;

my $N = 10_000;
my $mc = SCTest::Memcached->start(mem => 256);
my $ap = SCTest::Apache->start(memcached => [$mc]);

# Store N distinct pages, all tagged "big", over 8 connections.
my @kids;
for my $k (0 .. 7) {
    my $pid = fork // die $!;
    if (!$pid) {
        my $ua = HTTP::Tiny->new(keep_alive => 1);
        for (my $i = $k; $i < $N; $i += 8) {
            $ua->get($ap->url("/app/s/$i?sk=big%20page-$i"));
        }
        POSIX::_exit(0);
    }
    push @kids, $pid;
}
waitpid $_, 0 for @kids;
# Each store completes just after its response: give the last ones a moment.
my $entries = 0;
for (1 .. 50) {
    $entries = grep { /^sc:e:/ } $mc->keys;
    last if $entries >= $N;
    select undef, undef, undef, 0.1;
}
cmp_ok($entries, '>=', $N, "$N tagged entries stored ($entries)");
my @sample = map { $_ * 97 % $N } 0 .. 99;
is(scalar(grep { $ap->get("/app/s/$_?sk=big%20page-$_")->{cache} eq 'HIT' }
          @sample), 100, 'a sample of 100 of them are HITs');

my $before = $mc->stats;
my $t0 = time;
system("$SCTest::ROOT/tools/sharedcachectl", '--servers', $mc->addr,
       'invalidate', 'big') == 0 or die 'sharedcachectl failed';
my $ms = (time - $t0) * 1000;
my $after = $mc->stats;
my %delta = map { $_ => $after->{$_} - $before->{$_} }
            qw(incr_hits incr_misses cmd_set cmd_get delete_hits
               delete_misses cmd_touch);
# one incr per copy of the tag's counter: one per server
my $copies = () = $mc->members;
is($delta{incr_hits}, $copies,
   "invalidating 10,000 entries: exactly one incr per server ($copies)");
is($delta{$_}, 0, "and no $_") for qw(cmd_set cmd_get delete_hits cmd_touch);
diag(sprintf 'sharedcachectl invalidate big: %.1f ms (process included)',
     $ms);

is(scalar(grep { $ap->get("/app/s/$_?sk=big%20page-$_")->{cache} eq 'MISS' }
          @sample), 100, 'every sampled entry is now a MISS');
$ap->stop;
done_testing;
