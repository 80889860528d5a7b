# What a response's handler said, a filter after it never takes back
# (README: "A filter adds variance and restrictions, never removes them").
# A Vary that mod_headers removes or rewrites ("Header unset Vary", "Header
# edit Vary", "Header set Vary", recipes for old browsers and CDNs) still
# keys the response: the key holds every name the handler's Vary listed
# and every name the client's lists.  Before, the key read only the final
# Vary, and a Django page with Vary: Cookie was served to every client as
# the first one's (outside-attack round 48 F1); also for an SSI fragment
# whose location unsets its Vary, which keys the page that includes it.
# And a response its handler made personal (Cache-Control private or
# no-store, Set-Cookie, Vary: *) is never stored, nor does it make an ESI
# page public, where "Header set Cache-Control public" or "Header unset
# Set-Cookie" hides it from the client.  What the handler said is noted
# before any filter, when a fragment is served from the cache, and again
# when a 304 makes the stored response the response (round 50 F1); an
# X-SharedCache-Vary that was there before the handler ran ("Header
# early") narrows nothing (round 50 F2); an assembled ESI page's Vary
# holds its includes' handlers' (round 50 F3).  Control: SharedCache Off,
# each client its own page.
use strict;
use warnings;
use Test::More;
use SCTest;

my $conf = <<'CONF';
<Directory @DIR@/htdocs>
    Options +Includes
    AddOutputFilter INCLUDES .shtml
</Directory>
<Location />
    SharedCache @SC@
    SharedCacheTTL 60
</Location>
<Location /app/unset>
    Header unset Vary
</Location>
<Location /app/edit>
    Header edit Vary "(?i)\s*cookie\s*,?\s*" ""
</Location>
<Location /app/set>
    Header set Vary Accept-Encoding
</Location>
<Location /app/quick>
    SharedCacheQuickHandler On
    Header unset Vary
</Location>
<Location /app/frag>
    Header unset Vary
</Location>
<Location /app/pub>
    Header set Cache-Control "public, max-age=600"
</Location>
<Location /app/nocookie>
    Header unset Set-Cookie
    Header unset Set-Cookie2
</Location>
<Location /app/novary>
    Header unset Vary
</Location>
<Location /app/esi>
    SharedCacheESI On
</Location>
<Location /app/narrow>
    Header set X-SharedCache-Vary "cookie=lang"
</Location>
<Location /themed.shtml>
    SharedCacheVaryByHeader X-Theme
</Location>
<Location /revalidated.shtml>
    SharedCacheKeep 60
</Location>
<Location /app/frag/revalidated>
    SharedCacheKeep 60
</Location>
CONF

my $inc = "<!--#include virtual=\"/app/frag/x?vary=Cookie&reflect=Cookie\" -->";
my %files = ('page.shtml' => "<html>page $inc end\n",
             'themed.shtml' => "<html>themed $inc end\n",
             'revalidated.shtml' => "<html>revalidated <!--#include virtual="
             . "\"/app/frag/revalidated?vary=Cookie&reflect=Cookie&cond=1"
             . "&etag=%22e1%22&cc=max-age%3D1\" --> end\n");
my $page = '/page?vary=Cookie&reflect=Cookie';

