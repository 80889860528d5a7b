# A fence a child has found owed stays owed until it is given: the server
# that held the mark restarting empty (or evicting it) before the fenced
# server comes back does not let that server's old entries be served.
# sc-test: alone (it measures time; make prove runs the others two at a time)
# sc-test: own-cluster (every memcached it starts is no_extra)
use strict;
use warnings;
use Test::More;
use Time::HiRes qw(time sleep);
use IO::Socket::INET;
use SCTest;
SCTest::skip_in_cluster_pass();
SCTest::event_only();
use SCTest::Cluster qw(:all);

my $CONF = <<'CONF';
SharedCacheTimeout 200
SharedCacheRetryInterval 1
<Location /app>
    SharedCache On
    SharedCacheTTL 300
</Location>
CONF

sub scenario {
    my ($mode) = @_;
    my @mc = (SCTest::Memcached->start(no_extra => 1, mem => ($mode eq 'evict' ? 2 : 64)),
              SCTest::Memcached->start(no_extra => 1));
    my @px = map { SCTest::Cluster::Proxy->start($_) } @mc;
    my $ap = SCTest::Apache->start(memcached => \@px, conf => $CONF);
    # pages tagged "lost" placed on server 1 (the one that will be cut off)
    my @all = map { "/app/lost/$mode-$_?sk=lost" } 1 .. 16;
    $ap->get($_) for @all;
    my %tok;
    for my $p (@all) {
        my $r = $ap->get($p);
        $tok{$p} = body_token($r->{body}) if $r->{cache} eq 'HIT';
    }
    my @sets = key_sets(@mc);
    my @on1 = grep { my $k = entry_key($ap, $_, \@px); $k && $sets[1]{$k} } @all;
    ok(@on1 >= 2, scalar(@on1) . ' tagged pages on server 1');

    $px[1]->partition;
    my $r = ctl(servers => \@px, timeout => 300, limit => 10,
                args => ['invalidate', 'lost']);
    is($r->{rc}, 3, 'ctl invalidate with server 1 cut off: exit 3');
    diag($r->{err});
    # Every child reads the mark (server 1 still away: it owes a fence).
    for (1 .. 3) {
        $ap->get($_) for @all;
        sleep 0.4;
    }
    my $mark = counter_key('m:' . $px[1]->addr);
    ok(defined $mc[0]->get_raw($mark), 'server 0 holds the mark');

    if ($mode eq 'restart') {
        $mc[0]->restart;
    }
    else {
        # items of the mark's own size class, pipelined on one connection
        my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                      PeerPort => $mc[0]->port) or die $!;
        my $v = '0123456789abcdef01234567';
        my $buf = '';
        for my $i (1 .. 60000) {
            $buf .= sprintf("set sc:g:junk%035d 0 0 %d noreply\r\n%s\r\n", $i, length $v, $v);
            if (length $buf > 65536) { print $s $buf; $buf = '' }
        }
        print $s $buf . "get nothing\r\n";
        my $l = <$s>;
        close $s;
        diag('evictions on server 0: ' . $mc[0]->stats->{evictions});
    }
    diag("$mode: mark on server 0 now "
         . (defined $mc[0]->get_raw($mark) ? 'present' : 'gone'));
    $px[1]->heal;
    my @stale;
    for my $round (1 .. 4) {
        sleep 0.5;
        for my $p (@on1) {
            my $res = $ap->get($p);
            push @stale, "round $round: $p"
                if $res->{cache} eq 'HIT' && body_token($res->{body}) eq $tok{$p};
        }
    }
    is(scalar @stale, 0, "$mode: no pre-invalidation entry of server 1 served")
        or diag(join "\n", @stale[0 .. ($#stale < 5 ? $#stale : 5)]);
    $ap->stop(allow => [qr/SC020[19]/]);
    $_->stop for @px, @mc;
}

subtest restart => sub { scenario('restart') };
subtest evict => sub { scenario('evict') };
done_testing;
