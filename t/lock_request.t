# The fill lock and a render that stores nothing for a reason of the
# request's own, not of the page: a HEAD, a client's Cache-Control:
# no-store, a 304 to the client's own conditions, a Set-Cookie of a new
# visitor (mod_usertrack), a cookie the site replaces.  A request that
# cannot store takes no lease; a refusal marks the lease "uncacheable"
# only when the next render, another request's, is refused too: the
# clients behind one such request still share one render.  Marked at
# once, all eight rendered at once and the lock stayed off for
# SharedCacheLockTimeout: any one client could switch it off (found by
# the outside attack); and a page stored since is never marked, so two
# refusals of one client's making do not switch its lock off.  And a
# chain of holders that store nothing ends: a waiter follows one
# successor only, then renders itself.
# sc-test: alone (it measures time; make prove runs the others two at a time)
use strict;
use warnings;
use Test::More;
use Time::HiRes qw(time);
use POSIX ();
use SCTest;

my $mc = SCTest::Memcached->start;
my $ap = SCTest::Apache->start(memcached => [$mc], modules => ['usertrack'],
    conf => <<'CONF');
<Location /app>
    SharedCache On
    SharedCacheTTL 60
    SharedCacheLockTimeout 10
</Location>
<Location /app/ut>
    CookieTracking On
    CookieName Apache
</Location>
CONF

