# The status page breaks its request counters down by virtual host (one
# slot per "name:port", in shared memory sized at start-up from the number
# of virtual hosts): HTML, JSON ("vhosts") and Prometheus (vhost="name:port"
# label).  Two name-based virtual hosts on one address count apart; a
# graceful restart keeps each one's counts and gives a virtual host added
# meanwhile a slot of its own.
use strict;
use warnings;
use JSON::PP;
use Test::More;
use SCTest;

my $vhost = sub {
    my ($name) = @_;
    return <<"VH";
<VirtualHost 127.0.0.1:\@PORT\@>
    ServerName $name
    <Location /app>
        SharedCache On
        SharedCacheTTL 60
    </Location>
    <Location /sc-status>
        SetHandler sharedcache-status
    </Location>
</VirtualHost>
VH
};
my $mc = SCTest::Memcached->start;
my $ap = SCTest::Apache->start(memcached => [$mc],
                               conf => $vhost->('a.test') . $vhost->('b.test'));
my $port = $ap->port;
my ($A, $B, $C) = map { "$_:$port" } qw(a.test b.test c.test);

sub on { my ($host, $method, $path) = @_; $ap->raw($method => $path, Host => $host) }
sub status { decode_json(on($A, GET => '/sc-status?json')->{body}) }
sub vhosts { return { map { $_->{vhost} => $_ } @{ status()->{vhosts} || [] } } }

my @counted = qw(hits misses stale bypass uncacheable errors stores
                 stored_bytes served_bytes lock_waits invalidations
                 invalidations_failed);
my $before = vhosts();
ok($before->{$A} && $before->{$B}, 'both virtual hosts are listed as name:port')
    or diag(explain($before));
my $total0 = status();

cache_is(on($A, GET => '/app/v1'), 'MISS', 'a.test: a MISS');
cache_is(on($A, GET => '/app/v1'), 'HIT', 'a.test: a HIT') for 1 .. 2;
cache_is(on($A, GET => '/app/v2?cc=no-store'), 'UNCACHEABLE',
         'a.test: an uncacheable page');
cache_is(on($A, POST => '/app/v1'), 'BYPASS', 'a.test: a POST');
cache_is(on($B, GET => '/app/v1'), 'MISS', 'b.test: its own MISS');
cache_is(on($B, GET => '/app/v1'), 'HIT', 'b.test: a HIT');

my $after = vhosts();
my %d;
for my $v ($A, $B) {
    $d{$v}{$_} = ($after->{$v}{$_} // -1000) - ($before->{$v}{$_} // 0)
        for @counted;
}
is_deeply([@{ $d{$A} }{qw(hits misses uncacheable bypass stores)}],
          [2, 1, 1, 1, 1], 'a.test: 2 hits, 1 miss, 1 uncacheable,'
                           . ' 1 bypass, 1 store');
cmp_ok($d{$A}{invalidations}, '>=', 1, 'a.test: the POST invalidated');
is_deeply([@{ $d{$B} }{qw(hits misses uncacheable bypass stores
                            invalidations)}],
          [1, 1, 0, 0, 1, 0], 'b.test: 1 hit, 1 miss, 1 store, nothing else');
cmp_ok($d{$B}{stored_bytes}, '>', 0, 'b.test: the bytes it stored');
is($d{$A}{served_bytes}, 2 * $d{$B}{served_bytes},
   'served bytes per virtual host: a.test served its page twice, b.test once');
cmp_ok($d{$B}{served_bytes}, '>', 0, 'b.test served bytes from the cache');
my $total1 = status();
is($total1->{hits} - $total0->{hits}, $d{$A}{hits} + $d{$B}{hits},
   'the totals are the sum of the virtual hosts');

my $prom = on($A, GET => '/sc-status?prometheus')->{body};
like($prom, qr/^# TYPE sharedcache_vhost_responses_total counter$/m,
     'Prometheus: a typed per-vhost family');
like($prom, qr/^sharedcache_vhost_responses_total\{vhost="\Q$A\E",status="HIT"\} $after->{$A}{hits}$/m,
     'Prometheus: a.test\'s hits with its vhost label');
like($prom, qr/^sharedcache_vhost_stores_total\{vhost="\Q$B\E"\} $after->{$B}{stores}$/m,
     'Prometheus: b.test\'s stores');
unlike($prom, qr/^sharedcache_vhost_memcached_calls_total/m,
       'no per-vhost series for counters without a request');
my $html = on($A, GET => '/sc-status')->{body};
like($html, qr{<td>\Q$A\E</td>}, 'HTML: a row for a.test');
like($html, qr{<td>\Q$B\E</td>}, 'HTML: a row for b.test');

# A graceful restart with a third virtual host, and twenty more: more
# than the segment made at start-up holds, so a larger one takes the
# counts over.
open my $fh, '<', $ap->dir . '/httpd.conf' or die $!;
my $conf = do { local $/; <$fh> };
close $fh;
my $c = join '', map { $vhost->($_) } 'c.test', map { "d$_.test" } 1 .. 20;
$c =~ s/\@PORT\@/$port/g;
open $fh, '>', $ap->dir . '/httpd.conf' or die $!;
print $fh $conf, $c;
close $fh;
kill 'USR1', $ap->parent_pid;
my $restarted;
for (1 .. 100) {
    select(undef, undef, undef, 0.1);
    my $v = eval { vhosts() } or next;
    last if $restarted = $v->{$C} && $v;
}
ok($restarted, 'after a graceful restart, the new virtual host is listed');
is($restarted->{$A}{hits}, $after->{$A}{hits}, 'a.test kept its counts');
is($restarted->{$B}{stores}, $after->{$B}{stores}, 'b.test too');
is($restarted->{$C}{hits}, 0, 'c.test starts at zero');
is(scalar(grep { /^d\d+\.test:/ } keys %$restarted), 20,
   'and the twenty others are listed');
on($C, GET => '/app/v1') for 1 .. 2;
is(vhosts()->{$C}{hits}, 1, 'and counts its own');

$ap->stop;
done_testing;
