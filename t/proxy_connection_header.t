# A header the client names in Connection is hop-by-hop: mod_proxy_http
# drops it before asking the backend (RFC 9110 7.6.1).  A key holding its
# value (through Vary or SharedCacheVaryByHeader) would file the page the
# backend rendered without it under that value: such a request bypasses.
use strict;
use warnings;
use Test::More;
use SCTest;

my $mc = SCTest::Memcached->start;
for my $vary ('', 'SharedCacheVaryByHeader Accept-Language') {
    my $ap = SCTest::Apache->start(memcached => [$mc],
        modules => ['proxy', 'proxy_http'], conf => <<"CONF");
<Location /p>
    SharedCache On
    SharedCacheTTL 60
    $vary
</Location>
ProxyPass /p/ http://127.0.0.1:\@PORT\@/app/
CONF
    my $u = '/p/lang' . ($vary ? 'k' : '') . '?vary=Accept-Language&reflect=Accept-Language';
    my $what = $vary ? 'SharedCacheVaryByHeader' : 'Vary';
    my $a = $ap->raw(GET => $u, 'Accept-Language' => 'fr',
                     Connection => 'close, Accept-Language');
    like($a->{body}, qr/reflected=\n/, "$what: the backend did not see the header");
    cache_is($a, 'BYPASS', "$what: a request naming a header in Connection bypasses");
    my $v = $ap->raw(GET => $u, 'Accept-Language' => 'fr', Connection => 'close');
    like($v->{body}, qr/reflected=fr/, "$what: a French client gets the French page");
    cache_is($ap->raw(GET => $u, 'Accept-Language' => 'fr', Connection => 'Close'),
             'HIT', "$what: Connection: close is no reason to bypass");
    $ap->stop;
}
done_testing;
