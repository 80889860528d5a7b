# An invalidation that meets a short network blip to memcached is not
# lost: the child keeps it and tries it again before its next lookups,
# and until it has gone through serves nothing that depends on it.  A
# relay that loses what is sent while cut off stands for the network.
# sc-test: alone (it measures time; make prove runs the others two at a time)
use strict;
use warnings;
use Test::More;
use Time::HiRes qw(sleep time);
use SCTest;
use SCTest::Cluster qw(:all);

my $mc = SCTest::Memcached->start;
my $relay = SCTest::Cluster::Proxy->start($mc);
my $ap = SCTest::Apache->start(memcached => [$relay], conf => <<'CONF');
SharedCacheTimeout 150
SharedCacheRetryInterval 1
<Location /app>
    SharedCache On
    SharedCacheTTL 300
</Location>
<Location /sc-status>
    SetHandler sharedcache-status
</Location>
CONF

# A connection that lost a command in a blip times out once more when
# next used, and marks the server down for the retry interval: wait until
# every child answers from the cache again.
sub settle {
    my $until = time + 5;
    sleep 0.2 while time < $until
        && grep { $_->{cache} eq 'ERROR' } map { $ap->get('/app/blip/probe') } 1 .. 8;
}

for my $case (['POST to the page', sub {
                   $ap->raw(POST => '/app/blip/post?status=200',
                            _body => 'x=1') }, '/app/blip/post?status=200'],
              ['a response naming its tag', sub {
                   $ap->get('/app/blip/editor?inv=blip-tag') },
               '/app/blip/tagged?sk=blip-tag']) {
    my ($name, $invalidate, $page) = @$case;
    settle();
    $ap->get($page);
    my $before = $ap->get($page);
    is($before->{cache}, 'HIT', "$name: the page is cached")
        or diag(explain $before);
    $relay->partition;
    my $cut = time;
    my $r = $invalidate->();
    is($r->{status}, 200, "$name: answered during the blip");
    sleep 0.05 while time < $cut + 1;    # a one-second cut
    $relay->heal;
    sleep 1.2;       # past the retry interval: the server is tried again
    settle();
    my @after = map { $ap->get($page) } 1 .. 3;
    is($after[0]{cache}, 'MISS', "$name: after the blip the page is a MISS, "
       . "not the pre-edit HIT") or diag($after[0]{body});
    isnt($after[0]{body}, $before->{body}, "$name: it was rendered again");
}
like($ap->get('/sc-status?json')->{body}, qr/"invalidations_failed": [1-9]/,
     'the status page counts the failed invalidations');
$ap->stop(allow => [qr/SC020[19]|SC0404/]);
done_testing;
