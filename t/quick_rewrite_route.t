# SharedCacheQuickHandler next to mod_rewrite routing by the client's
# headers (a mobile site by User-Agent, a beta by cookie: [PT] rules).  The
# quick handler keys a request before any rewrite runs, so a client that
# httpd would route elsewhere may get the default route's page (another
# route's page: not a protected one; an outside attack found it).  Start-up
# and configtest warn (SC0109), naming both lines; rules that only refuse
# ([F], [G]) are access rules: refused next to quick mode when they pick
# clients to deny (t/quick_denylist.t).  In normal mode the key holds the
# route (control).
use strict;
use warnings;
use Test::More;
use SCTest;

my $conf = <<'CONF';
<Location /app>
    SharedCache On
    SharedCacheTTL 60
</Location>
<Location /app/q>
    SharedCacheQuickHandler On
</Location>
RewriteEngine On
RewriteCond %{HTTP_USER_AGENT} Mobile
RewriteRule ^/app/(q|n)/page$ /app/$1/mobile/page [PT]
RewriteCond %{HTTP_COOKIE} beta=1
RewriteRule ^/app/(q|n)/home$ /app/$1/beta/home [PT]
RewriteCond %{HTTP_HOST} ^www\.
RewriteRule ^/app/q/host$ /app/q/www-host [PT]
CONF

my ($rc, $out) = SCTest::Apache->configtest($conf, modules => ['rewrite']);
is($rc, 0, 'a warning, not a refusal');
my @w = $out =~ /SC0109: SharedCacheQuickHandler On \((\S+:\d+)\) keys requests before the RewriteRule at (\S+:\d+)/g;
is(scalar @w, 4, 'configtest names the two routing rules (by User-Agent, by cookie)')
    or diag($out);

my $mc = SCTest::Memcached->start;
my $ap = SCTest::Apache->start(memcached => [$mc], modules => ['rewrite'],
                               conf => $conf);
my @said = $ap->error_log =~ /(\[sharedcache:warn\].*SC0109)/g;
is(scalar @said, 2, 'and the start-up log, once each');
unlike($ap->error_log, qr/SC0109.*RewriteRule at \S+:(?:2[0-9]|3[0-9])\b.*\n.*SC0109.*\n.*SC0109/,
       'not for a Host condition');

# normal mode: the key holds the route
$ap->get('/app/n/page', 'User-Agent' => 'Desktop') for 1 .. 2;
my $m = $ap->get('/app/n/page', 'User-Agent' => 'Mobile Safari');
like($m->{body}, qr{path=/n/mobile/page}, 'normal mode: a mobile client gets the mobile route');
$ap->get('/app/n/home') for 1 .. 2;
my $b = $ap->get('/app/n/home', Cookie => 'beta=1');
like($b->{body}, qr{path=/n/beta/home}, 'normal mode: a beta cookie gets the beta route');
$ap->stop(allow => [qr/SC0109/]);

# A <Location>'s SetEnvIf or BrowserMatch, and a RequestHeader that
# depends on the request, run after the quick phase: a client they mark
# may get the anonymous page from it.  Said (SC0111), naming both lines.
{
    my ($rc, $out) = SCTest::Apache->configtest(<<'CONF2');
<Location /app>
    SharedCache On
    SharedCacheQuickHandler On
</Location>
<Location /app/beta>
    SetEnvIf X-Beta "^1$" beta
    RequestHeader set X-Beta-Flag on env=beta
</Location>
CONF2
    is($rc, 0, 'derived state under quick mode: a warning, not a refusal');
    my @d = $out =~ /SC0111: SharedCacheQuickHandler On \((\S+:\d+)\) keys requests before the \S+ at (\S+:\d+)/g;
    is(scalar @d, 4, 'configtest names the SetEnvIf and the RequestHeader')
        or diag($out);
}
done_testing;