# First one client, 0.2 s later eight ordinary ones; the page renders in
# $ms.
my $n = 0;
sub first_then_eight {
    my ($label, $first, $q, $ms, %eight) = @_;
    my $u = ($label =~ /visitor/ ? '/app/ut/p' : '/app/p') . $n++
        . "?cc=max-age%3D60&sleep=$ms$q";
    my $pid = fork // die;
    if (!$pid) {
        my ($method, %h) = @$first;
        $ap->raw($method => $u, %h);
        POSIX::_exit(0);
    }
    select(undef, undef, undef, 0.2);   # the first client's render runs
    my $t0 = time;
    my @r = SCTest::Apache->burst(map { [ $ap, $u, %eight ] } 1 .. 8);
    my $wall = (time - $t0) * 1000;
    waitpid($pid, 0);
    my $renders = $ap->renders($u =~ s/\?.*//r);
    diag sprintf("first %s, then 8: %d renders, %.0f ms (%s)", $label,
                 $renders, $wall, join(' ', map { $_->{cache} } @r));
    is(scalar(grep { $_->{status} == 200 } @r), 8, "$label first: the 8 get 200");
    return ($renders, $wall);
}

my ($renders, $wall) = first_then_eight('a HEAD', ['HEAD'], '', 800);
cmp_ok($renders, '<=', 2, "a HEAD first: the 8 share one render ($renders in all)");

# A no-store request takes no lease: the 8 do not wait for its render.
($renders, $wall) = first_then_eight('a no-store request',
    [GET => 'Cache-Control' => 'no-store'], '', 1500);
cmp_ok($renders, '<=', 2, "a no-store request first: the 8 share one render "
       . "($renders in all)");
cmp_ok($wall, '<', 2300, sprintf('... and do not wait for the no-store '
       . 'render first (%.0f ms; waiting: about 2,800)', $wall));

($renders) = first_then_eight('a conditional request',
    [GET => 'If-None-Match' => '"v1"'], '&etag=%22v1%22&cond=1', 800);
cmp_ok($renders, '<=', 2, "a 304 to the client's own conditions first: the "
       . "8 share one render ($renders in all)");

($renders) = first_then_eight('a new visitor', ['GET'], '', 800,
                              Cookie => 'Apache=back.1');
cmp_ok($renders, '<=', 2, "a new visitor (mod_usertrack's Set-Cookie) first: "
       . "the 8 returning visitors share one render ($renders in all)");
# A client cannot make its refusal look like the page's: a cookie that
# mod_usertrack does not take as its own (the name spelled in lower
# case) is replaced, so the render sets one of a cookie "sent"; still
# the 8 share one render.  A refusal marks the lease only when the render
# after it, another request's, is refused as well.
($renders) = first_then_eight('a visitor with a cookie the site replaces',
    [GET => Cookie => 'apache=x'], '', 800, Cookie => 'Apache=back.1');
cmp_ok($renders, '<=', 2, "a visitor with a replaced cookie first: the 8 "
       . "returning visitors share one render ($renders in all)");
my $r = $ap->raw(GET => '/app/ut/p' . ($n - 1) . '?cc=max-age%3D60&sleep=800');
is($r->{cache}, 'HIT', 'a later new visitor gets the stored page');
ok(!$r->{headers}{'set-cookie'} || $r->{headers}{'set-cookie'} !~ /back/,
   '... with no one else\'s cookie');

# A store clears the refusal written down before it.  A page that
# lives less than SharedCacheLockTimeout: a new visitor's render (its
# Set-Cookie refused, written down), a returning visitor's (stored); the
# entry expires, and the next new visitor's refusal is the first since
# that store, not the second in a row: the lease is let go, not marked,
# and eight returning visitors after it share one render.  Left there,
# the note of before the store marked the lease "uncacheable" for
# SharedCacheLockTimeout: all eight rendered.
{
    my $u = '/app/ut/short?cc=max-age%3D2&sleep=500';
    $ap->raw(GET => $u);
    my $s = $ap->raw(GET => $u, Cookie => 'Apache=back.1');
    is($s->{cache}, 'MISS', 'a short-lived page: a returning visitor stores it');
    is($ap->raw(GET => $u, Cookie => 'Apache=back.1')->{cache}, 'HIT',
       '... the next one gets it');
    select(undef, undef, undef, 2.6);   # it expires
    $ap->raw(GET => $u);
    my $before = $ap->renders('/app/ut/short');
    my @r = SCTest::Apache->burst(map { [ $ap, $u, Cookie => 'Apache=back.1' ] } 1 .. 8);
    my $renders = $ap->renders('/app/ut/short') - $before;
    diag "short-lived page, then 8: $renders renders ("
        . join(' ', map { $_->{cache} } @r) . ")";
    is(scalar(grep { $_->{status} == 200 } @r), 8, '... eight returning visitors: all 200');
    cmp_ok($renders, '<=', 2, "... and they share one render ($renders), the "
           . "refusal before the store forgotten");
    # Two refusals in a row of one client's making (two new visitors, one
    # after the other) do not switch off the lock of a page stored since
    # its note was made: the eight after them still share one render.
    select(undef, undef, undef, 2.6);   # it expires again
    $ap->raw(GET => $u) for 1 .. 2;
    $before = $ap->renders('/app/ut/short');
    @r = SCTest::Apache->burst(map { [ $ap, $u, Cookie => 'Apache=back.1' ] } 1 .. 8);
    $renders = $ap->renders('/app/ut/short') - $before;
    diag "short-lived page, two new visitors, then 8: $renders renders ("
        . join(' ', map { $_->{cache} } @r) . ")";
    cmp_ok($renders, '<=', 2, "two refusals in a row of a page stored before: "
           . "the 8 still share one render ($renders)");
}

# The same for a page that varies (Vary: Cookie): stored under its
# variant's key, its later misses take the URL's lease once the Vary
# record is gone too; the note is on both.
{
    my $u = '/app/ut/varied?cc=max-age%3D2&sleep=500&vary=Cookie';
    my $s = $ap->raw(GET => $u, Cookie => 'Apache=back.1');
    is($s->{cache}, 'MISS', 'a short-lived page with Vary: Cookie is stored');
    select(undef, undef, undef, 2.6);
    $ap->raw(GET => $u) for 1 .. 2;
    my $before = $ap->renders('/app/ut/varied');
    my @r = SCTest::Apache->burst(map { [ $ap, $u, Cookie => 'Apache=back.1' ] } 1 .. 8);
    my $renders = $ap->renders('/app/ut/varied') - $before;
    diag "varied page, two new visitors, then 8: $renders renders ("
        . join(' ', map { $_->{cache} } @r) . ")";
    cmp_ok($renders, '<=', 2, "... two refusals in a row after it: the 8 "
           . "with one cookie still share one render ($renders)");
}

# Eight new visitors at once: every render sets a cookie and stores
# nothing.  Each waiter follows two holders at most, then renders.
my $u = '/app/ut/herd?cc=max-age%3D60&sleep=800';
my @r = SCTest::Apache->burst(map { [ $ap, $u ] } 1 .. 8);
my @ms = sort { $a <=> $b } map { $_->{ms} } @r;
diag "eight new visitors: " . join(" ", map { int } @ms) . " ms";
is(scalar(grep { $_->{status} == 200 } @r), 8, 'eight new visitors at once: all 200');
cmp_ok($ms[-1], '<', 4000, sprintf('... the last answered after %.0f ms, '
       . 'not eight renders in a row (6,400)', $ms[-1]));

# Steady traffic of new visitors on a page that sets each a cookie:
# refused in a row, by one request and the next (not only by a waiter
# that took the lease over: a keep-alive client's next request takes it
# first), so the lease is marked and later requests do not wait.  Let
# go every time, each waited for two renders (outside attack).
my @s = $ap->parallel_get('/app/ut/steady?cc=max-age%3D60&sleep=300',
                          total => 36, conns => 6);
my $sum = 0;
$sum += $_->{ms} for @s;
cmp_ok($sum / @s, '<', 450, sprintf('six new visitors in a loop: %.0f ms a '
       . 'request on average, about one render (300 ms), not two or three',
       $sum / @s));

$ap->stop;
done_testing;
