# A client that goes away in the middle of a proxied response, and a
# backend that sends two lengths (found by an outside attack).  The backend frames its body (chunked), so
# mod_proxy_http is a handler that reports a broken body and such a
# response is stored without Content-Length.  But mod_proxy_http stops
# reading the backend as soon as the client is gone (c->aborted), and
# httpd ends the response with a clean EOS: no error bucket.  The store
# goes on for the rest of a body after its client left (THREATS 38) only
# where a Content-Length says whether the handler finished it.
use strict;
use warnings;
use IO::Socket::INET;
use Socket qw(SOL_SOCKET SO_LINGER);
use POSIX ();
use Time::HiRes qw(sleep time);
use Test::More;
use SCTest;
use SCTest::Process qw(free_port);

my $hport = free_port();
my $hl = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => $hport,
                               Listen => 16, ReuseAddr => 1) or die $!;
$SIG{PIPE} = 'IGNORE';
# /chunked*: 30 chunks of 1000 bytes, 40 ms apart, "END" at the end.
# /length*: the same with a Content-Length.
my $hpid = fork // die;
if (!$hpid) {
    while (my $c = $hl->accept) {
        my $req = '';
        while (<$c>) { $req .= $_; last if /^\r?\n$/ }
        my $pid = fork;
        if ($pid) { close $c; next }
        my $head = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                 . "Cache-Control: max-age=60\r\nConnection: close\r\n";
        my @pieces = map { sprintf("piece %02d ", $_) . ('p' x 990) . "\n" } 1 .. 30;
        $pieces[-1] .= "END\n";
        if ($req =~ m{^GET /double}) {
            # two lengths, the first one true: which one is the body's?
            my $body = join '', @pieces[0 .. 2];
            printf $c "%sContent-Length: %d\r\nContent-Length: %d\r\n\r\n%s",
                $head, length $body, 10 * length $body, $body;
        }
        elsif ($req =~ m{^GET /chunked}) {
            print $c "${head}Transfer-Encoding: chunked\r\n\r\n";
            for my $p (@pieces) {
                printf $c "%x\r\n%s\r\n", length $p, $p or last;
                $c->flush;
                sleep 0.04;
            }
            print $c "0\r\n\r\n";
        }
        else {
            my $len = 0; $len += length for @pieces;
            print $c "${head}Content-Length: $len\r\n\r\n";
            for my $p (@pieces) { print $c $p or last; $c->flush; sleep 0.04 }
        }
        close $c;
        POSIX::_exit(0);
    }
    POSIX::_exit(0);
}
close $hl;

my $mc = SCTest::Memcached->start;
my $ap = SCTest::Apache->start(memcached => [$mc],
                               modules => [qw(proxy proxy_http substitute filter)],
                               conf => <<"CONF");
ProxyPass /be/ http://127.0.0.1:$hport/
ProxyPass /sub/ http://127.0.0.1:$hport/
# a common reverse-proxy rewrite: mod_substitute (a filter the cache knows)
# drops the backend's Content-Length before SHAREDCACHE_SAVE sees it
<Location /sub>
    AddOutputFilterByType SUBSTITUTE text/plain
    Substitute "s/backend.example/www.example/"
</Location>
<Location />
    SharedCache On
    SharedCacheTTL 60
</Location>
CONF

# Read the head and a little of the body, then reset the connection.
sub abort_after_some {
    my ($path) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $ap->port)
        or die $!;
    print $s "GET $path HTTP/1.1\r\nHost: 127.0.0.1:" . $ap->port
           . "\r\nConnection: close\r\n\r\n";
    my $got = '';
    while ($got !~ /piece 02/) {
        sysread($s, $got, 65536, length $got) or last;
    }
    setsockopt($s, SOL_SOCKET, SO_LINGER, pack('ii', 1, 0));
    close $s;
    return $got;
}

for my $path ('/be/chunked', '/be/length', '/sub/length') {
    my $got = abort_after_some($path);
    like($got, qr/X-SharedCache: MISS/i, "$path: the aborted request was a MISS");
    sleep 2;    # the backend's whole body takes 1.2 s
    my $r = $ap->get($path);
    note("$path again: $r->{status} $r->{cache} " . length($r->{body}) . ' bytes');
    like($r->{body}, qr/END\n\z/, "$path: the next client gets the whole body")
        or diag("$r->{cache} of " . length($r->{body}) . " bytes");
}

# Two Content-Length headers that disagree (httpd's mod_proxy_http passes
# them on): no length can be trusted, nothing is stored.
for (1 .. 2) {
    my $r = $ap->get('/be/double');
    isnt($r->{cache}, "HIT", "two Content-Length headers: not a HIT ($_)") or diag(explain($r->{headers}), length $r->{body});
}

$ap->stop(allow => [qr/AH01110/, qr/proxy/i]);
kill 'TERM', $hpid;
waitpid $hpid, 0;
done_testing;
