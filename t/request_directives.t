# What the request itself says about caching:
# - an Upgrade request (WebSocket handshake: Upgrade: websocket, Connection:
#   Upgrade) is not an ordinary GET: it is never answered from the cache and
#   what is rendered for it is never stored (X-SharedCache: BYPASS);
# - Cache-Control: no-store in a request (RFC 9111 5.2.1.5) forbids storing
#   the response to it: a later plain request is a MISS.
# A client's Cache-Control: no-cache does not stop storing (README: it does
# not bypass the cache either): a control that no-store is read as such.
#
# Requests are written byte for byte on their own connection and read up to
# their Content-Length, then the connection is closed; the access log line
# is awaited so that the store after a MISS is done before the next request.
# sc-test: alone (it measures time; make prove runs the others two at a time)
use strict;
use warnings;
use Test::More;
use IO::Socket::INET;
use Time::HiRes qw(sleep time);
use SCTest;

my $mc = SCTest::Memcached->start;
my $ap = SCTest::Apache->start(memcached => [$mc], conf => <<'CONF');
<Location /app>
    SharedCache On
    SharedCacheTTL 60
</Location>
CONF

sub log_lines {
    open my $fh, '<', $ap->dir . '/access_log' or return 0;
    my $n = 0;
    $n++ while <$fh>;
    return $n;
}

# GET with exactly these header lines (SCTest::Apache::raw always sends
# Connection: close, which would hide Connection: Upgrade).
sub send_get {
    my ($path, @lines) = @_;
    my $before = log_lines();
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => $ap->port, Timeout => 30)
        or die "connect: $!";
    binmode $s;
    print $s "GET $path HTTP/1.1\r\nHost: 127.0.0.1:" . $ap->port . "\r\n"
        . join('', map { "$_\r\n" } @lines) . "\r\n";
    my $resp = SCTest::HTTP::read_response($s);
    close $s;
    my $until = time + 5;
    sleep 0.02 while log_lines() <= $before && time < $until;
    return SCTest::HTTP::parse_response($resp);
}

sub token { $_[0]{body} =~ /token=([0-9a-f]{32})/ ? $1 : '' }

my @ws = ('Upgrade: websocket', 'Connection: Upgrade',
          'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
          'Sec-WebSocket-Version: 13');

# ---- Upgrade: websocket ---------------------------------------------------

{
    # On an empty cache: not stored.
    my $p = '/app/ws/first?reflect=Upgrade';
    my $u = send_get($p, @ws);
    is($u->{status}, 200, 'Upgrade GET: the app answers 200 (control)');
    like($u->{body}, qr/^reflected=websocket$/m,
         'Upgrade GET: the app saw the Upgrade header (control)');
    cache_is($u, 'BYPASS', 'Upgrade GET on an empty cache: BYPASS');
    my $plain = send_get($p);
    cache_is($plain, 'MISS', 'a plain GET after it is a MISS: nothing '
                             . 'was stored');
    unlike($plain->{body}, qr/websocket/, 'and never gets the page rendered '
                                          . 'for the Upgrade');
    isnt(token($plain), token($u), 'nor its render');
    cache_is(send_get($p), 'HIT', 'then a HIT (control)');
}
{
    # With an entry stored: the Upgrade request is not answered from it.
    my $p = '/app/ws/stored?reflect=Upgrade';
    my $m = send_get($p);
    cache_is($m, 'MISS', 'plain GET: MISS (control)');
    cache_is(send_get($p), 'HIT', 'plain GET: then a HIT (control)');
    my $before = $ap->renders('/app/ws/stored');
    my $u = send_get($p, @ws);
    cache_is($u, 'BYPASS', 'Upgrade GET with an entry stored: BYPASS');
    isnt(token($u), token($m), 'Upgrade GET: not the cached page');
    is($ap->renders('/app/ws/stored'), $before + 1,
       'Upgrade GET: passed to the app');
    is(token(send_get($p)), token($m), 'the stored entry is untouched');

    # Header names and the Connection token in another case, and Upgrade
    # listed among other Connection tokens.
    cache_is(send_get($p, 'upgrade: WebSocket',
                      'connection: keep-alive, upgrade'),
             'BYPASS', 'Upgrade with "keep-alive, upgrade" in Connection: '
                       . 'BYPASS');
}

# ---- Cache-Control: no-store in the request -------------------------------

my $i = 0;
for my $cc ('no-store', 'No-Store', 'max-age=0, no-store',
            'no-cache, no-store') {
    $i++;
    my $p = "/app/ns/$i";
    my $r = send_get($p, "Cache-Control: $cc");
    is($r->{status}, 200, "Cache-Control: $cc: rendered (control)");
    isnt($r->{cache}, 'MISS', "Cache-Control: $cc: not a MISS (MISS means "
                              . '"will be stored")');
    my $plain = send_get($p);
    cache_is($plain, 'MISS', "Cache-Control: $cc: a plain GET after it "
                             . 'is a MISS (nothing was stored)');
    isnt(token($plain), token($r), "Cache-Control: $cc: a render of its own");
}
{
    # Control: no-cache alone does not forbid storing.
    my $p = '/app/ns/nocache';
    my $r = send_get($p, 'Cache-Control: no-cache');
    cache_is($r, 'MISS', 'Cache-Control: no-cache: MISS (control)');
    my $plain = send_get($p);
    cache_is($plain, 'HIT', 'no-cache: the plain GET after it is a HIT');
    is(token($plain), token($r), 'no-cache: of its entry');
}

$ap->stop;
done_testing;
