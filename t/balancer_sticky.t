# mod_proxy_balancer with stickysession (the httpd manual's recipe: the
# route in a ROUTEID cookie) routes each client to the member its cookie
# names.  The key holds that cookie, read as the balancer reads it, in a
# server where a balancer is sticky: before, a client pinned to the canary
# member filled the page every other client got, and a client could pin
# itself (found by the outside attack), also by a route parameter inside a
# query parameter SharedCacheIgnoreQuery leaves out of the key.  Normal and quick mode; a Cookie
# header other parsers may read differently is served uncached.
# Stickiness switched on at run time through balancer-manager (the
# balancer's shared memory, not the configuration files) is keyed as well:
# the key reads the balancer's live settings.
use strict;
use warnings;
use Test::More;
use SCTest;

my $mc = SCTest::Memcached->start;
for my $quick ('Off', 'On') {
    my $port = SCTest::free_port();
    my $ap = SCTest::Apache->start(memcached => [$mc], port => $port,
        modules => [qw(proxy proxy_http proxy_balancer slotmem_shm
                       lbmethod_byrequests headers)], conf => <<"CONF");
<Proxy "balancer://cl">
    BalancerMember "http://127.0.0.1:$port/app/stable" route=r1
    BalancerMember "http://127.0.0.1:$port/app/canary" route=r2
    ProxySet stickysession=ROUTEID|jsessionid
</Proxy>
Header add Set-Cookie "ROUTEID=.%{BALANCER_WORKER_ROUTE}e; path=/" env=BALANCER_ROUTE_CHANGED
ProxyPass /site balancer://cl
<Location /site>
    SharedCache On
    SharedCacheTTL 60
    SharedCacheQuickHandler $quick
</Location>
SharedCacheNamespace sticky$quick
SharedCacheIgnoreQuery utm_*
CONF
    my $get = sub { $ap->raw(GET => $_[0], Cookie => $_[1]) };
    for my $order (['r1', 'r2'], ['r2', 'r1']) {
        my $u = "/site/page-$order->[0]";
        for my $route (@$order, @$order) {
            my $want = $route eq 'r1' ? 'stable' : 'canary';
            my $r = $get->($u, "ROUTEID=.$route");
            like($r->{body}, qr{path=/\Q$want\E/}, "quick $quick: $u pinned to $route gets the $want member ($r->{cache})");
        }
    }
    # the second request of a route is a hit: the page is still shared
    $get->('/site/shared', 'ROUTEID=.r2; a=1');
    cache_is($get->('/site/shared', 'b=2; ROUTEID=.r2'), 'HIT',
             "quick $quick: the same route shares the page");
    # read as the balancer reads it: a comma ends a cookie, and the name
    # is told apart by case
    my $u = '/site/read';
    $get->($u, 'ROUTEID=.r1');
    my $comma = $get->($u, 'x=1,ROUTEID=.r2');
    like($comma->{body}, qr{path=/canary/}, "quick $quick: after a comma the route still counts ($comma->{cache})");
    my $case = $get->($u, 'routeid=.r2');
    my $plain = $get->($u, 'ROUTEID=.r2');
    like($plain->{body}, qr{path=/canary/}, "quick $quick: a pinned client after one that spelled the name in lower case ($plain->{cache})");
    # the balancer finds the route parameter anywhere in the URL, inside an
    # ignored parameter's value too
    my $smuggled = $ap->raw(GET => '/site/q?utm_source=jsessionid=x.r2');
    like($smuggled->{body}, qr{path=/canary/}, "quick $quick: a route in the query pins the client");
    for my $t ('/site/q', '/site/q?utm_source=news') {
        my $r = $ap->raw(GET => $t);
        unlike($r->{body}, qr{path=/canary/}, "quick $quick: $t without a route never gets it ($r->{cache})");
    }
    $ap->stop(allow => [qr/SC0115/]);
}

# No stickysession in the files: an administrator turns it on in
# balancer-manager (the nonce from its page, a same-host Referer).
for my $quick ('Off', 'On') {
    my $port = SCTest::free_port();
    my $ap = SCTest::Apache->start(memcached => [$mc], port => $port,
        modules => [qw(proxy proxy_http proxy_balancer slotmem_shm
                       lbmethod_byrequests headers)], conf => <<"CONF");
<Proxy "balancer://live">
    BalancerMember "http://127.0.0.1:$port/app/stable" route=r1 lbset=0
    BalancerMember "http://127.0.0.1:$port/app/canary" route=r2 lbset=1
</Proxy>
Header add Set-Cookie "ROUTEID=.%{BALANCER_WORKER_ROUTE}e; path=/" env=BALANCER_ROUTE_CHANGED
<Location /balancer-manager>
    SetHandler balancer-manager
</Location>
ProxyPass /balancer-manager !
ProxyPass /site balancer://live
<Location /site>
    SharedCache On
    SharedCacheTTL 60
    SharedCacheQuickHandler $quick
</Location>
SharedCacheNamespace live$quick
CONF
    my $page = $ap->raw(GET => '/balancer-manager');
    my ($nonce) = $page->{body} =~ /nonce=([0-9a-f-]+)/;
    ok($nonce, "quick $quick: balancer-manager shows its nonce");
    my $set = $ap->raw(POST => '/balancer-manager',
        'Content-Type' => 'application/x-www-form-urlencoded',
        Referer => "http://127.0.0.1:$port/balancer-manager",
        _body => "b=live&b_ss=ROUTEID&nonce=$nonce");
    my $after = $ap->raw(GET => '/balancer-manager');
    like($after->{body}, qr{<td>ROUTEID</td>}, "quick $quick: the balancer is sticky now");
    my $u = '/site/live';
    for my $route ('r1', 'r2', 'r1', 'r2') {
        my $want = $route eq 'r1' ? 'stable' : 'canary';
        my $r = $ap->raw(GET => $u, Cookie => "ROUTEID=.$route");
        like($r->{body}, qr{path=/\Q$want\E/}, "quick $quick: pinned to $route at run time, the $want member ($r->{cache})");
    }
    $ap->stop(allow => [qr/SC0115|AH01190|AH10187/]);
}
done_testing;
