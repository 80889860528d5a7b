# Keys (THREATS 7, 18; DESIGN 5): whatever bytes a path or query holds,
# memcached only ever sees fixed-length hashed keys, never an error caused
# by a key, and distinct URLs never share an entry (no truncation, no
# collision of encodings), while a reordered query is the same entry.
#
# Every request goes over its own connection (raw), read to the close: the
# store that follows a MISS is done before the next request is sent.
use strict;
use warnings;
use Test::More;
use SCTest;

my $KEY = qr/^sc:[ecglr]:[0-9a-f]{40}(?::[0-9a-f]{16}:\d+)?$/;

my $mc = SCTest::Memcached->start(verbose => 1);
my $ap = SCTest::Apache->start(memcached => [$mc], conf => <<'CONF');
# Long request lines are the point here (the default is 8190).
LimitRequestLine 65536
<Location /app>
    SharedCache On
    SharedCacheTTL 60
</Location>
CONF

sub get { $ap->raw(GET => $_[0]) }

sub token { $_[0]{body} =~ /token=([0-9a-f]{32})/ ? $1 : '' }

my $long_q = 'x' x 7600;
# The path in segments, under PATH_MAX in all: httpd maps it to a file
# name (app.py/...) and stats it, which fails with ENAMETOOLONG beyond.
my $long_p = join '/', ('p' x 99) x 38;
my $huge = 'y' x 20000;

# Distinct URLs: each must be an entry of its own.
my @distinct = (
    '/app/k?a=1',
    '/app/k?a=1%0d%0aX',
    '/app/k?a=1%0aX',
    '/app/k?a=1%0dX',
    '/app/k?a=1%0d%0aSet-Cookie:%20sessionid=stolen',
    '/app/k?a=1%0d%0aflush_all%0d%0a',
    '/app/k?a=1%20get%20sc:e:0',
    '/app/k?a=1%20',
    '/app/k?a=%00',
    '/app/k?a=1%00X',
    '/app/k?a=1&b=%00',
    '/app/k',
    '/app/k%20x',
    '/app/k+x',
    '/app/k%0d%0ax',
    '/app/k%0ax',
    '/app/k%0d%0aflush_all%0d%0a',
    '/app/k%09x',
    '/app/k;x',
    '/app/k;jsessionid=1',
    '/app/k;jsessionid=2',
    '/app/k%3Fa=1',
    "/app/k/\xc3\xa9",
    "/app/k/\xe2\x82\xac",
    "/app/k?q=\xc3\xa9",
    '/app/k?q=%C3%A9t%C3%A9',
    '/app/k?r=%c3%a9',
    "/app/k/\xf0\x9f\x92\xa9?q=\xf0\x9f\x92\xa9",
    "/app/k?long=$long_q",
    "/app/k?long=${long_q}X",
    "/app/k/$long_p",
    "/app/k/${long_p}X",
    "/app/k/$long_p?long=$long_q",
    "/app/k?huge=$huge",
    "/app/k?huge=${huge}Z",
    # Bodies above memcached's item size are stored as chunks: their keys
    # must be as clean as those of entries (a type that is stored as it
    # is, uncompressed).
    '/app/k?size=1500000&type=application/octet-stream&a=%0d%0a%20%00',
);

my (%first, %seen_tok);
for my $u (@distinct) {
    my $r = get($u);
    $first{$u} = $r;
    my $show = length $u > 80 ? substr($u, 0, 60) . '...(' . length($u)
                                . ' bytes)' : $u;
    $show =~ s/([^\x20-\x7e])/sprintf '\\x%02x', ord $1/ge;
    is($r->{status}, 200, "$show: 200");
    cache_is($r, 'MISS', "$show: MISS first: no other URL's entry");
    ok(!$seen_tok{token($r)}++, "$show: a render of its own");
}
for my $u (@distinct) {
    my $r = get($u);
    my $show = length $u > 80 ? substr($u, 0, 60) . '...' : $u;
    $show =~ s/([^\x20-\x7e])/sprintf '\\x%02x', ord $1/ge;
    cache_is($r, 'HIT', "$show: then a HIT");
    is(token($r), token($first{$u}), "$show: of its own entry");
}
is($ap->renders('/app/k'), scalar @distinct, 'each URL rendered exactly once');

# Memcached protocol injection attempts did nothing: entries stored before
# the "flush_all" URLs are still there.
cache_is(get('/app/k?a=1'), 'HIT',
         'entries survive URLs that spell memcached commands');

