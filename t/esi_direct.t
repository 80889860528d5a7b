# ESI includes served without a subrequest (sc_incdirect.c): where the
# fragment's location has SharedCacheQuickHandler On, a page takes a
# fresh fragment straight from the multi-get, exactly where any client
# asking for the fragment's URL would have got it from the quick handler.
# Everything else (a miss, a stale fragment, a location that is not quick,
# a fragment an anonymous client may not have, a fragment whose headers a
# filter changes, a client with credentials) is a subrequest as before.
use strict;
use warnings;
use JSON::PP qw(decode_json);
use MIME::Base64 qw(encode_base64);
use Test::More;
use Time::HiRes ();
use URI::Escape qw(uri_escape);
use SCTest;

my $mc = SCTest::Memcached->start;
my $ap = SCTest::Apache->start(memcached => [$mc], modules => ['headers', 'rewrite'],
                               conf => <<'CONF');
LogLevel warn sharedcache:info
SharedCacheVaryByCookie lang
# a maintenance switch: its condition reads the request's document root
<If "-f '%{DOCUMENT_ROOT}/maintenance.on'">
    Header set X-Maintenance on
</If>
# includes of /app/frag/sub are routed elsewhere ("the ESI version")
RewriteEngine On
RewriteCond %{IS_SUBREQ} true
RewriteRule ^/app/frag/sub/(.*)$ /app/esi-version/$1 [PT]
<Location /app>
    SharedCache On
    SharedCacheTTL 60
    SharedCacheESI On
</Location>
<Location /app/frag>
    SharedCacheQuickHandler On
</Location>
<Location /app/frag/short>
    SharedCacheTTL 3
</Location>
<Location /app/frag/hdr>
    Header set Cache-Control "no-store"
</Location>
<Location /sc-status>
    SetHandler sharedcache-status
</Location>
CONF

sub status { decode_json($ap->get('/sc-status?json')->{body}) }
sub direct { status()->{esi_direct} // 0 }
sub tokens { my @t = $_[0] =~ /token=(\w+)/g; [@t] }

# --- three fragments of a quick location: the second hit takes them
# straight from memcached ----------------------------------------------------
my $three = join '', map { esi_inc("/app/frag/d$_?text=" . uri_escape("[$_ token=TOKEN]")) } 0 .. 2;
my $p = esi_page('/app/page/three', "<p>$three</p>");
my $first = $ap->get($p);
is($first->{status}, 200, 'a page of three quick fragments answers');
like($first->{body}, qr{^<p>\[0 token=\w+\]\[1 token=\w+\]\[2 token=\w+\]</p>$},
     'assembled');
my $before = direct();
my $hit = $ap->get($p);
cache_is($hit, 'HIT', 'the shell is a hit');
is($hit->{body}, $first->{body}, 'the same page');
is(direct() - $before, 3, 'its three fragments were served without a subrequest');
is($ap->renders("/app/frag/d$_"), 1, "fragment $_ rendered once") for 0 .. 2;

# --- per visitor: the virtual host's variance keys a direct include -------
my $lp = esi_page('/app/page/lang', 'L' . esi_inc('/app/frag/lang?reflect=Cookie'));
my %got;
for my $round (1 .. 2) {
    for my $lang (qw(en fr)) {
        my $r = $ap->get($lp, Cookie => "lang=$lang");
        like($r->{body}, qr/reflected=lang=$lang\n/,
             "round $round: the $lang visitor gets the $lang fragment");
    }
}
is($ap->renders('/app/frag/lang'), 2, 'each variant rendered once');

# --- a stale fragment refreshes through a subrequest ----------------------
my $sp = esi_page('/app/page/short', 'S' . esi_inc('/app/frag/short/clock'));
# (times are whole seconds and memcached's clock ticks once a second: the
# first two requests start a second and the fragment lives 3 s, so a busy
# machine does not see it expire between them; a 1 s fragment did, once)
Time::HiRes::sleep(1 - (Time::HiRes::time() - int(Time::HiRes::time())));
my $s1 = $ap->get($sp);
$ap->get($sp);
sleep 4;
my $s2 = $ap->get($sp);
isnt(tokens($s2->{body})->[0], tokens($s1->{body})->[0],
     'a 3 s fragment is rendered again once expired');
is($ap->renders('/app/frag/short/clock'), 2, 'twice in all');

# --- an invalidated tag is checked on a direct include ---------------------
my $tp = esi_page('/app/page/tagged', 'T' . esi_inc('/app/frag/news?sk=news'));
my $t1 = $ap->get($tp);
$ap->get($tp);
$ap->get('/app/save?cc=no-store&inv=news');
my $t2 = $ap->get($tp);
isnt(tokens($t2->{body})->[0], tokens($t1->{body})->[0],
     'a fragment whose tag was invalidated is rendered again');
is($ap->renders('/app/frag/news'), 2, 'once more, and only once');

# --- an include routed as subrequests are: never what a client stored -----
my $rp = esi_page('/app/page/routed', 'R' . esi_inc('/app/frag/sub/a'));
like($ap->get($rp)->{body}, qr{^R<html><body>path=/esi-version/a }, 'an include routed elsewhere');
my $own = $ap->get('/app/frag/sub/a');
$ap->get('/app/frag/sub/a');
like($own->{body}, qr{path=/frag/sub/a }, 'a client asking for the URL itself gets its own page');
$before = direct();
like($ap->get($rp)->{body}, qr{^R<html><body>path=/esi-version/a },
     'the page still gets the include as its subrequest is routed');
is(direct() - $before, 0, 'what the client stored is not taken directly');

# --- a filter changes its headers: a subrequest, the page gets them --------
my $hp = esi_page('/app/page/hdr', 'H' . esi_inc('/app/frag/hdr/x?cc=max-age%3D60'));
$ap->get($hp);
$before = direct();
my $hh = $ap->get($hp);
is($hh->{headers}{'cache-control'}, 'no-store',
   'the Cache-Control a filter set on the fragment reaches the page');
is(direct() - $before, 0, 'the fragment was not taken directly');

# --- a location that is not quick: always a subrequest ---------------------
my $np = esi_page('/app/page/notquick', 'N' . esi_inc('/app/other/n'));
$ap->get($np);
$ap->get($np);
$before = direct();
my $n1 = $ap->get($np);
like($n1->{body}, qr{^N<html><body>path=/other/n token=\w+}, 'a fragment of a location that is not quick');
is(direct() - $before, 0, 'is never taken directly');
is($ap->renders('/app/other/n'), 1, 'and cached all the same');

# --- a client with credentials: subrequests ---------------------------------
$before = direct();
my $auth = $ap->get($p, Authorization => 'Basic ' . encode_base64('u:p', ''));
is(direct() - $before, 0, 'a request with Authorization takes nothing directly');

# --- a URL outside the quick locations: one lookup per hit ----------------
# (the quick handler runs for every URL of a virtual host with a quick
# location; it remembers an entry it may not serve and lets the normal
# handler ask)
sub calls { status()->{memcached_calls} }
$ap->get('/app/other/plain') for 1 .. 5;
my @c;
for (1 .. 5) {
    my $b = calls();
    cache_is($ap->get('/app/other/plain'), 'HIT', 'a hit outside the quick locations');
    push @c, calls() - $b;
}
my ($least) = sort { $a <=> $b } @c;
is($least, 2, "it asks memcached once, the status page once (@c)");

my @bad = $ap->unexpected_errors(qr/SC050\d|AH01630/);
is_deeply(\@bad, [], 'no unexpected error in the log');

done_testing;
