# ProxyPass ... nocanon (THREATS 11, 32): mod_proxy forwards the path as
# the client sent it, while httpd's r->uri is decoded and normalised (dot
# segments removed, slashes merged, unreserved %XX decoded).  The backend
# answers what it received, so two requests that differ only in spelling
# are two different pages to it; they must never share an entry, above all
# not a 404 that an attacker provoked with a dot segment (CPDoS).
#
# Every request goes over its own connection (raw), read to the close: the
# store that follows a MISS is done before the next request is sent.
use strict;
use warnings;
use Test::More;
use IO::Socket::INET;
use POSIX ();
use SCTest;

# The backend: answers with the raw request-target it received and a
# fresh token; 404 for a target holding an encoded dot segment, as a
# backend that refuses them would.  Fresh for 60 s.
my ($backend_port, $backend_pid);
{
    my $srv = IO::Socket::INET->new(Listen => 32, LocalAddr => '127.0.0.1',
                                    LocalPort => 0, Proto => 'tcp',
                                    ReuseAddr => 1)
        or die "backend listen: $!";
    $backend_port = $srv->sockport;
    $backend_pid = fork // die "fork: $!";
    if (!$backend_pid) {
        while (my $c = $srv->accept) {
            local $/ = "\r\n";
            my $line = <$c> // next;
            my (undef, $target) = split ' ', $line;
            while (my $h = <$c>) { last if $h eq "\r\n" }
            my $token = join '', map { sprintf '%04x', int rand 65536 } 1 .. 8;
            my $status = $target =~ /%2e%2e/i ? '404 Not Found' : '200 OK';
            my $body = "target=$target\ntoken=$token\n";
            print $c "HTTP/1.1 $status\r\nContent-Type: text/plain\r\n"
                . "Cache-Control: max-age=60\r\n"
                . 'Content-Length: ' . length($body) . "\r\n"
                . "Connection: close\r\n\r\n$body";
            close $c;
        }
        POSIX::_exit(0);
    }
    close $srv;
}
END { SCTest::stop_pid($backend_pid) if $backend_pid }

my $mc = SCTest::Memcached->start;
my $ap = SCTest::Apache->start(
    memcached => [$mc], modules => [qw(proxy proxy_http)],
    conf => <<"CONF");
AllowEncodedSlashes NoDecode
ProxyPass /x/ http://127.0.0.1:$backend_port/ nocanon
<Location /x>
    SharedCache On
    SharedCacheTTL 60
</Location>
CONF

sub field { $_[0]{body} =~ /^$_[1]=(.*)$/m ? $1 : '' }

# The odd spelling first (what an attacker sends), then the plain one:
# the plain one must be rendered for itself.  [odd, plain, what the
# backend receives for each]
my @pairs = (
    ['/x/y/%2e%2e/page1', '/x/page1', '/y/%2e%2e/page1', '/page1',
     'an encoded dot segment (backend 404)'],
    ['/x/y/../page2', '/x/page2', '/y/../page2', '/page2',
     'a literal dot segment'],
    ['/x/a%2fb', '/x/a/b', '/a%2fb', '/a/b', 'an encoded slash'],
    ['/x/dir//page3', '/x/dir/page3', '/dir//page3', '/dir/page3',
     'a double slash'],
    ['/x/p%61ge4', '/x/page4', '/p%61ge4', '/page4',
     'an encoded unreserved character'],
);

for my $p (@pairs) {
    my ($odd, $plain, $odd_sent, $plain_sent, $what) = @$p;
    my $o1 = $ap->raw(GET => $odd);
    is(field($o1, 'target'), $odd_sent,
       "$what: $odd reaches the backend as $odd_sent (control)");
    cache_is($o1, 'MISS', "$what: $odd: a MISS on an empty cache");

    my $p1 = $ap->raw(GET => $plain);
    cache_is($p1, 'MISS', "$what: $plain after $odd: a MISS");
    is($p1->{status}, 200, "$what: $plain: status 200");
    is(field($p1, 'target'), $plain_sent,
       "$what: $plain: the body the backend rendered for $plain_sent");
    isnt(field($p1, 'token'), field($o1, 'token'),
         "$what: $plain: a render of its own");

    my $p2 = $ap->raw(GET => $plain);
    cache_is($p2, 'HIT', "$what: $plain again: a HIT");
    is($p2->{body}, $p1->{body}, "$what: $plain again: of its own entry");

    my $o2 = $ap->raw(GET => $odd);
    is($o2->{body}, $o1->{body} , "$what: $odd again: its own body");
    is($o2->{status}, $o1->{status}, "$what: $odd again: its own status");
}

# The other order: the plain page cached first, then the odd spelling
# must reach the backend, not the plain page's entry.
{
    my $p1 = $ap->raw(GET => '/x/page5');
    cache_is($p1, 'MISS', 'plain first: /x/page5 is a MISS');
    my $o1 = $ap->raw(GET => '/x/y/%2e%2e/page5');
    isnt($o1->{cache}, 'HIT', '/x/y/%2e%2e/page5 after it: not a HIT');
    is(field($o1, 'target'), '/y/%2e%2e/page5',
       'but what the backend answered for /y/%2e%2e/page5');
    is($o1->{status}, 404, 'with the backend\'s status (404)');
}

# sharedcachectl inspect finds a proxied page given its backend URL.
{
    my $port = $ap->port;
    my $ctl = "$SCTest::ROOT/tools/sharedcachectl";
    my @common = ('--servers', "'" . $mc->addr . "'", 'inspect',
                  "http://127.0.0.1:$port/x/page5",
                  '--vhost', "127.0.0.1:$port");
    my $with = `$ctl @common --backend http://127.0.0.1:$backend_port/page5`;
    is($? >> 8, 0, 'inspect --backend: cached') or diag($with);
    my $without = `$ctl @common`;
    is($? >> 8, 1, 'inspect without the backend cannot name the entry');
}

$ap->stop;
done_testing;
