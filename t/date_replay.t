# A hit carries the Date of the response it replays (the one the miss's
# client got), not a new one, and an Age computed from when it was
# stored: Date + Age is the time of the hit (RFC 9111 4, RFC 9110 6.6.1).
# The same for a 304 and a HEAD from the cache, for a page of the app
# (httpd dates it) and for a proxied one (the backend dates it), and for a
# stale copy served in place of an error.
# sc-test: alone (it measures time; make prove runs the others two at a time)
use strict;
use warnings;
use HTTP::Date qw(str2time);
use Test::More;
use Time::HiRes qw(sleep time);
use SCTest;

my $mc = SCTest::Memcached->start;
my $ap = SCTest::Apache->start(memcached => [$mc],
                               modules => [qw(proxy proxy_http)],
                               conf => <<'CONF');
<Location /app>
    SharedCache On
    SharedCacheTTL 60
</Location>
<Location /app/raw>
    SharedCache Off
</Location>
<Location /app/stale>
    SharedCacheTTL 1
    SharedCacheStaleOnError 60
</Location>
ProxyPass /px/ http://127.0.0.1:@PORT@/app/raw/
<Location /px>
    SharedCache On
    SharedCacheTTL 60
</Location>
CONF

for my $page ('/app/dated?etag=%22d1%22', '/px/dated?etag=%22d1%22') {
    my $miss = $ap->get($page);
    cache_is($miss, 'MISS', "$page: MISS");
    my $date = $miss->{headers}{date};
    ok(defined str2time($date), "  dated $date");
    sleep 2.1;    # the clock is past that second
    my $t0 = time;
    my $hit = $ap->get($page);
    cache_is($hit, 'HIT', '  then a HIT');
    is($hit->{headers}{date}, $date, '  with the Date of the stored response');
    my $age = $hit->{headers}{age} // '';
    like($age, qr/^\d+$/, '  and an Age');
    ok($age >= 2 && abs(str2time($date) + $age - $t0) <= 1,
       '  computed: Date + Age is now') or diag("Age $age");
    my $nm = $ap->get($page, 'If-None-Match' => '"d1"');
    is($nm->{status}, 304, '  a conditional hit: 304');
    is($nm->{headers}{date}, $date, '  with the same Date');
    my $head = $ap->request('HEAD', $page);
    cache_is($head, 'HIT', '  HEAD: a HIT');
    is($head->{headers}{date}, $date, '  with the same Date');
}

# A stale copy in place of the app's 503.
my $page = '/app/stale/page?failable=1';
my $miss = $ap->get($page);
cache_is($miss, 'MISS', 'stale on error: stored');
sleep 2.1;    # expired, and the clock is past its Date's second
open my $fh, '>', $ap->dir . '/app/fail' or die $!;
close $fh;
my $stale = $ap->get($page);
unlink $ap->dir . '/app/fail';
is($stale->{status}, 200, 'the app fails: the stale copy instead');
cache_is($stale, 'STALE', '  STALE');
is($stale->{headers}{date}, $miss->{headers}{date},
   '  with the Date of the stored response');

$ap->stop(allow => [qr/SC0309/]);
done_testing;
