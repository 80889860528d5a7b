# An ESI include is kept whole until the page is sent (a failing include
# must fail the page before any byte of it goes out), so it is bounded:
# one larger than 16 MB fails, like a broken one (its alt, onerror=
# "continue" or the page's 502), and the render is stopped rather than
# read to its end.  Before, a fragment of any size (a download included
# by mistake, an endless stream) was held whole in the child.
use strict;
use warnings;
use Test::More;
use SCTest;

my $mc = SCTest::Memcached->start;
my $ap = SCTest::Apache->start(memcached => [$mc], conf => <<'CONF');
<Location /app>
    SharedCache On
    SharedCacheTTL 60
    SharedCacheESI On
</Location>
CONF

my $n = 0;
sub page {
    my ($src, $attrs) = @_;
    $n++;
    return $ap->raw(GET => esi_page("/app/page/$n",
                                    '<h1>s</h1>' . esi_inc($src, $attrs)
                                    . '<p>e</p>'));
}

for my $big ('/app/frag/stream?size=10&stream=200',    # 20 MB, no length
             '/app/frag/sized?size=17000000') {        # 17 MB with its length
    my $r = page($big);
    is($r->{status}, 502, "$big: a fragment above 16 MB fails the page");
    cmp_ok(length($r->{body}), '<', 100_000, '... none of it is sent');
    $r = page($big, ' onerror="continue"');
    is($r->{status}, 200, '... onerror=continue: the page');
    ok($r->{body} eq '<h1>s</h1><p>e</p>', '... without the fragment');
}
my $r = page('/app/frag/fits?size=10&stream=40');
is($r->{status}, 200, 'a fragment of 4 MB goes in');
is(length($r->{body}), 10 + 10 + 4_000_000 + 8, '... all of it');
like($ap->error_log, qr/SC0517/, 'the error log says why');
$ap->stop(allow => [qr/SC0517|SC0509/]);
done_testing;
