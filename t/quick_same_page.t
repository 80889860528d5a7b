# Quick mode serves an entry to anyone only if an anonymous client would
# be let through to the URL *and get the same page*: a rule that routes
# outsiders elsewhere (the insider keeps the plain route) or derives
# something for them leaves the insider's key equal to the quick key, but
# not the anonymous client's.  The anonymous copy's key must be the
# entry's.
use strict;
use warnings;
use Test::More;
use SCTest;

my $mc = SCTest::Memcached->start;
sub from { my ($ap, $src, $t) = @_; $ap->raw(GET => $t, _from => $src) }

# (1) a server RewriteRule [PT] on a header only insiders send (SC0109
# warns: a route by what a client is, its address, fails start-up,
# t/quick_client_routes.t)
my $ap = SCTest::Apache->start(memcached => [$mc], modules => ['rewrite'],
    conf => <<'CONF');
<Location /app>
    SharedCache On
    SharedCacheTTL 60
    SharedCacheQuickHandler On
</Location>
RewriteEngine On
RewriteCond %{HTTP:X-Insider} !=yes
RewriteRule ^/app/docs$ /app/public-docs [PT]
CONF
sub insider { my ($ap, $t) = @_; $ap->raw(GET => $t, 'X-Insider' => 'yes') }
like(from($ap, '127.0.0.1', '/app/docs')->{body}, qr{path=/public-docs},
     'outsiders are routed to the public docs');
like(insider($ap, '/app/docs')->{body}, qr{path=/docs },
     'the insider gets the internal docs');
insider($ap, '/app/docs');
unlike(from($ap, '127.0.0.1', '/app/docs')->{body}, qr{path=/docs },
       'an outsider never gets the internal docs');
$ap->stop(allow => [qr/SC0109/]);

# (2) no mod_rewrite: a per-directory SetEnvIf marks those without the
# insiders' header, a RequestHeader tells the application (SC0111 warns; on
# the address, it fails start-up: t/quick_client_routes.t)
$ap = SCTest::Apache->start(memcached => [$mc], conf => <<'CONF');
LogLevel warn sharedcache:trace1
<Location /app>
    SharedCache On
    SharedCacheTTL 60
    SharedCacheQuickHandler On
</Location>
<Location /app/staff>
    SetEnvIf Request_URI . outsider
    SetEnvIf X-Insider "^yes$" !outsider
    RequestHeader set X-Outsider yes env=outsider
</Location>
CONF
my $u = '/app/staff/report?reflect=X-Outsider';
like(from($ap, '127.0.0.1', $u)->{body}, qr/reflected=yes/, 'an outsider is told so');
like(insider($ap, $u)->{body}, qr/reflected=\n/, 'the insider is not');
insider($ap, $u);
like(from($ap, '127.0.0.1', $u)->{body}, qr/reflected=yes/,
     "an outsider never gets the insider's page");

# and a page everyone gets alike stays quick-servable
$ap->get('/app/plain');
cache_is($ap->get('/app/plain'), 'HIT', 'a page everyone gets alike is a hit');
like($ap->error_log, qr{hit for /app/plain served by the quick handler},
     '... from the quick handler');
$ap->stop(allow => [qr/SC0111/]);
done_testing;
