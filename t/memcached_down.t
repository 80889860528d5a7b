# memcached down or stalled never turns a good response into an error or a
# long stall, and service recovers without restarting Apache.
# sc-test: alone (it measures time; make prove runs the others two at a time)
use strict;
use warnings;
use IO::Socket::INET;
use Test::More;
use Time::HiRes qw(sleep time);
use SCTest;

my $timeout_ms = 100;
my $mc = SCTest::Memcached->start;
my $ap = SCTest::Apache->start(memcached => [$mc], conf => <<'CONF');
SharedCacheTimeout 100
<Location /app>
    SharedCache On
    SharedCacheTTL 60
</Location>
<Location /app/plain>
    SharedCache Off
</Location>
CONF

# Baseline: the same app without the cache.
my @base = map { $ap->get("/app/plain?b=$_")->{ms} } 1 .. 10;
my $base = (sort { $a <=> $b } @base)[9];

cache_is($ap->get('/app/down'), 'MISS', 'a MISS while memcached is up');
$mc->stop;

my @down = map { $ap->get("/app/down?n=$_") } 1 .. 20;
is(scalar(grep { $_->{status} == 200 } @down), 20,
   'memcached stopped: every request is answered 200');
is(scalar(grep { $_->{cache} eq 'ERROR' } @down), 20,
   'and marked ERROR (served uncached)');
is($ap->renders('/app/down?n='), 20, 'by the app');
my $worst = (sort { $b <=> $a } map { $_->{ms} } @down)[0];
cmp_ok($worst, '<', $base + $timeout_ms + 200,
       "at most the timeout added (worst ${worst} ms, baseline ${base} ms)");

$mc->restart;
# SharedCacheRetryInterval 1 in the harness: the server is retried after 1s.
sleep 1.5;
my ($miss, $hit);
for (1 .. 20) {
    $miss = $ap->get('/app/recovered');
    last if $miss->{cache} eq 'MISS';
    sleep 0.25;
}
cache_is($miss, 'MISS', 'after memcached restarts: a MISS again');
$hit = $ap->get('/app/recovered');
cache_is($hit, 'HIT', 'and then a HIT, without restarting Apache');
$ap->stop(allow => [qr/SC020[19]/]);

# A memcached that accepts connections but never answers (a stall a real
# server cannot be made to produce): a listening socket nobody reads.
my $stall = IO::Socket::INET->new(Listen => 128, LocalAddr => '127.0.0.1',
                                  LocalPort => 0, Proto => 'tcp')
    or die "listen: $!";
my $ap2 = SCTest::Apache->start(memcached => ['127.0.0.1:' . $stall->sockport],
                                conf => "SharedCacheTimeout 100\n"
                                        . "<Location /app>\nSharedCache On\n"
                                        . "SharedCacheTTL 60\n</Location>\n");
my @stalled = map { $ap2->get("/app/stalled?n=$_") } 1 .. 10;
is(scalar(grep { $_->{status} == 200 } @stalled), 10,
   'memcached stalled: every request is answered 200');
my $worst2 = (sort { $b <=> $a } map { $_->{ms} } @stalled)[0];
cmp_ok($worst2, '<', $base + 2 * $timeout_ms + 300,
       "and none waits much past the timeout (worst ${worst2} ms)");
$ap2->stop(allow => [qr/SC020[19]/]);
done_testing;
