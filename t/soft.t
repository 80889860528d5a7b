# SharedCacheSoftInvalidate: an entry invalidated by tag or URL is served
# STALE within its grace period while exactly one request refreshes it
# (after its own response);
# without it (the default) the invalidation is a plain miss; namespace
# flushes are always hard.
# sc-test: alone (it measures time; make prove runs the others two at a time)
use strict;
use warnings;
use Test::More;
use SCTest;

my $mc = SCTest::Memcached->start(verbose => $ENV{SC_MCV});
my $ap = SCTest::Apache->start(memcached => [$mc], wsgi_processes => 4,
                               conf => <<'CONF');
<Location /app>
    SharedCache On
    SharedCacheTTL 60
    SharedCacheGrace 30
</Location>
<Location /app/soft>
    SharedCacheSoftInvalidate On
    SharedCacheStaleOnError 60
    SharedCachePurge On
    <Limit PURGE>
        Require ip 127.0.0.1
    </Limit>
</Location>
CONF
my $ctl = "$SCTest::ROOT/tools/sharedcachectl";
my @servers = ('--servers', $mc->addr);

my $p = '/app/soft/page?sk=soft-tag&sleep=300';
my $old = $ap->get($p);
cache_is($ap->get($p), 'HIT', 'soft: cached');
system($ctl, @servers, 'invalidate', 'soft-tag') == 0 or die;
my @res = SCTest::Apache->burst(map { [ $ap, $p ] } 1 .. 10);
is(scalar(grep { $_->{cache} eq 'STALE' } @res), 10,
   'soft: after invalidation 10 of 10 concurrent requests get STALE (the '
   . 'one that refreshes it after its response too)');
is(scalar(grep { $_->{body} eq $old->{body} } grep { $_->{cache} eq 'STALE' }
          @res), 10, 'STALE is the old page');
is(scalar(grep { ($_->{headers}{'cache-status'} // '') =~ /; hit; ttl=(-\d+|0)\b/ }
          @res), 10, 'its Cache-Status says no freshness is left (ttl=0 or less)')
    or diag($res[0]{headers}{'cache-status'});
is($ap->renders('/app/soft/page'), 2, 'one refresh ran');
my $new = $ap->get($p);
cache_is($new, 'HIT', 'then the refreshed page is a HIT');
isnt($new->{body}, $old->{body}, 'and it is new');

# The default: an invalidation is a miss for everyone (one renders, the
# others wait for it under the lock).
my $h = '/app/hard/page?sk=hard-tag&sleep=300';
my $hard_old = $ap->get($h);
cache_is($ap->get($h), 'HIT', 'hard: cached (the store is done)');
system($ctl, @servers, 'invalidate', 'hard-tag') == 0 or die;
@res = SCTest::Apache->burst(map { [ $ap, $h ] } 1 .. 10);
is(scalar(grep { $_->{cache} eq 'STALE' } @res), 0,
   'hard: nobody gets the invalidated page');
is(scalar(grep { $_->{body} eq $hard_old->{body} } @res), 0,
   'the old page is never served');
is($ap->renders('/app/hard/page'), 2, 'one render for all of them');

# A namespace flush is hard even with SoftInvalidate.
my $n = '/app/soft/ns?sleep=100';
my $ns_old = $ap->get($n);
cache_is($ap->get($n), 'HIT', 'namespace: cached');
system($ctl, @servers, 'flush') == 0 or die;
my $after = $ap->get($n);
cache_is($after, 'MISS', 'a namespace flush is a MISS even here');
isnt($after->{body}, $ns_old->{body}, 'with a fresh page');

# PURGE is hard even here: a purged page never comes back STALE, not even
# in place of an error.
my $pg = '/app/soft/purged?failable=1';
my $before = $ap->get($pg);
cache_is($ap->get($pg), 'HIT', 'purge: cached');
my $fail = $ap->dir . '/app/fail';
open my $fh, '>', $fail or die $!;
close $fh;
is($ap->request('PURGE', $pg)->{status}, 200, 'purge: PURGE accepted');
my $gone = $ap->get($pg);
isnt($gone->{cache}, 'STALE', 'a purged page is not served STALE');
is($gone->{status}, 503, 'the backend\'s error is what the client gets');
unlink $fail;
my $back = $ap->get($pg);
cache_is($back, 'MISS', 'then a fresh render');
isnt($back->{body}, $before->{body}, 'of a new page');

$ap->stop;
done_testing;
