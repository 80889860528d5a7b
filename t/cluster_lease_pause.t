# The server holding a page's fill lease stops answering (SIGSTOP) while
# the lease's holder renders and four more clients ask for the page; it
# answers again 2 s later.  The holder could not let go of the lease (its
# child had marked the server down after another thread's timeout, or the
# server did not answer): it is let go of by the first request of the
# host that reaches the server again, so nobody then waits for the lease
# to expire (SharedCacheLockTimeout, 10 s), and the page is cached again
# at once (found by the outside attack: the first request after the
# pause waited 7 to 8 s under event).
# sc-test: alone (it measures time)
# sc-test: own-cluster (every memcached it starts is no_extra)
use strict;
use warnings;
use Test::More;
use Time::HiRes qw(time sleep);
use POSIX ();
use SCTest;
SCTest::skip_in_cluster_pass();
use SCTest::Cluster qw(:all);

my $RENDER_MS = 1500;
my @mc = map { SCTest::Memcached->start(no_extra => 1) } 1 .. 3;
my $ap = SCTest::Apache->start(memcached => \@mc, conf => <<'CONF');
SharedCacheTimeout 100
SharedCacheRetryInterval 1
<Location /app>
    SharedCache On
    SharedCacheTTL 300
</Location>
CONF

my $path = '/app/lease/1';
$ap->get("$path?warm=1");
my $h = holder(url_key($ap, $path), @mc);
ok(defined $h, 'the URL\'s keys live on one server');
my $url = "$path?sleep=$RENDER_MS";

# A client in a process of its own: its line reports how it went.
sub client {
    my ($delay) = @_;
    pipe(my $r, my $w) or die;
    my $pid = fork // die;
    if (!$pid) {
        close $r;
        sleep $delay;
        my $res = $ap->raw(GET => $url);
        print $w "$res->{status} " . ($res->{cache} // '-') . "\n";
        close $w;
        POSIX::_exit(0);
    }
    close $w;
    return [ $pid, $r ];
}
my @kids = (client(0));
sleep 0.2;
pause($mc[$h]);
push @kids, client(0.1 + 0.05 * $_) for 1 .. 4;
sleep 2;
resume($mc[$h]);
my @lines;
for my $k (@kids) {
    my $fh = $k->[1];
    push @lines, scalar(<$fh>) // "(nothing)\n";
    waitpid $k->[0], 0;
}
is(scalar(grep { /^200 / } @lines), 5, 'the five clients of the pause got the page')
    or diag(join '', @lines);

# After the pause: the first request renders at once (or is a hit), and
# the page is a hit again right after.
my ($worst, $first_hit) = (0, undef);
my $resumed = time;
while (time < $resumed + 6 && !defined $first_hit) {
    my $t = time;
    my $res = $ap->raw(GET => $url);
    my $over = $res->{ms} - ($res->{cache} eq 'HIT' ? 0 : $RENDER_MS);
    $worst = $over if $over > $worst;
    $first_hit = $t - $resumed if $res->{cache} eq 'HIT';
    sleep 0.2;
}
cmp_ok($worst, '<', 1000, 'after the pause no request waits 1 s beyond its render '
       . sprintf('(worst %.0f ms)', $worst));
ok(defined $first_hit, 'the page is a hit again within 6 s'
   . (defined $first_hit ? sprintf(' (%.1f s)', $first_hit) : ''));
$ap->stop(allow => [qr/SC0\d\d\d/, qr/AH01/]);
done_testing;
