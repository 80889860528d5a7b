# mod_proxy_html before the cache: its URL maps are made from the
# configuration alone, so the body it rewrote is stored and served to
# everyone; with ProxyHTMLInterp On a map's condition (an expression) or
# its ${VAR} reads the request (the client's address, a cookie, the time)
# and the rewritten body is one client's: such responses are not stored
# (request-filter), and each client gets its own links.
use strict;
use warnings;
use Test::More;
use URI::Escape qw(uri_escape);
use SCTest;

my $mc = SCTest::Memcached->start;
my @modules = ('proxy', 'proxy_http', 'xml2enc', 'proxy_html');
my $html = '<html><body><a href="http://intranet.local/hr/salaries">HR</a>'
         . '<a href="http://cdn.local/app.js">js</a></body></html>';

sub page { my ($n) = @_; "/ph/page?type=text/html&n=$n&text=" . uri_escape($html) }

# 1. Maps from the configuration alone: stored, a hit has the rewritten body.
{
    my $ap = SCTest::Apache->start(memcached => [$mc], modules => \@modules,
                                   conf => <<'CONF');
LogLevel warn
ProxyPass /ph/ http://127.0.0.1:@PORT@/app/
<Location /ph>
    SharedCache On
    SharedCacheTTL 60
    SharedCacheNamespace static-maps
    ProxyHTMLEnable On
    ProxyHTMLLinks a href
    ProxyHTMLURLMap http://intranet.local/ https://www.example.com/
</Location>
CONF
    my $u = page(1);
    my $first = $ap->get($u);
    like($first->{body}, qr{https://www\.example\.com/hr/salaries}, 'static maps: the link rewritten');
    my $hit = $ap->get($u);
    is($hit->{cache}, 'HIT', 'static maps: the rewritten page is served from the cache');
    is($hit->{body}, $first->{body}, 'static maps: ... the same body');
    $ap->stop;
}

# 2. ProxyHTMLInterp On: conditions on the client's address and a cookie.
{
    my $ap = SCTest::Apache->start(memcached => [$mc], modules => \@modules,
                                   conf => <<'CONF');
LogLevel warn
ProxyPass /ph/ http://127.0.0.1:@PORT@/app/
<Location /ph>
    SharedCache On
    SharedCacheTTL 60
    SharedCacheNamespace interp
    ProxyHTMLEnable On
    ProxyHTMLInterp On
    ProxyHTMLLinks a href
    ProxyHTMLURLMap http://intranet.local/ https://www.example.com/ c "%{REMOTE_ADDR} != '127.0.0.5'"
    ProxyHTMLURLMap http://cdn.local/ https://beta-cdn.example.com/ c "%{HTTP_COOKIE} =~ /beta=1/"
    ProxyHTMLURLMap http://cdn.local/ https://cdn.example.com/
</Location>
CONF
    for my $order (['127.0.0.5', '127.0.0.1'], ['127.0.0.1', '127.0.0.5']) {
        my $u = page("order-$order->[0]");
        for my $from (@$order, @$order) {
            my $r = $ap->raw(GET => $u, _from => $from);
            my $inside = $from eq '127.0.0.5';
            is($r->{status}, 200, "interp: $from, 200");
            isnt($r->{cache}, 'HIT', "interp: $from, not a hit");
            like($r->{headers}{'cache-status'} // '', qr/detail=request-filter/,
                 "interp: $from, Cache-Status says why it was not stored");
            if ($inside) {
                like($r->{body}, qr{http://intranet\.local/hr/salaries}, "interp: $from keeps the intranet link");
            }
            else {
                like($r->{body}, qr{https://www\.example\.com/hr/salaries}, "interp: $from gets the public link");
            }
        }
    }
    my $u = page('cookie');
    my $beta = $ap->raw(GET => $u, Cookie => 'beta=1');
    like($beta->{body}, qr{beta-cdn}, 'interp: a beta client gets the beta link');
    my $plain = $ap->raw(GET => $u);
    unlike($plain->{body}, qr{beta-cdn}, 'interp: a client without the cookie does not');
    like($plain->{body}, qr{https://cdn\.example\.com/app\.js}, '... it gets the public one');
    $ap->stop;
}

done_testing;
