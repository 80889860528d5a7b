# Revalidation (SharedCacheKeep): an expired entry with a validator is kept
# and revalidated with the application: the request that renders sends
# If-None-Match from the stored entry; a 304 refreshes the stored headers
# and freshness (RFC 9111 4.3.4) and the stored body is served; a 200
# replaces it.  The fill lock covers it: one conditional request per entry
# in the farm.
#
# Every case stores its entry first (phase 1), all expire in one wait,
# and each is then revalidated (phase 2; phase 3 for a second expiry).
# sc-test: alone (it measures time; make prove runs the others two at a time)
use strict;
use warnings;
use Test::More;
use POSIX ();
use Time::HiRes ();
use SCTest;

my $mc = SCTest::Memcached->start;
my $ap = SCTest::Apache->start(memcached => [$mc], wsgi_processes => 4,
                               modules => ['include'], conf => <<'CONF');
<Location /app>
    SharedCache On
    SharedCacheKeep 60
</Location>
<Location /app/nokeep>
    SharedCacheKeep 0
</Location>
<Location /app/soe>
    SharedCacheStaleOnError 60
</Location>
<Location /app/ssi>
    SetOutputFilter INCLUDES
    Options +Includes
    SSIETag On
    SharedCacheRequireLength Off
</Location>
CONF

sub not_modified {
    my ($path) = @_;
    open my $fh, '<', $ap->dir . '/app/not-modified.log' or return 0;
    return scalar grep { index($_, $path) == 0 } <$fh>;
}

# Freshness is counted in whole seconds: a store and a hit of a 1 s entry
# that straddle a second's end would see it expired.  Start each pair
# just after a second begins.
sub second_start {
    my $t = Time::HiRes::time();
    Time::HiRes::sleep(1.05 - ($t - int $t));
}

my $p = '/app/r?etag=%22v1%22&cond=1&cc=max-age%3D1&hdr=X-Gen:TOKEN';
my $q = '/app/r?etag=%22v2%22&cond=1&cc=max-age%3D1';
my $n = '/app/nokeep/r?etag=%22n1%22&cond=1&cc=max-age%3D1';
# (Fresh for 5 s once revalidated: on a loaded machine prefork spreads the
# burst over more than a second, and a copy fresh for 1 s expiring again
# would rightly be revalidated again.)
my $l = '/app/lock?etag=%22l%22&cond=1&cc=max-age%3D5&sleep=300';
my $hd = '/app/head?etag=%22h1%22&cond=1&cc=max-age%3D2&hdr=X-Gen:TOKEN';
my $h2 = '/app/head2?etag=%22h2%22&cc=max-age%3D2&hdr=X-Gen:TOKEN';
my $h3 = '/app/head3?hdr=ETag:%22TOKEN%22&cc=max-age%3D2';
my $vn = '/app/vn?vary=Cookie&hdr=Vary:Accept-Language&etag=%22e1%22'
       . '&cond=1&cc=max-age%3D1&reflect=Cookie';
my %who = map { $_ => [Cookie => "sid=$_", 'Accept-Language' => 'en'] }
          qw(alice bob carol);
my $tg = '/app/tg?etag=%22t1%22&cond=1&cc=max-age%3D1&sk=tagone';
my $vk = '/app/vk?vary=Accept-Language&etag=%22k1%22&cond=1&cc=max-age%3D1';
my $soe = '/app/soe/v?vary=Accept-Language&failable=1&cc=max-age%3D1';
# 304s that carry other fields than the 200 (h304=: the 304's only)
my %tag304 = (
    some  => ['/app/tp?etag=%22p%22&cond=1&cc=max-age%3D1'
              . '&sk=post-5%20comments-5&h304=Surrogate-Key:comments-5',
              'post-5'],
    empty => ['/app/te?etag=%22e%22&cond=1&cc=max-age%3D1&sk=tag-e'
              . '&h304=Surrogate-Key:', 'tag-e'],
);
my $xv = '/app/xv?vary=Cookie&etag=%22x%22&cond=1&cc=max-age%3D1'
       . '&reflect=Cookie&h304=X-SharedCache-Vary:cookie%3Dlang';
my $ex = '/app/ex?etag=%22x%22&cond=1&expin=1';
my $sc5 = '/app/sc5?etag=%22s%22&cond=1&cc=max-age%3D3600&sc=max-age%3D1';
my $tr = '/app/tr?etag=%22r%22&cond=1&cc=max-age%3D1&sk=tag-r&sleep=1500';
# A page mod_include assembles from a fragment (its ETag kept: SSIETag On)
my $ssi = do {
    my $text = 'P <!--#include virtual="/app/sf?cc=max-age%3D1" --> Q';
    (my $q = $text) =~ s/([^A-Za-z0-9_.~-])/sprintf('%%%02X', ord $1)/ge;
    "/app/ssi/p?text=$q&etag=%22s%22&cond=1&cc=max-age%3D1";
};
my $v7 = '/app/v7?vary=Accept-Language&cc=max-age%3D1&etag=%22v7%22&cond=1'
       . '&etagif=Accept-Language:en';

