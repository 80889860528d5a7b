# The includes of an ESI page served from the cache are requests of this
# moment: a fragment rendered for it gets the time the client asked
# (mod_headers' %t, the application's clock of the request), not the
# stored page's Date, which a hit replays to the client.
use strict;
use warnings;
use Test::More;
use Time::HiRes qw(sleep time);
use URI::Escape qw(uri_escape);
use SCTest;

my $mc = SCTest::Memcached->start;
my $ap = SCTest::Apache->start(memcached => [$mc], conf => <<'CONF');
<Location /app>
    SharedCache On
    SharedCacheTTL 600
    SharedCacheESI On
</Location>
<Location /app/frag>
    SharedCacheTTL 0
    RequestHeader set X-Request-Start "%t"
</Location>
CONF
my $frag = '/app/frag/clock?cc=no-store&reflect=X-Request-Start';
my $page = '/app/page?text=' . uri_escape("[<esi:include src=\"$frag\"/>]")
         . '&sc=' . uri_escape('content="ESI/1.0"');
my $first = $ap->get($page);
is($first->{status}, 200, 'the page');
sleep 3;
for (1 .. 3) {
    my $asked = time;
    my $r = $ap->get($page);
    is($r->{cache}, 'HIT', 'the page is a hit');
    my ($t) = $r->{body} =~ /reflected=t=(\d+)/;
    ok(defined $t, 'the fragment was rendered for this request');
    cmp_ok(abs($asked - ($t // 0) / 1e6), '<', 1,
           sprintf('its request time is the client\'s (%.1f s off)', $asked - ($t // 0) / 1e6));
}
like($ap->get($page)->{headers}{date} // '', qr/GMT/, 'the hit still carries a Date');
$ap->stop;
done_testing;
