# An ESI page whose include is itself an ESI page (a subrequest), each
# with includes taken without a subrequest (sc_incdirect.c): each page's
# direct includes are made like that page's own first one
# (sc_build_key_like), and a thread's memo of such keys serves both pages,
# in either order.  Every include must still get its own fragment: the
# outer page's and the inner page's includes of the same paths with other
# queries, of the same URLs, and the inner page asked for alone.
use strict;
use warnings;
use JSON::PP qw(decode_json);
use Test::More;
use URI::Escape qw(uri_escape);
use SCTest;

my $mc = SCTest::Memcached->start;
my $ap = SCTest::Apache->start(memcached => [$mc], conf => <<'CONF');
LogLevel warn sharedcache:info
<Location /app>
    SharedCache On
    SharedCacheTTL 60
    SharedCacheESI On
</Location>
<Location /app/frag>
    SharedCacheQuickHandler On
</Location>
<Location /sc-status>
    SetHandler sharedcache-status
</Location>
CONF

# (no TOKEN in a fragment's text: the app would put the page's own render
# token into the sources of the page that includes it)
sub frag { my ($name, $path) = @_; "/app/frag/$path?text=" . uri_escape("<$name>") }

# inner page: i0, i1 (same path as the outer page's o0, another query),
# and o1's very URL
my $o1 = frag('o1', 'b');
my $inner = esi_page('/app/inner/p',
    join('', map { '[' . esi_inc($_) . ']' } frag('i0', 'x'), frag('i1', 'a'), $o1));
my $outer = esi_page('/app/outer/p',
    join('', map { '[' . esi_inc($_) . ']' } frag('o0', 'a'), $o1, $inner, frag('o2', 'c')));

my $want_inner = [qw(i0 i1 o1)];
my $want_outer = [qw(o0 o1 i0 i1 o1 o2)];

sub names { my ($body) = @_; [ $body =~ /\[<(\w+)>\]/g ] }

my $direct = sub { decode_json($ap->get('/sc-status?json')->{body})->{esi_direct} // 0 };
my (%first, $d0);
for my $round (1 .. 4) {
    # the inner page alone first in odd rounds, after the outer in even
    my @order = $round % 2 ? ('inner', 'outer') : ('outer', 'inner');
    $d0 = $direct->() if $round == 4;
    for my $which (@order) {
        my $r = $ap->get($which eq 'inner' ? $inner : $outer);
        is($r->{status}, 200, "round $round, $which page: 200");
        is_deeply(names($r->{body}), $which eq 'inner' ? $want_inner : $want_outer,
                  "round $round, $which page: each include its own fragment, in order");
        $first{$which} //= $r->{body};
        is($r->{body}, $first{$which}, "round $round, $which page: as first assembled");
    }
}
# the last round: the outer page's 3 direct includes and the inner page's
# 3 (twice: alone and inside the outer page)
is($direct->() - $d0, 9, 'the last round: every fragment taken without a subrequest');
is($ap->renders('/app/frag/a'), 2, 'the path of o0 and i1: one render per query');
is($ap->renders('/app/frag/b'), 1, 'o1, in both pages and the inner page alone: one entry, rendered once');
is($ap->renders('/app/frag/x'), 1, 'i0: rendered once');
is($ap->renders('/app/frag/c'), 1, 'o2: rendered once');
$ap->stop;
done_testing;
