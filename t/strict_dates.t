# Freshness is read from the three HTTP-date formats only (RFC 9110
# 5.6.7): an Expires in any other form is invalid and means already
# expired (RFC 9111 5.3), a Date in another form counts as none.  An Age
# list is read as its first member, an invalid Age is ignored (RFC 9111
# 5.1).  Through the real app, with SharedCacheTTL 60 in the location.
# sc-test: alone (it measures time; make prove runs the others two at a time)
use strict;
use warnings;
use POSIX qw(strftime);
use Test::More;
use Time::HiRes qw(sleep time);
use SCTest;

my $mc = SCTest::Memcached->start;
my $ap = SCTest::Apache->start(memcached => [$mc]);

sub esc {
    my ($s) = @_;
    $s =~ s/([^A-Za-z0-9_.~-])/sprintf '%%%02X', ord $1/ge;
    return $s;
}

my $at = time + 3600;    # an hour from now: fresh if read
my @t = gmtime $at;
my %valid = (
    'IMF-fixdate' => strftime('%a, %d %b %Y %H:%M:%S GMT', @t),
    'RFC 850'     => strftime('%A, %d-%b-%y %H:%M:%S GMT', @t),
    'asctime'     => strftime('%a %b ', @t) . sprintf('%2d', $t[3])
                     . strftime(' %H:%M:%S %Y', @t),
);
my $imf = $valid{'IMF-fixdate'};
# Names in any case can mean nothing else: read as meant (as APR and
# mod_proxy read them; cache-tests' freshness-expires-wrong-case-*).
$valid{'IMF-fixdate, names in lower case'} = lc $imf;
(my $nocomma = $imf) =~ s/,//;
(my $onedigit = $imf) =~ s/ 0?(\d):/ $1:/;
$onedigit =~ s/ (\d\d):/ 1:/ if $onedigit eq $imf;    # hour 10-23
my %invalid = (
    'UTC instead of GMT'   => $imf =~ s/GMT$/UTC/r,
    'AEST instead of GMT'  => $imf =~ s/GMT$/AEST/r,
    'no comma'             => $nocomma,
    'a one-digit hour'     => $onedigit,
    'two spaces'           => $imf =~ s/, /,  /r,
    'a two-digit year'     => strftime('%a, %d %b %y %H:%M:%S GMT', @t),
    'junk after GMT'       => "$imf junk",
);

my $n = 0;
for my $form (sort keys %valid) {
    my $page = '/app/valid' . ++$n . '?expires=' . esc($valid{$form});
    cache_is($ap->get($page), 'MISS', "Expires as $form: MISS");
    cache_is($ap->get($page), 'HIT', "Expires as $form: then a HIT");
}
for my $form (sort keys %invalid) {
    my $page = '/app/invalid' . ++$n . '?expires=' . esc($invalid{$form});
    cache_is($ap->get($page), 'UNCACHEABLE',
             "Expires with $form ($invalid{$form}): already expired");
    isnt($ap->get($page)->{cache}, 'HIT', "Expires with $form: never a HIT");
}

# The freshness a store logs (SC0305 ... fresh N s) for one request (the
# store may end just after the client has the response).
sub fresh_for {
    my ($page) = @_;
    my $from = length $ap->error_log;
    my $r = $ap->get($page);
    my $s;
    for (1 .. 100) {
        last if ($s) = substr($ap->error_log, $from)
                       =~ /SC0305: stored .* fresh (\d+) s/;
        sleep 0.05;
    }
    return ($r, $s);
}

# A Date in a form other than the three is no Date: Expires counts from
# now, not from a Date 3000 s in the past (which would give 3100 s).
my $expires = strftime('%a, %d %b %Y %H:%M:%S GMT', gmtime(time + 100));
my $date = strftime('%a, %d %b %Y %H:%M:%S UTC', gmtime(time - 3000));
my ($r, $fresh) = fresh_for('/app/date-utc?expires=' . esc($expires)
                            . '&date=' . esc($date));
cache_is($r, 'MISS', 'Expires with a Date in UTC: stored');
ok(defined $fresh && $fresh <= 100,
   'fresh for Expires minus now, not minus the invalid Date')
    or diag('fresh ' . ($fresh // 'not logged'));
my $good = strftime('%a, %d %b %Y %H:%M:%S GMT', gmtime(time - 3000));
($r, $fresh) = fresh_for('/app/date-gmt?expires=' . esc($expires) . '&date='
                         . esc($good));
ok(defined $fresh && $fresh >= 3000,
   'a valid Date counts: Expires minus Date')
    or diag('fresh ' . ($fresh // 'not logged'));

# Age: a list is read as its first member; an invalid one is ignored.
cache_is($ap->get('/app/age-list?cc=max-age%3D3600&age=7200,%200'),
         'UNCACHEABLE', 'Age: 7200, 0 against max-age=3600: already stale');
isnt($ap->get('/app/age-list?cc=max-age%3D3600&age=7200,%200')->{cache}, 'HIT',
     'and never a HIT');
($r, $fresh) = fresh_for('/app/age-first?cc=max-age%3D60&age=20,%200');
is($fresh, 40, 'Age: 20, 0 against max-age=60: fresh 40 s');
($r, $fresh) = fresh_for('/app/age-bad?cc=max-age%3D60&age=abc');
is($fresh, 60, 'a non-numeric Age is ignored: fresh 60 s');
cache_is($ap->get('/app/age-bad?cc=max-age%3D60&age=abc'), 'HIT',
         'and served from the cache');

$ap->stop;
done_testing;
