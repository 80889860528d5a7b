# IP-based virtual hosts that share a ServerName (THREATS 34): an
# intranet host and a public host, both "www.example.test", told apart
# only by the address the client connected to.  A page the intranet host
# rendered must never be served by the public host.
#
# Three layouts: both hosts on one port (127.0.0.1:P and 127.0.0.2:P); on
# two addresses and ports with the public port in ServerName (":80", as
# the README advises behind a proxy), so the key sees the same name and
# port; and the same with *:port hosts (one address, two ports).
#
# Every request goes over its own connection, read to the close: the
# store that follows a MISS is done before the next request is sent.
use strict;
use warnings;
use Test::More;
use IO::Socket::INET;
use SCTest;

# A free port on 127.0.0.2 (127.0.0.0/8 is all loopback on Linux).
sub free_port_on {
    my ($ip) = @_;
    my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => $ip,
                                  LocalPort => 0, Proto => 'tcp',
                                  ReuseAddr => 1) or die "$ip: $!";
    my $port = $s->sockport;
    close $s;
    return $port;
}

my $p2 = SCTest::free_port();
my $p3 = free_port_on('127.0.0.2');
my ($p4, $p5) = (SCTest::free_port(), SCTest::free_port());

sub vhost {
    my ($addr, $name, $zone) = @_;
    return <<"VH";
<VirtualHost $addr>
    ServerName $name
    RequestHeader set X-Zone $zone
    Alias /page.html \@DIR\@/htdocs/$zone.html
</VirtualHost>
VH
}

my $mc = SCTest::Memcached->start;
my $ap = SCTest::Apache->start(
    memcached => [$mc],
    files => { 'intranet.html' => "INTRANET: salaries, org chart\n",
               'public.html' => "PUBLIC: welcome\n" },
    conf => "Listen 127.0.0.2:\@PORT\@\nListen 127.0.0.1:$p2\n"
        . "Listen 127.0.0.2:$p3\nListen 127.0.0.1:$p4\nListen 127.0.0.1:$p5\n"
        . vhost('127.0.0.1:@PORT@', 'www.example.test', 'intranet')
        . vhost('127.0.0.2:@PORT@', 'www.example.test', 'public')
        . vhost("127.0.0.1:$p2", 'www2.example.test:80', 'intranet')
        . vhost("127.0.0.2:$p3", 'www2.example.test:80', 'public')
        . vhost("*:$p4", 'www3.example.test:80', 'intranet')
        . vhost("*:$p5", 'www3.example.test:80', 'public')
        . <<'CONF');
<Location />
    SharedCache On
    SharedCacheTTL 60
</Location>
CONF

# GET over a connection to ip:port; returns the summary of
# SCTest::HTTP::parse_response ({ status, cache, body, ... }).
sub fetch {
    my ($ip, $port, $host, $path) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => $ip, PeerPort => $port,
                                  Proto => 'tcp', Timeout => 30)
        or die "connect $ip:$port: $!";
    binmode $s;
    print $s "GET $path HTTP/1.1\r\nHost: $host\r\nConnection: close\r\n\r\n";
    my $resp = do { local $/; <$s> } // '';
    close $s;
    return SCTest::HTTP::parse_response($resp);
}

my $P = $ap->port;
my @layouts = (
    ['one port', 'www.example.test', ['127.0.0.1', $P], ['127.0.0.2', $P]],
    ['two ports, ServerName :80', 'www2.example.test',
     ['127.0.0.1', $p2], ['127.0.0.2', $p3]],
    ['wildcard address, two ports, ServerName :80', 'www3.example.test',
     ['127.0.0.1', $p4], ['127.0.0.1', $p5]],
);

for my $l (@layouts) {
    my ($what, $host, $in, $out) = @$l;
    my $n = 0;
    for my $t (['/page.html', qr/^INTRANET/, qr/^PUBLIC/, 'static file'],
               ['/app/zone?reflect=X-Zone', qr/reflected=intranet/,
                qr/reflected=public/, 'WSGI app']) {
        my ($path, $intranet, $public, $kind) = @$t;
        $n++;
        $path .= ($path =~ /\?/ ? '&' : '?') . "n=$n" if $kind eq 'WSGI app';
        my $i1 = fetch(@$in, $host, $path);
        is($i1->{status}, 200, "$what, $kind: intranet: 200");
        cache_is($i1, 'MISS', "$what, $kind: intranet: first a MISS");
        like($i1->{body}, $intranet, "$what, $kind: intranet content");
        my $i2 = fetch(@$in, $host, $path);
        cache_is($i2, 'HIT', "$what, $kind: intranet: then a HIT");
        is($i2->{body}, $i1->{body}, "$what, $kind: intranet: its entry");

        my $o1 = fetch(@$out, $host, $path);
        cache_is($o1, 'MISS', "$what, $kind: public host after the "
                              . 'intranet cached the page: a MISS');
        like($o1->{body}, $public, "$what, $kind: with the public content");
        unlike($o1->{body}, qr/INTRANET|reflected=intranet/,
               "$what, $kind: never the intranet page");
        my $o2 = fetch(@$out, $host, $path);
        cache_is($o2, 'HIT', "$what, $kind: public: then a HIT");
        like($o2->{body}, $public, "$what, $kind: public: of its own entry");

        my $i3 = fetch(@$in, $host, $path);
        is($i3->{body}, $i1->{body},
           "$what, $kind: the intranet still gets its own entry");
    }
}

$ap->stop;
done_testing;
