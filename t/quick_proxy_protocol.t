# Quick mode behind a load balancer that speaks the PROXY protocol
# (mod_remoteip): the anonymous probe runs post_read_request like a real
# request, but must not be given the real client's address from the
# connection's PROXY header, or a page allowed only to internal addresses
# becomes quick-servable and is served to anyone (from an outside attack).
use strict;
use warnings;
use Test::More;
use SCTest;
use IO::Socket::INET;
use SCTest::HTTP qw(parse_response);

my $mc = SCTest::Memcached->start;
my $ap = SCTest::Apache->start(memcached => [$mc], modules => ['remoteip'],
    conf => <<'CONF');
LogLevel warn sharedcache:trace1
RemoteIPProxyProtocol On
RemoteIPProxyProtocolExceptions 127.0.0.1
<Location /dq>
    SharedCache On
    SharedCacheTTL 60
    SharedCacheQuickHandler On
</Location>
Alias /dq @DIR@/htdocs/dq
<Directory @DIR@/htdocs/dq/internal>
    Require ip 10.0.0.0/8
</Directory>
CONF
mkdir $ap->dir . '/htdocs/dq';
mkdir $ap->dir . '/htdocs/dq/internal';
open my $f, '>', $ap->dir . '/htdocs/dq/internal/salaries.html' or die $!;
print $f "<p>INTERNAL: salaries</p>\n";
close $f;

sub via_proxy {
    my ($client, $path) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $ap->port,
                                  LocalAddr => '127.0.0.2', Timeout => 10) or die $!;
    print $s "PROXY TCP4 $client 127.0.0.1 40000 80\r\n"
        . "GET $path HTTP/1.1\r\nHost: 127.0.0.1:" . $ap->port
        . "\r\nConnection: close\r\n\r\n";
    my $resp = do { local $/; <$s> } // '';
    return parse_response($resp);
}

my $p = '/dq/internal/salaries.html';
my $r = via_proxy('203.0.113.7', $p);
is($r->{status}, 403, "outsider refused before anything is stored ($r->{cache})");
$r = via_proxy('10.1.2.3', $p);
is($r->{status}, 200, "insider allowed ($r->{cache})");
$r = via_proxy('10.1.2.3', $p);
cache_is($r, 'HIT', 'stored');
my $n = () = $ap->error_log =~ /served by the quick handler/g;
$r = via_proxy('203.0.113.7', $p);
my $m = () = $ap->error_log =~ /served by the quick handler/g;
is($r->{status}, 403, "an outsider is still refused ($r->{cache})");
is($m, $n, '  and not by the quick handler');
$ap->stop(allow => [qr/AH01630/, qr/AH01797/, qr/forbidden/i, qr/SC0104/]);
done_testing;
