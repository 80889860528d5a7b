# Prefork destroys the child pool inside its SIGTERM handler (THREATS 40),
# running the request's cleanups in the middle of whatever memcached call
# the child was making.  Caught here in the store (memcached paused, the
# "set" sent, its reply not read): the handle given back by the cleanup
# must not lend that unread reply to the lease release the same cleanups
# run next (which read "STORED" as the answer to its delete).
# sc-test: alone (it measures time; make prove runs the others two at a time)
use strict;
use warnings;
use IO::Socket::INET;
use Test::More;
use Time::HiRes qw(sleep);
use SCTest;

plan skip_all => 'prefork only: other MPMs do not run cleanups in the '
                 . 'signal handler' unless SCTest::mpm() eq 'prefork';
plan skip_all => 'finding the child that serves a connection needs root'
    unless SCTest::is_root();

my $mc = SCTest::Memcached->start;
my $ap = SCTest::Apache->start(memcached => [$mc]);

for my $i (1 .. 5) {
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => $ap->port) or die $!;
    print $s "GET /app/sig$i?sleep=400 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    sleep 0.1;
    my $child = $ap->child_serving($s);
    ok($child, "request $i: the child serving it is found");
    sleep 0.15;                  # it renders: lookup and lease are done
    kill 'STOP', $mc->{pid};
    sleep 0.3;                   # render over: the store waits for memcached
    kill 'TERM', $child if $child;
    sleep 0.05;
    kill 'CONT', $mc->{pid};
    sleep 0.6;
    close $s;
}
my @out_of_step = grep { /SC0207/ } split /\n/, $ap->error_log;
is(scalar @out_of_step, 0, 'no reply out of step with its command')
    or diag(join "\n", @out_of_step);
# The leases were released: the pages are answered at once.
for my $i (1 .. 5) {
    my $r = $ap->get("/app/sig$i?sleep=400");
    cmp_ok($r->{ms}, '<', 2000, "request $i: its lease was let go");
}
$ap->stop(allow => [qr/SC020[19]/]);
done_testing;
