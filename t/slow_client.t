# A client that does not read its response must not hold the fill lock
# (THREATS 38): the holder's store may not depend on its client's download
# speed.  A cold page of 4 MB is asked for by a raw client that sends its
# request and then reads nothing for 6 s (with a tiny receive buffer);
# meanwhile five other clients ask the same URL.  With
# SharedCacheLockTimeout 10 they must be answered within 3 s, from the
# entry the holder stored, while the slow client still gets its whole page.
# sc-test: alone (it measures time; make prove runs the others two at a time)
use strict;
use warnings;
use POSIX ();
use Socket qw(PF_INET SOCK_STREAM SOL_SOCKET SO_RCVBUF inet_aton
              sockaddr_in);
use Test::More;
use Time::HiRes qw(time sleep);
use SCTest;

my $SIZE = 4_000_000;
my $STALL = 6;          # seconds the slow client reads nothing
my $LIMIT = 3000;       # ms within which the others must be answered

my $mc = SCTest::Memcached->start;
my $ap = SCTest::Apache->start(memcached => [$mc], conf => <<'CONF');
<Location /app>
    SharedCache On
    SharedCacheTTL 60
    SharedCacheMaxSize 8M
    SharedCacheLock On
    SharedCacheLockTimeout 10
</Location>
CONF

# The slow client, in a child: a socket with a tiny receive buffer, the
# request, $STALL seconds without reading, then the whole response.
# Reports "status cache length md5 ms" on a pipe.
sub slow_client {
    my ($path) = @_;
    pipe(my $rd, my $wr) or die "pipe: $!";
    my $pid = fork // die "fork: $!";
    if ($pid) {
        close $wr;
        return ($pid, $rd);
    }
    close $rd;
    # Never leave the child through die: its copies of the harness objects
    # would stop Apache and memcached on the way out.
    eval { slow_request($path, $wr); 1 } or print $wr "0 - 0 - 0 $@\n";
    close $wr;
    POSIX::_exit(0);
}

sub slow_request {
    my ($path, $wr) = @_;
    socket(my $s, PF_INET, SOCK_STREAM, 0) or die "socket: $!";
    # Before connect, so the window the server sees is small from the start.
    setsockopt($s, SOL_SOCKET, SO_RCVBUF, pack('i', 4096))
        or warn "SO_RCVBUF: $!";
    connect($s, sockaddr_in($ap->port, inet_aton('127.0.0.1')))
        or die "connect: $!";
    binmode $s;
    my $t0 = time;
    syswrite $s, "GET $path HTTP/1.1\r\nHost: 127.0.0.1:" . $ap->port
                 . "\r\nConnection: close\r\n\r\n";
    sleep $STALL;
    my $raw = '';
    while (1) {
        my $n = sysread($s, my $buf, 65536);
        last unless $n;
        $raw .= $buf;
    }
    my $r = SCTest::HTTP::parse_response($raw);
    printf $wr "%d %s %d %s %.0f\n", $r->{status}, $r->{cache} || '-',
        length $r->{body}, $r->{md5}, (time - $t0) * 1000;
}

my $path = "/app/slow-reader?size=$SIZE";
my ($pid, $rd) = slow_client($path);
# Let the slow client's request take the lease and start its render.
sleep 0.7;
my $t1 = time;
my @res = SCTest::Apache->burst(map { [ $ap, $path ] } 1 .. 5);
my $burst_ms = (time - $t1) * 1000;
my $slow_line = <$rd> // '';
waitpid $pid, 0;
chomp $slow_line;
my ($s_status, $s_cache, $s_len, $s_md5, $s_ms) = split ' ', $slow_line;

diag(sprintf 'slow client: %s %s, %s bytes, complete after %s ms',
             $s_status // '?', $s_cache // '?', $s_len // '?', $s_ms // '?');
diag(sprintf 'other client %d: %d %s, %d bytes, answered after %.0f ms',
             $_ + 1, $res[$_]{status}, $res[$_]{cache} || '-',
             length $res[$_]{body}, $res[$_]{ms}) for 0 .. $#res;
diag(sprintf 'all five answered after %.0f ms (slow client stalls %d s)',
             $burst_ms, $STALL);

is($s_status, 200, 'the slow client is answered');
cache_is($s_cache, 'MISS', 'it was the one that rendered (MISS)');
is($s_len, $SIZE, 'and it gets the whole page when it finally reads');

for my $i (0 .. $#res) {
    my $r = $res[$i];
    is($r->{status}, 200, "other client $i: 200");
    cmp_ok($r->{ms}, '<', $LIMIT,
           sprintf("other client $i answered in %.0f ms, not after the "
                   . "slow client's download", $r->{ms}));
    cache_is($r, 'HIT', "other client $i: a HIT from the holder's store");
    is(length $r->{body}, $SIZE, "other client $i: the whole page");
    is($r->{md5}, $s_md5 // '', "other client $i: the slow client's page");
}
is($ap->renders('/app/slow-reader'), 1, 'the page was rendered once');

# The entry stays: one more client gets it at once.
my $again = $ap->get($path);
cache_is($again, 'HIT', 'a later client: HIT');
is($again->{md5}, $s_md5 // '', 'the same page');

$ap->stop;
done_testing;
