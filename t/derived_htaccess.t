# A RequestHeader in .htaccess (AllowOverride FileInfo) names a header the
# application reads, like one in the main configuration: its value is
# keyed whoever set it.  A client that sends the header itself (X-Device:
# mobile) must not have the page it gets stored for the others (from an
# outside attack).
use strict;
use warnings;
use Test::More;
use SCTest;

my $app = <<'WSGI';
import uuid
def application(environ, start_response):
    dev = environ.get('HTTP_X_DEVICE', '')
    body = ('MOBILE page ' if dev == 'mobile' else 'desktop page ') \
        + uuid.uuid4().hex + '\n'
    body = body.encode()
    start_response('200 OK', [('Content-Type', 'text/html'),
                              ('Content-Length', str(len(body))),
                              ('Cache-Control', 'max-age=60')])
    return [body]
WSGI
my $mc = SCTest::Memcached->start;
my $ap = SCTest::Apache->start(memcached => [$mc], conf => <<'CONF');
WSGIScriptAlias /site @DIR@/htdocs/site/app.wsgi process-group=scapp application-group=%{GLOBAL}
<Directory @DIR@/htdocs/site>
    AllowOverride FileInfo
    Require all granted
</Directory>
<Location />
    SharedCache On
    SharedCacheTTL 60
</Location>
CONF
my $site = $ap->dir . '/htdocs/site';
mkdir $site;
open my $f, '>', "$site/app.wsgi" or die $!;
print $f $app;
close $f;
open $f, '>', "$site/.htaccess" or die $!;
print $f "SetEnvIf User-Agent \"(iPhone|Android)\" IS_MOBILE\n",
         "  requestheader set X-Device mobile env=IS_MOBILE\n";
close $f;
chmod 0755, $site;
chmod 0644, "$site/app.wsgi", "$site/.htaccess";

my $m = $ap->get('/site/a', 'User-Agent' => 'Android');
like($m->{body}, qr/MOBILE/, 'a phone gets the mobile page');
my $d = $ap->get('/site/a', 'User-Agent' => 'Desktop');
like($d->{body}, qr/desktop/, 'a desktop then the desktop page');

my $claim = $ap->get('/site/b', 'User-Agent' => 'Desktop',
                     'X-Device' => 'mobile');
like($claim->{body}, qr/MOBILE/, 'a desktop that sends X-Device: mobile');
my $victim = $ap->get('/site/b', 'User-Agent' => 'Desktop');
like($victim->{body}, qr/desktop/, '  does not give the next one its page');
cache_is($ap->get('/site/b', 'User-Agent' => 'Desktop'), 'HIT',
         '  which is cached on its own');
# (mod_wsgi may look for the script before the test has written it)
$ap->stop(allow => [qr/app\.wsgi/]);
done_testing;
