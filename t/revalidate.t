# Revalidation (SharedCacheKeep): an expired entry with a validator is kept
# and revalidated with the application: the request that renders sends
# If-None-Match from the stored entry; a 304 refreshes the stored headers
# and freshness (RFC 9111 4.3.4) and the stored body is served; a 200
# replaces it.  The fill lock covers it: one conditional request per entry
# in the farm.
# sc-test: alone (it measures time; make prove runs the others two at a time)
use strict;
use warnings;
use Test::More;
use Time::HiRes ();
use SCTest;

my $mc = SCTest::Memcached->start;
my $ap = SCTest::Apache->start(memcached => [$mc], wsgi_processes => 4,
                               conf => <<'CONF');
<Location /app>
    SharedCache On
    SharedCacheKeep 60
</Location>
<Location /app/nokeep>
    SharedCacheKeep 0
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
second_start();
my $first = $ap->get($p);
cache_is($first, 'MISS', 'first: rendered');
cache_is($ap->get($p), 'HIT', 'then a hit');
sleep 2;
my $again = $ap->get($p);
is($again->{status}, 200, 'expired: the client gets a 200');
is($again->{body}, $first->{body}, 'with the stored body');
is(not_modified('/r'), 1, 'after one conditional request that the app '
   . 'answered 304');
is($ap->renders('/app/r'), 1, 'no second render');
isnt($again->{headers}{'x-gen'}, $first->{headers}{'x-gen'},
     'the 304\'s headers replace the stored ones');
my $h = $ap->get($p);
cache_is($h, 'HIT', 'and the 304\'s freshness counts: a hit again');
is($h->{headers}{'x-gen'}, $again->{headers}{'x-gen'}, 'with the new headers');

# The app has changed: it answers 200, which replaces the entry.
sleep 2;
my $q = '/app/r?etag=%22v2%22&cond=1&cc=max-age%3D1';
$ap->get($q);
sleep 2;
my $changed = $ap->get($q);
is(not_modified('/r'), 2, 'v2: revalidated too');

# The client's own conditional request is not the cache's.
sleep 2;
my $c = $ap->get($p, 'If-None-Match' => '"other"');
is($c->{status}, 200, 'a client\'s If-None-Match that does not match: 200');
is($c->{body}, $first->{body}, 'the stored body');

# Without SharedCacheKeep the entry is gone when it expires.
my $n = '/app/nokeep/r?etag=%22n1%22&cond=1&cc=max-age%3D1';
$ap->get($n);
sleep 2;
$ap->get($n);
is(not_modified('/nokeep/r'), 0, 'SharedCacheKeep 0: no conditional request');
is($ap->renders('/app/nokeep/r'), 2, 'rendered again');

# The fill lock: 100 simultaneous requests for an expired entry, one
# conditional request.  (Fresh for 5 s once revalidated: on a loaded
# machine prefork spreads the burst over more than a second, and a copy
# fresh for 1 s expiring again would rightly be revalidated again.)
my $l = '/app/lock?etag=%22l%22&cond=1&cc=max-age%3D5&sleep=300';
$ap->get($l);
sleep 5.5;
my @res = SCTest::Apache->burst(map { [ $ap, $l ] } 1 .. 100);
is(scalar(grep { $_->{status} == 200 } @res), 100, '100 answers, all 200');
is(not_modified('/lock'), 1, 'one conditional request reached the app');
is($ap->renders('/app/lock'), 1, 'and no render');

# HEAD freshens the stored GET response (RFC 9111 4.3.5): answered 304
# to the cache's conditional HEAD, or 200 with the stored validators and
# length, it updates the stored headers and freshness; a 200 with other
# validators does not.
my $hd = '/app/head?etag=%22h1%22&cond=1&cc=max-age%3D2&hdr=X-Gen:TOKEN';
second_start();
my $hg = $ap->get($hd);
sleep 3;
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

my $h2 = '/app/head2?etag=%22h2%22&cc=max-age%3D2&hdr=X-Gen:TOKEN';
second_start();
my $g2 = $ap->get($h2);
sleep 3;
my $hh2 = $ap->request('HEAD', $h2);
is($hh2->{status}, 200, 'HEAD answered 200 with the stored ETag and length');
my $ga2 = $ap->get($h2);
cache_is($ga2, 'HIT', '... freshens the entry: the GET after it is a HIT');
is($ga2->{body}, $g2->{body}, '... of the stored body');
is($ga2->{headers}{'x-gen'}, $hh2->{headers}{'x-gen'},
   '... with the HEAD\'s headers');

my $h3 = '/app/head3?hdr=ETag:%22TOKEN%22&cc=max-age%3D2';
second_start();
my $g3 = $ap->get($h3);
sleep 3;
$ap->request('HEAD', $h3);
my $ga3 = $ap->get($h3);
isnt($ga3->{cache}, 'HIT', 'a HEAD answered with another ETag does not '
     . 'freshen the entry');
isnt($ga3->{body}, $g3->{body}, '... the GET gets the new page');

# A 304 never changes the fields the stored body depends on: one that
# narrows Vary (a backend whose 304 path skips the session middleware's
# Vary: Cookie) must not file alice's variant where carol's key points.
{
    my $u = '/app/vn?vary=Cookie&hdr=Vary:Accept-Language&etag=%22e1%22'
          . '&cond=1&cc=max-age%3D1&reflect=Cookie';
    my %who = map { $_ => [Cookie => "sid=$_", 'Accept-Language' => 'en'] }
              qw(alice bob carol);
    second_start();
    like($ap->get($u, @{ $who{alice} })->{body}, qr/reflected=sid=alice/,
         'Vary: Cookie page: alice\'s variant');
    sleep 2;
    $ap->get($u, @{ $who{bob} });        # the Vary record stored anew
    $ap->get($u, @{ $who{alice} });      # alice's variant: a 304
    my $c = $ap->get($u, @{ $who{carol} });
    unlike($c->{body}, qr/reflected=sid=alice/,
           'a 304 with a narrower Vary: carol does not get alice\'s page');
    like($c->{body}, qr/reflected=sid=carol/, '... she gets her own');
}

my @bad = $ap->unexpected_errors;
is_deeply(\@bad, [], 'no unexpected error in the log');
done_testing;
