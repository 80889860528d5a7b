# A client that accepts no stored coding (curl, a monitor, wrk) gets an
# entry stored gzip'd decoded; the child keeps its last decoded bodies
# (src/sc_unzipped.h) and a hit of the very same stored bytes takes the
# kept body instead of inflating again.  The body is shared between hits
# by reference: whatever happens to one response (a Range, mod_substitute
# rewriting it, another entry taking the slot, threads of the event MPM
# writing it at once) every identity client gets the entry's own bytes.
use strict;
use warnings;
use IO::Uncompress::Gunzip qw(gunzip $GunzipError);
use HTTP::Tiny;
use JSON::PP qw(decode_json);
use POSIX ();
use Test::More;
use SCTest;

my $mc = SCTest::Memcached->start;
my $ap = SCTest::Apache->start(memcached => [$mc],
                               modules => ['filter', 'deflate', 'substitute'],
                               conf => <<'CONF');
LogLevel warn sharedcache:info
AddOutputFilterByType DEFLATE text/html text/plain text/xml text/css
<Location /app>
    SharedCache On
    SharedCacheTTL 60
</Location>
<Location /app/subst>
    AddOutputFilterByType SUBSTITUTE text/html
    Substitute "s/a/Z/"
    # mod_substitute drops the length: stored as rewritten only without it
    SharedCacheRequireLength Off
</Location>
<Location /sc-status>
    SetHandler sharedcache-status
</Location>
CONF

sub h { my ($r, $n) = @_; my $v = $r->{headers}{lc $n}; ref $v ? join(', ', @$v) : $v // '' }

sub counters {
    my $s = decode_json($ap->get('/sc-status?json')->{body});
    return ($s->{decoded} // -1, $s->{decoded_reused} // -1);
}

# 1. Twenty entries (more than a child's slots), each read by identity
#    clients in interleaved rounds: always the body first rendered.
my (%first, @urls);
for my $i (1 .. 20) {
    my $u = "/app/page/$i?size=" . (3000 + 500 * $i);
    push @urls, $u;
    my $r = $ap->get($u);
    is($r->{status}, 200, "$u: rendered");
    $first{$u} = $r->{body};
}
my $gz = $ap->get($urls[0], 'Accept-Encoding' => 'gzip');
is(h($gz, 'content-encoding'), 'gzip', 'the entry is stored gzip-coded (a gzip client gets it as stored)');
my ($d0, $r0) = counters();
my $wrong = 0;
for my $round (1 .. 3) {
    for my $u (@urls) {
        my $r = $ap->get($u);
        $wrong++ unless $r->{status} == 200 && h($r, 'x-sharedcache') eq 'HIT'
                        && h($r, 'content-encoding') eq '' && $r->{body} eq $first{$u};
    }
}
is($wrong, 0, 'identity hits of 20 entries, 3 interleaved rounds: every body the one rendered');
my ($d1, $r1) = counters();
cmp_ok($d1 + $r1 - $d0 - $r0, '>=', 60, 'each of those hits was decoded or took a kept body');
cmp_ok($r1 - $r0, '>', 0, 'hits took bodies their child had decoded from the same bytes (decoded_reused)');

# 2. The same entry, one hit after another: the later ones reuse.
my $u = $urls[3];
my ($d2, $r2) = counters();
for (1 .. 5) { $ap->get($u) }
my ($d3, $r3) = counters();
cmp_ok($r3 - $r2, '>=', 3, 'five hits of one entry in a row: at least three took the kept body');

# 3. A Range of an identity hit, then the whole body: each its own bytes.
my $range = $ap->get($u, Range => 'bytes=100-199');
is($range->{status}, 206, 'Range of an identity hit: 206');
is($range->{body}, substr($first{$u}, 100, 100), 'the 100 bytes asked for');
my $after = $ap->get($u);
is($after->{body}, $first{$u}, 'the whole body after the Range: unchanged');

# 4. mod_substitute rewrites the page of /app/subst before it is stored:
#    every identity hit (a kept body) is the rewritten page.
my $s1 = $ap->get('/app/subst/p?size=6000');
like($s1->{body}, qr/Z/, 'substitute: the rendered page rewritten');
unlike($s1->{body}, qr/a/, 'substitute: no "a" left');
for my $n (1 .. 4) {
    my $s = $ap->get('/app/subst/p?size=6000');
    is(h($s, 'x-sharedcache'), 'HIT', "substitute, hit $n: HIT");
    is($s->{body}, $s1->{body}, "substitute, hit $n: the same rewritten bytes");
}

# 5. A body above what a child keeps (256 KiB): decoded per hit, right.
my $big = '/app/page/big?size=300000';
my $b0 = $ap->get($big);
my ($d4, $r4) = counters();
for (1 .. 3) {
    my $r = $ap->get($big);
    is($r->{body}, $b0->{body}, 'a body of 300,000 bytes: identity hit as rendered');
}
my ($d5, $r5) = counters();
is($r5 - $r4, 0, 'a body above 256 KiB is never kept');
is($d5 - $d4, 3, '... and decoded at each hit');

# 6. Many clients at once on three entries (the event MPM's threads share
#    a child's kept bodies): each reads its entry's bytes.
my @three = @urls[0 .. 2];
my @kids;
for my $k (1 .. 4) {
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        my $ua = HTTP::Tiny->new(timeout => 30, keep_alive => 1);
        my $bad = 0;
        for my $i (1 .. 60) {
            my $v = $three[($i + $k) % 3];
            my $r = $ua->get($ap->url($v));
            $bad++ unless $r->{status} == 200 && $r->{content} eq $first{$v};
        }
        POSIX::_exit($bad ? 1 : 0);
    }
    push @kids, $pid;
}
my $kids_bad = 0;
for (@kids) { waitpid($_, 0); $kids_bad++ if $? }
is($kids_bad, 0, 'four clients at once, 60 hits each on three entries: every body right');

# The gzip client's body decodes to the same bytes.
my $plain;
gunzip(\$gz->{body} => \$plain) or die $GunzipError;
is($plain, $first{$urls[0]}, 'the gzip form decodes to the identity body');

$ap->stop;
done_testing;
