# mod_http2 sets HTTP2, H2PUSH, H2_PUSH and H2_PUSHED for every request of
# an HTTP/2 connection: what the connection is, not what the request
# asked (as mod_ssl's HTTPS).  Where they hold what mod_http2 reports for
# the request's connection they are not keyed, so an HTTP/1.1 client and
# an HTTP/2 one share a page's entry (one render, as for any client).  The
# same names set by configuration on an HTTP/1.1 connection (SetEnvIf on a
# header a client sends) are keyed as any derived variable: the client
# that sends the header gets an entry of its own and never the others'.
use strict;
use warnings;
use Test::More;
use SCTest;

my $curl = `curl --version 2>/dev/null` // '';
plan skip_all => 'needs curl with HTTP/2' unless $curl =~ /\bHTTP2\b/;
plan skip_all => 'mod_http2 is inactive under prefork'
    if SCTest::mpm() eq 'prefork';

my $mc = SCTest::Memcached->start;
my $ap = SCTest::Apache->start(memcached => [$mc],
                               modules => ['http2', 'setenvif'],
                               conf => <<'CONF');
Protocols h2c http/1.1
SetEnvIf X-Fake-H2 ^yes$ HTTP2=on H2_PUSHED=PUSHED
<Location /app>
    SharedCache On
    SharedCacheTTL 60
</Location>
CONF

# (body, X-SharedCache, protocol) of a curl request with these options
sub fetch {
    my ($path, @opt) = @_;
    my $hdr = $ap->dir . '/curl-headers';
    my $body = `curl -s @opt -D $hdr '${\ $ap->url($path)}'`;
    open my $f, '<', $hdr or die "$hdr: $!";
    my $h = do { local $/; <$f> };
    my ($proto) = $h =~ m{^(HTTP/[\d.]+)};
    my ($cache) = $h =~ /^x-sharedcache:\s*(\S+)/mi;
    return ($body, $cache // '', $proto // '');
}

my ($b1, $c1, $p1) = fetch('/app/shared?size=200', '--http2-prior-knowledge');
is($p1, 'HTTP/2', 'the first client speaks HTTP/2');
is($c1, 'MISS', 'HTTP/2: rendered and stored');
my ($b2, $c2, $p2) = fetch('/app/shared?size=200', '--http1.1');
is($p2, 'HTTP/1.1', 'the second client speaks HTTP/1.1');
is($c2, 'HIT', 'HTTP/1.1: a hit of the entry the HTTP/2 request stored');
is($b2, $b1, '... with its body');
is($ap->renders('/app/shared'), 1, 'one render for both protocols');

my ($b3, $c3) = fetch('/app/other?size=200', '--http1.1');
is($c3, 'MISS', 'HTTP/1.1 first: rendered and stored');
my ($b4, $c4) = fetch('/app/other?size=200', '--http2-prior-knowledge');
is($c4, 'HIT', 'HTTP/2 after it: a hit');
is($b4, $b3, '... with its body');

# The variables made by configuration from a client's header on HTTP/1.1
my ($b5, $c5) = fetch('/app/shared?size=200', '--http1.1', '-H', 'X-Fake-H2:yes');
is($c5, 'MISS', 'HTTP2=on from a header on HTTP/1.1: an entry of its own');
isnt($b5, $b1, '... never the shared one');
my ($b6, $c6) = fetch('/app/shared?size=200', '--http1.1');
is($c6, 'HIT', 'a plain HTTP/1.1 client still gets the shared entry');
is($b6, $b1, '... unchanged');

$ap->stop;
done_testing;
