# A fill lease kept because its server stopped answering (t/
# cluster_lease_pause.t) and then left behind by a graceful restart that
# changes the cluster (another SharedCachePrefix) is dropped once it has
# expired: nobody of the new cluster would let go of it, and 64 of them
# would fill the table for good, so that after the next outage the first
# request waits for the lease again (found by the outside attack).  A
# restart that adds a server keeps the lease's server: it is let go of at
# once, not when it expires (the next request for its URL would wait until
# then).  The status page shows how many leases are kept.
# sc-test: alone (it stops a memcached for seconds)
# sc-test: own-cluster (every memcached it starts is no_extra)
use strict;
use warnings;
use Test::More;
use Time::HiRes qw(time sleep);
use JSON::PP;
use POSIX ();
use SCTest;
SCTest::skip_in_cluster_pass();
use SCTest::Cluster qw(:all);

sub conf {
    my ($prefix, $lock) = @_;
    $lock //= 3;
    return <<"CONF";
SharedCachePrefix $prefix
SharedCacheTimeout 100
SharedCacheRetryInterval 1
<Location /app>
    SharedCache On
    SharedCacheTTL 300
    SharedCacheLockTimeout $lock
</Location>
<Location /sc-status>
    SetHandler sharedcache-status
</Location>
CONF
}

my $mc = SCTest::Memcached->start(no_extra => 1);
my $ap;
sub kept { decode_json($ap->get("/sc-status?json")->{body})->{leases_kept} }

# Renders of urls whose leases cannot be let go of: the server is paused
# while they render.
sub keep_leases {
    my @pids;
    for my $u (@_) {
        my $pid = fork // die;
        if (!$pid) {
            $ap->raw(GET => "$u?sleep=1500");
            POSIX::_exit(0);
        }
        push @pids, $pid;
    }
    sleep 0.3;
    pause($mc);
    waitpid $_, 0 for @pids;
    resume($mc);
}

sub graceful {
    $ap->_write_conf(@_);
    kill 'USR1', $ap->parent_pid;
    sleep 2;
    for (1 .. 50) {    # mod_wsgi's daemon is back
        last if $ap->get("/app/ready?n=$_")->{status} == 200;
        sleep 0.2;
    }
}

# Another prefix: the lease is dropped once expired.
$ap = SCTest::Apache->start(memcached => [$mc], conf => conf('one'));
is(kept(), 0, 'the status page: no lease kept');
$ap->get('/app/warm');
keep_leases('/app/held');
my $kept_at = time;
like($ap->error_log, qr/SC0215/, 'the lease was kept');
is(kept(), 1, 'the status page: one lease kept');
graceful(conf('two'));
sleep 0.2 while time < $kept_at + 3.5;    # past the lease's expiry
$ap->get('/app/after') for 1 .. 3;
is(kept(), 0, 'a restart\'s expired lease is dropped by the next request');
$ap->stop(allow => [qr/SC0\d\d\d/, qr/AH00/, qr/AH01/, qr/connect to WSGI daemon/]);

# One more server: the leases' server is still there; they are let go of
# at the next request, long before they expire (15 s).
my $mc2 = SCTest::Memcached->start(no_extra => 1);
$ap = SCTest::Apache->start(memcached => [$mc], conf => conf('one', 15));
$ap->get('/app/warm');
keep_leases(map { "/app/held/$_" } 1 .. 4);
$kept_at = time;
is(kept(), 4, 'four leases kept');
$ap->{memcached} = [$mc, $mc2];
graceful(conf('one', 15));
$ap->get('/app/after') for 1 .. 3;
is(kept(), 0, 'a server kept through the restart: its leases are let go of at once');
cmp_ok(time - $kept_at, '<', 12, '... well before they expire');
$ap->stop(allow => [qr/SC0\d\d\d/, qr/AH00/, qr/AH01/, qr/connect to WSGI daemon/]);
done_testing;
