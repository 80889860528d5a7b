# Regressions for defects an independent review found (each reproduced
# against an earlier build before it was fixed).
use strict;
use warnings;
use Test::More;
use Time::HiRes qw(sleep time);
use SCTest;

my $mc = SCTest::Memcached->start(mem => 256);
my $ap = SCTest::Apache->start(
    memcached => [$mc], modules => ['include', 'rewrite'],
    files => {
        'page.shtml' => "before\n<!--#include virtual=\"/app/frag?cc=no-store\""
                      . " -->\nafter\n",
    },
    conf => <<'CONF');
LogLevel warn sharedcache:trace1
<Location /app>
    SharedCache On
    SharedCacheTTL 60
    SharedCacheLockTimeout 4
</Location>
<Location /app/pub>
    SharedCacheQuickHandler On
</Location>
<Location /app/admin>
    SharedCache Off
</Location>
<Location /app/nolen>
    SharedCacheRequireLength Off
</Location>
<Location /filtered>
    SetOutputFilter SHAREDCACHE_SAVE
</Location>
<Directory @DIR@/htdocs>
    Options +Includes
    AddOutputFilter INCLUDES .shtml
    RewriteEngine On
    RewriteRule ^go$ /app/target?cc=no-store [L]
</Directory>
CONF

# 7. SHAREDCACHE_SAVE added by hand is harmless.
is($ap->get('/filtered')->{status}, 404, 'SetOutputFilter SHAREDCACHE_SAVE:'
                                         . ' no crash');

$ap->stop(allow => [qr/wsgi:error|RuntimeError|Traceback|backend failed|
                       ^\s|mod_wsgi|Exception/x]);
done_testing;
