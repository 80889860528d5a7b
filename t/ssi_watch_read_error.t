# A source the SSI watch cannot read (a CGI's output through INCLUDES that
# stays silent beyond Timeout): what follows is not watched, so the page
# counts as reading the request, and the error ends the response as it
# ends mod_include's (SharedCache Off sends the same).  Before, the watch
# let the bucket through unread, mod_include waited once more and ran an
# #echo of a header the watch never saw, and the page was stored for
# everyone (found by the outside attack).
use strict;
use warnings;
use Test::More;
use SCTest;

my $cgi = SCTest::mpm() eq 'prefork' ? 'cgi' : 'cgid';
my $sock = $cgi eq 'cgid' ? "ScriptSock \@DIR\@/cgid.sock" : '';
my $mc = SCTest::Memcached->start;
my $ap = SCTest::Apache->start(memcached => [$mc], modules => ['include', $cgi],
                               conf => <<"CONF");
Timeout 2
$sock
<Directory \@DIR\@/htdocs/cgi>
    Options +ExecCGI +Includes
    SetHandler cgi-script
    SetOutputFilter INCLUDES
</Directory>
<Location /cgi>
    SharedCache On
    SharedCacheTTL 60
    SharedCacheRequireLength Off
</Location>
CONF
mkdir $ap->dir . '/htdocs/cgi';
open my $f, '>', $ap->dir . '/htdocs/cgi/page.cgi' or die $!;
print $f <<'SH';
#!/bin/sh
printf "Content-Type: text/html\r\n\r\n"
printf 'start '
sleep 3
printf '<p>hello <!--#echo var="HTTP_X_SECRET" --></p>\n'
SH
close $f;
chmod 0755, $ap->dir . '/htdocs/cgi/page.cgi';
my $a = $ap->raw(GET => '/cgi/page.cgi', 'X-Secret' => 'alice-secret');
unlike($a->{body}, qr/hello/, 'the first response ends where the read failed');
my $b = $ap->raw(GET => '/cgi/page.cgi');
unlike($b->{body}, qr/alice-secret/, 'the next visitor does not get the first one\'s header');
cache_is($b, 'MISS', '... the page was not stored');
$ap->stop(allow => [qr/Timeout waiting|AH01220|AH0/]);
done_testing;
