# The local tier (SharedCacheLocal, src/sc_local.c): a host keeps what a
# lookup read from memcached in shared memory, and serves it again without
# asking memcached for at most the entry's SharedCacheLocalTTL.  An
# invalidation made through this host applies at once; one made through
# another host within the TTL.  The tier's memory is bounded whatever the
# number of URLs.
use strict;
use warnings;
use IO::Socket::INET;
use IO::Uncompress::Gunzip qw(gunzip);
use JSON::PP qw(decode_json);
use Test::More;
use Time::HiRes qw(time sleep);
use SCTest;
use SCTest::HTTP qw(request_text read_response parse_response);

# --- a bad directive fails configtest, naming it ---------------------------
my @bad = (
    [ "SharedCacheLocal 10K\n", qr/SharedCacheLocal: at least 64K/,
      'smaller than 64K' ],
    [ "SharedCacheLocal lots\n", qr/SharedCacheLocal: 'lots' is not a size/,
      'not a size' ],
    [ "SharedCacheLocal 1024G\n", qr/SharedCacheLocal: 1024G is more than half of this machine's memory/,
      'larger than the machine could give (it would only fail at start-up)' ],
    [ "<VirtualHost *:80>\nSharedCacheLocal 1M\n</VirtualHost>\n",
      qr/SharedCacheLocal cannot occur within <VirtualHost>/,
      'in a virtual host' ],
    [ "<Location /x>\nSharedCacheLocalTTL 61\n</Location>\n",
      qr/SharedCacheLocalTTL: '61' is not a whole number of seconds from 0 to 60/,
      'a TTL over 60 s' ],
    [ "<Location /x>\nSharedCacheLocalTTL 1.5\n</Location>\n",
      qr/SharedCacheLocalTTL: '1.5' is not a whole number of seconds from 0 to 60/,
      'a TTL that is not whole seconds' ],
);
for my $b (@bad) {
    my ($rc, $out) = SCTest::Apache->configtest($b->[0]);
    isnt($rc, 0, "configtest fails: SharedCacheLocal $b->[2]");
    like($out, $b->[1], '... and says why');
}

my $site = <<'CONF';
SharedCacheLocal 1M
# memcached gets are counted: no fence marks read meanwhile
SharedCacheRetryInterval 30
<Location /app>
    SharedCache On
    SharedCacheTTL 60
    SharedCachePurge On
    SharedCacheLocalTTL 2
    SharedCacheESI On
</Location>
<Location /app/quick>
    SharedCacheQuickHandler On
</Location>
<Location /app/nolocal>
    SharedCacheLocalTTL 0
</Location>
<Location /sc-status>
    SetHandler sharedcache-status
</Location>
CONF

