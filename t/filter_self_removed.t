# A filter before the cache's copy that removes itself once it sees it has
# nothing to do for this request still read the request to decide so.
# mod_filter's FilterProvider picks its provider by an expression; where
# none holds (a client the expression does not select) the chain removes
# itself on its first call, before SHAREDCACHE_SAVE looks at the filters.
# The page it let through unchanged is one client's: stored, every other
# client would get it (an outsider the inside page, or an insider the
# redacted one).  Control: the same requests under "SharedCache Off".
use strict;
use warnings;
use Test::More;
use SCTest;

my $mc = SCTest::Memcached->start;
my $conf = <<'CONF';
<Location /app>
    SharedCache @MODE@
    SharedCacheTTL 60
</Location>
# outsiders (not 127.0.0.5) get the token redacted
FilterDeclare redact
FilterProvider redact SUBSTITUTE "! -R '127.0.0.5'"
# a header read without adding Vary
FilterDeclare staff
FilterProvider staff SUBSTITUTE "req_novary('X-Staff') != 'yes'"
<Location /app/internal>
    FilterChain redact
    Substitute "s/token=[0-9a-f]+/token=REDACTED/"
</Location>
<Location /app/staff>
    FilterChain staff
    Substitute "s/token=[0-9a-f]+/token=REDACTED/"
</Location>
CONF

sub redacted { $_[0]{body} =~ /token=REDACTED/ ? 'redacted' : 'raw' }

my %got;
for my $mode ('Off', 'On') {
    (my $c = $conf) =~ s/\@MODE\@/$mode/;
    my $ap = SCTest::Apache->start(memcached => [$mc],
                                   modules => [qw(substitute filter)],
                                   conf => $c);
    my $n = 0;
    for my $order ('inside-first', 'outside-first') {
        my @who = ([ inside => { _from => '127.0.0.5' }, 'internal' ],
                   [ outside => { _from => '127.0.0.6' }, 'internal' ],
                   [ staff => { 'X-Staff' => 'yes' }, 'staff' ],
                   [ public => {}, 'staff' ]);
        for my $pair ([ 0, 1 ], [ 2, 3 ]) {
            my @seq = map { $who[$_] } @$pair;
            @seq = reverse @seq if $order eq 'outside-first';
            $n++;
            for my $round (1, 2) {
                for my $w (@seq) {
                    my ($name, $h, $loc) = @$w;
                    my $r = $ap->raw(GET => "/app/$loc/report$n?cc=max-age%3D60",
                                     %$h);
                    $got{$mode}{"$order $name $round"} = redacted($r);
                    $got{cache}{"$order $name $round"} = $r->{cache}
                        if $mode eq 'On';
                }
            }
        }
    }
    $ap->stop;
}
is($got{Off}{"inside-first outside 1"}, 'redacted',
   'control: the outsider gets the redacted page');
is($got{Off}{"inside-first inside 1"}, 'raw', 'control: the insider gets the raw one');
for my $k (sort keys %{ $got{Off} }) {
    is($got{On}{$k}, $got{Off}{$k},
       "LEAK if failing: $k gets what it gets without the cache"
       . " (X-SharedCache: $got{cache}{$k})");
}
done_testing;
