# ESI (SharedCacheESI): the page is stored unassembled and parsed, each
# include is a subrequest cached under its own <Location> rules, fetched
# from memcached with its siblings in one multi-get; failed, foreign and
# looping includes; ESI in a fragment nobody marked is never executed;
# the client gets the most restrictive freshness of the parts and no
# validators.
use strict;
use warnings;
use JSON::PP qw(decode_json);
use Test::More;
use URI::Escape qw(uri_escape);
use SCTest;

my $mc = SCTest::Memcached->start;
my $marked = '&sc=' . uri_escape('content="ESI/1.0"');
my $greet_esi = '/app/esi/inner?text='
    . uri_escape('[inner token=TOKEN <esi:include src="/app/peruser/hello"/>]')
    . $marked;
my $ap = SCTest::Apache->start(memcached => [$mc], modules => ['include'],
                               files => {
    'loop.html' => 'L<esi:include src="/loop.html" onerror="continue"/>',
    # SSI and ESI mixed: an SSI page of an ESI page of a per-user fragment
    'outer.shtml' => "<div><!--#include virtual=\"$greet_esi\" --></div>\n",
    # an SSI page as an ESI include
    'ssi-frag.shtml' => '(ssi <!--#include virtual="/app/frag/in-ssi" -->)',
}, conf => <<'CONF');
<Directory @DIR@/htdocs>
    Options +Includes
    AddOutputFilter INCLUDES .shtml
</Directory>
<Location /outer.shtml>
    SharedCache On
    SharedCacheTTL 60
    SharedCacheRequireLength Off
</Location>
<Location /ssi-frag.shtml>
    SharedCache On
    SharedCacheTTL 60
    SharedCacheRequireLength Off
</Location>
LogLevel warn sharedcache:info
<Location /app>
    SharedCache On
    SharedCacheTTL 60
    SharedCachePurge On
</Location>
<Location /app/esi>
    SharedCacheESI On
</Location>
<Location /app/esi/forced>
    SharedCacheESI Force
</Location>
<Location /app/peruser>
    SharedCacheVaryByCookie sessionid
</Location>
<Location /app/short>
    SharedCacheTTL 1
</Location>
<Location /loop.html>
    SharedCacheESI Force
</Location>
<Location /sc-status>
    SetHandler sharedcache-status
</Location>
CONF

sub tokens { my @t = $_[0] =~ /token=(\w+)/g; [@t] }

# --- a page and a shared fragment --------------------------------------
my $p = esi_page('/app/esi/home', '<html>shell=TOKEN ['
             . esi_inc('/app/frag/news?cc=max-age%3D60') . '] end</html>',
             '&reflect=Surrogate-Capability');
my $m = $ap->get($p);
is($m->{status}, 200, 'an ESI page answers');
cache_is($m, 'MISS', 'first: a miss');
like($m->{body}, qr{^<html>shell=\w+ \[<html><body>path=/frag/news token=\w+</body></html>\n\] end</html>},
     'the include is replaced by the fragment');
unlike($m->{body}, qr/esi:/, 'no ESI markup reaches the client');
like($m->{body}, qr/reflected=\S+="ESI\/1\.0"/,
     'the application was told Surrogate-Capability: ...="ESI/1.0"');
ok(!exists $m->{headers}{'surrogate-control'},
   'Surrogate-Control is not sent to the client');
my $h = $ap->get($p);
cache_is($h, 'HIT', 'second: the shell is a hit');
is($h->{body}, $m->{body}, 'and the fragment too: the same page');
is($ap->renders('/app/esi/home'), 1, 'the shell rendered once');
is($ap->renders('/app/frag/news'), 1, 'the fragment rendered once');

# --- a fragment refreshes alone -----------------------------------------
my $sp = esi_page('/app/esi/short', '<p>shell token=TOKEN</p>' . esi_inc('/app/short/clock'));
my $s1 = $ap->get($sp);
sleep 2;
my $s2 = $ap->get($sp);
cache_is($s2, 'HIT', 'a 60 s shell with a 1 s fragment: the shell is a hit');
is(tokens($s2->{body})->[0], tokens($s1->{body})->[0], 'the same shell');
isnt(tokens($s2->{body})->[1], tokens($s1->{body})->[1],
     'with the fragment rendered again');
is($ap->renders('/app/esi/short'), 1, 'the shell rendered once');
is($ap->renders('/app/short/clock'), 2, 'the fragment twice');

