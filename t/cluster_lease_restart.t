# A fill lease kept because its server stopped answering (t/
# cluster_lease_pause.t) and then left behind by a graceful restart that
# changes the cluster (another SharedCachePrefix) is dropped once it has
# expired: nobody of the new cluster would let go of it, and 64 of them
# would fill the table for good, so that after the next outage the first
# request waits for the lease again (found by the outside attack).  The
# status page shows how many leases are kept.
# sc-test: alone (it stops a memcached for seconds)
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
    my ($prefix) = @_;
    return <<"CONF";
SharedCachePrefix $prefix
SharedCacheTimeout 100
SharedCacheRetryInterval 1
<Location /app>
    SharedCache On
    SharedCacheTTL 300
    SharedCacheLockTimeout 3
</Location>
<Location /sc-status>
    SetHandler sharedcache-status
</Location>
CONF
}

my $mc = SCTest::Memcached->start(no_extra => 1);
my $ap = SCTest::Apache->start(memcached => [$mc], conf => conf('one'));
sub kept { decode_json($ap->get("/sc-status?json")->{body})->{leases_kept} }

is(kept(), 0, 'the status page: no lease kept');
$ap->get('/app/warm');
my $pid = fork // die;
if (!$pid) {
    $ap->raw(GET => '/app/held?sleep=1500');
    POSIX::_exit(0);
}
sleep 0.3;
pause($mc);
waitpid $pid, 0;    # rendered; its lease could not be let go of
my $kept_at = time;
resume($mc);
like($ap->error_log, qr/SC0215/, 'the lease was kept');
is(kept(), 1, 'the status page: one lease kept');

$ap->_write_conf(conf('two'));
kill 'USR1', $ap->parent_pid;
sleep 2;
for (1 .. 50) {    # mod_wsgi's daemon is back
    last if $ap->get("/app/ready?n=$_")->{status} == 200;
    sleep 0.2;
}
sleep 0.2 while time < $kept_at + 3.5;    # past the lease's expiry
$ap->get('/app/after') for 1 .. 3;
is(kept(), 0, 'a restart\'s expired lease is dropped by the next request');
$ap->stop(allow => [qr/SC0\d\d\d/, qr/AH00/, qr/AH01/, qr/connect to WSGI daemon/]);
done_testing;
