# A fragment the application broke off mid-stream.  mod_wsgi's daemon
# mode (CGI, FastCGI alike) ends such a body like a whole one; the only
# sign is a body shorter than the Content-Length the application sent.
# Such an include failed: its alt, onerror="continue" or the page's 502
# apply, never a page with half a fragment.  The length is the one the
# application sent, checked before any filter (mod_substitute drops it).  Without a Content-Length
# nothing tells a cut body from a whole one: the fragment goes into this
# page as it came, and is not stored (SharedCacheRequireLength).
use strict;
use warnings;
use Test::More;
use SCTest;

my $mc = SCTest::Memcached->start;
my $ap = SCTest::Apache->start(memcached => [$mc],
                               modules => [qw(substitute filter)],
                               conf => <<'CONF');
<Location /app>
    SharedCache On
    SharedCacheTTL 60
    SharedCacheESI On
</Location>
<Location /app/quick>
    SharedCacheQuickHandler On
</Location>
# A filter that rewrites bodies drops the length the application sent.
<Location /app/subst>
    AddOutputFilterByType SUBSTITUTE text/html
    Substitute "s/x/xy/"
</Location>
CONF

# 100 bytes, then two pieces of 100,000: 200,100 bytes when whole.
my $whole = 'size=100&stream=2&hdr=Content-Length:200100';
my $n = 0;
sub page {
    my ($src, $attrs) = @_;
    $n++;
    return $ap->raw(GET => esi_page("/app/page/$n",
                                    '<h1>s</h1>' . esi_inc($src, $attrs)
                                    . '<p>e</p>'));
}

for my $loc ('/app/frag', '/app/quick') {
    my $cut = "$loc/cut?$whole&crash=1";
    my $r = page($cut);
    is($r->{status}, 502, "$loc: a cut fragment fails the page");
    unlike($r->{body}, qr/x{1000}/, "$loc: none of the fragment is sent");
    $r = page($cut, ' onerror="continue"');
    is($r->{status}, 200, "$loc: onerror=continue: the page");
    is($r->{body}, '<h1>s</h1><p>e</p>', "$loc: ... without the fragment");
    $r = page($cut, qq{ alt="$loc/alt?size=50"});
    is($r->{status}, 200, "$loc: with alt: the page");
    is(length($r->{body}), 10 + 50 + 8, "$loc: ... with the alt in its place");
    unlike($r->{body}, qr/x{1000}/, "$loc: ... and nothing of the cut one");

    # The same fragment whole: included, stored, the next page takes it
    # from the cache.
    my $ok = "$loc/whole?$whole";
    $r = page($ok);
    is($r->{status}, 200, "$loc: a whole streamed fragment with its length");
    is(length($r->{body}), 10 + 200100 + 8, "$loc: ... all of it");
    $r = page($ok);
    is(length($r->{body}), 10 + 200100 + 8, "$loc: ... again");
    is($ap->renders("$loc/whole"), 1, "$loc: ... rendered once");

    # A Content-Length longer than the whole body: as broken.
    $r = page("$loc/long?size=100&stream=2&hdr=Content-Length:200101");
    is($r->{status}, 502, "$loc: a body shorter than its length fails");

    # Without a Content-Length: taken as it came, never stored.
    my $nolen = "$loc/nolen?size=100&stream=2&crash=1";
    $r = page($nolen);
    is($r->{status}, 200, "$loc: without a length, the cut body goes in");
    is(length($r->{body}), 10 + 100100 + 8, "$loc: ... as it came");
    page($nolen);
    is($ap->renders("$loc/nolen"), 2, "$loc: ... and is not stored");
}

# The length is checked against what the application sent, before any
# filter: a cut fragment fails even where mod_substitute dropped its
# length, and a whole one that the filter made longer goes in.
{
    my $r = page("/app/subst/cut?$whole&crash=1");
    is($r->{status}, 502, 'mod_substitute on the fragment: a cut one fails');
    $r = page("/app/subst/whole?$whole");
    is($r->{status}, 200, 'mod_substitute on the fragment: a whole one');
    is(length($r->{body}), 10 + 100 + 2 * 200000 + 8,
       '... as the filter made it');
}

my @warn = $ap->error_log =~ /SC0514/g;
ok(@warn >= 6, 'each cut fragment is logged (SC0514)')
    or diag(scalar @warn);
# The application's failures mid-body are mod_wsgi's to log.
$ap->stop(allow => [qr/\[wsgi:error\]/, qr/SC0514/, qr/SC0509/]);
done_testing;
