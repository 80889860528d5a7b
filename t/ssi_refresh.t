# SSI: a page of a 1 s fragment and a 600 s fragment.  The page is stored
# whole, fresh as long as its shortest part; when it expires only the
# expired fragment renders again: the other is still a hit of its own.
use strict;
use warnings;
use Test::More;
use SCTest;

my $mc = SCTest::Memcached->start;
my $ap = SCTest::Apache->start(memcached => [$mc], modules => ['include'],
    files => {
        'two.shtml' => '[<!--#include virtual="/app/short/clock" -->]'
                       . '[<!--#include virtual="/app/long/menu" -->]',
    }, conf => $SCTest::SSI_DIR . <<'CONF');
<Location />
    SharedCache On
    SharedCacheTTL 600
    SharedCacheRequireLength Off
</Location>
<Location /app/short>
    SharedCacheTTL 1
</Location>
CONF

sub tokens { [ $_[0] =~ /token=(\w+)/g ] }
my $a = $ap->get('/two.shtml');
my $b = $ap->get('/two.shtml');
cache_is($b, 'HIT', 'the page is stored');
is($b->{body}, $a->{body}, 'whole');
sleep 2;
my $c = $ap->get('/two.shtml');
isnt($c->{cache}, 'HIT', 'after 1 s the page is made again');
isnt(tokens($c->{body})->[0], tokens($a->{body})->[0],
     'with the 1 s fragment rendered again');
is(tokens($c->{body})->[1], tokens($a->{body})->[1],
   'and the 600 s fragment as it was');
is($ap->renders('/app/short/clock'), 2, 'the short fragment rendered twice');
is($ap->renders('/app/long/menu'), 1, 'the long one once');
done_testing;
