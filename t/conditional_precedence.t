# A hit answers conditional requests in the order RFC 9110 13.2.2 gives:
# If-Match, else If-Unmodified-Since; then If-None-Match, else
# If-Modified-Since.  A date is ignored where the matching entity-tag
# field is present: a matching If-None-Match gets 304 whatever
# If-Modified-Since says, a matching If-Match gets 200 whatever
# If-Unmodified-Since says.
use strict;
use warnings;
use Test::More;
use SCTest;

my $mc = SCTest::Memcached->start;
my $ap = SCTest::Apache->start(memcached => [$mc]);

my $page = '/app/cond?etag=%22v1%22&lm=Mon,%2001%20Jan%202024%2000:00:00%20GMT';
my $before = 'Sat, 01 Jan 2000 00:00:00 GMT';    # before Last-Modified
my $after = 'Wed, 01 Jan 2025 00:00:00 GMT';     # after it
cache_is($ap->get($page), 'MISS', 'stored');

my @cases = (
    [ 'If-None-Match matches, If-Modified-Since would not: 304', 304,
      'If-None-Match' => '"v1"', 'If-Modified-Since' => $before ],
    [ 'If-None-Match matches weakly, If-Modified-Since would not: 304', 304,
      'If-None-Match' => 'W/"v1"', 'If-Modified-Since' => $before ],
    [ 'If-None-Match *, If-Modified-Since would not: 304', 304,
      'If-None-Match' => '*', 'If-Modified-Since' => $before ],
    [ 'If-None-Match among others, If-Modified-Since would not: 304', 304,
      'If-None-Match' => '"x", "v1"', 'If-Modified-Since' => $before ],
    [ 'If-None-Match matches and If-Modified-Since too: 304', 304,
      'If-None-Match' => '"v1"', 'If-Modified-Since' => $after ],
    [ 'If-None-Match does not match, If-Modified-Since would: 200', 200,
      'If-None-Match' => '"v2"', 'If-Modified-Since' => $after ],
    [ 'If-Modified-Since alone, after Last-Modified: 304', 304,
      'If-Modified-Since' => $after ],
    [ 'If-Modified-Since alone, before Last-Modified: 200', 200,
      'If-Modified-Since' => $before ],
    [ 'If-Match matches, If-Unmodified-Since would fail: 200', 200,
      'If-Match' => '"v1"', 'If-Unmodified-Since' => $before ],
    [ 'If-Match does not match: 412', 412, 'If-Match' => '"v2"' ],
    [ 'If-Unmodified-Since alone, before Last-Modified: 412', 412,
      'If-Unmodified-Since' => $before ],
    [ 'If-Unmodified-Since holds, If-None-Match matches: 304', 304,
      'If-Unmodified-Since' => $after, 'If-None-Match' => '"v1"' ],
    [ 'If-Match matches, If-None-Match matches: 304', 304,
      'If-Match' => '"v1"', 'If-None-Match' => '"v1"' ],
);
for my $c (@cases) {
    my ($name, $want, @h) = @$c;
    my $r = $ap->get($page, @h);
    is($r->{status}, $want, $name);
    cache_is($r, 'HIT', '  answered from the cache') if $want != 412;
    my $head = $ap->request('HEAD', $page, @h);
    is($head->{status}, $want, "  and to HEAD");
}
is($ap->renders('/app/cond'), 1, 'all from one render');

$ap->stop;
done_testing;
