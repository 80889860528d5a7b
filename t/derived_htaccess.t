# A RequestHeader in .htaccess (AllowOverride FileInfo) names a header the
# application reads, like one in the main configuration: its value is
# keyed whoever set it, or a client that sends X-Device: mobile itself has
# the page it gets stored for everybody.  The module reads the files again
# as httpd reads them: continuation lines, a NUL, a file over 1 MB; one
# that includes text it cannot see (mod_macro's Use) is served uncached
# (from two outside attacks).
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
my $rule = "SetEnvIf User-Agent \"(iPhone|Android)\" IS_MOBILE\n";
my %ht = (
    plain => $rule . "RequestHeader set X-Device mobile env=IS_MOBILE\n",
    cont1 => $rule . "RequestHeader set \\\n    X-Device mobile env=IS_MOBILE\n",
    cont2 => $rule . "Request\\\nHeader set X-Device mobile env=IS_MOBILE\n",
    huge  => $rule . ("# " . ("x" x 1000) . "\n") x 1100
                   . "RequestHeader set X-Device mobile env=IS_MOBILE\n",
    nul   => $rule . "# comment \0 hidden\n"
                   . "RequestHeader set X-Device mobile env=IS_MOBILE\n",
    macro => $rule . "Use DeviceHeader\n",
);
my $conf = <<'CONF';
<Macro DeviceHeader>
    RequestHeader set X-Device mobile env=IS_MOBILE
</Macro>
<Location />
    SharedCache On
    SharedCacheTTL 60
</Location>
CONF
for my $n (sort keys %ht) {
    $conf .= "WSGIScriptAlias /$n \@DIR\@/htdocs/$n/app.wsgi process-group=scapp application-group=%{GLOBAL}\n"
          . "<Directory \@DIR\@/htdocs/$n>\n    AllowOverride All\n    Require all granted\n</Directory>\n";
}
my $mc = SCTest::Memcached->start;
my $ap = SCTest::Apache->start(memcached => [$mc], modules => ['macro'], conf => $conf);
for my $n (sort keys %ht) {
    my $site = $ap->dir . "/htdocs/$n";
    mkdir $site;
    open my $f, '>', "$site/app.wsgi" or die $!; print $f $app; close $f;
    open $f, '>', "$site/.htaccess" or die $!; binmode $f; print $f $ht{$n}; close $f;
    chmod 0755, $site;
    chmod 0644, "$site/app.wsgi", "$site/.htaccess";
}
for my $n (sort keys %ht) {
    my $m = $ap->get("/$n/a", 'User-Agent' => 'Android');
    like($m->{body}, qr/MOBILE/, "$n: httpd applies the rule (a phone gets MOBILE: $m->{status})");
    my $claim = $ap->get("/$n/b", 'User-Agent' => 'Desktop', 'X-Device' => 'mobile');
    my $victim = $ap->get("/$n/b", 'User-Agent' => 'Desktop');
    like($victim->{body}, qr/desktop/, "$n: a desktop after a client that sent X-Device: mobile gets desktop ($victim->{cache})");
}
# (mod_wsgi may look for the script before the test has written it)
$ap->stop(allow => [qr/app\.wsgi/, qr/SC0206: an \.htaccess file includes/]);
done_testing;
