# The core hit/miss path: a second request is a HIT served without the app.
use strict;
use warnings;
use Test::More;
use SCTest;

my $mc = SCTest::Memcached->start;
my $ap = SCTest::Apache->start(memcached => [$mc]);

my $first = $ap->get('/app/basic');
is($first->{status}, 200, 'first request: 200');
cache_is($first, 'MISS', 'first request is a MISS');

my $second = $ap->get('/app/basic');
is($second->{status}, 200, 'second request: 200');
cache_is($second, 'HIT', 'second request is a HIT');
is($second->{body}, $first->{body}, 'the HIT is byte-identical to the MISS');
is($ap->renders('/app/basic'), 1, 'the app rendered once');
like($second->{headers}{age} // '', qr/^\d+$/, 'a HIT carries Age');
is($second->{headers}{'x-render-token'}, $first->{headers}{'x-render-token'},
   'the stored response headers are replayed');

$ap->stop;
done_testing;
