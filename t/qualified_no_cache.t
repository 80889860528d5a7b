# Cache-Control: no-cache="X-User" names a field that must not be served
# from the cache without revalidation (RFC 9111 5.2.2.4).  With a
# targeted Surrogate-Control that allows storing, the response is stored,
# but without that field: the next visitor never gets the first one's.
use strict;
use warnings;
use Test::More;
use URI::Escape qw(uri_escape);
use SCTest;

my $mc = SCTest::Memcached->start;
my $ap = SCTest::Apache->start(memcached => [$mc], conf => <<'CONF');
<Location /app>
    SharedCache On
</Location>
CONF

my $p = '/app/q?sc=max-age%3D60&cc=' . uri_escape('no-cache="X-User", max-age=60')
        . '&hdr=' . uri_escape('X-User:user-TOKEN');
my $alice = $ap->get($p, Cookie => 'sessionid=alice');
my $bob = $ap->get($p, Cookie => 'sessionid=bob');
like($alice->{headers}{'x-user'} // '', qr/^user-\w+$/, 'alice gets her X-User');
cache_is($bob, 'HIT', 'the response is stored (Surrogate-Control allows it)');
ok(!defined $bob->{headers}{'x-user'},
   'without the field no-cache names: bob never gets alice\'s X-User');
is($bob->{headers}{'x-render-token'}, $alice->{headers}{'x-render-token'},
   'the other headers are stored');

# A list that cannot be read plainly (a quoted-pair, blanks in a token):
# not stored at all.
for my $cc ('no-cache="X-\\User", max-age=60', 'no-cache=X-Other X-User, max-age=60') {
    my $q = '/app/qp?sc=max-age%3D60&cc=' . uri_escape($cc)
            . '&hdr=' . uri_escape('X-User:user-TOKEN');
    $ap->get($q);
    isnt($ap->get($q)->{cache}, 'HIT', "Cache-Control: $cc: not stored");
}

# Unqualified no-cache without a targeted field: not stored at all.
$ap->get('/app/n?cc=no-cache');
isnt($ap->get('/app/n?cc=no-cache')->{cache}, 'HIT', 'plain no-cache: not stored');
done_testing;
