# Underscore spellings of a *keyed* header.  Behind mod_proxy, backends
# that build a CGI-style environ (wsgiref, gunicorn < 22, many others) read
# "Accept_Language" as HTTP_ACCEPT_LANGUAGE, joined with the real
# Accept-Language.  The reflected-header rules treat '_' as '-', but
# SharedCacheVaryByHeader and the response's Vary key only the hyphenated
# header: an attacker adds the underscore twin and poisons the entry of
# everyone who sends the same Accept-Language.
use strict;
use warnings;
use Test::More;
use SCTest;

my $bport = SCTest::free_port();
my $mc = SCTest::Memcached->start;
my $ap = SCTest::Apache->start(memcached => [$mc], modules => [qw(proxy proxy_http)],
    conf => <<"CONF");
ProxyPass /px/ http://127.0.0.1:$bport/
<Location /px>
    SharedCache On
    SharedCacheTTL 60
</Location>
<Location /app>
    SharedCache On
    SharedCacheTTL 60
    SharedCacheVaryByHeader Accept-Language
</Location>
<Location /px/keyed>
    SharedCacheVaryByHeader Accept-Language
</Location>
CONF
my $backend = SCTest::spawn($ap->dir . '/backend.log', 'python3',
    "$SCTest::ROOT/t/fixtures/reflected_headers/wsgiref_backend.py",
    $bport, $ap->dir . '/app/app.py');
SCTest::wait_port($bport, 10, $backend) or die 'backend';
END { SCTest::stop_pid($backend) if $backend }

my $EVIL = '<script>alert(1)</script>';
for my $case (['SharedCacheVaryByHeader', '/px/keyed/p?reflect=Accept-Language'],
              ['response Vary: Accept-Language',
               '/px/v?vary=Accept-Language&reflect=Accept-Language']) {
    my ($what, $path) = @$case;
    my $evil = $ap->raw(GET => $path, 'Accept-Language' => 'en',
                        'Accept_Language' => $EVIL);
    diag("$what attacker: $evil->{cache} $evil->{body}");
    my $victim = $ap->raw(GET => $path, 'Accept-Language' => 'en');
    diag("$what victim: $victim->{cache} $victim->{body}");
    unlike($victim->{body}, qr/script/, "POISON if failing ($what): victim with Accept-Language: en gets the attacker's page");
}
# control: httpd's own mod_wsgi drops names with '_' (holds)
my $e = $ap->raw(GET => '/app/w?reflect=Accept-Language', 'Accept-Language' => 'en', 'Accept_Language' => $EVIL);
unlike($e->{body}, qr/script/, 'mod_wsgi drops the underscore twin (holds)');
$ap->stop;
done_testing;
