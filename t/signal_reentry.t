# Prefork runs a request's cleanups inside its SIGTERM handler (THREATS
# 40), in the middle of whatever memcached call the child was making.  A
# scripted memcached holds back the entry's store (a "set" with noreply,
# then a get of its key that is never answered); the child is then
# stopped with SIGTERM.  The cleanups must not touch memcached, the handle
# or its pool while that call is in progress: no command may arrive after
# the held store (not even "quit" on its connection, not the lease's
# delete on another), and nothing is logged out of step.  The lease left
# behind expires by itself (SharedCacheLockTimeout).
# sc-test: alone (it measures time; make prove runs the others two at a time)
use strict;
use warnings;
use IO::Socket::INET;
use Test::More;
use Time::HiRes qw(sleep time);
use SCTest;
use SCTest::FakeMemcached;

plan skip_all => 'prefork only: other MPMs do not run cleanups in the '
                 . 'signal handler' unless SCTest::mpm() eq 'prefork';
plan skip_all => 'finding the child that serves a connection needs root'
    unless SCTest::is_root();

my $mc = SCTest::FakeMemcached->start(hold => qr/^sc:e:/);
my $ap = SCTest::Apache->start(memcached => [$mc], conf => <<'CONF');
SharedCacheTimeout 5000
<Location /app>
    SharedCache On
    SharedCacheTTL 60
    SharedCacheLockTimeout 2
</Location>
CONF

for my $i (1 .. 3) {
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => $ap->port) or die $!;
    print $s "GET /app/reentry$i HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    my ($held, $until) = (undef, time + 5);
    while (!$held && time < $until) {
        ($held) = grep { $_->{cmd} eq 'set' && $_->{key} =~ /^sc:e:/ }
                  $mc->commands;
        sleep 0.02 unless $held;
    }
    ok($held, "request $i: the entry's set reached memcached and waits "
       . 'for its reply');
    my $child = $ap->child_serving($s);
    ok($child, "request $i: the child serving it is found");
    kill 'TERM', $child if $child;
    sleep 0.5;
    # after the set, the store's own get of its key, then nothing
    my @cmds = $mc->commands;
    shift @cmds while @cmds && ($cmds[0]{cmd} ne 'set'
                                || $cmds[0]{key} ne $held->{key});
    my ($key) = split / /, $held->{key};
    my @after = grep { !($_->{conn} == $held->{conn} && $_->{cmd} eq 'get'
                         && $_->{key} eq $key) } @cmds[1 .. $#cmds];
    is(scalar @after, 0, "request $i: no command after the held store")
        or diag(explain \@after);
    close $s;
    # the next request starts from a fresh log
    truncate $mc->{log}, 0;
}
my @out_of_step = grep { /SC0207|SC0201/ } split /\n/, $ap->error_log;
is(scalar @out_of_step, 0, 'nothing out of step or failed is logged')
    or diag(join "\n", @out_of_step);
$mc->stop;
$ap->stop(allow => [qr/SC020[19]/]);
done_testing;
