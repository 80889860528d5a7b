# A store that memcached does not keep (here: an entry larger than its
# item size limit, -I 2k; the same read-back sees a PURGE that deletes an
# entry right after it was written) is no failure of memcached: the page
# is served as rendered, the connection stays, and the log says it at
# info (SC0329), never "memcached ... failed, serving uncached" (SC0201).
# Small pages are still stored through the same connections.
use strict;
use warnings;
use Test::More;
use SCTest;

my $mc = SCTest::Memcached->start(args => ['-I', '2k', '-o', 'slab_chunk_max=1024']);
my $ap = SCTest::Apache->start(memcached => [$mc], conf => <<'CONF');
LogLevel warn sharedcache:info
<Location /app>
    SharedCache On
    SharedCacheTTL 60
</Location>
CONF

# incompressible, so the stored record is larger than 2k
my @big = map { $ap->get('/app/big?size=5000&type=image/png') } 1 .. 3;
is(scalar(grep { $_->{status} == 200 && length($_->{body}) == 5000 } @big), 3,
   'a page memcached refuses is served as rendered');
is(scalar(grep { $_->{cache} eq 'MISS' } @big), 3, '... every time (not stored)');
like($ap->error_log, qr/SC0329: not stored: \S+ not there once written/,
     'said at info (SC0329)');
unlike($ap->error_log, qr/SC0201/, 'not as a failure of memcached (SC0201)');
$ap->get('/app/small?size=100') for 1 .. 2;
cache_is($ap->get('/app/small?size=100'), 'HIT', 'a small page is stored and hit');

$ap->stop(allow => [qr/SC0329/]);
done_testing;
