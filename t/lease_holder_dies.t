# The Apache child holding a page's fill lease dies (kill -9) while the
# page renders: its lease stays until SharedCacheLockTimeout.  The requests
# waiting for it must not all render on their own when it expires: one of
# them takes the lease over and renders, the others are served its store.
# sc-test: alone (it measures time; make prove runs the others two at a time)
use strict;
use warnings;
use IO::Socket::INET;
use Test::More;
use Time::HiRes qw(sleep time);
use SCTest;

plan skip_all => 'finding the child that serves a connection needs root'
    unless SCTest::is_root();

my $TIMEOUT = 3;          # SharedCacheLockTimeout
my $RENDER = 1000;        # ms the page takes to render
my $WAITERS = 50;

my $mc = SCTest::Memcached->start;
my $ap = SCTest::Apache->start(memcached => [$mc], wsgi_processes => 4,
                               conf => <<"CONF");
<Location /app>
    SharedCache On
    SharedCacheTTL 60
    SharedCacheLockTimeout $TIMEOUT
    <If "%{HTTP:X-Holder} == '1'">
        SharedCacheLockTimeout @{[ $TIMEOUT + 1 ]}
    </If>
</Location>
CONF

# A holder takes the lease and starts rendering path, then its child is
# killed; then the waiters come.  Returns their responses.
sub holder_dies {
    my ($path, %headers) = @_;
    my ($name) = $path =~ m{^([^?]+)};
    my $holder = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                       PeerPort => $ap->port) or die $!;
    print $holder "GET $path HTTP/1.1\r\nHost: 127.0.0.1:" . $ap->port
        . "\r\nConnection: close\r\n"
        . join('', map { "$_: $headers{$_}\r\n" } sort keys %headers)
        . "\r\n";
    my $until = time + 5;
    sleep 0.01 while $ap->renders($name) < 1 && time < $until;
    is($ap->renders($name), 1, "$name: the holder renders (with the lease)");
    my $child = $ap->child_serving($holder);
    ok($child, "$name: the child serving it is found");
    kill 'KILL', $child if $child;
    my $t0 = time;
    sleep 0.01 while $child && kill(0, $child) && time < $t0 + 5;
    close $holder;
    # The waiters come while the dead holder's lease is still there.
    return SCTest::Apache->burst(map { [ $ap, $path ] } 1 .. $WAITERS);
}

sub check {
    my ($path, $limit_ms, @res) = @_;
    my ($name) = $path =~ m{^([^?]+)};
    is(scalar(grep { $_->{status} == 200 } @res), $WAITERS,
       "$name: all $WAITERS waiters answered 200")
        or diag(join ' ', map { "$_->{status}/$_->{cache}" } @res);
    my $renders = $ap->renders($name);
    cmp_ok($renders, '<=', 2, "$name: rendered $renders times: the dead "
                              . 'holder and one waiter at most');
    my %bodies = map { $_->{md5} => 1 } @res;
    is(scalar keys %bodies, 1, "$name: every waiter got the same page");
    my $worst = (sort { $b <=> $a } map { $_->{ms} } @res)[0];
    cmp_ok($worst, '<', $limit_ms,
           sprintf("$name: the last waiter answered after %.0f ms", $worst));
    cache_is($ap->get($path), 'HIT', "$name: then the page is a HIT");
}

# The lease expires while they wait: one of them takes it over.  memcached
# expires items on its own one-second clock: a lease may outlive
# SharedCacheLockTimeout by up to a second.
my $path = "/app/dies?sleep=$RENDER";
check($path, $TIMEOUT * 1000 + $RENDER + 1000, holder_dies($path));

# Their own SharedCacheLockTimeout passes first, all at the same moment,
# while the dead holder's lease (taken with a longer timeout) is still
# there: they wait on for it to go rather than all rendering then.
# (A short render: the waiters give up at twice their timeout.)
$path = "/app/outlives?sleep=300";
check($path, ($TIMEOUT + 2) * 1000 + 300 + 500,
      holder_dies($path, 'X-Holder' => 1));

# 50 workers waiting at once: the MPM asks for more.
$ap->stop(allow => [qr/exit signal Killed/, qr/AH10159|AH00161/]);
done_testing;
