# A failed invalidation is given up after SC_PENDING_SECONDS (an hour),
# not after a number of tries: a few seconds of traffic while the single
# server is cut off (each request answered ERROR at once) do not drop it,
# and after the cut the invalidated page is not its old entry.
# sc-test: alone (it measures time; make prove runs the others two at a time)
use strict;
use warnings;
use Test::More;
use Time::HiRes qw(time sleep);
use SCTest;
use SCTest::Cluster qw(:all);

my $mc = SCTest::Memcached->start;
my $px = SCTest::Cluster::Proxy->start($mc);
my $ap = SCTest::Apache->start(memcached => [$px], conf => <<'CONF');
SharedCacheTimeout 200
SharedCacheRetryInterval 2
<Location /app>
    SharedCache On
    SharedCacheTTL 300
</Location>
CONF
my $p = '/app/giveup/page?sk=gtag';
$ap->get($p);
my $h = $ap->get($p);
is($h->{cache}, 'HIT', 'cached');
my $tok = body_token($h->{body});

$px->partition;
my $inv = $ap->get('/app/giveup/save?cc=no-store&inv=gtag');
diag("invalidation during the cut: $inv->{status} $inv->{cache}");
my $t0 = time;
my @out = load($ap, [map { "/app/giveup/other-$_" } 1 .. 50],
               conns => 8, total => 2500);
diag(sprintf('%d requests while cut off in %.1f s', scalar @out, time - $t0));
$px->heal;
sleep 0.3;
my @stale;
my @seen;
for (1 .. 15) {
    my $r = $ap->get($p);
    push @seen, $r->{cache};
    push @stale, $r->{cache} if $r->{cache} eq 'HIT' && body_token($r->{body}) eq $tok;
    sleep 0.3;
}
diag("after heal: @seen");
is(scalar @stale, 0, 'the page invalidated during the cut is never served '
   . 'from its old entry afterwards');
my @gave = grep { /SC0405/ } split /\n/, $ap->error_log;
diag("log: $gave[0]") if @gave;
$ap->stop(allow => [qr/SC020[19]|SC0405/]);
done_testing;
