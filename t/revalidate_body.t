# Revalidation (SharedCacheKeep) where the application's answer carries a
# body it should not: a 304 that still writes the page (a script that sets
# the status and goes on printing; httpd itself drops a 304's body), or
# the GET-like body of a HEAD (mod_wsgi runs HEAD as GET).  The stored
# body is the response then, and none of the answer's bytes may follow
# it: on a keep-alive connection they would be read as the next response.
use strict;
use warnings;
use IO::Socket::INET;
use Test::More;
use Time::HiRes ();
use SCTest;
use SCTest::HTTP qw(read_response parse_response);

my $mc = SCTest::Memcached->start;
my $ap = SCTest::Apache->start(memcached => [$mc], conf => <<'CONF');
<Location /app>
    SharedCache On
    SharedCacheTTL 60
    SharedCacheKeep 3600
</Location>
CONF
my $host = '127.0.0.1:' . $ap->port;

# Far more than one brigade of the application's output (about 8 KB).
my $u = '/app/b304?size=20000&type=image/png&etag=%22b1%22&cond=1'
      . '&cc=max-age%3D1&body304=30000';
my $h = '/app/h?size=20000&type=image/png&etag=%22h1%22&cc=max-age%3D1';
my $stored = $ap->get($u)->{body};
my $hstored = $ap->get($h)->{body};
Time::HiRes::sleep(2.2);

my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $ap->port)
    or die $!;
print $s "GET $u HTTP/1.1\r\nHost: $host\r\n\r\n";
my $r1 = parse_response(read_response($s));
is($r1->{status}, 200, '304 with a body: the stored 200');
is(length $r1->{body}, 20000, '... of the stored length');
is($r1->{body}, $stored, '... the stored body');
print $s "GET /app/other?size=10 HTTP/1.1\r\nHost: $host\r\n"
    . "Connection: close\r\n\r\n";
my $rest = do { local $/; <$s> } // '';
like($rest, qr{^HTTP/1\.1 200}, '... the next response on the connection '
     . 'starts with its status line, no byte of the 304 before it');
my $again = $ap->get($u);
cache_is($again, 'HIT', '... and the revalidated entry is stored again');
is($again->{body}, $stored, '... with the stored body');

# A HEAD that freshens an entry: the application's 200 to it comes with
# the whole page, which is not the stored body's.
my $hh = $ap->request('HEAD', $h);
is($hh->{status}, 200, 'HEAD of an expired entry: 200');
my $hg = $ap->get($h);
cache_is($hg, 'HIT', '... the HEAD freshened it: the GET after it is a HIT');
is($hg->{body}, $hstored, '... of the stored body');
unlike($ap->error_log, qr/SC0307/, 'no copy was refused for its length');
$ap->stop;
done_testing;