my $mc = SCTest::Memcached->start;
my $a = SCTest::Apache->start(memcached => [$mc], conf => $site);
sub status { decode_json($_[0]->get('/sc-status?json')->{body}) }
sub gets { $mc->stats->{cmd_get} }
sub local_hit { ($_[0]{headers}{'cache-status'} // '') =~ /detail=local/ }
# the same page from either host
sub on { my ($ap, $path, %h) = @_; $ap->raw(GET => $path, Host => 'www.test', %h) }

# --- hits without a memcached request ---------------------------------------
# n more requests of path: their responses, the memcached gets and the
# local hits they cost (the status page's own request looks up in the
# quick handler: taken before and after, not in between).
sub counted {
    my ($path, $n) = @_;
    my $l0 = status($a)->{local_hits};
    my $g0 = gets();
    my @r = map { $a->get($path) } 1 .. $n;
    my $g1 = gets();
    return (\@r, $g1 - $g0, status($a)->{local_hits} - $l0);
}
for my $path ('/app/page', '/app/quick/page') {
    my $first = $a->get($path);
    cache_is($first, 'MISS', "$path: rendered");
    my $mem = $a->get($path);
    cache_is($mem, 'HIT', "$path: a hit from memcached");
    ok(!local_hit($mem), '... not from the local tier yet');
    my ($r, $gets, $local) = counted($path, 20);
    is(scalar(grep { $_->{cache} eq 'HIT' && local_hit($_) } @$r), 20,
       "$path: 20 hits from the local tier (Cache-Status detail=local)");
    is(scalar(grep { $_->{body} eq $first->{body} } @$r), 20, '... the same page');
    is($gets, 0, '... and not one memcached get');
    is($local, 20, '... counted on the status page');
}
is($a->renders('/app/quick/page'), 1, 'the quick page rendered once');

# A compressible page kept gzip-coded: browsers get the stored bytes,
# identity clients the decoded page.
{
    my $plain = $a->get('/app/coded?size=20000');
    $a->get('/app/coded?size=20000') for 1 .. 2;
    for my $round (1 .. 3) {
        my $id = $a->get('/app/coded?size=20000');
        my $gz = $a->get('/app/coded?size=20000', 'Accept-Encoding' => 'gzip');
        ok(local_hit($id) && local_hit($gz), "round $round: both from the local tier");
        is($id->{body}, $plain->{body}, '... the identity client gets the page');
        is($gz->{headers}{'content-encoding'}, 'gzip', '... the browser gzip');
        my $out;
        gunzip(\$gz->{raw}{content} => \$out);
        is($out, $plain->{body}, '... which decodes to the page');
    }
}

# An ESI page: its shell and its fragments (taken without a subrequest
# from a quick location, or through one) all come from the local tier.
{
    my $ep = esi_page('/app/esipage', '<' . esi_inc('/app/quick/f1?text=one')
                      . esi_inc('/app/quick/f2?text=two')
                      . esi_inc('/app/sub/f3?text=three') . '>');
    my $first = $a->get($ep);
    is($first->{body}, '<onetwothree>', 'an ESI page of three fragments');
    $a->get($ep) for 1 .. 2;
    my ($r, $gets, $local) = counted($ep, 5);
    is(scalar(grep { $_->{body} eq '<onetwothree>' && local_hit($_) } @$r), 5,
       'five hits of the page from the local tier, assembled');
    is($gets, 0, '... its fragments too: not one memcached get');
    is($local, 20, '... 4 lookups kept per page');
    is($a->request('PURGE', '/app/quick/f1?text=one')->{status}, 200,
       'PURGE of a fragment on this host');
    is($a->get($ep)->{body}, '<onetwothree>', 'the page');
    is($a->renders('/app/quick/f1'), 2, '... with that fragment rendered again at once');
}

# A location with SharedCacheLocalTTL 0 always asks memcached.
$a->get('/app/nolocal/page') for 1 .. 2;
my $g0 = gets();
my @n = map { $a->get('/app/nolocal/page') } 1 .. 5;
is(scalar(grep { $_->{cache} eq 'HIT' && !local_hit($_) } @n), 5,
   'SharedCacheLocalTTL 0: hits from memcached');
ok(gets() - $g0 >= 5, '... one get (at least) per hit');

# --- invalidations made on this host apply at once --------------------------
my $old = $a->get('/app/page')->{body};
is($a->request('PURGE', '/app/page')->{status}, 200, 'PURGE on this host');
my $after = $a->get('/app/page');
cache_is($after, 'MISS', 'the next request renders again');
isnt($after->{body}, $old, '... a new page, not the kept one');

$a->get('/app/tagged?sk=blue') for 1 .. 3;
ok(local_hit($a->get('/app/tagged?sk=blue')), 'a tagged page from the local tier');
$a->get('/app/inv?inv=blue');
cache_is($a->get('/app/tagged?sk=blue'), 'MISS',
         'its tag invalidated by a response of this host: rendered again');

# --- another host's invalidation: within the TTL ----------------------------
my $b = SCTest::Apache->start(memcached => [$mc], conf => $site,
                              addr => '127.0.0.2',
                              port => $a->port);
on($a, '/app/shared');
on($b, '/app/shared');                 # from memcached: kept on B
my $kept = on($b, '/app/shared');
ok(local_hit($kept), 'B serves the page from its local tier');
my $t0 = time;
is($a->raw(PURGE => '/app/shared', Host => 'www.test')->{status}, 200,
   'PURGE through A');
my $soon = on($b, '/app/shared');
SKIP: {
    skip 'the machine is too slow to see the TTL at work', 1 if time - $t0 > 1.5;
    ok(local_hit($soon) && $soon->{body} eq $kept->{body},
       'right after, B may still serve its kept copy (the documented TTL)');
}
sleep(2.2 - (time - $t0)) if time - $t0 < 2.2;
my $late = on($b, '/app/shared');
ok(!local_hit($late) && $late->{body} ne $kept->{body},
   'once SharedCacheLocalTTL (2 s) passed, B sees the invalidation');
$b->stop;

# --- memory stays within its bound under 10,000 distinct URLs ---------------
sub rss_kb {
    my $kb = 0;
    for my $pid (`pgrep -f '$a->{dir}/httpd.conf'` =~ /(\d+)/g) {
        open my $f, '<', "/proc/$pid/smaps_rollup" or next;
        local $/;
        my $pss = <$f> =~ /^Pss:\s+(\d+)/m ? $1 : 0;
        diag("$pid $pss") if $ENV{SC_DEBUG};
        $kb += $pss;
    }
    return $kb;
}
# Pages of a type that is stored as it is (not compressed): each takes its
# 2,000 bytes in the tier, so a tier that kept them all would grow by
# about 20 MB.  One connection, so one child serves them all: its own memory grows to a
# plateau over the first URLs (allocators), and the rest must not move it.
my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $a->port)
    or die "connect: $!";
sub fill {
    my ($from, $to) = @_;
    my %seen;
    for my $i ($from .. $to) {
        for (1 .. 2) { # a miss stores it, a hit keeps it locally
            print $s request_text('GET', "/app/many?size=2000&type=image/png&i=$i",
                                  { Host => '127.0.0.1:' . $a->port });
            my $r = parse_response(read_response($s));
            $seen{$r->{cache}}++;
        }
    }
    return \%seen;
}
fill(1, 1000);
my $rss0 = rss_kb();
my $seen = fill(1001, 10000);
is(($seen->{MISS} // 0) + ($seen->{HIT} // 0), 18000, '9,000 more URLs stored and hit');
my %st = $a->get('/sc-status?local')->{body} =~ /^(\w+): (\S+)$/mg;
is($st{size}, 1024 * 1024, 'the local tier is the configured 1 MiB');
ok($st{entries} > 0 && $st{entries} < 1000, "it holds $st{entries} of them");
ok($st{stores} >= 10000, "every URL was kept once ($st{stores} stores)");
my $grew = rss_kb() - $rss0;
close $s;
# (a child's allocators settle at a plateau that differs with the number
# of memcached servers: 0.6 MiB with one, 5.4 MiB once with three)
ok($grew < 12288, "Apache's memory grew by $grew KiB over 9,000 URLs (< 12 MiB)");
my $r = $a->get('/app/many?size=2000&type=image/png&i=10000');
ok(local_hit($r), 'the last URL is a local hit');
$r = $a->get('/app/many?size=2000&type=image/png&i=1');
cache_is($r, 'HIT', 'the first is still a hit');
ok(!local_hit($r), '... from memcached: dropped from the local tier');

is_deeply([$a->unexpected_errors], [], 'no unexpected errors in the log');
done_testing;
