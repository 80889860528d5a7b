# Losing one of three memcached servers loses about a third of the cached
# URLs, not all of them: every key of a URL lives on the server that URL
# hashes to (co-location), and the namespace counter has a copy on every
# server, so a lookup depends on one server only.  Requests answer 200
# without waiting much past SharedCacheTimeout, and when the server comes
# back its pages are cached again within SharedCacheRetryInterval, without
# restarting Apache.
#
# The server killed holds a copy of the namespace counter (every server
# does): the one holding the fewest entries, so that a fair spread keeps
# at least two thirds of the URLs.
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
# What one request may take beyond the memcached timeout (a killed
# server refuses connections at once: the worst seen is a few ms).
my $MARGIN_MS = 20;
my $URLS = 300;

my @mc = map { SCTest::Memcached->start(no_extra => 1) } 1 .. 3;
my $ap = SCTest::Apache->start(memcached => \@mc, conf => <<"CONF");
SharedCacheTimeout $TIMEOUT_MS
SharedCacheRetryInterval 1
<Location /app>
    SharedCache On
    SharedCacheTTL 300
</Location>
<Location /sc-status>
    SetHandler sharedcache-status
</Location>
CONF

my @paths = map { "/app/failover/$_" } 1 .. $URLS;
$ap->get($_) for @paths;
my %before = map { $_ => $ap->get($_) } @paths;
is(scalar(grep { $_->{cache} eq 'HIT' } values %before), $URLS,
   "all $URLS URLs cached (HIT) with three servers up");

# Where the entries are: sc:e: keys per server (nothing else is cached).
my @sets = key_sets(@mc);
my @entries = map { my $s = $_; scalar grep { /^sc:e:/ } keys %$s } @sets;
diag("entries per server: @entries");
my @ns = grep { $sets[$_]{ ns_key() } } 0 .. $#mc;
my ($dead) = sort { $entries[$a] <=> $entries[$b] } @ns ? @ns : (0 .. $#mc);
my @alive = grep { $_ != $dead } 0 .. $#mc;
my $surviving = 0;
$surviving += $entries[$_] for @alive;
diag("stopping server $dead (" . $mc[$dead]->addr . ", $entries[$dead] "
     . "entries, namespace counter on: @ns); $surviving entries elsewhere");
$mc[$dead]->stop;

my @down = map { +{ path => $_, %{ $ap->get($_) } } } @paths;
my @hits = grep { $_->{cache} eq 'HIT' && $_->{body} eq $before{ $_->{path} }{body} } @down;
my %by;
$by{ $_->{cache} }++ for @down;
diag('one server down: ' . join(', ', map { "$_ $by{$_}" } sort keys %by));
cmp_ok(scalar @hits, '>=', int($URLS * 0.6),
       'one server of three down: at least 60% of the URLs are still HITs');
cmp_ok(scalar @hits, '>=', $surviving,
       "every URL whose entry is on a server still up is a HIT ($surviving)");
is(scalar(grep { $_->{status} == 200 } @down), $URLS,
   'every request answers 200');
my ($worst) = sort { $b->{ms} <=> $a->{ms} } @down;
cmp_ok($worst->{ms}, '<', $TIMEOUT_MS + $MARGIN_MS,
       sprintf('no request takes longer than SharedCacheTimeout + %d ms '
               . '(worst %.0f ms, %s)', $MARGIN_MS, $worst->{ms},
               $worst->{path}));

# The status page says which server the child sees down, and since when.
my $status = $ap->get('/sc-status?json')->{body};
my $dead_addr = $mc[$dead]->addr;
like($status, qr/\{"server": "\Q$dead_addr\E", "up": false,[^}]*"marked_down": true/,
     'the status page shows the stopped server marked down');
my @up_addrs = map { $mc[$_]->addr } @alive;
like($status, qr/"server": "\Q$up_addrs[0]\E", "up": true,[^}]*"marked_down": false/,
     'and a live one up');

# A second pass changes nothing: the pages of live servers stay HITs.
my @again = map { $ap->get($_) } @paths;
cmp_ok(scalar(grep { $_->{cache} eq 'HIT' } @again), '>=', $surviving,
       'a second pass: still every URL of a live server is a HIT');

# The server comes back (empty): after the retry interval (1 s; waiting
# 2 s) its pages are cached again.
$mc[$dead]->restart;
sleep 2;
my @lost = map { $_->{path} } grep { $_->{cache} ne 'HIT' } @down;
@lost = @lost[0 .. 99] if @lost > 100;
my (@first, @second);
for my $p (@lost) {
    push @first, $ap->get($p);
    push @second, $ap->get($p);
}
is(scalar(grep { $_->{cache} eq 'ERROR' } @first), 0,
   'after the restart no page of the returned server answers ERROR');
is(scalar(grep { $_->{cache} eq 'HIT' } @second), scalar @lost,
   scalar(@lost) . ' pages lost in the outage: requested twice, the second '
   . 'is a HIT, without restarting Apache');

$ap->stop(allow => [qr/SC020[19]/]);
done_testing;
