# Every unsafe method invalidates (RFC 9111 4.4), methods whose safety is
# unknown included: a non-error response to any method but GET, HEAD,
# OPTIONS and TRACE (RFC 9110 9.2.1) and the module's own PURGE makes the
# URL, and the same-host URL in its Content-Location, a MISS (never the
# Location of a redirect: t/invalidation_redirect_target.t).  A method
# httpd does not know (FROB) and one it knows but the module did not list
# (PROPFIND) reach the app like POST does.
use strict;
use warnings;
use Test::More;
use SCTest;

my $mc = SCTest::Memcached->start;
my $ap = SCTest::Apache->start(memcached => [$mc]);

sub cached {
    my ($path) = @_;
    $ap->get($path);
    return $ap->get($path)->{cache};
}

for my $method (qw(FROB PROPFIND MKCALENDAR)) {
    my $page = "/app/$method";
    is(cached($page), 'HIT', "$method: the page is cached");
    is(cached("$page-described"), 'HIT',
       "$method: the page its Content-Location names too");
    is(cached("$page-target"), 'HIT', "$method: its Location target too");
    my $r = $ap->raw($method => "$page?cc=no-store&status=303"
                                . "&loc=$page-target"
                                . "&cloc=$page-described");
    is($r->{status}, 303, "$method reaches the app");
    is($ap->renders("$page?cc=no-store"), 1, "$method: rendered once");
    cache_is($ap->get($page), 'MISS', "after a $method, the page is a MISS");
    cache_is($ap->get("$page-described"), 'MISS',
             "and so is its Content-Location");
    cache_is($ap->get("$page-target"), 'HIT',
             "but not the redirect's Location");
}

# A plain 200 to an unknown method.
is(cached('/app/plain'), 'HIT', 'a page is cached');
is($ap->raw(FROB => '/app/plain?cc=no-store')->{status}, 200, 'FROB: 200');
cache_is($ap->get('/app/plain'), 'MISS', 'after it, the page is a MISS');

# A failed unsafe request changes nothing.
is(cached('/app/failed'), 'HIT', 'a page is cached');
is($ap->raw(FROB => '/app/failed?status=500')->{status}, 500,
   'FROB answered 500');
cache_is($ap->get('/app/failed'), 'HIT', 'a failed FROB invalidates nothing');

# Safe methods invalidate nothing.
is(cached('/app/safe'), 'HIT', 'a page is cached');
for my $method (qw(HEAD OPTIONS)) {
    my $r = $ap->raw($method => '/app/safe?cc=no-store');
    cmp_ok($r->{status}, '<', 400, "$method answered");
    cache_is($ap->get('/app/safe'), 'HIT', "$method invalidates nothing");
}

$ap->stop;
done_testing;
