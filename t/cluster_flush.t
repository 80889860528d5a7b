# A namespace flush while one of three memcached servers is away: when
# the server is back, no entry stored before the flush is served, from any
# server.  sharedcachectl flush says it could not reach that server (exit
# 3, and a line of stderr naming it and none of the servers that
# answered): the namespace counter has a copy on every server, and a flush
# must bump each.
#
# A quarter of the pages is requested while the server is away, and every
# page three times over a second and a half after it is back; a HIT carrying the render token
# of the entry stored before the flush is a stale hit.
#
# Three ways to be away:
#   partition  cut off behind a relay that loses what is sent meanwhile
#              (SCTest::Cluster::Proxy): back with its data, without the
#              flush;
#   pause      SIGSTOP ... SIGCONT: back with its data; the flush waited
#              in its socket buffer and runs late;
#   restart    killed, started again empty.
# The server cut off or paused holds a copy of the namespace counter, as
# every server does; a flush must reach it when it answers again.
# sc-test: alone (it measures time; make prove runs the others two at a time)
# sc-test: own-cluster (every memcached it starts is no_extra)
use strict;
use warnings;
use Test::More;
use Time::HiRes qw(time sleep);
use SCTest;
SCTest::skip_in_cluster_pass();
SCTest::event_only();
use SCTest::Cluster qw(:all);

my $URLS = 60;
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
    my @mc = map { SCTest::Memcached->start(no_extra => 1) } 1 .. 3;
    my @srv = $mode eq 'partition'
        ? map { SCTest::Cluster::Proxy->start($_) } @mc : @mc;
    my $ap = SCTest::Apache->start(memcached => \@srv, conf => $CONF);

    my @paths = map { "/app/flush-$mode/$_" } 1 .. $URLS;
    $ap->get($_) for @paths;
    my %old;    # path => render token of the entry stored before the flush
    for my $p (@paths) {
        my $r = $ap->get($p);
        $old{$p} = body_token($r->{body}) if $r->{cache} eq 'HIT';
    }
    is(scalar keys %old, $URLS, "$URLS pages cached (HIT)");
    my $where = entry_servers($ap, \@mc, @paths);
    my @count = map { my $s = $_; scalar grep { ($where->{$_} // -1) == $s } @paths }
                0 .. 2;

    my @ns = holders(ns_key(), @mc);
    my $victim;
    if ($mode eq 'restart') {
        my %has = map { $_ => 1 } @ns;
        ($victim) = (grep({ !$has{$_} } 0 .. 2), 0);
    }
    else {
        ($victim) = (@ns, 0);
    }
    my $victim_addr = $srv[$victim]->addr;
    my @others = map { $_->addr } @srv[grep { $_ != $victim } 0 .. 2];
    diag("$mode: entries per server: @count; namespace counter on: @ns; "
         . "server $victim ($victim_addr) goes away");

    if ($mode eq 'partition') { $srv[$victim]->partition }
    elsif ($mode eq 'pause') { pause($mc[$victim]) }
    else { $mc[$victim]->stop }

    my $r = ctl(servers => \@srv, timeout => 300, limit => 10,
                args => ['flush']);
    is($r->{rc}, 3, "sharedcachectl flush with server $victim away: exit 3")
        or diag("$r->{out}$r->{err}");
    my $named = 0;
    for my $line (split /\n/, $r->{err} // '') {
        $named ||= index($line, $victim_addr) >= 0
                   && !grep { index($line, $_) >= 0 } @others;
    }
    ok($named, "and a line of its stderr names $victim_addr and not the "
       . 'servers that answered') or diag("$r->{out}$r->{err}");

    my @stale;
    my $check = sub {
        my ($when, @which) = @_;
        for my $p (@which) {
            my $res = $ap->get($p);
            push @stale, "$when: $p HIT (entry of server "
                         . ($where->{$p} // '?') . ')'
                if $res->{cache} eq 'HIT'
                   && body_token($res->{body}) eq ($old{$p} // 'none');
        }
    };
    # (A quarter of them: today each of these waits for the timeout.)
    $check->('away', @paths[grep { $_ % 4 == 0 } 0 .. $#paths]);

    if ($mode eq 'partition') { $srv[$victim]->heal }
    elsif ($mode eq 'pause') { resume($mc[$victim]) }
    else { $mc[$victim]->restart }

    for my $round (1 .. 3) {
        sleep 0.5;
        $check->("round $round after it is back", @paths);
    }
    my %from;
    $from{ /entry of server (\S+)\)/ ? $1 : '?' }++ for @stale;
    is(scalar @stale, 0, "no entry stored before the flush is served, "
       . "from any server ($URLS pages, 3 or 4 requests each)")
        or diag(scalar(@stale) . ' stale hits, by server of the entry: '
                . join(', ', map { "$_: $from{$_}" } sort keys %from) . "\n"
                . join("\n", @stale[0 .. ($#stale < 9 ? $#stale : 9)]));

    # And the pages are cached again.
    my @again = grep { $ap->get($_); $ap->get($_)->{cache} eq 'HIT' } @paths;
    is(scalar @again, $URLS, 'requested twice more: every page is a HIT '
       . '(stored after the flush)');

    $ap->stop(allow => [qr/SC020[19]/]);
    $_->stop for @srv, @mc;
}

subtest 'partition: back with its data, the flush lost' =>
    sub { scenario('partition') };
subtest 'pause (SIGSTOP): back with its data' => sub { scenario('pause') };
subtest 'killed and restarted empty' => sub { scenario('restart') };
done_testing;