# --- phase 1: every entry stored ---
second_start();
my $first = $ap->get($p);
cache_is($first, 'MISS', 'first: rendered');
cache_is($ap->get($p), 'HIT', 'then a hit');
my $lock_stored = Time::HiRes::time();
$ap->get($l);
$ap->get($_) for $q, $n, $tg;
my $hg = $ap->get($hd);
my $g2 = $ap->get($h2);
my $g3 = $ap->get($h3);
like($ap->get($vn, @{ $who{alice} })->{body}, qr/reflected=sid=alice/,
     'Vary: Cookie page: alice\'s variant');
$ap->get($vk, 'Accept-Language' => 'en');
my $good = $ap->get($soe, 'Accept-Language' => 'en');
$ap->get($_->[0]) for values %tag304;
like($ap->get($xv, Cookie => 'sid=alice; lang=en')->{body},
     qr/reflected=sid=alice/, 'Vary: Cookie page without narrowing: alice\'s');
$ap->get($ex);
$ap->get($v7, 'Accept-Language' => $_) for qw(en de);
$ap->get($sc5);
my $sch = $ap->get($sc5);
cache_is($sch, 'HIT', 'Surrogate-Control page: a hit');
ok(!exists $sch->{headers}{'surrogate-control'},
   '... without the Surrogate-Control meant for the cache');
$ap->get($tr);
$ap->get($ssi);

# --- phase 2: all expired (max-age 1 and 2) ---
sleep 2;
second_start();
my $again = $ap->get($p);
my $h = $ap->get($p);
is($again->{status}, 200, 'expired: the client gets a 200');
is($again->{body}, $first->{body}, 'with the stored body');
is(not_modified('/r'), 1, 'after one conditional request that the app '
   . 'answered 304');
is($ap->renders('/app/r'), 2, 'no second render (one per URL)');
isnt($again->{headers}{'x-gen'}, $first->{headers}{'x-gen'},
     'the 304\'s headers replace the stored ones');
cache_is($h, 'HIT', 'and the 304\'s freshness counts: a hit again');
is($h->{headers}{'x-gen'}, $again->{headers}{'x-gen'}, 'with the new headers');

$ap->get($q);
is(not_modified('/r'), 2, 'v2: revalidated too');

# Without SharedCacheKeep the entry is gone when it expires.
$ap->get($n);
is(not_modified('/nokeep/r'), 0, 'SharedCacheKeep 0: no conditional request');
is($ap->renders('/app/nokeep/r'), 2, 'rendered again');

# HEAD freshens the stored GET response (RFC 9111 4.3.5): answered 304
# to the cache's conditional HEAD, or 200 with the stored validators and
# length, it updates the stored headers and freshness; a 200 with other
# validators does not.
my $hh = $ap->request('HEAD', $hd);
is($hh->{status}, 200, 'HEAD of an expired entry: 200');
is($hh->{body}, '', '... without a body');
is(not_modified('/head'), 1, '... after the app answered its conditional '
   . 'HEAD 304');
isnt($hh->{headers}{'x-gen'}, $hg->{headers}{'x-gen'},
     '... with the 304\'s headers');
my $ha = $ap->get($hd);
cache_is($ha, 'HIT', 'the GET after it: a HIT (the HEAD freshened it)');
is($ha->{body}, $hg->{body}, '... of the stored body');
is($ha->{headers}{'x-gen'}, $hh->{headers}{'x-gen'},
   '... with the headers the HEAD got');

my $hh2 = $ap->request('HEAD', $h2);
is($hh2->{status}, 200, 'HEAD answered 200 with the stored ETag and length');
my $ga2 = $ap->get($h2);
cache_is($ga2, 'HIT', '... freshens the entry: the GET after it is a HIT');
is($ga2->{body}, $g2->{body}, '... of the stored body');
is($ga2->{headers}{'x-gen'}, $hh2->{headers}{'x-gen'},
   '... with the HEAD\'s headers');

$ap->request('HEAD', $h3);
my $ga3 = $ap->get($h3);
isnt($ga3->{cache}, 'HIT', 'a HEAD answered with another ETag does not '
     . 'freshen the entry');
isnt($ga3->{body}, $g3->{body}, '... the GET gets the new page');

# A 304 never changes the fields the stored body depends on: one that
# narrows Vary (a backend whose 304 path skips the session middleware's
# Vary: Cookie) must not file alice's variant where carol's key points.
$ap->get($vn, @{ $who{bob} });       # bob's variant and the Vary record
$ap->get($vn, @{ $who{alice} });     # alice's variant: a 304
my $c = $ap->get($vn, @{ $who{carol} });
unlike($c->{body}, qr/reflected=sid=alice/,
       'a 304 with a narrower Vary: carol does not get alice\'s page');
like($c->{body}, qr/reflected=sid=carol/, '... she gets her own');

# A revalidated entry keeps its tags: the app's 304 (Django's, Flask's)
# carries no tag header, and an entry without them would outlive the
# invalidation of its tag.
$ap->get($tg);
is(not_modified('/tg'), 1, 'tagged entry: revalidated (304)');
$ap->get('/app/inv?cc=no-store&inv=tagone');
isnt($ap->get($tg)->{cache}, 'HIT',
     '... and its tag\'s invalidation still reaches it');
