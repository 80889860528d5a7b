# SharedCacheKeepDecoded: what each child keeps of the bodies it decoded
# for identity clients (src/sc_unzipped.h) stays within the size given,
# and Off keeps nothing: under prefork every process is a child, and 150
# of them keeping 4 MiB each would hold 600 MiB.  A body above the size
# is decoded at each hit; with Off every identity hit decodes.  Bodies are
# right either way.
use strict;
use warnings;
use JSON::PP qw(decode_json);
use Test::More;
use SCTest;

my $mc = SCTest::Memcached->start;

sub h { my ($r, $n) = @_; my $v = $r->{headers}{lc $n}; ref $v ? join(', ', @$v) : $v // '' }

sub counters {
    my ($ap) = @_;
    my $s = decode_json($ap->get('/sc-status?json')->{body});
    return ($s->{decoded} // -1, $s->{decoded_reused} // -1);
}

# Identity hits of $u, $n times: how many decoded, how many took a kept
# body; every body the one rendered.
sub hits {
    my ($ap, $u, $n, $first) = @_;
    my ($d0, $r0) = counters($ap);
    my $wrong = 0;
    for (1 .. $n) {
        my $r = $ap->get($u);
        $wrong++ unless $r->{status} == 200 && h($r, 'x-sharedcache') eq 'HIT'
                        && h($r, 'content-encoding') eq '' && $r->{body} eq $first;
    }
    my ($d1, $r1) = counters($ap);
    return ($wrong, $d1 - $d0, $r1 - $r0);
}

sub apache {
    my ($keep) = @_;
    return SCTest::Apache->start(memcached => [$mc],
                                 conf => <<"CONF");
LogLevel warn
SharedCacheKeepDecoded $keep
<Location /app>
    SharedCache On
    SharedCacheTTL 60
    SharedCacheNamespace keep-$keep
</Location>
<Location /sc-status>
    SetHandler sharedcache-status
</Location>
CONF
}

# 1. 64K a child: a page of 20,000 bytes is kept, one of 100,000 is not.
{
    my $ap = apache('64K');
    my %first;
    for my $u ('/app/small?size=20000', '/app/big?size=100000') {
        my $r = $ap->get($u);
        is($r->{status}, 200, "64K: $u rendered");
        $first{$u} = $r->{body};
        is(h($ap->get($u, 'Accept-Encoding' => 'gzip'), 'content-encoding'), 'gzip',
           "64K: $u is stored gzip-coded");
    }
    my ($wrong, $dec, $reused) = hits($ap, '/app/small?size=20000', 24, $first{'/app/small?size=20000'});
    is($wrong, 0, '64K: 24 identity hits of 20,000 bytes, every body right');
    cmp_ok($reused, '>=', 12, "64K: the 20,000 bytes are kept ($reused of 24 hits took them, $dec decoded)");
    ($wrong, $dec, $reused) = hits($ap, '/app/big?size=100000', 12, $first{'/app/big?size=100000'});
    is($wrong, 0, '64K: 12 identity hits of 100,000 bytes, every body right');
    is($reused, 0, '64K: 100,000 bytes, more than a child keeps, never kept');
    is($dec, 12, '64K: ... decoded at each hit');
    $ap->stop;
}

# 2. 64K, room for one page of 40,000 bytes: a page taken again and again
# keeps its room against pages each read once (a crawler's walk): each
# newcomer is decoded for its hit, the hot page stays kept.
{
    my $ap = apache('64K');
    my $hot = '/app/hot?size=40000';
    my $first = $ap->get($hot)->{body};
    my ($wrong, $dec, $reused) = hits($ap, $hot, 2, $first);
    my ($w, $d, $r, $once_wrong) = (0, 0, 0, 0);
    for my $i (1 .. 24) {
        my $u = "/app/once-$i?size=40000";
        my $body = $ap->get($u)->{body};
        my ($ow) = hits($ap, $u, 1, $body);
        $once_wrong += $ow;
        my @c = hits($ap, $hot, 1, $first);
        $w += $c[0]; $d += $c[1]; $r += $c[2];
    }
    is($w + $once_wrong, 0, '64K: 24 pages read once between hits of a hot page, every body right');
    cmp_ok($r, '>=', 20, "64K: the hot page stays kept ($r of 24 hits took it, $d decoded)");
    # what the children keep is on the status page: at least the hot
    # page (its body and gzip form), at most 64K for each live child
    my $s = decode_json($ap->get('/sc-status?json')->{body});
    my $kept = $s->{decoded_kept_bytes} // -1;
    my $children = $s->{decoded_kept_children} // -1;
    cmp_ok($kept, '>', 40000, "status: decoded_kept_bytes $kept holds the hot page");
    cmp_ok($children, '>=', 1, "status: decoded_kept_children $children");
    cmp_ok($kept, '<=', 65536 * $children, 'status: ... within 64K a child');
    like($ap->get('/sc-status?prometheus')->{body}, qr/^sharedcache_decoded_kept_bytes \Q$kept\E$/m,
         'status: the same in Prometheus (sharedcache_decoded_kept_bytes)');
    like($ap->get('/sc-status')->{body}, qr/decoded bodies kept.*\b\Q$kept\E\b/,
         'status: the same on the HTML page');
    $ap->stop;
}

# 3. Off: nothing kept, every identity hit decodes.
{
    my $ap = apache('Off');
    my $u = '/app/small?size=20000';
    my $first = $ap->get($u)->{body};
    my ($wrong, $dec, $reused) = hits($ap, $u, 12, $first);
    is($wrong, 0, 'Off: 12 identity hits, every body right');
    is($reused, 0, 'Off: no body kept');
    is($dec, 12, 'Off: each hit decoded');
    is(decode_json($ap->get('/sc-status?json')->{body})->{decoded_kept_bytes}, 0,
       'Off: status decoded_kept_bytes 0');
    $ap->stop;
}

done_testing;
