# A HEAD miss stores nothing (there is no body to keep), so it takes no
# part in the fill lock: a GET arriving while it renders does not wait
# for that render (which it could not use) before rendering itself.  A
# HEAD of an entry kept for revalidation still holds the lock: its answer
# may freshen the entry (t/revalidate.t).
use strict;
use warnings;
use Test::More;
use Time::HiRes qw(sleep);
use POSIX ();
use SCTest;

my $mc = SCTest::Memcached->start;
my $ap = SCTest::Apache->start(memcached => [$mc], conf => <<'CONF');
LogLevel warn sharedcache:trace1
<Location /app>
    SharedCache On
    SharedCacheTTL 60
</Location>
CONF
my $u = '/app/slow?size=3000&sleep=1500';
my $pid = fork;
die $! unless defined $pid;
if (!$pid) {
    $ap->request('HEAD', $u);
    POSIX::_exit(0);
}
sleep 0.4;
my $g = $ap->get($u);
waitpid $pid, 0;
cache_is($g, 'MISS', 'the GET behind a HEAD miss renders');
unlike($ap->error_log, qr/waited \d+ ms for another render/,
       '... without waiting for the HEAD\'s render');
cache_is($ap->get($u), 'HIT', '... and stores the page');
$ap->stop;
done_testing;
