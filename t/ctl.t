# sharedcachectl (DESIGN 6-7): purge, invalidate, flush, inspect and stats
# against a real memcached, with the counter keys of t/unit/dep_vectors.txt,
# then inspect/purge/invalidate against a real Apache with the module.
#
# Needs `make tools/sharedcachectl` (make prove builds it).
# sc-test: alone (it measures time; make prove runs the others two at a time)
use strict;
use warnings;
use Test::More;
use Digest::SHA qw(sha1_hex);
use File::Temp qw(tempdir);
use IO::Socket::INET;
use Time::HiRes qw(time);
use SCTest;

my $BIN = "$SCTest::ROOT/tools/sharedcachectl";
plan skip_all => "$BIN not built (make tools/sharedcachectl)" unless -x $BIN;
# SC_CTL_WRAP="valgrind -q --error-exitcode=99" runs every call under it.
my @CTL = ((split ' ', $ENV{SC_CTL_WRAP} // ''), $BIN);

# The environment must not choose the servers or the prefix for us.
delete @ENV{qw(SHAREDCACHE_SERVERS SHAREDCACHE_PREFIX)};

my $tmp = tempdir(CLEANUP => 1);

# Run the tool; returns { rc, out, err, secs }.
sub run_ctl {
    my (@args) = @_;
    my $t0 = time;
    my $pid = fork;
    die "fork: $!" unless defined $pid;
    if ($pid == 0) {
        open STDIN, '<', '/dev/null';
        open STDOUT, '>', "$tmp/out" or die $!;
        open STDERR, '>', "$tmp/err" or die $!;
        exec @CTL, @args or die "exec $CTL[0]: $!";
    }
    waitpid($pid, 0);
    my %r = (rc => $? >> 8, sig => $? & 127, secs => time - $t0);
    fail("sharedcachectl @args: killed by signal $r{sig}") if $r{sig};
    for my $f (qw(out err)) {
        open my $fh, '<', "$tmp/$f" or die $!;
        local $/;
        $r{$f} = <$fh> // '';
    }
    return \%r;
}

sub counter_key {
    my ($prefix, $dep) = @_;
    return "$prefix:g:" . sha1_hex($dep);
}

# t/unit/dep_vectors.txt: prefix TAB dependency TAB key, escaped.
my %vector;
{
    open my $fh, '<', "$SCTest::ROOT/t/unit/dep_vectors.txt" or die $!;
    while (my $line = <$fh>) {
        chomp $line;
        next if $line =~ /^#/ || $line eq '';
        my @f = map {
            (my $s = $_) =~ s/\\(x([0-9a-f]{2})|\\|t|n|r)/
                $2 ? chr hex $2 : { '\\' => '\\', t => "\t", n => "\n",
                                    r => "\r" }->{$1}/ge;
            $s
        } split /\t/, $line;
        $vector{"$f[0]\t$f[1]"} = $f[2];
    }
}

my $mc = SCTest::Memcached->start;
my @S = ('--servers', $mc->addr);

# ---- usage ------------------------------------------------------------------

my $r = run_ctl('--help');
is($r->{rc}, 0, '--help exits 0');
like($r->{out}, qr/^Usage: sharedcachectl/, '--help prints the usage');
like($r->{out}, qr/\binspect URL\b/, 'the usage lists inspect');

for my $bad ([], ['frobnicate'], ['--bogus', 'stats'], ['--prefix'],
             ['purge'], ['invalidate'], ['flush', 'a', 'b'],
             ['stats', 'extra'], ['inspect'], ['--timeout', '0', 'stats'],
             ['--timeout', 'x', 'stats'], ['--prefix', 'a b', 'stats'],
             ['--servers', 'host:notaport', 'stats'],
             ['inspect', 'http://a/', '--bogus'],
             ['inspect', 'http://a/', '-H', 'no colon']) {
    my $r = run_ctl(@S, @$bad);
    is($r->{rc}, 2, "usage error exits 2: @$bad");
    like($r->{err}, qr/^sharedcachectl: .+\n\z/,
         "one line on stderr: @$bad");
}

for my $url ('ftp://example.com/', '/relative', 'http:///nohost',
             'http://example.com/a%zz', 'http://example.com/a%0',
             'http://example.com/a%00b', 'http://example.com:99999/') {
    my $r = run_ctl(@S, 'purge', $url);
    is($r->{rc}, 2, "bad URL rejected: $url");
    like($r->{err}, qr/bad URL/, "the message names the URL: $url");
}

# ---- invalidate -------------------------------------------------------------

my $post5 = counter_key('sc', 't:post-5');
is($post5, $vector{"sc\tt:post-5"}, 'tag counter key = dep_vectors.txt');
ok($mc->set_raw($post5, '12345'), 'tag counter created');

for my $tag ('bad tag', '', 'x' x 129, "tab\there") {
    my $r = run_ctl(@S, 'invalidate', 'post-5', $tag);
    is($r->{rc}, 2, 'invalid tag exits 2: ' . length($tag) . ' bytes');
    like($r->{err}, qr/invalid tag/, 'the message says the tag is invalid');
}
is($mc->get_raw($post5), '12345', 'a rejected command changes nothing');

$r = run_ctl(@S, 'invalidate', 'post-5');
is($r->{rc}, 0, 'invalidate of an existing tag exits 0');
is($mc->get_raw($post5), '12346', 'its counter went up by one');
like($r->{out}, qr/invalidated t:post-5 \(\Q$post5\E: generation 12346\)/,
     'the output names the dependency, the key and the generation');
$r = run_ctl(@S, 'invalidate', 'x' x 128);
is($r->{rc}, 0, 'a 128-byte tag is accepted');

my $c5 = counter_key('sc', 't:comments-5');
is($c5, $vector{"sc\tt:comments-5"}, 'comments-5 key = dep_vectors.txt');
$r = run_ctl(@S, 'invalidate', 'comments-5', 'post-5');
is($r->{rc}, 0, 'invalidate of a missing tag exits 0');
like($r->{out}, qr/not found t:comments-5/, 'and says it was not found');
ok(!defined $mc->get_raw($c5), 'no counter was created for it');
ok(!grep({ $_ eq $c5 } $mc->keys), 'memcached holds no such key');
is($mc->get_raw($post5), '12347', 'the other tag was still invalidated');

# ---- purge ------------------------------------------------------------------

# Dropped from the server that holds it (with SC_EXTRA_MEMCACHED the test
# wrote it on every server; only the one placement picks is purged).
sub dropped {
    my ($key) = @_;
    return scalar grep { !defined $_->get_raw1($key) } $mc->members;
}

my $blog = counter_key('sc', 'u:http://example.com:80/blog/post/5');
is($blog, $vector{"sc\tu:http://example.com:80/blog/post/5"},
   'URL counter key = dep_vectors.txt');
ok($mc->set_raw($blog, '100'), 'URL counter created');
$r = run_ctl(@S, 'purge', 'http://example.com/blog/post/5');
is($r->{rc}, 0, 'purge of a cached URL exits 0');
like($r->{out}, qr{purged u:http://example\.com:80/blog/post/5 \(\Q$blog\E},
     'the output shows the URL dependency and its counter key');
ok(dropped($blog), 'the URL counter is dropped (hard, as the PURGE method)');

ok($mc->set_raw($blog, '100'), 'URL counter created again');
$r = run_ctl(@S, 'purge', 'http://EXAMPLE.com.:80/blog/post/%35?page=2#x');
is($r->{rc}, 0, 'case, trailing dot, explicit port, escapes and the query '
   . 'do not change the counter');
ok(dropped($blog), 'the same counter was dropped');

$r = run_ctl(@S, 'purge', 'http://example.com/blog/post/6');
is($r->{rc}, 1, 'purge of a URL with no counter exits 1');
like($r->{out}, qr/not found u:http:\/\/example\.com:80\/blog\/post\/6/,
     'and says so');
ok(!grep({ $_ eq counter_key('sc', 'u:http://example.com:80/blog/post/6') }
         $mc->keys), 'purge created no counter');

my $shop = $vector{"sc\tu:https://shop.example.org:443/caf\xc3\xa9 menu"};
ok($shop, 'the https vector is in dep_vectors.txt');
ok($mc->set_raw($shop, '7'), 'https URL counter created');
$r = run_ctl(@S, 'purge', 'https://shop.example.org/caf%C3%A9%20menu',
             'http://example.com/nothing');
is($r->{rc}, 1, 'purge of several URLs, one without counter: exits 1');
ok(dropped($shop),
   'the decoded https path maps to the vector key, and was purged');

# ---- flush ------------------------------------------------------------------

my $ns = counter_key('sc', 'n:default');
is($ns, $vector{"sc\tn:default"}, 'namespace key = dep_vectors.txt');
$r = run_ctl(@S, 'flush');
is($r->{rc}, 0, 'flush with no namespace counter exits 0');
like($r->{out}, qr/not found n:default/, 'and says it was not found');
ok(!defined $mc->get_raw($ns), 'no counter created');
ok($mc->set_raw($ns, '41'), 'default namespace counter created');
$r = run_ctl(@S, 'flush');
is($r->{rc}, 0, 'flush of the default namespace exits 0');
is($mc->get_raw($ns), '42', 'n:default went up');

my $site = $vector{"site-1\tn:blog"};
ok($mc->set_raw($site, '9'), 'namespace blog under prefix site-1');
$r = run_ctl(@S, '--prefix', 'site-1', 'flush', 'blog');
is($r->{rc}, 0, 'flush of a named namespace with --prefix exits 0');
is($mc->get_raw($site), '10', 'site-1:g:<blog> went up');
is($mc->get_raw($ns), '42', 'the sc prefix was not touched');
$r = run_ctl(@S, 'flush', 'bad namespace');
is($r->{rc}, 2, 'an invalid namespace exits 2');

# ---- prefix and environment -------------------------------------------------

my $p2 = counter_key('other', 't:post-5');
ok($mc->set_raw($p2, '1'), 'tag counter under prefix other');
$r = run_ctl(@S, '--prefix=other', 'invalidate', 'post-5');
is($r->{rc}, 0, '--prefix=other invalidate exits 0');
is($mc->get_raw($p2), '2', 'the counter under prefix other went up');
is($mc->get_raw($post5), '12347', 'the sc one did not');
{
    local $ENV{SHAREDCACHE_PREFIX} = 'other';
    local $ENV{SHAREDCACHE_SERVERS} = $mc->addr;
    $r = run_ctl('invalidate', 'post-5');
    is($r->{rc}, 0, 'servers and prefix from the environment');
    is($mc->get_raw($p2), '3', 'SHAREDCACHE_PREFIX chose the key');
}

# ---- inspect of entries written here in the module's format -----------------

# The canonical key of sc_key.h and the record of sc_entry.h, written
# independently of the C code.
sub kfield { my ($b) = @_; return length($b) . ":$b\n" }

sub canonical {
    my ($origin, $path, $query, @var) = @_;
    my $k = "SCK2\n" . kfield($origin) . kfield($path) . kfield($query);
    while (my ($name, $value) = splice @var, 0, 2) {
        $k .= kfield("$name=" . sha1_hex($value));
    }
    return $k;
}

sub record {
    my (%e) = @_;
    my $now = time;
    my $body = $e{body} // 'hello';
    my $rec = pack('a4 C C n q> q> q> q> N N/a*', "SCE\x02", 1, 0,
                   $e{status} // 200, int($now) - 5,
                   int($now) + ($e{fresh} // 55), int($now) + 100,
                   int($now) + 100, 0, $e{key});
    my @h = @{ $e{headers} || [] };
    $rec .= pack('n', @h / 2);
    while (my ($n, $v) = splice @h, 0, 2) {
        $rec .= pack('n/a* N/a*', $n, $v);
    }
    my @d = @{ $e{deps} || [] };
    $rec .= pack('n', @d / 2);
    while (my ($n, $g) = splice @d, 0, 2) {
        $rec .= pack('n/a* Q>', $n, $g);
    }
    return $rec . pack('C Q>', 0, length $body) . $body;
}

sub counter {
    my ($key) = @_;
    my $v = $mc->get_raw($key) // die "no counter $key";
    $v =~ s/\s+$//;
    return $v;
}

my $dkey = canonical('http://example.com:80', '/dep', '',
                     's:vhost' => 'example.com:80', 'H:host' => 'example.com',
                     'r:route-path' => '/dep', 'r:route-query' => '');
my $dmkey = 'sc:e:' . sha1_hex($dkey);
my $dep_url = counter_key('sc', 'u:http://example.com:80/dep');
ok($mc->set_raw($dep_url, '5'), 'URL counter of /dep');
my @deps = ('u:http://example.com:80/dep' => 5,
            'n:default' => counter($ns), 't:post-5' => counter($post5));
ok($mc->set_raw($dmkey, record(key => $dkey, deps => \@deps,
                               headers => [ 'Content-Type' => 'text/plain' ],
                               body => 'x' x 1234)),
   'an entry with generations written in the module\'s format');
$r = run_ctl(@S, 'inspect', 'http://example.com/dep');
is($r->{rc}, 0, 'inspect: every generation current: cached (exit 0)')
    or diag("$r->{out}$r->{err}");
like($r->{out}, qr/^record:\s+entry \Q$dmkey\E$/m, 'the entry key');
like($r->{out}, qr/^size:\s+1234 bytes \(inline\)$/m, 'its size');
like($r->{out}, qr/^ttl:\s+5[45] s left/m, 'its TTL left');
like($r->{out}, qr/^stored:.*\(age [56] s\)$/m, 'its age');
like($r->{out}, qr/^stale:\s+4[56] s window$/m, 'its stale window');
like($r->{out}, qr/^header:\s+Content-Type: text\/plain$/m, 'its headers');
my $dep_line = qr{^url\ dep:\s+http://example\.com:80/dep\ generation\ 5:}mx;
like($r->{out}, qr/$dep_line valid$/m,
     'its URL generation, valid');
like($r->{out}, qr/^namespace:\s+default generation \d+: valid$/m,
     'its namespace generation, valid');
like($r->{out}, qr/^tag:\s+post-5 generation \d+: valid$/m,
     'its tag generation, valid');

$r = run_ctl(@S, 'purge', 'http://example.com/dep?q=1');
is($r->{rc}, 0, 'purge of it exits 0');
$r = run_ctl(@S, 'inspect', 'http://example.com/dep');
is($r->{rc}, 1, 'after purge: not cached (exit 1)');
like($r->{out}, qr/$dep_line INVALIDATED \(counter missing\)$/m,
     'the URL generation is shown invalidated (purge drops the counter)');
like($r->{out}, qr/^cached:\s+no \(invalidated/m, 'and the verdict says why');

ok($mc->set_raw($dep_url, '5   '), 'the URL counter back, space padded');
$r = run_ctl(@S, 'inspect', 'http://example.com/dep');
is($r->{rc}, 0, 'a space-padded counter reads as its number');
run_ctl(@S, 'invalidate', 'post-5');
$r = run_ctl(@S, 'inspect', 'http://example.com/dep');
is($r->{rc}, 1, 'after invalidate of its tag: not cached');
like($r->{out}, qr/^tag:\s+post-5 generation \d+: INVALIDATED/m,
     'the tag is shown invalidated');

ok($mc->set_raw($dmkey, record(key => $dkey, deps => [ 't:evicted' => 3 ])),
   'an entry whose counter is gone');
$r = run_ctl(@S, 'inspect', 'http://example.com/dep');
is($r->{rc}, 1, 'a missing counter: not cached');
like($r->{out},
     qr/^tag:\s+evicted generation 3: INVALIDATED \(counter missing\)$/m,
     'the counter is shown missing');

ok($mc->set_raw($dmkey, record(key => $dkey, fresh => -1)), 'expired entry');
$r = run_ctl(@S, 'inspect', 'http://example.com/dep');
is($r->{rc}, 1, 'an expired entry: not cached');
like($r->{out}, qr/^cached:\s+no \(expired\)$/m, 'expired');
like($r->{out}, qr/^deps:\s+none/m, 'an entry without deps says so');

ok($mc->set_raw($dmkey, record(key => "$dkey-other")), 'another key');
$r = run_ctl(@S, 'inspect', 'http://example.com/dep');
is($r->{rc}, 1, 'a record holding another key: not cached');
like($r->{out}, qr/another key/, 'and says so');

ok($mc->set_raw($dmkey, "SCE\x02garbage"), 'a corrupt record');
$r = run_ctl(@S, 'inspect', 'http://example.com/dep');
is($r->{rc}, 1, 'a corrupt record: not cached');
like($r->{out}, qr/corrupt/, 'and says so');

# ---- stats and memcached errors ---------------------------------------------

$r = run_ctl(@S, 'stats');
is($r->{rc}, 0, 'stats exits 0');
my $numbers = qr/uptime=\d+ curr_items=\d+ bytes=\d+ .*evictions=\d+/;
for my $addr (map { $_->addr1 } $mc->members) {
    like($r->{out}, qr/^\Q$addr\E reachable version=\S+ $numbers/m,
         "stats shows the server reachable with its numbers ($addr)");
}

# A port bound but not listening, held for the whole test: connections are
# refused and no other process can take it meanwhile.
my $hold = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                 Proto => 'tcp', ReuseAddr => 1)
    or die "bind: $!";
my $closed = $hold->sockport;
$r = run_ctl('--servers', "127.0.0.1:$closed", 'stats');
is($r->{rc}, 3, 'stats against a closed port exits 3');
ok($r->{secs} < 1.5, sprintf('within ~1 s (%.2f s)', $r->{secs}));
like($r->{out}, qr/^127\.0\.0\.1:$closed unreachable$/m,
     'the server is shown unreachable');
like($r->{err}, qr/^sharedcachectl: memcached 127\.0\.0\.1:$closed: .+\n\z/,
     'one error line with libmemcached\'s message');

$r = run_ctl('--servers', $mc->addr . " 127.0.0.1:$closed", 'stats');
is($r->{rc}, 3, 'one of two servers down: exits 3');
like($r->{out}, qr/reachable version=/, 'the live one is still shown');

for my $cmd (['purge', 'http://example.com/blog/post/5'],
             ['invalidate', 'post-5'], ['flush'],
             ['inspect', 'http://example.com/']) {
    my $r = run_ctl('--servers', "127.0.0.1:$closed", '--timeout', '200',
                    @$cmd);
    is($r->{rc}, 3, "memcached down: $cmd->[0] exits 3");
    like($r->{err}, qr/^sharedcachectl: memcached .+\n\z/,
         "one error line: $cmd->[0]");
}

# A unix socket, as SharedCacheServers accepts it.
{
    my $ux = SCTest::Memcached->start(socket => 1);
    my $key = counter_key('sc', 't:sock');
    ok($ux->set_raw($key, '1'), 'tag counter on a unix-socket memcached');
    my $r = run_ctl('--servers', $ux->addr, 'invalidate', 'sock');
    is($r->{rc}, 0, 'invalidate over a unix socket exits 0');
    is($ux->get_raw($key), '2', 'and incremented the counter');
    $r = run_ctl('--servers', $ux->addr, 'stats');
    is($r->{rc}, 0, 'stats over a unix socket exits 0');
    like($r->{out}, qr/^\Q${\ $ux->addr }\E reachable /m, 'reachable');
    $ux->stop;
}

# ---- with Apache and the module -------------------------------------------

my $ap = SCTest::Apache->start(
    memcached => [$mc],
    modules => ['headers'],
    files => { 'tagged.html' => "<html><body>tagged</body></html>\n" },
    conf => <<'CONF');
<Location /app>
    SharedCache On
    SharedCacheTTL 60
</Location>
<Location /tagged.html>
    SharedCache On
    SharedCacheTTL 60
    Header set Surrogate-Key "post-5 list"
</Location>
<Location /app/varied>
    SharedCacheVaryByCookie sessionid
    SharedCacheVaryByHeader X-Tenant
</Location>
CONF
my $port = $ap->port;
my $base = "http://127.0.0.1:$port";
my @V = ('--vhost', "127.0.0.1:$port");

# Each first request on its own connection, read to the close: the store
# that follows a MISS is done before the next request.
sub fill {
    my ($path, %h) = @_;
    my $first = $ap->raw('GET', $path, %h);
    my $second = $ap->raw('GET', $path, %h);
    return ($first, $second);
}

my ($miss, $hit) = fill('/app/x');
cache_is($miss, 'MISS', 'GET /app/x: MISS');
cache_is($hit, 'HIT', 'GET /app/x again: HIT');

$r = run_ctl(@S, 'inspect', "$base/app/x", @V);
is($r->{rc}, 0, 'inspect of a cached page exits 0')
    or diag("$r->{out}$r->{err}");
like($r->{out}, qr/^status:\s+200$/m, 'inspect shows status 200');
my $len = length $hit->{body};
like($r->{out}, qr/^size:\s+$len bytes \(inline\)$/m,
     "inspect shows the size ($len bytes)");
like($r->{out}, qr/^chunks:\s+0$/m, 'no chunks');
like($r->{out}, qr/^ttl:\s+(5\d|60) s left/m, 'about 60 s left');
like($r->{out}, qr/^stored:.*\(age \d+ s\)$/m, 'the age');
like($r->{out}, qr/^stale:\s+\d+ s window/m, 'the stale window');
my $token = $hit->{headers}{'x-render-token'};
like($r->{out}, qr/^header:\s+X-Render-Token: $token$/m,
     'the stored headers');
like($r->{out}, qr/^cached:\s+yes/m, 'and says it is cached');

$r = run_ctl(@S, 'inspect', "$base/app/x");
is($r->{rc}, 0, '--vhost defaults to the URL\'s host:port');

$r = run_ctl(@S, 'inspect', "$base/app/x", '--vhost', 'other:80');
is($r->{rc}, 1, 'another virtual host: not cached (exit 1)');
like($r->{out}, qr/^cached:\s+no/m, 'and says so');

$r = run_ctl(@S, 'inspect', "$base/app/x", @V, '--host-header',
             "localhost:$port");
is($r->{rc}, 1, 'another Host header: not cached');

$r = run_ctl(@S, 'inspect', "$base/app/never", @V);
is($r->{rc}, 1, 'inspect of a page never requested exits 1');
like($r->{out}, qr/^cached:\s+no \(nothing stored/m, 'nothing stored');

# Vary: the level-1 Vary record, then the variant the -H values select.
my $vpath = '/app/v?vary=Accept-Language';
($miss, $hit) = fill($vpath, 'Accept-Language' => 'de');
cache_is($hit, 'HIT', 'a response that varies: HIT for the same value');
$r = run_ctl(@S, 'inspect', "$base$vpath", @V, '-H', 'Accept-Language: de');
is($r->{rc}, 0, 'inspect with -H of the stored variant exits 0')
    or diag("$r->{out}$r->{err}");
like($r->{out}, qr/^vary:\s+accept-language /m, 'shows the Vary names');
like($r->{out}, qr/^variant:\s+accept-language: de$/m, 'and the variant');
like($r->{out}, qr/^status:\s+200$/m, 'the variant\'s entry');
$r = run_ctl(@S, 'inspect', "$base$vpath", @V, '-H', 'Accept-Language: fr');
is($r->{rc}, 1, 'another value of the header: not cached');
$r = run_ctl(@S, 'inspect', "$base$vpath", @V);
is($r->{rc}, 1, 'without -H: the variant without the header is not cached');
like($r->{out}, qr/^variant:\s+accept-language: \(absent\)$/m,
     'the header is shown absent');

# A body stored coded (SharedCacheCompress): its codings and the decoded
# length.
($miss, $hit) = fill('/app/coded?size=16384');
$r = run_ctl(@S, 'inspect', "$base/app/coded?size=16384", @V);
is($r->{rc}, 0, 'inspect of a coded entry exits 0')
    or diag("$r->{out}$r->{err}");
like($r->{out}, qr/^decoded:\s+16384 bytes$/m, 'its decoded length');
like($r->{out}, qr/^coding:\s+gzip: \d+ bytes at 0$/m, 'its gzip coding');
like($r->{out}, qr/^coding:\s+br: \d+ bytes at \d+$/m, 'its br coding');

# A body stored in chunks (a type stored as it is, not coded).
my $big = '/app/big?size=2500000&type=application/octet-stream';
($miss, $hit) = fill($big);
cache_is($hit, 'HIT', 'a large body: HIT');
$r = run_ctl(@S, 'inspect', "$base$big", @V);
is($r->{rc}, 0, 'inspect of a chunked entry exits 0')
    or diag("$r->{out}$r->{err}");
like($r->{out}, qr/^size:\s+2500000 bytes \(chunked\)$/m, 'its size');
like($r->{out}, qr/^chunks:\s+3 of \d+ bytes/m, 'its chunks');

# ---- generation counters written by the module -----------------------------
#
# An entry depends on u:<its URL>, n:<its namespace> and t:<each
# Surrogate-Key tag>; purge, invalidate and flush bump those counters.

$r = run_ctl(@S, 'inspect', "$base/app/x", @V);
like($r->{out},
     qr{^url\ dep:\s+http://127\.0\.0\.1:$port/app/x
        \ generation\ \d+:\ valid$}mx,
     'the entry depends on its URL counter');
like($r->{out}, qr/^namespace:\s+default generation \d+: valid$/m,
     'and on its namespace counter');
like($r->{out}, qr/^tags:\s+none$/m, 'and has no tags');

$r = run_ctl(@S, 'purge', "$base/app/x");
is($r->{rc}, 0, 'purge of the cached page exits 0')
    or diag("$r->{out}$r->{err}");
$r = run_ctl(@S, 'inspect', "$base/app/x", @V);
is($r->{rc}, 1, 'after purge inspect says not cached');
like($r->{out}, qr/^url dep:.*INVALIDATED \(counter missing\)$/m,
     'because the URL counter was dropped');
cache_is($ap->raw('GET', '/app/x'), 'MISS',
         'after purge the next GET is a MISS');
cache_is($ap->raw('GET', '/app/x'), 'HIT', 'and the one after a HIT');
is(run_ctl(@S, 'inspect', "$base/app/x", @V)->{rc}, 0,
   'inspect says cached again');

# A static file tagged by mod_headers.
($miss, $hit) = fill('/tagged.html');
cache_is($hit, 'HIT', 'tagged static file: HIT');
$r = run_ctl(@S, 'inspect', "$base/tagged.html", @V);
is($r->{rc}, 0, 'inspect of the tagged file exits 0')
    or diag("$r->{out}$r->{err}");
like($r->{out}, qr/^tag:\s+post-5 generation \d+: valid$/m,
     'it is tagged post-5');
like($r->{out}, qr/^tag:\s+list generation \d+: valid$/m, 'and list');

$r = run_ctl(@S, 'invalidate', 'post-5');
is($r->{rc}, 0, 'invalidate post-5 exits 0');
like($r->{out}, qr/^invalidated t:post-5 /m, 'its counter existed');
$r = run_ctl(@S, 'inspect', "$base/tagged.html", @V);
is($r->{rc}, 1, 'after invalidate inspect says not cached');
like($r->{out}, qr/^tag:\s+post-5 .*INVALIDATED/m,
     'because of the tag post-5');
like($r->{out}, qr/^tag:\s+list generation \d+: valid$/m,
     'the other tag is still valid');
cache_is($ap->raw('GET', '/tagged.html'), 'MISS',
         'after invalidate the next GET is a MISS');
cache_is($ap->raw('GET', '/app/x'), 'HIT', 'an untagged page is not');

($miss, $hit) = fill('/app/flushme');
cache_is($hit, 'HIT', '/app/flushme: HIT');
$r = run_ctl(@S, 'flush');
is($r->{rc}, 0, 'flush exits 0');
like($r->{out}, qr/^flushed n:default /m, 'the namespace counter existed');
cache_is($ap->raw('GET', '/app/flushme'), 'MISS',
         'after flush the next GET is a MISS');
cache_is($ap->raw('GET', '/tagged.html'), 'MISS',
         'and so is every other page of the namespace');

# A location with its own variance (Django's recommended set-up): inspect
# finds the entry when told the location's SharedCacheVaryBy* and the
# request's cookie and header.
my @vh = ('Cookie' => 'csrftoken=x; sessionid=abc123', 'X-Tenant' => 'blue');
my ($vmiss, $vhit) = fill('/app/varied/p', @vh);
cache_is($vhit, 'HIT', 'a page of a varied location: HIT');
my @vary = ('--vary-cookie', 'sessionid', '--vary-header', 'X-Tenant');
$r = run_ctl(@S, 'inspect', "$base/app/varied/p", @V);
is($r->{rc}, 1, 'inspect without the variance: not found (exit 1)');
$r = run_ctl(@S, 'inspect', "$base/app/varied/p", @V, @vary,
             '-H', 'Cookie: sessionid=abc123; _ga=GA1', '-H', 'X-Tenant: blue');
is($r->{rc}, 0, 'inspect with --vary-cookie/--vary-header and the values: found')
    or diag("$r->{out}$r->{err}");
like($r->{out}, qr/^variance:\s+cookie sessionid: abc123$/m, 'it shows the cookie it keyed on');
like($r->{out}, qr/^variance:\s+header x-tenant: blue$/mi, 'and the header');
my $vtoken = $vhit->{headers}{'x-render-token'};
like($r->{out}, qr/^header:\s+X-Render-Token: $vtoken$/m, 'the entry of that variant');
$r = run_ctl(@S, 'inspect', "$base/app/varied/p", @V, @vary,
             '-H', 'Cookie: sessionid=other', '-H', 'X-Tenant: blue');
is($r->{rc}, 1, 'another session: another variant, not stored (exit 1)');
$r = run_ctl(@S, 'inspect', "$base/app/varied/p", @V, '--vary-cookie');
is($r->{rc}, 2, '--vary-cookie without a name: usage error (exit 2)');

$ap->stop;
$mc->stop;
done_testing;
