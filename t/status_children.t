# The status page shows each memcached server as the children see it: a
# server is marked down per child (sc_store), so the page counts, across
# every child (shared memory), how many have it marked down, since when and
# until when at the latest they skip it; a child that never talked to it
# still reports what the others saw.  When the server answers again, each
# child that retries it marks it up and the count falls back to zero.
# sc-test: alone (it measures time; make prove runs the others two at a time)
# sc-test: own-cluster (every memcached it starts is no_extra)
use strict;
use warnings;
use HTTP::Tiny;
use JSON::PP;
use Test::More;
use Time::HiRes qw(sleep);
use SCTest;
SCTest::skip_in_cluster_pass();
use SCTest::Cluster qw(:all);

my @mc = map { SCTest::Memcached->start(no_extra => 1) } 1 .. 2;
my $ap = SCTest::Apache->start(memcached => \@mc, conf => <<'CONF');
SharedCacheRetryInterval 30
<IfModule mpm_prefork_module>
    StartServers 4
    MinSpareServers 4
    MaxSpareServers 8
</IfModule>
<Location /app>
    SharedCache On
    SharedCacheTTL 60
</Location>
<Location /sc-status>
    SetHandler sharedcache-status
</Location>
CONF

# Every child has a slot; nothing is down yet.
my $st = decode_json($ap->get('/sc-status?json')->{body});
cmp_ok($st->{servers}[0]{children}, '>=', 2, 'the page counts the live children');
is($_->{children_marked_down}, 0, "$_->{server}: up in every child")
    for @{ $st->{servers} };

# URLs of the second server, requested over several connections at once
# (under prefork: several children), after the server went away.
my $gone = $mc[1]->addr;
my @all = map { "/app/st/$_" } 1 .. 40;
$ap->get($_) for @all;
my $where = entry_servers($ap, \@mc, @all);
my @paths = grep { defined $where->{$_} && $where->{$_} == 1 } @all;
cmp_ok(scalar @paths, '>=', 4, 'some URLs live on the second server');
$mc[1]->stop;
$ap->parallel_get($_, total => 8, conns => 4) for @paths[0 .. 3];

my @seen;
for (1 .. 6) {
    # a new connection each time: under prefork, another child each time
    my $j = decode_json(HTTP::Tiny->new->get($ap->url('/sc-status?json'))->{content});
    push @seen, (grep { $_->{server} eq $gone } @{ $j->{servers} })[0];
}
my $min = (sort { $a <=> $b } map { $_->{children_marked_down} } @seen)[0];
cmp_ok($min, '>=', $ENV{SC_MPM} && $ENV{SC_MPM} eq 'prefork' ? 2 : 1,
       "$gone: the page of every child shows the children that marked it down ($min)");
cmp_ok($seen[0]{children_retry_in_s}, '>', 20,
       'and when they try it again at the latest (SharedCacheRetryInterval 30)');
my ($live) = grep { $_->{server} ne $gone }
             @{ decode_json($ap->get('/sc-status?json')->{body})->{servers} };
is($live->{children_marked_down}, 0, 'the other server is up in every child');
like($ap->get('/sc-status')->{body}, qr/marked down in \d+ of \d+ children/,
     'the HTML page says it too');
like($ap->get('/sc-status?prometheus')->{body},
     qr/^sharedcache_memcached_down_children\{server="\Q$gone\E"\} [1-9]/m,
     'and the Prometheus text');
# sharedcachectl stats --status: the same view, from the command line
my $r = ctl(servers => \@mc, timeout => 300,
            args => ['stats', '--status', $ap->url('/sc-status')]);
is($r->{rc}, 3, 'sharedcachectl stats --status: exit 3 (a server is unreachable)');
like($r->{out}, qr/^children: \Q$gone\E children=\d+ marked_down=[1-9]\d* down_for_s=\d+ retry_in_s=\d+$/m,
     'it prints the children\'s view of the stopped server')
    or diag("$r->{out}$r->{err}");
like($r->{out}, qr/^children: \Q${\ $mc[0]->addr }\E children=\d+ marked_down=0 /m,
     'and of the live one');
$r = ctl(servers => [$mc[0]], timeout => 300,
         args => ['stats', '--status', 'http://127.0.0.1:' . SCTest::free_port() . '/sc-status']);
is($r->{rc}, 3, 'a status page that does not answer: exit 3');
like($r->{err}, qr/--status/, 'and says which');
$ap->stop(allow => [qr/SC020[19]/]);
done_testing;
