# mod_http2 sets HTTP2, H2PUSH, H2_PUSH and H2_PUSHED on the requests of
# an HTTP/2 connection, and an application may render by them (inline
# assets for HTTP/1.1 only, preload links for clients that take pushes).
# They are keyed like any variable set before the handler: an HTTP/1.1 and
# an HTTP/2 client get entries of their own, so do a client that accepts
# pushes and one that does not, and a pushed stream.  No "connection
# fact" exemption (as mod_ssl's variables have) works for them: mod_http2
# answers for them on an HTTP/1.1 connection too (HTTP2=off, H2PUSH as
# configured) and H2PUSH is the client's choice.  An outside attack on
# such an exemption broke each case below.
use strict;
use warnings;
use FindBin;
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
SetEnvIf X-Push ^1$ H2PUSH=on H2_PUSH=on
SetEnvIf X-H2off ^1$ HTTP2=off
<Location /app>
    SharedCache On
    SharedCacheTTL 60
</Location>
<Location /app/page>
    H2PushResource /app/pushed?env=H2_PUSHED
</Location>
CONF

my $ENV = 'env=HTTP2,H2PUSH,H2_PUSH,H2_PUSHED';

# (body, X-SharedCache) of a curl request
sub fetch {
    my ($path, @opt) = @_;
    my $hdr = $ap->dir . '/curl-headers';
    my $body = `curl -s @opt -D $hdr '${\ $ap->url($path)}'`;
    open my $f, '<', $hdr or die "$hdr: $!";
    my $h = do { local $/; <$f> };
    my ($cache) = $h =~ /^x-sharedcache:\s*(\S+)/mi;
    return ($body, $cache // '');
}

# bodies by stream of a client that accepts pushes
sub push_client {
    my ($path, @fields) = @_;
    my $out = `python3 $FindBin::Bin/lib/h2push.py 127.0.0.1 ${\ $ap->port} '$path' @fields`;
    my %by;
    $by{$1} = $2 while $out =~ /^== stream (\d+)(?: pushed)?\n(.*?)(?=^== stream |\z)/msg;
    return \%by;
}

my @H1 = ('--http1.1');
my @H2 = ('--http2-prior-knowledge');

# HTTP/2 first, then HTTP/1.1: each its own render
my ($a2, $c2) = fetch("/app/a?$ENV", @H2);
like($a2, qr/HTTP2='on'/, 'HTTP/2: the application sees HTTP2=on');
my ($a1, $c1) = fetch("/app/a?$ENV", @H1);
is($c1, 'MISS', 'HTTP/1.1 after HTTP/2: its own render');
like($a1, qr/HTTP2=None/, '... without HTTP2');
is((fetch("/app/a?$ENV", @H1))[0], $a1, 'HTTP/1.1 again: its own entry');
is((fetch("/app/a?$ENV", @H2))[0], $a2, 'HTTP/2 again: its own entry');

# The same names from a client's header on HTTP/1.1
my ($p, $pc) = fetch("/app/b?$ENV", @H1, '-H', 'X-Push:1');
like($p, qr/H2PUSH='on'/, 'H2PUSH=on from a header: the page says so');
my ($q, $qc) = fetch("/app/b?$ENV", @H1);
is($qc, 'MISS', 'a plain HTTP/1.1 client after it: its own render');
unlike($q, qr/H2PUSH='on'/, '... never the page made with H2PUSH=on');
my ($o) = fetch("/app/c?$ENV", @H1, '-H', 'X-H2off:1');
like($o, qr/HTTP2='off'/, 'HTTP2=off from a header: the page says so');
my ($n, $nc) = fetch("/app/c?$ENV", @H1);
is($nc, 'MISS', 'a plain HTTP/1.1 client after it: its own render');
unlike($n, qr/HTTP2='off'/, '... never the page made with HTTP2=off');

# A client that accepts pushes and one that does not (curl)
my $pushy = push_client("/app/d?$ENV");
like($pushy->{1} // '', qr/H2PUSH='on'/, 'a client that accepts pushes: H2PUSH=on');
my ($d, $dc) = fetch("/app/d?$ENV", @H2);
is($dc, 'MISS', 'curl (no pushes) after it: its own render');
like($d, qr/H2PUSH='off'/, '... with H2PUSH=off');
my $again = push_client("/app/d?$ENV");
is($again->{1}, $pushy->{1}, 'the push client again: its own entry');

# A pushed stream's render (H2_PUSHED=PUSHED) is not anybody's page
my $page = push_client('/app/page?size=100');
my ($pushed_stream) = grep { $_ != 1 } keys %$page;
ok($pushed_stream, 'the server pushed /app/pushed');
like($page->{$pushed_stream // 0} // '', qr/H2_PUSHED='PUSHED'/, '... rendered as a pushed stream');
my ($e2, $ec2) = fetch('/app/pushed?env=H2_PUSHED', @H2);
unlike($e2, qr/PUSHED'/, 'an HTTP/2 request of the pushed URL: not the pushed render');
my ($e1) = fetch('/app/pushed?env=H2_PUSHED', @H1);
unlike($e1, qr/PUSHED'/, 'an HTTP/1.1 request of it: not the pushed render');

$ap->stop;
done_testing;
