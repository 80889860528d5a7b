# SSI that reads the request: mod_include's #echo, #if/#elif, #set,
# #printenv and #exec put one visitor's headers, cookies, variables or the
# time into the page; #fsize and #flastmod show another file's size and
# date only to a visitor its access rules let through.  Such a page is served but never stored, nor is a
# page that includes it; a page of plain includes is stored as before.
use strict;
use warnings;
use Test::More;
use SCTest;

my $mc = SCTest::Memcached->start;
my $ap = SCTest::Apache->start(memcached => [$mc], modules => [qw(include filter)],
    files => {
        'echo.shtml'  => '<p><!--#echo encoding="none" var="HTTP_REFERER" --></p>',
        'if.shtml'    => '<!--#if expr="%{HTTP_COOKIE} =~ /role=admin/" -->ADMIN'
                         . '<!--#else -->user<!--#endif -->',
        'outer.shtml' => '[<!--#include virtual="/if.shtml" -->]',
        'plain.shtml' => '(<!--#include virtual="/app/frag" -->)',
        'spaced.shtml' => "<!--#   printenv -->",
        'var.shtml'   => '[<!--#include virtual="/app/frag/${HTTP_X_PAGE}" -->]',
    }, conf => $SCTest::SSI_DIR . <<'CONF');
<Location />
    SharedCache On
    SharedCacheTTL 60
    SharedCacheRequireLength Off
</Location>
<Location /app/bytype>
    Options +Includes
    AddOutputFilterByType INCLUDES text/html
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

# A variable in an include's path reads the request too.
$a = $ap->get('/var.shtml', 'X-Page' => 'admin');
$v = $ap->get('/var.shtml');
isnt($v->{cache}, 'HIT', 'an include of /frag/${HTTP_X_PAGE}: not stored');
unlike($v->{body}, qr{/frag/admin}, 'the next visitor never gets the admin one');

# INCLUDES added by content type once the application answered.
use URI::Escape qw(uri_escape);
my $echo = '/app/bytype/p?text=' . uri_escape('[<!--#echo var="HTTP_X_SECRET" -->]');
$a = $ap->get($echo, 'X-Secret' => 'first-visitor');
$v = $ap->get($echo);
like($a->{body}, qr/first-visitor/, 'AddOutputFilterByType INCLUDES: #echo runs');
unlike($v->{body}, qr/first-visitor/, 'the next visitor never gets it');

$ap->get('/plain.shtml');
my $p = $ap->get('/plain.shtml');
cache_is($p, 'HIT', 'a page of plain includes is stored');
like($ap->error_log, qr/SC0323: not stored: its SSI #echo reads the request/,
     'the reason is logged');
# #fsize and #flastmod look the file up as the visitor (access control
# runs): an insider's page must not reach an outsider.
$ap->stop(allow => [qr/AH01368/]); # (spaced.shtml's blanks)
$ap = SCTest::Apache->start(memcached => [$mc], modules => ['include'],
    files => { 'report.shtml' => '<p><!--#fsize virtual="/private/q3.pdf" --> bytes, '
                                 . 'updated <!--#flastmod file="private/q3.pdf" --></p>' },
    conf => <<'CONF');
<Directory @DIR@/htdocs>
    Options +Includes
    AddType text/html .shtml
    AddOutputFilter INCLUDES .shtml
</Directory>
<Directory @DIR@/htdocs/private>
    Require ip 127.0.0.5
</Directory>
<Location />
    SharedCache On
    SharedCacheTTL 600
    SharedCacheNamespace fsize
</Location>
CONF
my $d = $ap->dir;
mkdir "$d/htdocs/private";
chmod 0755, "$d/htdocs/private";
open my $f, '>', "$d/htdocs/private/q3.pdf" or die $!;
print $f 'x' x 123457;
close $f;
chmod 0644, "$d/htdocs/private/q3.pdf";
my $in = $ap->raw(GET => '/report.shtml', _from => '127.0.0.5');
my $out = $ap->raw(GET => '/report.shtml', _from => '127.0.0.1');
like($in->{body}, qr/121K/, '#fsize: the insider sees the protected file\'s size');
unlike($out->{body}, qr/121K/, '#fsize: an outsider never sees it');
isnt($out->{cache}, 'HIT', '#fsize, #flastmod: the page is not stored');
$ap->stop(allow => [qr/AH01630/, qr/AH02670/, qr/AH01339/]);
done_testing;
