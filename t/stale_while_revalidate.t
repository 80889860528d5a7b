# stale-while-revalidate as RFC 5861 and RFC 9111 4.2.4 mean it: within
# the window every request gets the stale copy at once, the one that
# triggers the refresh too; one refresh runs after that request's
# response has left (a subrequest on the same worker, its output only
# into the cache).  The client's own conditions are answered from the
# stale copy and never reach the refresh; a refresh that fails leaves
# the stale copy.
# sc-test: alone (it measures time; make prove runs the others two at a time)
use strict;
use warnings;
use Test::More;
use Time::HiRes qw(sleep time);
use SCTest;

my $mc = SCTest::Memcached->start;
my $ap = SCTest::Apache->start(memcached => [$mc], conf => <<'CONF');
<Location /app>
    SharedCache On
    SharedCacheLockTimeout 5
</Location>
CONF
my $fail = $ap->dir . '/app/fail';
my $swr = '&cc=max-age%3D1,%20stale-while-revalidate%3D30';

sub timed_get {
    my ($path, %h) = @_;
    my $t0 = time;
    my $r = $ap->get($path, %h);
    $r->{ms} = (time - $t0) * 1000;
    return $r;
}

# The request that finds it stale gets it at once and refreshes it after.
my $p = "/app/swr?sleep=400&etag=%22e1%22$swr";
my $first = $ap->get($p);
cache_is($first, 'MISS', 'stored');
sleep 1.5;
my $stale = timed_get($p);
cache_is($stale, 'STALE', 'expired, within stale-while-revalidate: STALE');
is($stale->{body}, $first->{body}, '  the stored page');
cmp_ok($stale->{ms}, '<', 300, sprintf('  at once (%.0f ms; the render '
                                       . 'takes 400 ms)', $stale->{ms}));
my $until = time + 5;
sleep 0.1 while $ap->renders('/app/swr') < 2 && time < $until;
sleep 0.3;
is($ap->renders('/app/swr'), 2, 'one refresh ran, after the response');
my $fresh = $ap->get($p);
cache_is($fresh, 'HIT', 'then a HIT');
isnt($fresh->{body}, $first->{body}, '  of the refreshed page');

# A conditional request that triggers the refresh: a 304 from the stale
# copy; the refresh asks the application for the whole page.
sleep 1.5;
my $nm = timed_get($p, 'If-None-Match' => '"e1"');
is($nm->{status}, 304, 'a matching If-None-Match: 304');
cache_is($nm, 'STALE', '  from the stale copy');
$until = time + 5;
sleep 0.1 while $ap->renders('/app/swr') < 3 && time < $until;
sleep 0.3;
my $after = $ap->get($p);
is($after->{status}, 200, 'the refresh stored a 200');
cache_is($after, 'HIT', '  a HIT');
like($after->{body}, qr/\S/, '  with its body');

# A refresh that fails leaves the stale copy.
my $f = "/app/swr-fail?failable=1$swr";
my $good = $ap->get($f);
sleep 1.5;
open my $fh, '>', $fail or die $!;
close $fh;
my $s1 = $ap->get($f);
cache_is($s1, 'STALE', 'the application fails: STALE');
sleep 0.5;
my $s2 = $ap->get($f);
unlink $fail;
is($s2->{status}, 200, '  and after the failed refresh, still 200');
is($s2->{body}, $good->{body}, '  the stale copy');

# Without stale-while-revalidate (nor SharedCacheGrace) an expired page
# is rendered for the client that asks.
my $n = '/app/noswr?cc=max-age%3D1';
my $n1 = $ap->get($n);
sleep 1.5;
my $n2 = $ap->get($n);
cache_is($n2, 'MISS', 'no window: the expired page is rendered');
isnt($n2->{body}, $n1->{body}, '  anew');

$ap->stop(allow => [qr/SC0309/]);
done_testing;
