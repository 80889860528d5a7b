# The status page (SetHandler sharedcache-status): counters of every child
# (shared memory), as HTML, JSON and Prometheus text, with each memcached
# server's state.
use strict;
use warnings;
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
is($after->{servers}[0]{server}, $mc->addr, 'the memcached server is listed');
ok($after->{servers}[0]{up}, 'and up');
cmp_ok($after->{servers}[0]{items}, '>', 0, 'with its item count');

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

$mc->stop;
my $down = status();
ok(!$down->{servers}[0]{up}, 'memcached stopped: shown down');
$ap->stop(allow => [qr/SC020[19]/]);
done_testing;
