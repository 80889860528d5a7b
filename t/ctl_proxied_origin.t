# Behind a TLS-terminating proxy a virtual host says its public scheme in
# ServerName (https://tls.test); httpd then names its own URLs by that
# scheme and the port it reports: the one it listens on, unless
# "UseCanonicalName On" and a port in ServerName say otherwise.  The
# cache names a URL as httpd does, so sharedcachectl purges the URL with
# that port, and tells where a URL without one finds nothing cached (it
# said only "nothing cached depends on it" while the page was still
# served: outside attack round 101).  With the manual's recipe
# (UseCanonicalName On, ServerName https://tls.test:443) the public URL
# purges.
use strict;
use warnings;
use Test::More;
use SCTest;

my $mc = SCTest::Memcached->start;
my $ctl = sub {
    my $out = `$SCTest::ROOT/tools/sharedcachectl --servers '${\ $mc->addr }' purge '$_[0]' 2>&1`;
    return ($? >> 8, $out);
};
for my $canonical ('Off', 'On') {
    my $port = SCTest::free_port();
    my $name = $canonical eq 'On' ? 'https://tls.test:443' : 'https://tls.test';
    my $ap = SCTest::Apache->start(memcached => [$mc], port => $port,
                                   conf => <<"CONF");
SharedCacheNamespace proxied$canonical
<VirtualHost *:$port>
    ServerName $name
    UseCanonicalName $canonical
    <Location /app>
        SharedCache On
        SharedCacheTTL 60
    </Location>
</VirtualHost>
CONF
    my $get = sub { $ap->raw(GET => '/app/p1', Host => 'tls.test') };
    $get->();
    cache_is($get->(), 'HIT', "UseCanonicalName $canonical: stored");
    my ($rc, $out) = $ctl->('https://tls.test/app/p1');
    if ($canonical eq 'On') {
        is($rc, 0, 'the public URL purges') or diag $out;
        cache_is($get->(), 'MISS', 'then a MISS');
    }
    else {
        is($rc, 1, 'the public URL names nothing cached');
        like($out, qr/port httpd reports/, 'and says which port counts') or diag $out;
        cache_is($get->(), 'HIT', 'the page is still there');
        ($rc, $out) = $ctl->("https://tls.test:$port/app/p1");
        is($rc, 0, 'the URL with the port httpd listens on purges') or diag $out;
        cache_is($get->(), 'MISS', 'then a MISS');
    }
    $ap->stop;
}
done_testing;
