# WebSocket handshakes through mod_proxy (ProxyPass ... upgrade=websocket,
# as mod_proxy_http's manual recommends) are never answered from the
# cache: a plain GET of the endpoint stores a page, and the handshake that
# follows still reaches the backend and switches protocols.
use strict;
use warnings;
use Digest::SHA qw(sha1_base64);
use IO::Socket::INET;
use POSIX ();
use Test::More;
use SCTest;

my ($bport, $bpid);
{
    my $srv = IO::Socket::INET->new(Listen => 16, LocalAddr => '127.0.0.1',
                                    LocalPort => 0, ReuseAddr => 1)
        or die "listen: $!";
    $bport = $srv->sockport;
    $bpid = fork // die $!;
    if (!$bpid) {
        while (my $c = $srv->accept) {
            local $/ = "\r\n";
            my (%h, $line);
            <$c>;
            while (defined($line = <$c>) && $line ne "\r\n") {
                $h{lc $1} = $2 if $line =~ /^([^:]+):\s*(.*?)\r\n$/;
            }
            if (($h{upgrade} // '') =~ /websocket/i) {
                my $accept = sha1_base64(($h{'sec-websocket-key'} // '')
                    . '258EAFA5-E914-47DA-95CA-C5AB0DC85B11') . '=';
                print $c "HTTP/1.1 101 Switching Protocols\r\n"
                    . "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                    . "Sec-WebSocket-Accept: $accept\r\n\r\n";
            }
            else {
                my $body = "page " . int(rand 1e9) . "\n";
                print $c "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                    . "Cache-Control: max-age=60\r\n"
                    . "Content-Length: " . length($body) . "\r\n"
                    . "Connection: close\r\n\r\n$body";
            }
            close $c;
        }
        POSIX::_exit(0);
    }
    close $srv;
}
END { SCTest::stop_pid($bpid) if $bpid }

my $mc = SCTest::Memcached->start;
my $ap = SCTest::Apache->start(memcached => [$mc],
    modules => [qw(proxy proxy_http)], conf => <<"CONF");
ProxyPass /ws/ http://127.0.0.1:$bport/ upgrade=websocket
<Location /ws>
    SharedCache On
    SharedCacheTTL 60
</Location>
CONF

my $m = $ap->raw(GET => '/ws/chat');
my $h = $ap->raw(GET => '/ws/chat');
cache_is($m, 'MISS', 'a plain GET of the endpoint: MISS');
cache_is($h, 'HIT', 'then a HIT');

my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $ap->port,
                              Timeout => 10) or die $!;
print $s "GET /ws/chat HTTP/1.1\r\nHost: 127.0.0.1:" . $ap->port . "\r\n"
    . "Upgrade: websocket\r\nConnection: Upgrade\r\n"
    . "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    . "Sec-WebSocket-Version: 13\r\n\r\n";
my $head = '';
while (my $l = <$s>) { $head .= $l; last if $l eq "\r\n" }
close $s;
like($head, qr{^HTTP/1\.1 101 }, 'the handshake switches protocols');
like($head, qr/^Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK\+xOo=\r$/m,
     'with the backend\'s answer');
unlike($head, qr/^X-SharedCache: HIT/mi, 'never from the cache');
$ap->stop(allow => [qr/\[proxy(?:_http)?:error\]/]);
done_testing;