# The same query in another order: one entry (plain names, no ';').
my %same = (
    '/app/k?a=1&b=2&c=3'      => ['/app/k?c=3&a=1&b=2', '/app/k?b=2&c=3&a=1'],
    '/app/s?x=1&x=2&y=0'      => ['/app/s?y=0&x=1&x=2'],
);
for my $u (sort keys %same) {
    my $r = get($u);
    cache_is($r, 'MISS', "$u: MISS");
    for my $v (@{ $same{$u} }) {
        my $s = get($v);
        cache_is($s, 'HIT', "$v: the same entry as $u (HIT)");
        is(token($s), token($r), "$v: with its body");
    }
}
# The path is keyed as the client sent it (what a front controller's
# REQUEST_URI and a "ProxyPass nocanon" backend see): spellings that
# httpd decodes alike are entries of their own.  Safe, and only a miss.
my %spellings = (
    "/app/k/\xc3\xa9/u"       => ['/app/k/%C3%A9/u', '/app/k/%c3%a9/u'],
    '/app/k/%7Euser'          => ['/app/k/~user'],
    '/app/k;y'                => ['/app/k%3by', '/app/k%3By'],
);
for my $u (sort keys %spellings) {
    my $r = get($u);
    (my $show = $u) =~ s/([^\x20-\x7e])/sprintf '\\x%02x', ord $1/ge;
    cache_is($r, 'MISS', "$show: MISS");
    for my $v (@{ $spellings{$u} }) {
        my $s = get($v);
        cache_is($s, 'MISS', "$v: an entry of its own, not ${show}'s");
        isnt(token($s), token($r), "$v: with its own body");
        cache_is(get($v), 'HIT', "$v: then a HIT");
    }
}
# Repeated parameters keep their order: the sort is stable.
my $xy = get('/app/s?x=2&x=1&y=0');
cache_is($xy, 'MISS', 'x=2&x=1 is not the same query as x=1&x=2');

# What httpd itself refuses never comes from the cache.
for my $u ('/app/k%00x', '/app/k%00x?a=1', '/app/k%zz', '/app/k%2fx') {
    for my $i (1, 2) {
        my $r = get($u);
        isnt($r->{status}, 200, "$u ($i): refused by httpd ($r->{status})");
        isnt($r->{cache}, 'HIT', "$u ($i): never from the cache");
    }
}

$ap->stop(allow => [qr/AH10244: invalid URI path \(\/app\/k%zz\)/]);
$mc->stop;

# ---- what memcached saw ------------------------------------------------

my (@keys, @bad_lines, @errors);
my %keyed = map { $_ => 1 } qw(get gets set add replace append prepend cas
                               delete incr decr touch gat gats mg ms md ma);
for my $line (split /\n/, $mc->log_text) {
    push @errors, $line if $line =~ /^>\d+ .*ERROR/;
    next unless $line =~ /^<\d+ (.*)$/;
    my ($cmd, @args) = split / /, $1, -1;
    next if $cmd =~ /^(?:new|server|connection|quit|version|mn)$/;
    if (!$keyed{$cmd}) {
        push @bad_lines, $line;
        next;
    }
    if ($cmd =~ /^(?:get|gets)$/) {
        push @keys, @args;
    }
    elsif ($cmd =~ /^(?:gat|gats)$/) {
        push @keys, @args[1 .. $#args];
    }
    else {
        push @keys, $args[0];
    }
}
cmp_ok(scalar(grep { /^sc:e:/ } @keys), '>=', 2 * @distinct,
       'memcached saw the module\'s gets and sets (control)');
ok(scalar(grep { /^sc:c:/ } @keys), 'and chunk keys of the large body');
my @badkeys = grep { !/$KEY/ || length $_ > 250 } @keys;
ok(!@badkeys, 'every key memcached saw is <prefix>:<kind>:<40 hex>[:chunk], '
              . 'at most 250 bytes')
    or diag(join "\n", map { substr($_, 0, 120) } @badkeys[0 .. 9]);
ok(!@bad_lines, 'every command line memcached saw is a known command')
    or diag(join "\n", map { substr($_, 0, 120) } @bad_lines[0 .. 9]);
ok(!@errors, 'memcached answered no command with an error')
    or diag(join "\n", @errors[0 .. 9]);
done_testing;
