# Migrating to a new memcached cluster: sharedcachectl migrate copies the
# old cluster's counters into the new one, then SharedCacheFallbackServers
# names the old one, read on a miss and never written.  A hit there is
# served (and copied into the new cluster) only when its counters in the
# new cluster still hold the copied values: a page invalidated through the
# new cluster (tag, PURGE) is never served from the old one.
#
# The old server is filled by an Apache configured with it alone; then an
# Apache on the same address and port (the same keys) runs with
# "SharedCacheServers new" and "SharedCacheFallbackServers old".
# sc-test: alone (it measures time; make prove runs the others two at a time)
# sc-test: own-cluster (every memcached it starts is no_extra)
use strict;
use warnings;
use Test::More;
use Time::HiRes qw(time sleep);
use SCTest;
SCTest::skip_in_cluster_pass();
use SCTest::Cluster qw(:all);

my $SITE = <<'CONF';
SharedCacheTimeout 200
SharedCacheRetryInterval 1
<Location /app>
    SharedCache On
    SharedCacheTTL 300
    SharedCachePurge On
    <Limit PURGE>
        Require ip 127.0.0.1
    </Limit>
</Location>
CONF

my $old = SCTest::Memcached->start(no_extra => 1);
my $new = SCTest::Memcached->start(no_extra => 1);

# ---- the old cluster, filled by the old configuration -------------------

my @plain = map { "/app/mig/p-$_" } 1 .. 8;
my @tagged = map { "/app/mig/t-$_?sk=mig-tag" } 1 .. 6;
my @purged = map { "/app/mig/u-$_" } 1 .. 2;
my $a1 = SCTest::Apache->start(memcached => [$old], conf => $SITE);
my $port = $a1->port;
my %token;
$a1->get($_) for @plain, @tagged, @purged;
for my $p (@plain, @tagged, @purged) {
    my $r = $a1->get($p);
    $token{$p} = body_token($r->{body}) if $r->{cache} eq 'HIT';
}
is(scalar keys %token, 16, '16 pages cached in the old server');
$a1->stop;

my %writes = map { $_ => 1 } qw(cmd_set cmd_touch incr_hits incr_misses
                                decr_hits decr_misses delete_hits
                                delete_misses cas_hits cas_misses);
sub old_state {
    my $st = $old->stats;
    my %w = map { $_ => $st->{$_} // 0 } keys %writes;
    return ({ map { $_ => 1 } $old->keys }, \%w);
}
my ($old_keys, $old_writes) = old_state();

# ---- the migration's first step: the old counters into the new cluster --

my $migrate = `$SCTest::ROOT/tools/sharedcachectl --servers '${\ $new->addr }' migrate --from '${\ $old->addr }' 2>&1`;
is($? >> 8, 0, 'sharedcachectl migrate: exit 0') or diag($migrate);
like($migrate, qr/^migrated [1-9]\d* counter copies/m,
     'it copied the old counters') or diag($migrate);

# ---- the new configuration ----------------------------------------------

my $conf = $SITE . 'SharedCacheFallbackServers ' . $old->addr . "\n";
my ($rc, $out) = SCTest::Apache->configtest($conf, memcached => [$new]);
is($rc, 0, 'SharedCacheFallbackServers is a known directive (configtest)')
    or diag($out);
my $ap = eval {
    SCTest::Apache->start(memcached => [$new], port => $port, conf => $conf);
};
ok($ap, 'Apache starts with SharedCacheServers new and '
   . 'SharedCacheFallbackServers old') or diag($@);
unless ($ap) {
    done_testing;
    exit;
}
my $base = "http://127.0.0.1:$port";

# Found in the old server: a HIT, and copied into the new one.
my @first = map { $ap->get($_) } @plain[0 .. 3];
is(scalar(grep { $first[$_]{cache} eq 'HIT'
                 && body_token($first[$_]{body}) eq $token{ $plain[$_] } }
          0 .. 3), 4, 'pages only the old server holds: HITs, its entries');
is($ap->renders('/app/mig/'), 0, 'the app rendered none of them');
my @copied = grep {
    my $value = $new->get_raw(entry_key($ap, $_, [$old])) // '';
    index($value, "token=$token{$_}") >= 0;
} @plain[0 .. 3];
is(scalar @copied, 4, 'their entries (the old renders) are copied into the '
   . 'new server');
my @valid = grep {
    ctl(servers => [$new], timeout => 500,
        args => ['inspect', "$base$_"])->{rc} == 0
} @plain[0 .. 3];
is(scalar @valid, 4, 'and are valid there (sharedcachectl inspect against '
   . 'the new server: exit 0)');
is(scalar(grep { $ap->get($_)->{cache} eq 'HIT' } @plain[0 .. 3]), 4,
   'requested again: HITs');

# Two tagged pages and one of the purged are copied before the invalidations.
$ap->get($_) for @tagged[0 .. 1], $purged[1];

# Invalidated through the new cluster.
my $inv = $ap->get('/app/mig/save?cc=no-store&inv=mig-tag');
is($inv->{status}, 200, 'X-SharedCache-Invalidate: mig-tag through the '
   . 'new Apache');
my @purge = map { $ap->raw(PURGE => $_)->{status} } @purged;
diag("PURGE @purged: @purge");

my @stale;
for my $round (1 .. 3) {
    for my $p (@tagged, @purged) {
        my $r = $ap->get($p);
        push @stale, "round $round: $p HIT with the old entry"
            if $r->{cache} eq 'HIT' && body_token($r->{body}) eq $token{$p};
    }
    sleep 0.3;
}
is(scalar @stale, 0, 'pages invalidated in the new cluster (tag, PURGE), '
   . 'copied or still only in the old server: never served from the old '
   . 'entry') or diag(join "\n", @stale);

# The rest of the old entries are still found there.
is(scalar(grep { my $r = $ap->get($_);
                 $r->{cache} eq 'HIT' && body_token($r->{body}) eq $token{$_} }
          @plain[4 .. 7]), 4,
   'other pages only the old server holds: still HITs from it');

$ap->stop(allow => [qr/SC020[19]/]);

# Nothing was ever written to the old server.
my ($keys_after, $writes_after) = old_state();
my @added = grep { !$old_keys->{$_} } sort keys %$keys_after;
# (Leases, "uncacheable" markers among them, expire by themselves.)
my @gone = grep { !$keys_after->{$_} && !/^sc:l:/ } sort keys %$old_keys;
is("@added", '', 'no key was added to the old server');
is("@gone", '', 'none was removed from it');
is_deeply($writes_after, $old_writes,
          'and counted no write (set, touch, incr, decr, delete, cas)');
done_testing;
