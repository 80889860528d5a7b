# Each child's pool of memcached handles covers every thread that can run
# a request at once: the MPM's and mod_http2's workers (H2MaxWorkers, by
# default 1.5 x ThreadsPerChild), each holding at most one handle.  With
# memcached stalled every lookup holds its handle for SharedCacheTimeout:
# HTTP/2 streams on one connection (one child), which mod_http2 lets run
# 6, then 12, 24 and 48 at once as earlier ones complete, each find a
# handle.  Requests that find none are counted on the status page.
use strict;
use warnings;
use JSON::PP;
use Test::More;
use SCTest;

my $curl = `curl --version 2>/dev/null` // '';
plan skip_all => 'needs curl with HTTP/2' unless $curl =~ /\bHTTP2\b/;
plan skip_all => 'mod_http2 is inactive under prefork'
    if SCTest::mpm() eq 'prefork';

my $WORKERS = 48;
my $STREAMS = 240;
my $mc = SCTest::Memcached->start;
my $ap = SCTest::Apache->start(memcached => [$mc], modules => ['http2'],
                               conf => <<"CONF");
Protocols h2c http/1.1
H2MaxWorkers $WORKERS
H2MaxSessionStreams 100
<Location /app>
    SharedCache On
    SharedCacheTTL 60
</Location>
<Location /sc-status>
    SetHandler sharedcache-status
</Location>
CONF

sub status { decode_json($ap->get('/sc-status?json')->{body}) }

my $before = status();
ok(exists $before->{no_handle}, 'the status page counts exhausted pools')
    or diag(explain $before);

# memcached stops answering (SIGSTOP): each lookup waits 500 ms with its
# handle, then the request is served uncached (ERROR).
kill 'STOP', $mc->pids;
my @urls = map { $ap->url("/app/pool?i=$_") } 1 .. $STREAMS;
# (h2c by Upgrade: curl then multiplexes every stream on that connection.)
my @out = `curl -s --http2 --parallel --parallel-max 100 \\
    -w '%{http_version} %{http_code} %{local_port} %header{x-sharedcache}\\n' \\
    @{[ join " ", map { "-o /dev/null '$_'" } @urls ]} 2>/dev/null`;
kill 'CONT', $mc->pids;
my %conns = map { /^2 \d+ (\d+) / ? ($1 => 1) : () } @out;
is(scalar keys %conns, 1, 'over one connection');

is(scalar(grep { /^2 200 / } @out), $STREAMS,
   "$STREAMS HTTP/2 streams answered 200")
    or diag(join "", grep { !/^2 200 / } @out);
is(scalar(grep { /ERROR$/ } @out), $STREAMS,
   'all served uncached (memcached stalled)');
my $after = status();
is(($after->{no_handle} // -1) - ($before->{no_handle} // 0), 0,
   'no request found the handle pool exhausted');

$ap->stop(allow => [qr/SC020[19]/]);
done_testing;
