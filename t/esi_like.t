# A page's direct includes (sc_incdirect.c) differ by their URL alone: the
# first include's key gives the others what holds no URL
# (sc_build_key_like).  Each include must still get exactly the key the
# quick handler makes for its own URL: its own path and query, and where
# an expression of the key reads the URL, a key made whole.
use strict;
use warnings;
use JSON::PP qw(decode_json);
use Test::More;
use URI::Escape qw(uri_escape);
use SCTest;

my $mc = SCTest::Memcached->start;

sub server {
    my ($vhost_rules, $n) = @_;
    return SCTest::Apache->start(memcached => [$mc], conf => <<CONF);
LogLevel warn sharedcache:info
SharedCachePrefix like$n
$vhost_rules
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
}

# Five fragments, two of them the same path with another query, one a
# path of its own under another directory.
my @srcs = map { "/app/frag/f$_?text=" . uri_escape("<f$_ token=TOKEN>") } 0 .. 2;
push @srcs, "/app/frag/f0?text=" . uri_escape("<f3 token=TOKEN>"),
            "/app/frag/deeper/f4?text=" . uri_escape("<f4 token=TOKEN>");
my $page = esi_page('/app/page/five', join('', map { '[' . esi_inc($_) . ']' } @srcs));

sub check_visits {
    my ($ap, $what) = @_;
    my $direct = sub { decode_json($ap->get('/sc-status?json')->{body})->{esi_direct} // 0 };
    my ($first, $before);
    for my $round (1 .. 3) {
        $before = $direct->() if $round == 3;
        my $r = $ap->get($page);
        my @parts = $r->{body} =~ /\[<(f\d) token=(\w+)>\]/g;
        is_deeply([@parts[map { 2 * $_ } 0 .. 4]], [map { "f$_" } 0 .. 4],
                  "$what, visit $round: each include its own fragment, in order");
        $first //= $r->{body};
        is($r->{body}, $first, "$what, visit $round: the page as first assembled");
    }
    is($direct->() - $before, 5,
       "$what: the last visit's five includes were served without a subrequest");
    is($ap->renders('/app/frag/f0'), 2, "$what: f0 rendered once per query");
    is($ap->renders("/app/frag/f$_"), 1, "$what: f$_ rendered once") for 1, 2;
    is($ap->renders('/app/frag/deeper/f4'), 1, "$what: f4 rendered once");
}

my $ap = server('', 1);
check_visits($ap, 'plain');

# Each thread remembers the keys it made like another (the same first
# include, the same source): a page asked for with another Host, or
# whose first include is another, never gets the keys made for the
# other.  Alternating visits (enough of them that threads and processes
# serve both hosts), each with its own Host in the fragment.
{
    my $echo = '/app/frag/host?reflect=Host';
    my $twice = esi_page('/app/page/hosts', '[' . esi_inc($echo) . ']['
                         . esi_inc("$echo&second=1") . ']');
    my $other = esi_page('/app/page/hosts2', '[' . esi_inc('/app/frag/first')
                         . '][' . esi_inc("$echo&second=1") . ']');
    my (@wrong, $pages);
    for my $round (1 .. 20) {
        for my $host ('a.example', 'b.example') {
            for my $case ([$twice, [$host, $host]], [$other, [$host]]) {
                my $r = $ap->raw(GET => $case->[0], Host => $host);
                my @seen = $r->{body} =~ /reflected=(\S+)/g;
                $pages++;
                push @wrong, "visit $round, Host $host: @seen"
                    if "@seen" ne "@{$case->[1]}";
            }
        }
    }
    is_deeply(\@wrong, [], "$pages pages of two Hosts: each include its own");
}
$ap->stop;

# An expression of the virtual host's key that reads the URL: each
# include's own value, never the first include's.
$ap = server('SharedCacheVary "%{REQUEST_URI}"', 2);
check_visits($ap, 'SharedCacheVary reads the URL');
$ap->stop;

done_testing;
