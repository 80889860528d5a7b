# An ESI include is kept whole until the page is sent (a failing include
# must fail the page before any byte of it goes out), so it is bounded:
# one larger than 16 MB fails, like a broken one (its alt, onerror=
# "continue" or the page's 502), and the render is stopped rather than
# read to its end.  Before, a fragment of any size (a download included
# by mistake, an endless stream) was held whole in the child.  Every
# include counts, however it is made: rendered, a hit, taken from
# memcached directly (quick mode), an SSI page's own includes; so a page
# fails alike cold and warm (found by the outside attack: a page of
# cached fragments was held whole, 400 MB for 100 of 4 MB).
use strict;
use warnings;
use Test::More;
use SCTest;

my $mc = SCTest::Memcached->start;
my $ap = SCTest::Apache->start(memcached => [$mc], modules => ['include'],
    files => { 'wrap.shtml' => qq{<!--#include virtual="/app/frag/ssi?size=10&stream=200" -->\n} },
    conf => <<'CONF');
<Location /app>
    SharedCache On
    SharedCacheTTL 60
    SharedCacheESI On
</Location>
<Location /app/quick>
    SharedCacheQuickHandler On
</Location>
<Directory @DIR@/htdocs>
    Options +Includes
    AddType text/html .shtml
    AddOutputFilter INCLUDES .shtml
</Directory>
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
# Cached fragments of 4 MB: five of them are 20 MB, cold or warm, taken
# by a subrequest (a hit) or directly from memcached.
for my $loc ('/app/frag', '/app/quick') {
    my $src = "$loc/four?size=4000000";
    my $five = join '', map { esi_inc($src) } 1 .. 5;
    for my $visit (1 .. 2) {
        my $r = $ap->raw(GET => esi_page("/app/five$loc", "<h1>s</h1>$five<p>e</p>"));
        is($r->{status}, 502, "$loc: five fragments of 4 MB fail the page (visit $visit)");
    }
    is($ap->renders("$loc/four"), 1, "$loc: ... the fragment was stored and hit");
    my $r = $ap->raw(GET => esi_page("/app/three$loc",
                                     '<h1>s</h1>' . esi_inc($src) x 3 . '<p>e</p>'));
    is(length($r->{body}), 10 + 3 * 4_000_000 + 8, "$loc: three of them go in");
}
# An SSI page's own include of a 20 MB stream, in an ESI page.
$r = page('/wrap.shtml');
is($r->{status}, 502, 'an SSI page that includes 20 MB fails the ESI page');
like($ap->error_log, qr/SC0517/, 'the error log says why');
$ap->stop(allow => [qr/SC0517|SC0509|unable to include/]);
done_testing;
