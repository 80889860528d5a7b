# A kept decoded body (src/sc_unzipped.h) outlives its slot while a slow
# client is still being written to: the event MPM sets the rest of the
# response aside and the thread serves other hits, which put other bodies
# into every slot; the slow client still reads its own bytes to the end.
use strict;
use warnings;
use IO::Socket::INET;
use Socket qw(SOL_SOCKET SO_RCVBUF inet_aton pack_sockaddr_in);
use Test::More;
use SCTest;

my $mc = SCTest::Memcached->start;
# a small send buffer: the rest of a response waits in Apache
my $ap = SCTest::Apache->start(memcached => [$mc], conf => <<'CONF');
SendBufferSize 4096
<Location /app>
    SharedCache On
    SharedCacheTTL 60
</Location>
CONF

my $big = '/app/slow/page?size=250000';
my $want = $ap->get($big)->{body};
is(length $want, 250000, 'the page rendered (250,000 bytes)');
is($ap->get($big)->{headers}{'x-sharedcache'}, 'HIT', 'then a hit, its body kept by the child');

my @slow;
for my $i (1 .. 4) {
    # the receive buffer is set before connecting: set after, it shrinks a
    # window already offered, and the kernel's probes of the closed window
    # back off for seconds on end
    my $s = IO::Socket::INET->new(Proto => 'tcp') or die "socket: $!";
    setsockopt($s, SOL_SOCKET, SO_RCVBUF, 16384);
    $s->connect(pack_sockaddr_in($ap->port, inet_aton('127.0.0.1'))) or die "connect: $!";
    binmode $s;
    print $s "GET $big HTTP/1.1\r\nHost: 127.0.0.1:${\ $ap->port}\r\nConnection: close\r\n\r\n";
    push @slow, $s;
}
# read a little of each, then leave them waiting
for my $s (@slow) { my $got; sysread($s, $got, 4096) }
# other hits put other bodies into the slots (100 entries over 16 slots:
# each slot taken several times over)
my $other_bad = 0;
for my $round (1 .. 2) {
    for my $i (1 .. 100) {
        my $u = "/app/slow/other$i?size=" . (3000 + 100 * $i);
        my $r = $ap->get($u);
        $other_bad++ unless $r->{status} == 200 && length($r->{body}) == 3000 + 100 * $i;
    }
}
is($other_bad, 0, '200 other requests meanwhile (a render, then a hit each), each its own length');
my $i = 0;
for my $s (@slow) {
    $i++;
    my $resp = '';
    while (1) {
        my $n = sysread($s, my $buf, 65536);
        last unless $n;
        $resp .= $buf;
    }
    my ($head, $body) = split /\r\n\r\n/, $resp, 2;
    # the first 4096 bytes were read before: compare the end of the body
    ok(length($resp) > 200000, "slow client $i: read to the end");
    is(substr($want, -100000), substr($resp, -100000), "slow client $i: its own bytes, to the last");
}
$ap->stop;
done_testing;
