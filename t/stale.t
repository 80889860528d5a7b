# Grace, stale-on-error and a lease holder that dies or hangs; waiters for
# the refresh of a stale-if-error page poll the lease, not the stale body.
# sc-test: alone (it measures time; make prove runs the others two at a time)
use strict;
use warnings;
use Test::More;
use POSIX ();
use Time::HiRes qw(sleep time);
use SCTest;

my $mc = SCTest::Memcached->start;
my $ap = SCTest::Apache->start(memcached => [$mc], wsgi_processes => 4,
                               wsgi_options => 'connect-timeout=1',
                               conf => <<'CONF');
<Location /app>
    SharedCache On
    SharedCacheTTL 1
    SharedCacheGrace 30
    SharedCacheStaleOnError 60
    SharedCacheLockTimeout 1
</Location>
<Location /app/nograce>
    SharedCacheGrace 0
</Location>
<Location /app/grace>
    SharedCacheTTL 3
    # the refresh's lease must outlive a burst on a slow machine: with 1 s
    # it could expire before the refresh stored, and a second one ran
    SharedCacheLockTimeout 5
</Location>
<Location /app/big>
    SharedCacheTTL 60
    SharedCacheGrace 0
    SharedCacheStaleOnError 0
    SharedCacheLockTimeout 4
</Location>
CONF
my $fail = $ap->dir . '/app/fail';

# Grace: an expired page is served STALE to every concurrent request, the
# one that refreshes it too (after its response has left), while exactly
# one refresh runs.  (A TTL of 3 s: the refreshed copy must stay
# fresh while a slow machine's prefork spawns children for the burst, or
# a second refresh would be right.)
my $g = '/app/grace?sleep=300';
$ap->get($g);
sleep 3.5;
my @res = SCTest::Apache->burst(map { [ $ap, $g ] } 1 .. 20);
my @stale = grep { $_->{cache} eq 'STALE' } @res;
is(scalar @stale, 20, 'expired: 20 of 20 concurrent requests get STALE');
cmp_ok((sort { $b <=> $a } map { $_->{ms} } @stale)[0], '<', 250,
       'STALE answers come at once, not after the 300 ms render');
is($ap->renders('/app/grace'), 2, 'exactly one refresh ran');
cache_is($ap->get($g), 'HIT', 'then the fresh copy is a HIT');

# Stale-on-error: the app answers 503; the stale copy is served with 200.
my $e = '/app/error?failable=1';
my $good = $ap->get($e);
sleep 1.5;
open my $fh, '>', $fail or die $!;
close $fh;
my $r = $ap->get($e);
is($r->{status}, 200, 'the app answers 503: the stale copy is served, 200');
cache_is($r, 'STALE', 'marked STALE');
is($r->{body}, $good->{body}, 'the stored page');
# must-revalidate forbids it.
my $mr = '/app/error-mr?failable=1&cc=max-age%3D1,%20must-revalidate';
unlink $fail;
$ap->get($mr);
sleep 1.5;
open $fh, '>', $fail or die $!;
close $fh;
is($ap->get($mr)->{status}, 503,
   'with must-revalidate the error is passed through');
unlink $fail;

# Waiters do not fetch the stale body on every poll (they polled a
# 2 MB stale copy every 25 ms: 500 MB in 4 s).  No grace: the waiters
# wait for the refresh, up to the lock timeout (4 s).
{
    my $p = '/app/big?size=2000000&sleep=2000'
            . '&cc=max-age%3D1,%20stale-if-error%3D600';
    $ap->get($p);
    sleep 1.5;
    my $sent = $mc->stats->{bytes_written};
    my @r = SCTest::Apache->burst(map { [ $ap, $p ] } 1 .. 3);
    my $mb = ($mc->stats->{bytes_written} - $sent) / 1e6;
    is(scalar(grep { $_->{status} == 200 } @r), 3,
       'stale-if-error page: 3 x 200');
    # what it costs: each request's lookups (2 MB each, a few per
    # request) and the refresh's store read back once (2 MB); polling the
    # body would be hundreds of MB
    cmp_ok($mb, '<', 30, sprintf('waiters polled the lease, not the body '
                                 . '(%.1f MB from memcached)', $mb));
}

# A lease holder that hangs past SharedCacheLockTimeout (1 s): one waiter
# takes the lease over, the others wait for it, at most twice the lock
# timeout in all, then go on to the backend themselves; no request fails
# because of the lock.
my $h = '/app/hang/hung?sleep=2500&cc=max-age%3D60';
my $t0 = time;
@res = SCTest::Apache->burst(map { [ $ap, $h ] } 1 .. 5);
is(scalar(grep { $_->{status} == 200 } @res), 5,
   'holder hangs: all 5 requests answered 200');
my $worst = (sort { $b <=> $a } map { $_->{ms} } @res)[0];
cmp_ok($worst, '<', 2 * 1000 + 2500 + 1000,
       sprintf('within twice the lock timeout + render (worst %.0f ms)',
               $worst));

# The lease holder's app process is killed while it renders: it fails,
# its lease is released, and the waiters render or wait on; none of them
# fails because of the lock.
# (Only this Apache's daemons: other suites may run on the machine.)
sub app_pids {
    my @pids;
    for my $dir (glob '/proc/[0-9]*') {
        open my $st, '<', "$dir/stat" or next;
        my ($pid, $ppid) = (<$st> // '') =~ /^(\d+) \(.*\) \S+ (\d+) /
            or next;
        open my $f, '<', "$dir/cmdline" or next;
        my $cmd = <$f> // '';
        push @pids, $pid if $ppid == $ap->parent_pid && $cmd =~ /sc-app/;
    }
    return @pids;
}
my $k = '/app/killed/k?sleep=1500&cc=max-age%3D60';
my $pid = fork // die $!;
if (!$pid) {
    sleep 0.4;
    kill 'KILL', app_pids();
    POSIX::_exit(0);
}
@res = SCTest::Apache->burst(map { [ $ap, $k ] } 1 .. 6);
waitpid $pid, 0;
my @ok = grep { $_->{status} == 200 } @res;
my @failed = grep { $_->{status} != 200 } @res;
is(scalar(@ok) + scalar(@failed), 6, 'holder killed: every request answered')
    or diag(join ' ', map { "$_->{status}/$_->{cache}/" . int($_->{ms}) }
                      @res);
# A failure can only be a render that was in the app when it was killed
# (at 0.4 s), never a request left waiting on the lock.
is(scalar(grep { $_->{ms} > 1000 } @failed), 0,
   'every failure is a render the kill interrupted');
cmp_ok((sort { $b <=> $a } map { $_->{ms} } @res)[0], '<', 8000,
       'nobody waited for ever');

# The mod_wsgi daemon is down (its socket is gone): httpd answers 503, and
# the stale copy replaces that error page.
my $d = '/app/daemon?x=1';
my $before = $ap->get($d);
sleep 1.5;
unlink glob($ap->dir . '/wsgi/*');
my $down = $ap->get($d);
is($down->{status}, 200, 'daemon down: the stale copy is served, 200');
cache_is($down, 'STALE', 'marked STALE');
is($down->{body}, $before->{body}, 'the stored page');

$ap->stop(allow => [qr/SC0309/, qr/\[wsgi:error\]/, qr/AH01075/,
                    qr/Truncated or oversized|daemon process/]);
done_testing;
