# The status page (SetHandler sharedcache-status): counters of every child
# (shared memory), as HTML, JSON and Prometheus text, with each memcached
# server's state.
use strict;
use warnings;
use HTTP::Tiny;
use JSON::PP;
use Test::More;
use SCTest;

my $mc = SCTest::Memcached->start;
my $ap = SCTest::Apache->start(memcached => [$mc], conf => <<'CONF');
<Location /app>
    SharedCache On
    SharedCacheTTL 60
</Location>
<Location /sc-status>
    SetHandler sharedcache-status
</Location>
# the page where the cache is on: still not the cache's business
<Location /st>
    SharedCache On
    SharedCacheTTL 60
</Location>
<Location /st/status>
    SetHandler sharedcache-status
</Location>
CONF

sub status { decode_json($ap->get('/sc-status?json')->{body}) }
my $before = status();

# Over many connections, so several children count.
$ap->parallel_get('/app/s1', total => 1, conns => 1);
$ap->parallel_get('/app/s1', total => 40, conns => 8);
$ap->get('/app/s2?cc=no-store') for 1 .. 3;
$ap->get('/app/s3', Authorization => 'Basic eDp5') for 1 .. 2;

my $after = status();
my %d = map { $_ => $after->{$_} - $before->{$_} }
        qw(hits misses uncacheable bypass stores served_bytes);
is($d{misses}, 1, 'one miss counted');
is($d{hits}, 40, '40 hits counted, across all children');
is($d{uncacheable}, 3, 'three uncacheable');
is($d{bypass}, 2, 'two bypasses');
is($d{stores}, 1, 'one store');
is($after->{no_handle}, 0, 'no request found the handle pool exhausted');
cmp_ok($d{served_bytes}, '>', 40 * 40, 'bytes served from the cache');
is($after->{servers}[0]{server}, ($mc->members)[0]->addr1, 'the memcached server is listed');
ok($after->{servers}[0]{up}, 'and up');
# (in the cluster pass the entry's keys may all be on another server)
my $items = 0;
$items += $_->{items} // 0 for @{ $after->{servers} };
cmp_ok($items, '>', 0, 'with item counts');

my $prom = $ap->get('/sc-status?prometheus');
like($prom->{headers}{'content-type'}, qr{^text/plain}, 'Prometheus text');
like($prom->{body}, qr/^sharedcache_responses_total\{status="HIT"\} \d+$/m,
     'responses by decision');
like($prom->{body}, qr/^# TYPE sharedcache_stores_total counter$/m,
     'typed counters');
like($prom->{body}, qr/^sharedcache_handle_pool_exhausted_total 0$/m,
     'exhausted handle pools');
like($prom->{body}, qr/^sharedcache_memcached_up\{server="[^"]+"\} 1$/m,
     'server state');
my $html = $ap->get('/sc-status');
like($html->{body}, qr{<h1>mod_sharedcache</h1>}, 'an HTML page');
like($html->{body}, qr{<td>up</td>}, 'showing the server up');
cache_is($ap->get('/sc-status?json')->{headers}{'x-sharedcache'}, undef,
         'the status page is not itself cached');

like($prom->{body}, qr/^sharedcache_memcached_items\{server="[^"]+"\} [1-9]\d*$/m,
     'memcached items (as HTML and JSON show them)');
like($prom->{body}, qr/^sharedcache_memcached_evictions_total\{server="[^"]+"\} \d+$/m,
     'and evictions');
like($prom->{body}, qr/^sharedcache_start_time_seconds \d{10}$/m, 'when the counters started');
like($html->{body}, qr/Counters of all processes since \d{4}-\d\d-\d\d/, 'the page says since when');

# An unsafe request in a cached location is a bypass in the log, not "-".
my $post = $ap->request('POST', '/app/s9');
cache_is($post, 'BYPASS', 'a POST: X-SharedCache: BYPASS');
my ($line) = grep { m{"POST /app/s9 } } split /\n/, do {
    select(undef, undef, undef, 0.2);
    open my $fh, '<', $ap->dir . '/access_log' or die; local $/; <$fh> };
like($line // '', qr/ 200 \S+ BYPASS /, 'and %{sharedcache-status}e logs BYPASS')
    or diag($line);

# The status page inside a cached location: not looked up, not stored,
# not counted, nothing logged about storing it.
my $s1 = status();
my @in = map { $ap->get('/st/status?json') } 1 .. 3;
my $s2 = status();
is(join(' ', map { $s2->{$_} - $s1->{$_} } qw(hits misses uncacheable bypass stores)),
   '0 0 0 0 0', 'the status page in a cached location is not counted');
cache_is($in[-1]{headers}{'x-sharedcache'}, undef, 'and not looked up');
unlike($ap->error_log, qr/incomplete or aborted/, 'and nothing logged about storing it');

# started and uptime; a graceful restart (logrotate's reload) keeps them
my $t0 = status();
cmp_ok(abs($t0->{started} - time), '<', 600, 'started: a unix time');
cmp_ok($t0->{uptime_s}, '>=', 0, 'uptime');
kill 'USR1', $ap->parent_pid;
for (1 .. 100) {
    last if $ap->error_log =~ /AH00493/;
    select(undef, undef, undef, 0.1);
}
my $t1;
for (1 .. 100) {
    select(undef, undef, undef, 0.1);
    my $r = HTTP::Tiny->new(timeout => 2)->get($ap->url('/sc-status?json'));
    last if $r->{success} and $t1 = decode_json($r->{content});
}
is($t1->{started}, $t0->{started}, 'a graceful restart keeps the start time');
cmp_ok($t1->{hits}, '>=', $t0->{hits}, 'and the counters');

$mc->stop;
my $down = status();
ok(!$down->{servers}[0]{up}, 'memcached stopped: shown down');
$ap->stop(allow => [qr/SC020[19]/]);
done_testing;
