# A hit asks memcached once: also for a page that varies (Django's
# "Vary: Cookie") and for a tagged page.  The child remembers what a URL's
# lookup needed the last time (the Vary names of its level-1 record, the
# tags of its entry) and asks for all of it in one multi-get; what comes
# back is checked as ever, so a hint that no longer holds costs a round
# trip, never a wrong page.
use strict;
use warnings;
use Test::More;
use JSON::PP qw(decode_json);
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

sub calls { decode_json($ap->get('/sc-status?json')->{body})->{memcached_calls} }

# Round trips of one more hit of path (after a miss and a hit).
sub trips_per_hit {
    my ($path, %h) = @_;
    $ap->get($path, %h) for 1 .. 2;
    my $before = calls();
    my $r = $ap->get($path, %h);
    my $n = calls() - $before;    # (the status page asks memcached nothing)
    cache_is($r, 'HIT', "$path: a hit");
    return $n;
}

is(trips_per_hit('/app/plain'), 1, 'a plain page: one round trip');
is(trips_per_hit('/app/vary?vary=Cookie', Cookie => 'sessionid=a'), 1,
   'a page with Vary: Cookie: one round trip');
is(trips_per_hit('/app/tagged?sk=posts%20user-1'), 1,
   'a tagged page: one round trip');
is(trips_per_hit('/app/both?vary=Accept-Language&sk=posts',
                 'Accept-Language' => 'fr'), 1,
   'a varied, tagged page: one round trip');

# Each variant and each visitor is still its own.
my $fr = $ap->get('/app/both?vary=Accept-Language&sk=posts', 'Accept-Language' => 'fr');
my $de = $ap->get('/app/both?vary=Accept-Language&sk=posts', 'Accept-Language' => 'de');
cache_is($de, 'MISS', 'another variant is a miss');
isnt($de->{body}, $fr->{body}, '... with its own page');

$ap->stop;
done_testing;
