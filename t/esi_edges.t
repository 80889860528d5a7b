# ESI edge cases an outside attack found: nested ESI pages keep their
# fragments' restrictions; a fragment behind access rules makes the page
# private; a POST to a page is not a POST to its fragments; a page that
# includes itself many times is bounded; the client's conditions and
# ranges are the page's, not its fragments'; HEAD says what it cannot
# know; a redirect is no fragment; Surrogate-Control is read directive by
# directive.
use strict;
use warnings;
use Test::More;
use URI::Escape qw(uri_escape);
use SCTest;

my $self = 'S' . ('<esi:include src="/self.html" onerror="continue"/>' x 20);
my $mc = SCTest::Memcached->start;
my $ap = SCTest::Apache->start(memcached => [$mc],
                               files => { 'self.html' => $self },
                               conf => <<'CONF');
<Location /app>
    SharedCache On
    SharedCacheTTL 60
</Location>
<Location /app/esi>
    SharedCacheESI On
</Location>
<Location /app/peruser>
    SharedCacheVaryByCookie sessionid
</Location>
<Location /app/admin>
    Require ip 127.0.0.1
</Location>
<Location /self.html>
    SharedCacheESI Force
</Location>
CONF

my $cc600 = '&cc=' . uri_escape('max-age=600');

# Nested ESI pages: the inner page's restrictions reach the outer page.
for my $case (['per user', '/app/peruser/hello?cc=max-age%3D60', qr/private/],
              ['private', '/app/frag/p?cc=private%2C%20max-age%3D60', qr/private/],
              ['cookie', '/app/frag/c?cookie=1&cc=max-age%3D60', qr/private/],
              ['no-store', '/app/frag/n?cc=no-store', qr/no-store/]) {
    my ($what, $frag, $want) = @$case;
    (my $tag = $what) =~ s/\W//g;
    my $inner = esi_page("/app/esi/inner-$tag", 'in[' . esi_inc($frag) . ']', $cc600);
    my $outer = esi_page("/app/esi/outer-$tag", 'out[' . esi_inc($inner) . ']', $cc600);
    $ap->get($outer, Cookie => 'sessionid=alice');
    my $r = $ap->get($outer, Cookie => 'sessionid=bob');
    like($r->{headers}{'cache-control'} // '', $want,
         "nested ESI, a $what fragment: the outer page says so");
}
my $inner = esi_page('/app/esi/inner-ck', 'in[' . esi_inc('/app/frag/ck?cookie=1') . ']');
my $r = $ap->get(esi_page('/app/esi/outer-ck', 'out[' . esi_inc($inner) . ']'));
like($r->{headers}{'set-cookie'} // '', qr/sessionid=/,
     'a nested fragment\'s Set-Cookie reaches the client');

# A fragment behind access rules: the page is this client's own.
$r = $ap->get(esi_page('/app/esi/acl', 'P[' . esi_inc('/app/admin/secret?cc=max-age%3D300')
                   . ']', $cc600));
like($r->{body}, qr{path=/admin/secret}, 'the allowed client gets the fragment');
like($r->{headers}{'cache-control'} // '', qr/private/,
     'and the page is private to it');
$r = $ap->get(esi_page('/app/esi/acl', 'P[' . esi_inc('/app/admin/secret?cc=max-age%3D300')
                   . ']', $cc600));
cache_is($r, 'HIT', 'a hit of that page');
like($r->{headers}{'cache-control'} // '', qr/private/,
     'is private too (what httpd answered an anonymous client is remembered)');

# A POST to the page does not make its fragments POSTs.
my $shared = '/app/frag/shared?cc=max-age%3D600';
my $pa = esi_page('/app/esi/pa', 'A' . esi_inc($shared));
$ap->get($pa);
$ap->get($pa);
my $renders = $ap->renders('/app/frag/shared');
$ap->request('POST', $pa);
$ap->request('FOO', $pa);
$ap->get(esi_page('/app/esi/pb', 'B' . esi_inc($shared)));
is($ap->renders('/app/frag/shared'), $renders,
   'POST and an unknown method to a page neither render nor invalidate its '
   . 'fragments');

# A page that includes itself 20 times: bounded.
my $t0 = time;
$r = $ap->get('/self.html');
is($r->{status}, 200, 'a page that includes itself 20 times answers');
my $n = () = $r->{body} =~ /S/g;
cmp_ok($n, '<=', 1001, "at most 1000 includes for one request ($n parts)");
my $log = length $ap->error_log;
cmp_ok($log, '<', 200_000, "and the log stays small ($log bytes)");

# The client's conditions and ranges.
my $pc = esi_page('/app/esi/cond', 'C[' . esi_inc('/app/frag/cond?etag=%22f%22') . ']',
              '&etag=%22shell%22');
$r = $ap->get($pc, 'If-Match' => '"nomatch"');
isnt($r->{status}, 502, 'If-Match from the client does not fail the fragments');
$r = $ap->get($pc, 'If-Unmodified-Since' => 'Thu, 01 Jan 1970 00:00:00 GMT');
isnt($r->{status}, 502, 'nor If-Unmodified-Since');
$r = $ap->get($pc, Range => 'bytes=0-1');
is($r->{status}, 206, 'a Range applies to the assembled page');
is($r->{body}, 'C[', 'its first bytes');
$r = $ap->get($pc, Range => 'bytes=0-1', 'If-Range' => '"shell"');
is($r->{status}, 200, 'If-Range with the shell\'s ETag: the whole page (no '
   . 'validator of the page matches)');

# HEAD of a page the application made.
my $ph = esi_page('/app/esi/head', 'H[' . esi_inc('/app/frag/h') . ']',
              '&etag=%22hs%22' . $cc600);
$r = $ap->request('HEAD', $ph);
ok(!defined $r->{headers}{etag}, 'HEAD: no ETag of the shell');
is($r->{headers}{'cache-control'}, 'no-cache', 'HEAD: no freshness claimed');

# A redirect is no fragment: the alt is used.
$r = $ap->get(esi_page('/app/esi/redir',
                   esi_inc('/app/frag/st?status=301&loc=/x', ' alt="/app/frag/alt"')));
like($r->{body}, qr{path=/frag/alt }, 'a redirecting fragment: its alt');

# Surrogate-Control, directive by directive.
for my $case (['content="ESI/1.0" ;other', 0], ['mycontent="ESI/1.0"', 0],
              ['foo="x content=ESI/1.0"', 0],
              ['content="ESI/1.0";other, content="ESI/1.0";127.0.0.1', 1],
              ['max-age=60, content="ESI/1.0"', 1]) {
    my ($sc, $yes) = @$case;
    my $p = '/app/esi/sc?text=' . uri_escape('[' . esi_inc('/app/frag/sc') . ']')
            . '&sc=' . uri_escape($sc);
    $r = $ap->get($p);
    is($r->{body} =~ /esi:include/ ? 0 : 1, $yes,
       "Surrogate-Control: $sc: " . ($yes ? 'processed' : 'not processed'));
}

my @bad = $ap->unexpected_errors(qr/SC05\d\d|AH01630/);
is_deeply(\@bad, [], 'no unexpected error in the log');
done_testing;
