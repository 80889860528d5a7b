# Every response that is not stored says why at DEBUG, with a numbered tag
# (LogLevel sharedcache:debug): a HEAD request, an invalid Content-Length,
# a backend that breaks off the body (error bucket), a client that goes
# away before the end.  A refusal logs its own reason and no other: not
# "incomplete or aborted" after a policy's refusal, not "no
# Content-Length" after a Content-Length above SharedCacheMaxSize.
# sc-test: alone (it measures time; make prove runs the others two at a time)
use strict;
use warnings;
use IO::Socket::INET;
use POSIX ();
use Test::More;
use Time::HiRes qw(sleep time);
use SCTest;

# A backend that announces 100,000 bytes, sends 1,000 and hangs up.
my $backend = IO::Socket::INET->new(Listen => 16, LocalAddr => '127.0.0.1',
                                    LocalPort => 0, ReuseAddr => 1)
    or die "listen: $!";
my $backend_port = $backend->sockport;
my $backend_pid = fork // die $!;
if (!$backend_pid) {
    while (my $c = $backend->accept) {
        while (my $line = <$c>) { last if $line =~ /^\r?\n$/ }
        print $c "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
            . "Content-Length: 100000\r\nCache-Control: max-age=60\r\n\r\n"
            . ('x' x 1000);
        close $c;
    }
    POSIX::_exit(0);
}
close $backend;

my $mc = SCTest::Memcached->start;
my $ap = SCTest::Apache->start(
    memcached => [$mc], modules => [qw(asis proxy proxy_http)],
    files => { 'badlen.asis' => "Status: 200 OK\nContent-Type: text/plain\n"
                                . "Content-Length: 5x\n\nbody\n",
               'short.asis' => "Status: 200 OK\nContent-Type: text/plain\n"
                               . "Content-Length: 100\n\nshort body\n" },
    conf => <<"CONF");
AddHandler send-as-is asis
<Location />
    SharedCache On
    SharedCacheTTL 60
</Location>
<Location /app/small>
    SharedCacheMaxSize 1K
</Location>
ProxyPass /broken http://127.0.0.1:$backend_port/
CONF

my $logged = length $ap->error_log;

# The "not stored" lines logged since the last call (waiting up to 5 s
# for the first: a request may end after its client has gone).
sub not_stored {
    my $until = time + 5;
    my @lines;
    while (!@lines && time < $until) {
        my $log = $ap->error_log;
        @lines = grep { /\[sharedcache:debug\].* SC03\d\d: not stored/ }
                 split /\n/, substr($log, $logged);
        sleep 0.05 unless @lines;
    }
    $logged = length $ap->error_log;
    return join "\n", @lines;
}

my $r = $ap->request(HEAD => '/app/head');
is($r->{status}, 200, 'HEAD answered');
like(not_stored(), qr/SC0\d{3}: not stored: .*HEAD/,
     'a HEAD miss logs that it has no body to store');

$r = $ap->get('/badlen.asis');
cache_is($r, 'UNCACHEABLE', 'an invalid Content-Length: UNCACHEABLE');
like(not_stored(), qr/SC0\d{3}: not stored: .*Content-Length/,
     'and the log says why');

$r = $ap->get('/broken/x');
isnt($r->{cache}, 'HIT', 'a body broken off by the backend is not stored');
like(not_stored(), qr/SC0\d{3}: not stored: the body ends in an error/,
     'and the log says why');

# Each refusal says why, once, and nothing else.
for my $case (
    [ '/app/private?cc=private', qr/: Cache-Control: no-store or private$/ ],
    [ '/app/stale?cc=max-age%3D0', qr/: no freshness$/ ],
    [ '/app/small/big?size=5000',
      qr/: Content-Length above SharedCacheMaxSize$/ ],
    [ '/app/small/private?size=5000&cc=private', qr/: Content-Length above /,
      qr/: Cache-Control: no-store or private$/ ],
) {
    my ($page, @want) = @$case;
    cache_is($ap->get($page), 'UNCACHEABLE', "$page: UNCACHEABLE");
    sleep 0.2;
    my @lines = split /\n/, not_stored();
    is(scalar @lines, scalar @want, '  one line per reason')
        or diag(join "\n", @lines);
    like($lines[$_] // '', $want[$_], "  the reason: $want[$_]") for 0 .. $#want;
}

# A body shorter than its Content-Length: what is missing is said.
$r = $ap->raw(GET => '/short.asis');
isnt($r->{cache}, 'HIT', 'a body shorter than its Content-Length: not a HIT');
my $short = 'the body has 11 bytes, Content-Length said 100';
like(not_stored(), qr/SC0307: not stored: response incomplete: \Q$short\E$/,
     'and the log says how short it is');

# The client reads the headers of a 5 MB page and goes away.
my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                              PeerPort => $ap->port) or die $!;
print $s "GET /app/gone?size=5000000&sleep=100 HTTP/1.1\r\n"
       . "Host: 127.0.0.1\r\n\r\n";
sysread $s, my $buf, 1000;
like($buf, qr/^HTTP\/1.1 200/, 'a big page starts');
close $s;
# The store does not depend on the client (past 64 KB the body is held
# back until it is stored): the page is stored all the same.
my $stored;
for (1 .. 100) {
    last if ($stored) = $ap->error_log =~ /(SC0305: stored .*5000000 bytes)/;
    sleep 0.05;
}
ok($stored, 'the client went away: the page is stored anyway');
my $after = $ap->raw(GET => '/app/gone?size=5000000&sleep=100',
                     Host => '127.0.0.1');
cache_is($after, 'HIT', 'and served whole to the next client');
is(length $after->{body}, 5000000, '5,000,000 bytes');
is($ap->renders('/app/gone'), 1, 'from the one render');

$ap->stop(allow => [qr/\[proxy(_http)?:error\]/, qr/AH01102|AH01110/]);
kill 'TERM', $backend_pid;
waitpid $backend_pid, 0;
done_testing;
