# What mod_proxy can say about a body cut short.  mod_proxy_http ends a
# chunked body, or one shorter than its Content-Length, with an error
# bucket; a body that ends where the backend closed the connection ends the
# same way whole or cut, and mod_proxy_fcgi ends a FastCGI response the
# application broke off (PHP-FPM after a fatal error that followed a flush)
# like a whole one.  Without a Content-Length the client gets either, but
# only a framed HTTP body is stored (SharedCacheRequireLength's default).
use strict;
use warnings;
use IO::Socket::INET;
use POSIX ();
use Test::More;
use SCTest;
use SCTest::Process qw(free_port);

my $hport = free_port();
my $hl = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => $hport,
                               Listen => 16, ReuseAddr => 1) or die $!;
my $fport = free_port();
my $fl = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => $fport,
                               Listen => 16, ReuseAddr => 1) or die $!;

# An HTTP backend: /close-* end the body by closing (cut or whole),
# /chunked and /length frame it.
my $hpid = fork // die;
if (!$hpid) {
    close $fl;
    my $n = 0;
    while (my $c = $hl->accept) {
        my $req = '';
        while (<$c>) { $req .= $_; last if /^\r?\n$/ }
        $n++;
        my $head = "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n"
                 . "Cache-Control: max-age=60\r\n";
        my $body = "<html><body>whole page n=$n</body></html>\n";
        if ($req =~ m{^GET /close-cut}) {
            print $c "${head}Connection: close\r\n\r\n<html><body><h1>Price";
        }
        elsif ($req =~ m{^GET /close-whole}) {
            print $c "${head}Connection: close\r\n\r\n$body";
        }
        elsif ($req =~ m{^GET /te-(\w+)}) {
            # a coding other than chunked alone: read to the close
            print $c "${head}Transfer-Encoding: $1\r\nConnection: close\r\n"
                   . "\r\n<html><body><h1>Price";
        }
        elsif ($req =~ m{^GET /nobody}) {
            print $c "HTTP/1.1 204 No Content\r\nCache-Control: max-age=60\r\n"
                   . "Connection: close\r\n\r\n";
        }
        elsif ($req =~ m{^GET /chunked}) {
            printf $c "%sTransfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n",
                      $head, length $body, $body;
        }
        else {
            printf $c "%sContent-Length: %d\r\n\r\n%s", $head, length $body,
                      $body;
        }
        close $c;
    }
    POSIX::_exit(0);
}
close $hl;

# A FastCGI responder: crash.php sends half a page and ends the request
# cleanly (exit status 255), ok.php a whole one.
sub rec { my ($type, $id, $data) = @_;
          pack('CCnnCC', 1, $type, $id, length $data, 0, 0) . $data }
my $fpid = fork // die;
if (!$fpid) {
    while (my $c = $fl->accept) {
        binmode $c;
        my ($params, $id) = ('', 1);
        while (1) {
            my $h;
            last unless read($c, $h, 8) == 8;
            my (undef, $type, $rid, $len, $pad) = unpack('CCnnC', $h);
            my $body = '';
            read($c, $body, $len + $pad) if $len + $pad;
            $id = $rid;
            $params .= $body if $type == 4;
            last if $type == 5 && $len == 0;
        }
        my $out = "Status: 200 OK\r\nContent-Type: text/html\r\n"
                . "Cache-Control: max-age=60\r\n\r\n";
        my ($text, $status) = $params =~ /crash/
            ? ("<html><body><h1>Account balance</h1>", 255)
            : ("<html><body>whole</body></html>\n", 0);
        print $c rec(6, $id, $out . $text), rec(6, $id, ''),
                 rec(3, $id, pack('NCCCC', $status, 0, 0, 0, 0));
        close $c;
    }
    POSIX::_exit(0);
}
close $fl;

my $mc = SCTest::Memcached->start;
my $ap = SCTest::Apache->start(memcached => [$mc],
                               modules => [qw(proxy proxy_http proxy_fcgi)],
                               conf => <<"CONF");
ProxyPass /be/ http://127.0.0.1:$hport/
<Location /be>
    SharedCache On
    SharedCacheTTL 60
</Location>
<Location /be/trusted>
    SharedCacheRequireLength Off
</Location>
<Directory \@DIR\@/htdocs/php>
    SetHandler "proxy:fcgi://127.0.0.1:$fport"
</Directory>
<Location /php>
    SharedCache On
    SharedCacheTTL 60
</Location>
CONF
mkdir $ap->dir . '/htdocs/php';
for my $f ('crash.php', 'ok.php') {
    open my $fh, '>', $ap->dir . "/htdocs/php/$f" or die $!;
    close $fh;
}

sub twice {
    my ($path) = @_;
    my $first = $ap->get($path);
    return ($first, $ap->get($path));
}

my ($a, $b) = twice('/be/close-cut');
is($a->{status}, 200, 'HTTP, a body cut where the backend closed: passed on');
isnt($b->{cache}, 'HIT', '  but not stored');
($a, $b) = twice('/be/close-whole');
like($a->{body}, qr/whole page/, 'HTTP, a whole body ended by a close: passed on');
isnt($b->{cache}, 'HIT', '  not stored either (it cannot be told from a cut one)');
($a, $b) = twice('/be/chunked');
cache_is($b, 'HIT', 'HTTP, chunked: stored');
is($b->{body}, $a->{body}, '  whole');
for my $te ('identity', 'gzip') {
    ($a, $b) = twice("/be/te-$te");
    isnt($b->{cache}, 'HIT',
         "HTTP, Transfer-Encoding: $te, cut at the close: not stored");
}
($a, $b) = twice('/be/nobody');
cache_is($b, 'HIT', 'HTTP, a 204 (no body to cut): stored');
($a, $b) = twice('/be/length');
cache_is($b, 'HIT', 'HTTP, with Content-Length: stored');
($a, $b) = twice('/be/trusted/close-whole');
cache_is($b, 'HIT', 'SharedCacheRequireLength Off trusts a close');

($a, $b) = twice('/php/crash.php');
like($a->{body}, qr/Account balance/, 'FastCGI, broken off: passed on');
isnt($b->{cache}, 'HIT', '  not stored');
($a, $b) = twice('/php/ok.php');
isnt($b->{cache}, 'HIT',
     'FastCGI, whole but without Content-Length: not stored either');

$ap->stop;
kill 'TERM', $hpid, $fpid;
waitpid $_, 0 for $hpid, $fpid;
done_testing;
