# One of three memcached servers stops answering (SIGSTOP: it keeps its
# connections and its data, the kernel still accepts new connections)
# while parallel clients load the site.  No request fails, none waits much
# longer than SharedCacheTimeout, and the URLs of the other two servers
# stay HITs: a lookup talks only to its URL's server (its keys are
# co-located, the namespace counter has a copy on every server).  When the
# server answers again (SIGCONT) its pages are HITs again.
#
# The server paused holds a copy of the namespace counter (every server
# does): the one holding the fewest entries.  It is resumed whatever happens (SCTest::Cluster's END block).
# sc-test: alone (it measures time; make prove runs the others two at a time)
# sc-test: own-cluster (every memcached it starts is no_extra)
use strict;
use warnings;
use Test::More;
use Time::HiRes qw(time sleep);
use SCTest;
SCTest::skip_in_cluster_pass();
use SCTest::Cluster qw(:all);

my $TIMEOUT_MS = 200;
# What a request may wait beyond the memcached timeout and the worst wait
# of the same load with every server up (the machine's own scheduling).
my $MARGIN_MS = 20;
my $URLS = 90;
my $CONNS = 32;
my $REQUESTS = 480;

my @mc = map { SCTest::Memcached->start(no_extra => 1) } 1 .. 3;
my $ap = SCTest::Apache->start(memcached => \@mc, conf => <<"CONF");
SharedCacheTimeout $TIMEOUT_MS
SharedCacheRetryInterval 1
# prefork: a child per client connection from the start, so that what is
# measured is the cache, not the spawning of children.
<IfModule mpm_prefork_module>
    StartServers 32
    MinSpareServers 32
    MaxSpareServers 48
    MaxRequestWorkers 64
</IfModule>
<Location /app>
    SharedCache On
    SharedCacheTTL 300
</Location>
CONF

my @paths = map { "/app/pause/$_" } 1 .. $URLS;
$ap->get($_) for @paths;
is(scalar(grep { $ap->get($_)->{cache} eq 'HIT' } @paths), $URLS,
   "$URLS URLs cached (HIT)");
my $where = entry_servers($ap, \@mc, @paths);
is(scalar(grep { !defined $where->{$_} } @paths), 0,
   'each entry found on a server');

my @ns = holders(ns_key(), @mc);
my @count = map { my $s = $_; scalar grep { ($where->{$_} // -1) == $s } @paths } 0 .. $#mc;
my ($victim) = sort { $count[$a] <=> $count[$b] } @ns ? @ns : (0 .. $#mc);
my %live = map { $_ => 1 } grep { ($where->{$_} // -1) != $victim } @paths;
diag("entries per server: @count; namespace counter on: @ns; pausing "
     . "server $victim (" . $mc[$victim]->addr . ")");

# The same load with every server answering.
my @base = load($ap, \@paths, conns => $CONNS, total => $REQUESTS);
my ($base_worst) = sort { $b <=> $a } map { $_->{ms} } @base;
is(scalar(grep { $_->{cache} eq 'HIT' } @base), $REQUESTS,
   sprintf('all servers up: %d requests over %d connections, all HITs '
           . '(worst %.0f ms)', $REQUESTS, $CONNS, $base_worst));

# The load again for 3 s (each client pausing 100 ms between requests: a
# few hundred requests); the server stops answering 0.4 s after it starts
# and answers again when it is over.
my $kids = load_start($ap, \@paths, conns => $CONNS, duration => 3,
                      pace_ms => 100);
sleep 0.4;
my $paused_at = time;
pause($mc[$victim]);
my @out = load_wait($kids);
my $resumed_at = time;
resume($mc[$victim]);
diag(sprintf('paused for %.1f s', $resumed_at - $paused_at));

my %by;
$by{ $_->{cache} }++ for @out;
diag('while paused: ' . join(', ', map { "$_ $by{$_}" } sort keys %by));
my $during = grep { $_->{start} >= $paused_at } @out;
cmp_ok($during, '>=', 100, "$during of them were sent while it was paused");
my @bad = grep { $_->{status} != 200 } @out;
is(scalar @bad, 0, 'no request failed (all 200)')
    or diag(join "\n", map { "$_->{path}: $_->{status}" } @bad[0 .. ($#bad < 9 ? $#bad : 9)]);
my ($worst) = sort { $b->{ms} <=> $a->{ms} } @out;
cmp_ok($worst->{ms}, '<', $TIMEOUT_MS + $base_worst + $MARGIN_MS,
       sprintf('no request waits longer than SharedCacheTimeout + the '
               . 'worst with every server up (%.0f ms) + %d ms (worst '
               . '%.0f ms, %s)', $base_worst, $MARGIN_MS, $worst->{ms},
               $worst->{path}));
# Skipped once marked down: only the first requests of each process (and
# one a retry interval later) wait for the timeout, not every request for
# the paused server's URLs.
my @slow = grep { $_->{ms} >= $TIMEOUT_MS / 2 } @out;
my @victim_req = grep { !$live{ $_->{path} } && $_->{start} >= $paused_at }
                 @out;
cmp_ok(scalar @slow, '<=', @victim_req / 2,
       sprintf('the paused server is skipped for SharedCacheRetryInterval: '
               . '%d of the %d requests for its URLs waited for it',
               scalar @slow, scalar @victim_req));
my @live_req = grep { $live{ $_->{path} } && $_->{start} >= $paused_at } @out;
my @live_miss = grep { $_->{cache} ne 'HIT' } @live_req;
is(scalar @live_miss, 0,
   scalar(@live_req) . ' requests sent during the pause for URLs of the '
   . 'two servers still answering: all HITs')
    or diag(scalar(@live_miss) . ' were not: '
            . join(', ', map { "$_->{path} $_->{cache}" }
                         @live_miss[0 .. ($#live_miss < 9 ? $#live_miss : 9)]));
cmp_ok(scalar(grep { $_->{cache} eq 'HIT' } @out), '>=', int(@out * 0.6),
       'at least 60% of all requests were HITs');

# Answering again: the paused server kept its data, its pages are HITs.
my %hit;
my $until = time + 5;
while (keys %hit < $URLS && time < $until) {
    sleep 0.3;
    for my $p (grep { !$hit{$_} } @paths) {
        $hit{$p} = 1 if $ap->get($p)->{cache} eq 'HIT';
    }
}
is(scalar keys %hit, $URLS, 'after SIGCONT every URL is a HIT again');

$ap->stop(allow => [qr/SC020[19]/]);
done_testing;
