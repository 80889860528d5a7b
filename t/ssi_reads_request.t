# SSI that reads the request: mod_include's #echo, #if/#elif, #set,
# #printenv and #exec put one visitor's headers, cookies, variables or the
# time into the page.  Such a page is served but never stored, nor is a
# page that includes it; a page of plain includes is stored as before.
use strict;
use warnings;
use Test::More;
use SCTest;

my $mc = SCTest::Memcached->start;
my $ap = SCTest::Apache->start(memcached => [$mc], modules => ['include'],
    files => {
        'echo.shtml'  => '<p><!--#echo encoding="none" var="HTTP_REFERER" --></p>',
        'if.shtml'    => '<!--#if expr="%{HTTP_COOKIE} =~ /role=admin/" -->ADMIN'
                         . '<!--#else -->user<!--#endif -->',
        'outer.shtml' => '[<!--#include virtual="/if.shtml" -->]',
        'plain.shtml' => '(<!--#include virtual="/app/frag" -->)',
        'spaced.shtml' => "<!--#   printenv -->",
    }, conf => $SCTest::SSI_DIR . <<'CONF');
<Location />
    SharedCache On
    SharedCacheTTL 60
    SharedCacheRequireLength Off
</Location>
CONF

my $a = $ap->get('/echo.shtml', Referer => 'javascript:alert(1)');
my $v = $ap->get('/echo.shtml');
like($a->{body}, qr/javascript/, '#echo shows the first visitor their Referer');
unlike($v->{body}, qr/javascript/, 'the next visitor never gets it');
isnt($v->{cache}, 'HIT', 'the page is not stored');

$a = $ap->get('/if.shtml', Cookie => 'role=admin');
$v = $ap->get('/if.shtml');
is($a->{body}, 'ADMIN', '#if on a cookie: the admin view');
is($v->{body}, 'user', 'an anonymous visitor gets the user view');
$a = $ap->get('/outer.shtml', Cookie => 'role=admin');
$v = $ap->get('/outer.shtml');
is($v->{body}, '[user]', 'nor through a page that includes it');
isnt($v->{cache}, 'HIT', 'which is not stored either');

$ap->get('/spaced.shtml');
isnt($ap->get('/spaced.shtml')->{cache}, 'HIT', 'blanks before the directive');

$ap->get('/plain.shtml');
my $p = $ap->get('/plain.shtml');
cache_is($p, 'HIT', 'a page of plain includes is stored');
like($ap->error_log, qr/SC0323: not stored: its SSI #echo reads the request/,
     'the reason is logged');
done_testing;