is($ap->renders('/app/tg'), 2, '... rendered again');

# A varying page is revalidated and served stale on error like any other:
# its Vary record lives as long as its variants are kept.
my $rv = $ap->get($vk, 'Accept-Language' => 'en');
is($rv->{status}, 200, 'Vary page, expired: 200');
is(not_modified('/vk'), 1, '... after a conditional request (304)');
is($ap->renders('/app/vk'), 1, '... and no second render');

my $fail = $ap->dir . '/app/fail';
open my $fh, '>', $fail or die $!;
close $fh;
my $s = $ap->get($soe, 'Accept-Language' => 'en');
unlink $fail;
is($s->{status}, 200, 'Vary page, expired, the app fails: 200 '
   . '(SharedCacheStaleOnError)');
is($s->{body}, $good->{body}, '... of the stored variant');

# A 304's tags join the stored ones: one that names some of them (a
# middleware adding its own back) or none (an empty field) unties the
# entry from none.
for my $case (sort keys %tag304) {
    my ($u, $tag) = @{ $tag304{$case} };
    $ap->get($u);
    cache_is($ap->get($u), 'HIT', "304 naming $case tags: a hit after it");
    $ap->get("/app/inv?cc=no-store&inv=$tag");
    isnt($ap->get($u)->{cache}, 'HIT',
         "... and the invalidation of a stored tag reaches it");
}

# A revalidated response varies on what the stored one did: a 304 that
# narrows Vary: Cookie to one cookie (X-SharedCache-Vary) does not file
# alice's page where carol's key points.
$ap->get($xv, Cookie => 'sid=alice; lang=en');
is(not_modified('/xv'), 1, 'alice\'s page revalidated (304 narrowing it)');
my $carol = $ap->get($xv, Cookie => 'sid=carol; lang=en');
unlike($carol->{body}, qr/reflected=sid=alice/,
       '... carol does not get alice\'s page');

# Expires counts from the 304 (or now), not from the first render's Date.
$ap->get($ex);
is(not_modified('/ex'), 1, 'Expires page revalidated');

# A 304 without the Surrogate-Control of the stored response (Django's
# keeps Cache-Control only) does not extend the freshness it gave.
$ap->get($sc5);
is(not_modified('/sc5'), 1, 'Surrogate-Control page revalidated');

# A tag invalidated while the application answers the revalidation
# (1.5 s) still reaches the entry: it is stored again with the tag's
# generation its lookup checked, not the one read after the answer.
{
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        $ap->get($tr);
        POSIX::_exit(0);
    }
    Time::HiRes::sleep(0.5);
    $ap->get('/app/inv?cc=no-store&inv=tag-r');
    waitpid($pid, 0);
    is(not_modified('/tr'), 1, 'slow revalidation answered 304');
    isnt($ap->get($tr)->{cache}, 'HIT', '... and the tag invalidated during '
         . 'it reaches the entry stored after it');
}

# A page assembled from SSI fragments is rendered again, not revalidated:
# a 304 to the page says nothing of its fragments.
$ap->get($ssi);
is(not_modified('/ssi'), 0, 'SSI page: no conditional request');
is($ap->renders('/app/sf'), 2, '... its expired fragment rendered again');

# A variant stored without a validator does not cut short the Vary
# record that leads to the one kept for revalidation.
$ap->get($v7, 'Accept-Language' => 'en');
is(not_modified('/v7'), 1, 'the en variant (ETag) revalidated although the '
   . 'de variant (none) was stored after it');

# --- phase 3: expired once more ---
sleep 1;
second_start();

# The client's own conditional request is not the cache's.
my $cl = $ap->get($p, 'If-None-Match' => '"other"');
is($cl->{status}, 200, 'a client\'s If-None-Match that does not match: 200');
is($cl->{body}, $first->{body}, 'the stored body');

isnt($ap->get($ex)->{cache}, 'HIT',
     '... and fresh for 1 s after it, not for its age more');
my $scx = $ap->get($sc5);
isnt($scx->{cache}, 'HIT', 'the revalidated Surrogate-Control page is fresh '
     . 'for its Surrogate-Control max-age, not its Cache-Control');
ok(!exists $scx->{headers}{'surrogate-control'},
   '... and no client gets the stored Surrogate-Control');

# The fill lock: 100 simultaneous requests for an expired entry, one
# conditional request.
my $left = $lock_stored + 5.5 - Time::HiRes::time();
Time::HiRes::sleep($left) if $left > 0;
my @res = SCTest::Apache->burst(map { [ $ap, $l ] } 1 .. 100);
is(scalar(grep { $_->{status} == 200 } @res), 100, '100 answers, all 200');
is(not_modified('/lock'), 1, 'one conditional request reached the app');
is($ap->renders('/app/lock'), 1, 'and no render');

my @bad = $ap->unexpected_errors;
is_deeply(\@bad, [], 'no unexpected error in the log');
done_testing;