sub reflected { ($_[0]{body} =~ /reflected=(\S*)/)[0] // '' }

my $mc = SCTest::Memcached->start;
for my $sc ('On', 'Off') {
    (my $c = $conf) =~ s/\@SC\@/$sc/g;
    my $ap = SCTest::Apache->start(memcached => [$mc],
                                   modules => [qw(headers include)],
                                   files => \%files, conf => $c);
    for my $where (qw(unset edit set quick)) {
        my $u = "/app/$where$page";
        my $a1 = $ap->raw(GET => $u, Cookie => 'sessionid=ALICE');
        my $a2 = $ap->raw(GET => $u, Cookie => 'sessionid=ALICE');
        my $b = $ap->raw(GET => $u, Cookie => 'sessionid=BOB');
        my $anon = $ap->raw(GET => $u);
        is(reflected($a2), 'sessionid=ALICE', "[$sc] $where: Alice's own page");
        is(reflected($b), 'sessionid=BOB', "[$sc] $where: Bob gets his own page");
        is(reflected($anon), '', "[$sc] $where: an anonymous client gets no one's page");
        if ($sc eq 'On') {
            is($a2->{headers}{'x-sharedcache'}, 'HIT',
               "$where: still cached, per cookie");
            unlike($b->{headers}{vary} // '', qr/cookie/i,
                   "$where: the client's Vary is the one the rule made");
        }
    }
    # the application's Vary: Cookie is narrowed by its own
    # X-SharedCache-Vary only, never by one a filter sets (round 49 F2)
    for my $u ('/app/narrow/p?vary=Cookie&reflect=Cookie',
               '/app/narrow/q?vary=Cookie&reflect=Cookie'
               . '&hdr=X-SharedCache-Vary:cookie%3Dsessionid') {
        $ap->raw(GET => $u, Cookie => 'sessionid=ALICE; lang=en') for 1 .. 2;
        my $b = $ap->raw(GET => $u, Cookie => 'sessionid=BOB; lang=en');
        like(reflected($b), qr/^sessionid=BOB/,
             "[$sc] $u: a filter's X-SharedCache-Vary narrows nothing");
    }

    # personal by its handler's word, public by the filter's
    for my $case (['/app/pub/p?cc=private', 'private'],
                  ['/app/pub/p?cc=no-store', 'no-store'],
                  ['/app/nocookie/p?cookie=1', 'set-cookie'],
                  ['/app/novary/p?vary=*', 'vary-star']) {
        my ($path, $detail) = @$case;
        my $u = "$path&reflect=X-User";
        my $a1 = $ap->raw(GET => $u, 'X-User' => 'alice');
        my $a2 = $ap->raw(GET => $u, 'X-User' => 'alice');
        my $b = $ap->raw(GET => $u, 'X-User' => 'bob');
        is(reflected($b), 'bob', "[$sc] $path: Bob gets his own page");
        next if $sc ne 'On';
        isnt($a2->{headers}{'x-sharedcache'}, 'HIT', "$path: never stored");
        like($a1->{headers}{'cache-status'} // '', qr/detail=\Q$detail\E/,
             "$path: Cache-Status says why ($detail)");
        unlike($a1->{headers}{'cache-control'} // '', qr/private|no-store/,
               "$path: the client is told what the filter made")
            if $path =~ m{/pub/};
        ok(!$a1->{headers}{'set-cookie'}, "$path: and gets no cookie")
            if $path =~ m{/nocookie/};
    }
    # the filter's freshness still counts where the handler said nothing
    # personal (t/filters.t: a max-age set by mod_headers)
    $ap->raw(GET => '/app/pub/fresh');
    is($ap->raw(GET => '/app/pub/fresh')->{headers}{'x-sharedcache'}, 'HIT',
       'a public page, max-age by mod_headers: stored') if $sc eq 'On';
    # an ESI include its handler made private: the page is private too
    my $page = esi_page('/app/esi/page', 'P[' . esi_inc('/app/pub/frag?cc=private&reflect=X-User') . ']',
                        '&cc=max-age%3D600');
    my $e = $ap->raw(GET => $page, 'X-User' => 'alice');
    like($e->{body}, qr/reflected=alice/, "[$sc] ESI: the page holds Alice's fragment");
    like($e->{headers}{'cache-control'} // '', qr/private/,
         "[$sc] ESI: and is private to her") if $sc eq 'On';
    # an ESI include whose Vary a filter removed: the page still says it
    my $v = $ap->raw(GET => esi_page('/app/esi/varied', 'V[' . esi_inc(
        '/app/frag/v?vary=Cookie&reflect=Cookie&cc=max-age%3D60') . ']',
        '&cc=max-age%3D600'), Cookie => 'sessionid=ALICE');
    like($v->{body}, qr/reflected=sessionid=ALICE/, "[$sc] ESI: Alice's fragment");
    like($v->{headers}{vary} // '', qr/cookie/i,
         "[$sc] ESI: the page's Vary names what its include's handler said")
        if $sc eq 'On';

    # an SSI page, its fragment's location unsetting the fragment's Vary
    my $p1 = $ap->raw(GET => '/page.shtml', Cookie => 'sessionid=ALICE');
    my $p2 = $ap->raw(GET => '/page.shtml', Cookie => 'sessionid=ALICE');
    my $pb = $ap->raw(GET => '/page.shtml', Cookie => 'sessionid=BOB');
    like($p2->{body}, qr/reflected=sessionid=ALICE/, "[$sc] SSI: Alice's page");
    like($pb->{body}, qr/reflected=sessionid=BOB/,
         "[$sc] SSI: Bob's page holds his own fragment");
    is($p2->{headers}{'x-sharedcache'}, 'HIT', 'SSI: the page is cached')
        if $sc eq 'On';
    # the fragment served from the cache while the page renders (the page
    # keys on a header its fragment does not): the stored fragment's Vary
    # keys the page (round 49 F1)
    my %t;
    for my $s (['alice-dark', 'sessionid=ALICE', 'dark'],
               ['alice-light', 'sessionid=ALICE', 'light'],
               ['bob-light', 'sessionid=BOB', 'light'],
               ['anon-light', undef, 'light']) {
        my ($n, $ck, $theme) = @$s;
        $t{$n} = $ap->raw(GET => '/themed.shtml', 'X-Theme' => $theme,
                          ($ck ? (Cookie => $ck) : ()));
    }
    like($t{'bob-light'}{body}, qr/reflected=sessionid=BOB/,
         "[$sc] SSI, fragment a hit: Bob's page holds his own fragment");
    like($t{'anon-light'}{body}, qr/reflected=\n/,
         "[$sc] SSI, fragment a hit: an anonymous page holds nobody's");
    # a fragment revalidated (its 304 names no Vary) while the page renders
    $ap->raw(GET => '/revalidated.shtml', Cookie => 'sessionid=ALICE');
    sleep 3; # both stale (the fragment's max-age=1 bounds the page's)
    my $ra = $ap->raw(GET => '/revalidated.shtml', Cookie => 'sessionid=ALICE');
    my $rb = $ap->raw(GET => '/revalidated.shtml', Cookie => 'sessionid=BOB');
    like($ra->{body}, qr/reflected=sessionid=ALICE/, "[$sc] 304: Alice's page");
    like($rb->{body}, qr/reflected=sessionid=BOB/,
         "[$sc] 304: Bob's page holds his own fragment");
    # the quick <Location> unsets Vary: nothing of it is a quick hit
    $ap->stop(allow => [qr/SC0118: .*the Header at/]);
}

# "Header ... early" (server context only) sets a response field before
# the handler runs: not the application's word
for my $sc ('On', 'Off') {
    my $ap = SCTest::Apache->start(memcached => [$mc], modules => ['headers'],
                                   conf => <<"CONF");
Header set X-SharedCache-Vary "cookie=lang" early
<Location />
    SharedCache $sc
    SharedCacheTTL 60
</Location>
CONF
    my $u = '/app/early/p?vary=Cookie&reflect=Cookie';
    $ap->raw(GET => $u, Cookie => 'sessionid=ALICE; lang=en') for 1 .. 2;
    like(reflected($ap->raw(GET => $u, Cookie => 'sessionid=BOB; lang=en')),
         qr/^sessionid=BOB/,
         "[$sc] an X-SharedCache-Vary set before the handler narrows nothing");
    $ap->stop;
}
done_testing;
