# SharedCacheBypassHeader with a name of 64 characters or more is accepted
# at start-up and never matches: header_key() gives up on long names.
use strict;
use warnings;
use Test::More;
use SCTest;
my $name = 'X-Customer-Specific-Reflected-Header-Used-By-Our-Tenant-Router-1';   # 64
my $mc = SCTest::Memcached->start;
my $ap = SCTest::Apache->start(memcached => [$mc], conf => <<"CONF");
<Location /app>
    SharedCache On
    SharedCacheTTL 60
    SharedCacheBypassHeader $name X-Short
</Location>
CONF
cache_is($ap->raw(GET => '/app/s', 'X-Short' => 'x'), 'BYPASS', 'control: a short name bypasses');
my $r = $ap->raw(GET => "/app/l?reflect=$name", $name => 'evil');
cache_is($r, 'BYPASS', "a ${\ length $name}-character SharedCacheBypassHeader bypasses (got $r->{cache})");
$ap->stop;
done_testing;
