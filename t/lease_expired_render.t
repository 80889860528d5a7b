# A render slower than SharedCacheLockTimeout: its lease expires meanwhile
# and another request takes the URL's lease and renders too.  When the
# slow one finishes, it stores its response but must not let go of the
# other's lease (the lease holds each request's own token): deleting it
# would let a third request render as well.
# sc-test: alone (it measures time; make prove runs the others two at a time)
use strict;
use warnings;
use Test::More;
use Time::HiRes qw(sleep time);
use SCTest;

my $mc = SCTest::Memcached->start;
my $ap = SCTest::Apache->start(memcached => [$mc], conf => <<'CONF');
LogLevel warn sharedcache:debug
<Location /app>
    SharedCache On
    SharedCacheTTL 60
    SharedCacheLockTimeout 2
</Location>
CONF
my $path = '/app/slowlease?sleep=3000';
# leases held (not the "uncacheable" markers of other URLs), with values
sub leases {
    map { "$_=" . $mc->get_raw($_) }
    grep { /^sc:l:/ && ($mc->get_raw($_) // '') =~ /^lease/ } $mc->keys;
}

my $t0 = time;
my $a = SCTest::spawn($ap->dir . '/a.log', 'curl', '-s', '-o', '/dev/null',
                      $ap->url($path));
sleep 2.3;    # A's lease (2 s) has expired; A still renders
my $b = SCTest::spawn($ap->dir . '/b.log', 'curl', '-s', '-o', '/dev/null',
                      $ap->url($path));
sleep 0.3;    # B took the lease and renders
my @before = leases();
is(scalar @before, 1, 'B holds the lease while A still renders');
waitpid $a, 0;    # A done at about 3 s
sleep 0.2;
my @after = leases();
is_deeply(\@after, \@before, "A's release left B's lease alone")
    or diag("lease keys after A: @after");
like($ap->error_log, qr/SC0212: fill lease \S+ expired during the render/,
     'and logged why (debug)');
waitpid $b, 0;
is($ap->renders('/app/slowlease'), 2, 'two renders (A, then B after A\'s lease expired), not three');
$ap->stop;
done_testing;
