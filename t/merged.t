# Directive inheritance: server -> virtual host -> <Location> -> a deeper
# <Location>.  Each level overrides some settings and inherits the rest;
# the handler logs the effective settings at trace2.
use strict;
use warnings;
use Test::More;
use SCTest;

my @mc = map { SCTest::Memcached->start } 1 .. 2;
my $mc2 = $mc[1]->addr;
my $ap = SCTest::Apache->start(memcached => [$mc[0]], conf => <<"CONF");
LogLevel warn sharedcache:trace2
SharedCache On
SharedCacheTTL 11
SharedCacheMaxSize 1M
SharedCacheVaryByCookie lang
SharedCacheIgnoreQuery utm_*
SharedCacheNamespace site
SharedCacheGrace 5
SharedCacheKeepDecoded 1M
<VirtualHost *:\@PORT\@>
    ServerName main.test
</VirtualHost>
<VirtualHost *:\@PORT\@>
    ServerName vhost.test
    SharedCacheServers $mc2
    SharedCacheFallbackServers @{[ $mc[0]->addr ]}
    SharedCacheTimeout 200
    SharedCacheRetryInterval 3
    SharedCachePrefix vh
    SharedCacheTTL 22
    SharedCacheForceTTL On
    SharedCacheVaryByHeader Accept-Language
    SharedCacheBypassHeader X-Tenant
    SharedCacheQuickHandler On
    SharedCacheTagHeader X-Tags
    SharedCachePurge On
    SharedCacheLockTimeout 3
    <Location /app/loc>
        SharedCacheTTL 33
        SharedCacheMaxTTL 1000
        SharedCacheStatuses 200 404
        SharedCacheHeader Off
        SharedCacheCompress Off
        SharedCacheVaryByCookie sessionid csrftoken
        SharedCacheVary "%{ENV:role}"
        SharedCacheQuickHandler Off
        SharedCacheInvalidateHeader X-Purge-Tags
        SharedCacheNamespace loc
        SharedCacheStaleOnError 60
        SharedCacheSoftInvalidate On
        SharedCacheESI On
        SharedCacheESIToken edge
        SharedCacheLocalTTL 5
    </Location>
    <Location /app/loc/deeper>
        SharedCache Off
        SharedCacheMaxSize 2K
        SharedCacheStatuses 410
        SharedCacheVaryByUser On
        SharedCacheBypassCookie sessionid
        SharedCacheBypassHeader X-Debug
        SharedCacheIgnoreQuery *
        SharedCacheInvalidateOnUnsafe Off
        SharedCachePurge Off
        SharedCacheLock Off
        SharedCacheRequireLength Off
        SharedCacheESI force
    </Location>
</VirtualHost>
CONF

$ap->raw(GET => '/app/m', Host => 'main.test');
$ap->raw(GET => '/app/v', Host => 'vhost.test');
$ap->raw(GET => '/app/loc/l', Host => 'vhost.test');
$ap->raw(GET => '/app/loc/deeper/d', Host => 'vhost.test');
$ap->stop;

