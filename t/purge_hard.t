# PURGE is hard: never served STALE afterwards, whatever
# SharedCacheSoftInvalidate says, also once the request that renders the
# page again has created the URL's counter anew (a new random value is
# "gone", not "moved": only increments are soft), with and without
# SharedCacheFallbackServers.
# sc-test: alone (it measures time; make prove runs the others two at a time)
use strict;
use warnings;
use Test::More;
use Time::HiRes qw(time sleep);
use SCTest;
use SCTest::Cluster qw(:all);

sub conf {
    my ($fallback) = @_;
    return <<"CONF";
SharedCacheTimeout 300
SharedCacheRetryInterval 1
$fallback
<Location /app>
    SharedCache On
    SharedCacheTTL 300
    SharedCacheGrace 300
    SharedCacheSoftInvalidate On
    SharedCachePurge On
    <Limit PURGE>
        Require ip 127.0.0.1
    </Limit>
</Location>
CONF
}

for my $with (0, 1) {
    my $mc = SCTest::Memcached->start;
    my $old = SCTest::Memcached->start;
    my $ap = SCTest::Apache->start(memcached => [$mc], conf => conf(
        $with ? 'SharedCacheFallbackServers ' . $old->addr : ''));
    my $p = "/app/purged/page?sleep=1500";
    $ap->get($p);
    my $h = $ap->get($p);
    my $tok = body_token($h->{body});
    is($h->{cache}, 'HIT', "cached (fallback " . ($with ? 'set' : 'unset') . ")");
    my $pr = $ap->raw(PURGE => '/app/purged/page');
    is($pr->{status}, 200, 'PURGE 200');
    my @res = SCTest::Apache->burst(map { [$ap, $p] } 1 .. 4);
    my @stale = grep { $_->{cache} eq 'STALE' || body_token($_->{body}) eq $tok } @res;
    is(scalar @stale, 0, 'after PURGE nobody gets the purged entry (fallback '
       . ($with ? 'set' : 'unset') . ')')
        or diag(join ', ', map { "$_->{status} $_->{cache}" } @res);
    $ap->stop;
}
done_testing;
