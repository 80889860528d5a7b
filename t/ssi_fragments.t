# Pages assembled by mod_include from subrequests take the most
# restrictive decision of their parts (THREATS 35): a private fragment, a
# fragment that sets a cookie, bypassed the cache, failed or keys on what
# the page does not keeps the page out of the cache; a fragment's Vary
# keys the page.
use strict;
use warnings;
use Test::More;
use SCTest;

my %pages = (
    'public.shtml'  => '/app/frag?cc=max-age%3D60',
    'private.shtml' => '/app/frag?cc=private',
    'nostore.shtml' => '/app/frag?sc=no-store',
    'cookie.shtml'  => '/app/frag?cookie=1',
    'varies.shtml'  => '/app/frag?vary=Cookie',
    'lang.shtml'    => '/app/frag?vary=Accept-Language&reflect=Accept-Language'
                       . '&cc=max-age%3D60',
    'failed.shtml'  => '/app/frag?status=500',
    'user.shtml'    => '/app/peruser/frag',
    'bypass.shtml'  => '/app/anon/frag',
    # fresh for this cache by its Surrogate-Control only
    'targeted.shtml' => '/app/t0/frag?sc=max-age%3D60',
);
my %files = map {
    $_ => "<html>page $_ <!--#include virtual=\"$pages{$_}\" --> end\n"
} keys %pages;

my $mc = SCTest::Memcached->start;
my $ap = SCTest::Apache->start(memcached => [$mc], modules => ['include'],
                               files => \%files, conf => <<'CONF');
<Directory @DIR@/htdocs>
    Options +Includes
    AddOutputFilter INCLUDES .shtml
</Directory>
<Location />
    SharedCache On
    SharedCacheTTL 60
    SharedCachePurge On
</Location>
<Location /app/t0>
    SharedCacheTTL 0
</Location>
<Location /app/peruser>
    SharedCacheVaryByCookie sessionid
</Location>
<Location /app/anon>
    SharedCacheBypassCookie sessionid
</Location>
CONF

sub twice {
    my ($path, %h) = @_;
    my $a = $ap->get($path, %h);
    my $b = $ap->get($path, %h);
    return ($a, $b);
}

# A fragment's targeted freshness counts when the fragment is a hit as
# when it is rendered: the page rendered again (after a PURGE) around the
# stored fragment is stored again.
{
    my (undef, $t) = twice('/targeted.shtml');
    cache_is($t, 'HIT', 'a fragment fresh by its Surrogate-Control only '
             . 'lets the page be stored');
    $ap->request('PURGE', '/targeted.shtml');
    my ($m, $h) = twice('/targeted.shtml');
    is($ap->renders('/app/t0/frag'), 1, '... the fragment a hit after a PURGE '
       . 'of the page');
    cache_is($h, 'HIT', '... and the page stored again around it');
}

my ($a, $b) = twice('/public.shtml');
like($a->{body}, qr/page public.shtml .*token=/s, 'the page holds the fragment');
cache_is($b, 'HIT', 'a page whose fragments are public is stored');
is($b->{body}, $a->{body}, 'and served whole');

for my $case (['private.shtml', 'Cache-Control: private'],
              ['nostore.shtml', 'Surrogate-Control: no-store'],
              ['cookie.shtml', 'Set-Cookie'],
              ['failed.shtml', 'a 500']) {
    my ($page, $what) = @$case;
    ($a, $b) = twice("/$page");
    is($a->{status}, 200, "$page answers");
    isnt($b->{cache}, 'HIT', "a fragment with $what keeps the page out");
    isnt($b->{body}, $a->{body}, "$page: each visitor gets their own render");
}

# The fragment varies on Cookie: so does the page.
my ($alice1, $alice2) = twice('/varies.shtml', Cookie => 'sessionid=alice');
my $bob = $ap->get('/varies.shtml', Cookie => 'sessionid=bob');
my $anon = $ap->get('/varies.shtml');
cache_is($alice2, 'HIT', 'a page with a varying fragment is stored');
is($alice2->{body}, $alice1->{body}, 'per cookie');
isnt($bob->{body}, $alice1->{body}, 'another cookie never gets it');
isnt($anon->{body}, $alice1->{body}, 'nor a visitor without cookies');

# Any header a fragment's Vary names keys the page.  The client gets the
# page's own headers, which leave before its fragments run: the
# fragment's Vary is not added to them (README, "A page takes the most
# restrictive decision of its fragments").
my ($en1, $en2) = twice('/lang.shtml', 'Accept-Language' => 'en');
my ($de1, $de2) = twice('/lang.shtml', 'Accept-Language' => 'de');
cache_is($en2, 'HIT', 'a page whose fragment varies on Accept-Language is stored');
cache_is($de2, 'HIT', 'one entry per language');
like($en2->{body}, qr/reflected=en\b/, 'the en page holds the en fragment');
like($de1->{body}, qr/reflected=de\b/, 'another language never gets it');
like($de2->{body}, qr/reflected=de\b/, 'nor from the cache');
for ([MISS => $en1], [HIT => $en2]) {
    my ($what, $res) = @$_;
    unlike($res->{headers}{vary} // '', qr/accept-language/i,
           "$what: the fragment's Vary is not sent with the page's headers");
}

# The fragment's location keys on the session; the page's does not.
my ($u1, $u2) = twice('/user.shtml', Cookie => 'sessionid=alice');
$anon = $ap->get('/user.shtml');
isnt($u2->{cache}, 'HIT', 'a fragment keyed per user keeps the page out');
isnt($anon->{body}, $u1->{body}, 'the anonymous visitor never gets alice\'s');

# The fragment's location bypasses for sessions; the page's does not.
my ($s1) = twice('/bypass.shtml', Cookie => 'sessionid=alice');
$anon = $ap->get('/bypass.shtml');
isnt($anon->{body}, $s1->{body},
     'a fragment that bypassed the cache keeps the page out');
cache_is($anon, 'MISS', 'the anonymous visitor renders the page');

$ap->stop;
done_testing;