my %seen;
for (split /\n/, $ap->error_log) {
    $seen{$1} = { map { split /=/, $_, 2 } split ' ', $2 }
        if /config for (\S+): (.*)$/;
}
# as the description writes a server list: comma separated
my $mc1 = join ',', split ' ', $mc[0]->addr;
my %server = (
    SharedCacheServers => $mc1, SharedCacheTimeout => 500,
    SharedCacheRetryInterval => 1, SharedCachePrefix => 'sc',
    SharedCacheFallbackServers => '-',
    SharedCache => 'On', SharedCacheTTL => 11, SharedCacheForceTTL => 'Off',
    SharedCacheMaxTTL => 86400,
    SharedCacheStatuses => '200,203,204,300,301,302,303,307,308,404,410',
    SharedCacheMaxSize => 1048576, SharedCacheHeader => 'On',
    SharedCacheCompress => 'On',
    SharedCacheVaryByCookie => 'lang', SharedCacheVaryByHeader => '-',
    SharedCacheVaryByUser => 'Off', SharedCacheVary => '-',
    SharedCacheBypassCookie => '-', SharedCacheBypassHeader => '-',
    SharedCacheIgnoreQuery => 'utm_*',
    SharedCacheQuickHandler => 'Off',
    SharedCacheTagHeader => 'Surrogate-Key',
    SharedCacheInvalidateHeader => 'X-SharedCache-Invalidate',
    SharedCacheInvalidateOnUnsafe => 'On', SharedCachePurge => 'Off',
    SharedCacheNamespace => 'site',
    SharedCacheLock => 'On', SharedCacheLockTimeout => 10,
    SharedCacheGrace => 5, SharedCacheStaleOnError => 0,
    SharedCacheSoftInvalidate => 'Off', SharedCacheRequireLength => 'auto',
    SharedCacheESI => 'Off', SharedCacheESIToken => '-',
    SharedCacheKeep => 0, SharedCacheLocalTTL => 1, SharedCacheLocal => 'Off',
    # the main server's, for every child
    SharedCacheKeepDecoded => 1048576,
);
my %vhost = (%server, SharedCacheServers => join(',', split ' ', $mc2), SharedCacheTimeout => 200,
             SharedCacheFallbackServers => $mc1,
             SharedCacheRetryInterval => 3, SharedCachePrefix => 'vh',
             SharedCacheTTL => 22, SharedCacheForceTTL => 'On',
             SharedCacheVaryByHeader => 'accept-language',
             SharedCacheBypassHeader => 'x-tenant',
             SharedCacheQuickHandler => 'On',
             SharedCacheTagHeader => 'X-Tags', SharedCachePurge => 'On',
             SharedCacheLockTimeout => 3);
my %loc = (%vhost, SharedCacheTTL => 33, SharedCacheMaxTTL => 1000,
           SharedCacheStatuses => '200,404', SharedCacheHeader => 'Off',
           SharedCacheCompress => 'Off',
           # a section adds to the variance it inherits
           SharedCacheVaryByCookie => 'lang,sessionid,csrftoken',
           SharedCacheVary => '%{ENV:role}', SharedCacheQuickHandler => 'Off',
           SharedCacheInvalidateHeader => 'X-Purge-Tags',
           SharedCacheNamespace => 'loc', SharedCacheStaleOnError => 60,
           SharedCacheSoftInvalidate => 'On', SharedCacheESI => 'On',
           SharedCacheESIToken => 'edge', SharedCacheLocalTTL => 5);
my %deeper = (%loc, SharedCache => 'Off', SharedCacheMaxSize => 2048,
              SharedCacheStatuses => '410', SharedCacheVaryByUser => 'On',
              SharedCacheBypassCookie => 'sessionid',
              SharedCacheBypassHeader => 'x-tenant,x-debug',
              SharedCacheIgnoreQuery => '*',
              SharedCacheInvalidateOnUnsafe => 'Off',
              SharedCachePurge => 'Off', SharedCacheLock => 'Off',
              SharedCacheRequireLength => 'Off', SharedCacheESI => 'Force');

is_deeply($seen{'/app/m'}, \%server,
          'a virtual host without settings inherits the server\'s');
is_deeply($seen{'/app/v'}, \%vhost,
          'a virtual host overrides some and inherits the rest');
is_deeply($seen{'/app/loc/l'}, \%loc,
          'a <Location> overrides some and inherits the virtual host\'s');
is_deeply($seen{'/app/loc/deeper/d'}, \%deeper,
          'a deeper <Location> overrides some and inherits the rest');

# Every directive of the command table appears in the checked settings.
my $code = '';
for my $f (qw(sc_config.c sc_directives.def)) {
    open my $src, '<', "$SCTest::ROOT/src/$f" or die $!;
    $code .= do { local $/; <$src> };
}
my @table = $code =~ /(?:AP_INIT_\w+|SC_DIR)\(\s*"(SharedCache\w*)"/g;
is_deeply([sort keys %server], [sort @table],
          'every directive is covered by this test');
done_testing;