# --- one shell for everybody, a greeting per user ------------------------
my $gp = esi_page('/app/esi/greet', '<h1>shell token=TOKEN</h1>' . esi_inc('/app/peruser/hello'));
my %seen;
for my $round (1 .. 3) {
    for my $who (qw(alice bob), undef) {
        my $r = $ap->get($gp, $who ? (Cookie => "sessionid=$who") : ());
        my ($shell, $greet) = @{ tokens($r->{body}) };
        $seen{shell}{$shell}++;
        $seen{greet}{ $who // 'anon' }{$greet}++;
        like($r->{headers}{'cache-control'} // '', qr/private/,
             'a page with a per-user part is private to the client')
            if $round == 1;
    }
}
is(scalar keys %{ $seen{shell} }, 1, 'every visitor got the one shell');
is($ap->renders('/app/esi/greet'), 1, 'rendered once');
my %greets = map { my @k = keys %{ $seen{greet}{$_} }; ($_ => \@k) } keys %{ $seen{greet} };
is(scalar @{ $greets{$_} }, 1, "$_ always got one greeting") for sort keys %greets;
my %all = map { ($greets{$_}[0] => $_) } keys %greets;
is(scalar keys %all, 3, 'and nobody got another\'s');
is($ap->renders('/app/peruser/hello'), 3, 'each greeting rendered once');

# --- freshness and validators of the assembled page ----------------------
my $fp = esi_page('/app/esi/fresh', 'shell' . esi_inc('/app/frag/f30?cc=max-age%3D30'),
              '&cc=max-age%3D600&etag=%22shell1%22');
$ap->get($fp);
my $f = $ap->get($fp);
cache_is($f, 'HIT', 'a page with validators of its own is stored');
is($f->{headers}{'cache-control'}, 'max-age=30',
   'the client gets the shortest freshness of the parts');
ok(!exists $f->{headers}{etag}, 'and no ETag (the shell\'s is not the page\'s)');
my $c = $ap->get($fp, 'If-None-Match' => '"shell1"');
is($c->{status}, 200, 'If-None-Match with the shell\'s ETag: the whole page');

# --- failures ------------------------------------------------------------
my $bad = '/app/frag/broken?status=500';
my $r = $ap->get(esi_page('/app/esi/fail1', 'a' . esi_inc($bad) . 'b'));
is($r->{status}, 502, 'a failed include without onerror: the page fails');
unlike($r->{body}, qr/^a/, 'and none of it is sent');
$r = $ap->get(esi_page('/app/esi/fail2', 'a' . esi_inc($bad, ' alt="/app/frag/alt"') . 'b'));
like($r->{body}, qr{^a<html><body>path=/frag/alt }, 'alt replaces a failed src');
$r = $ap->get(esi_page('/app/esi/fail3', 'a' . esi_inc($bad, ' onerror="continue"') . 'b'));
is($r->{body}, 'ab', 'onerror="continue": left out');
$r = $ap->get(esi_page('/app/esi/foreign',
                   'a' . esi_inc('http://evil.example/x', ' onerror="continue"')
                   . esi_inc('//evil.example/y', ' onerror="continue"') . 'b'));
is($r->{body}, 'ab', 'another host\'s src is never fetched');
like($ap->error_log, qr/SC0508: ESI include src="http:\/\/evil.example\/x" refused/,
     'and logged');
$r = $ap->get(esi_page('/app/esi/missing', 'a' . esi_inc('/nowhere', ' onerror="continue"') . 'b'));
is($r->{body}, 'ab', 'a missing path with onerror="continue": left out');

# A page that includes itself: cut at the depth limit.
$r = $ap->get('/loop.html');
is($r->{status}, 200, 'a page that includes itself answers');
is($r->{body}, 'LLLL', 'cut at the depth limit (3 includes deep)');

# ESI in a fragment nobody marked is text, never executed.
my $inj = '/app/frag/user-content?text='
          . uri_escape('x' . esi_inc('/app/frag/secret'));
$r = $ap->get(esi_page('/app/esi/inject', '[' . esi_inc($inj) . ']'));
is($r->{body}, '[x<esi:include src="/app/frag/secret"/>]',
   'ESI markup in an unmarked fragment is sent as it is');
is($ap->renders('/app/frag/secret'), 0, 'never fetched');

# Force processes a response that did not ask.
$r = $ap->get('/app/esi/forced/p?text=' . uri_escape('f' . esi_inc('/app/frag/ff?text=F')));
is($r->{body}, 'fF', 'SharedCacheESI Force: processed without the header');

# Malformed markup passes through as text; the page answers.
$r = $ap->get(esi_page('/app/esi/malformed', 'a<esi:include src=x/>b<esi:remove>c'));
is($r->{status}, 200, 'malformed ESI: the page answers');
is($r->{body}, 'a<esi:include src=x/>b<esi:remove>c', 'passed through as text');

# --- one round trip for ten cached fragments ------------------------------
my $ten = join '', map { esi_inc("/app/frag/ten$_?text=$_") } 0 .. 9;
my $tp = esi_page('/app/esi/ten', "<p>$ten</p>");
$ap->get($tp);
is($ap->get($tp)->{body}, '<p>0123456789</p>', 'a page of ten fragments');
sub calls { decode_json($ap->get('/sc-status?json')->{body})->{memcached_calls} }
my @d;
for (1 .. 3) {
    my $before = calls();
    my $x = $ap->get($tp);
    push @d, calls() - $before;
}
my ($min) = sort { $a <=> $b } @d;
# The page's lookup asks for its includes' keys too, once this child has
# served the page (sc_incearly.c): with one memcached, one round trip in
# all; in the cluster pass (three servers) the fragments' keys are
# spread, one more per other server that holds any.
my $servers = 1 + ($ENV{SC_EXTRA_MEMCACHED} // 0);
if ($servers == 1) {
    is($min, 1, "a hit of it costs one memcached round trip: the shell's, "
       . "with all ten fragments (@d)");
}
else {
    cmp_ok($min, '<=', $servers, "a hit of it costs the shell's round "
           . "trip, with the fragments on its server, and one per other "
           . "server for the rest (@d)");
}
is($ap->renders('/app/frag/ten'), 10, 'each fragment rendered once');
# What the page's lookup read for a fragment is that fragment's, as of
# that lookup: one purged since the last page is rendered again, alone.
is($ap->request('PURGE', '/app/frag/ten3?text=3')->{status}, 200,
   'PURGE of one of the ten fragments');
is($ap->get($tp)->{body}, '<p>0123456789</p>', 'the page after it');
is($ap->renders('/app/frag/ten3'), 2, 'the purged fragment rendered again');
is($ap->renders('/app/frag/ten'), 11, 'and no other');

# --- ESI and SSI mixed ------------------------------------------------------
# An SSI page stores its fragments assembled: an ESI page among them brings
# its own includes' decisions (a per-user greeting) to it.
my $oa = $ap->get('/outer.shtml', Cookie => 'sessionid=alice');
my $ob = $ap->get('/outer.shtml', Cookie => 'sessionid=bob');
like($oa->{body}, qr{^<div>\[inner token=\w+ <html><body>path=/peruser/hello token=\w+},
     'an SSI page includes an ESI page, assembled');
isnt(tokens($ob->{body})->[1], tokens($oa->{body})->[1],
     'an SSI page over an ESI page of a per-user fragment: bob never gets '
     . 'alice\'s greeting');
isnt($ob->{cache}, 'HIT', 'and the SSI page is not stored');
$r = $ap->get(esi_page('/app/esi/has-ssi', '<' . esi_inc('/ssi-frag.shtml') . '>'));
like($r->{body}, qr{^<\(ssi <html><body>path=/frag/in-ssi token=\w+</body></html>\n\)>$},
     'an ESI include of an SSI page');
my $r2 = $ap->get(esi_page('/app/esi/has-ssi', '<' . esi_inc('/ssi-frag.shtml') . '>'));
is($r2->{body}, $r->{body}, 'both cached');
is($ap->renders('/app/frag/in-ssi'), 1, 'the SSI page\'s fragment rendered once');

# --- no ESI here: a client's Surrogate-Capability never reaches the app ---
$r = $ap->get('/app/plain?reflect=Surrogate-Capability',
              'Surrogate-Capability' => 'x="ESI/1.0"');
like($r->{body}, qr/reflected=\n/, 'a client\'s Surrogate-Capability is removed');

my @bad = $ap->unexpected_errors(qr/SC050\d/);
is_deeply(\@bad, [], 'no unexpected error in the log');

done_testing;
