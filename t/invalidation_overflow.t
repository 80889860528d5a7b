# More failed invalidations than the shared table holds (64), with the
# single memcached server cut off: nothing is served from the cache until
# it answers, then every server is fenced once (SC0403, SC0406), and no
# page comes back with its pre-invalidation entry.
# sc-test: alone (it measures time; make prove runs the others two at a time)
use strict;
use warnings;
use Test::More;
use Time::HiRes qw(time sleep);
use SCTest;
use SCTest::Cluster qw(:all);

my $N = 72;
my $mc = SCTest::Memcached->start;
my $px = SCTest::Cluster::Proxy->start($mc);
my $ap = SCTest::Apache->start(memcached => [$px], conf => <<'CONF');
SharedCacheTimeout 100
SharedCacheRetryInterval 2
<Location /app>
    SharedCache On
    SharedCacheTTL 300
</Location>
CONF
my @pages = map { "/app/full/p-$_?sk=ft-$_" } 1 .. $N;
$ap->get($_) for @pages;
my %tok = map { my $r = $ap->get($_); ($_ => body_token($r->{body})) } @pages;

$px->partition;
$ap->get("/app/full/save-$_?cc=no-store&inv=ft-$_") for 1 .. $N;
$px->heal;
my (@stale, %seen);
my $until = time + 5;
while (time < $until) {
    for my $p (@pages) {
        my $r = $ap->get($p);
        $seen{$r->{cache}}++;
        push @stale, $p if $r->{cache} eq 'HIT' && body_token($r->{body}) eq $tok{$p};
    }
    last if $seen{HIT};
    sleep 0.5;
}
my %u = map { $_ => 1 } @stale;
is(scalar keys %u, 0, "$N invalidations during the cut: none of their "
   . 'pages served from the old entry afterwards')
    or diag(scalar(keys %u) . ' stale: ' . join ' ', sort keys %u);
$ap->stop(allow => [qr/SC020[19]|SC040[36]/]);
done_testing;
