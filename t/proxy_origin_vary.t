# A Vary names a request header as the origin received it.  mod_proxy
# adds X-Forwarded-For (the client's address), X-Forwarded-Host and
# X-Forwarded-Server to the request it sends a backend (ProxyAddHeaders
# On, the default); a backend that answers by them says Vary:
# X-Forwarded-For.  The client's request holds none of them: keyed on the
# client's headers, every client would share one variant (an address
# allowlist at the backend leaks its page; one outsider's 404 hides the
# page from insiders).  The key holds what mod_proxy sends.
use strict;
use warnings;
use Test::More;
use Time::HiRes qw(sleep);
use SCTest;
use SCTest::Cluster;

my $mc = SCTest::Memcached->start;

sub cs { my ($res) = @_; return $res->{headers}{'x-sharedcache'} // '-' }

sub reflected { my ($res) = @_; return ($res->{body} =~ /reflected=(\S*)/)[0] // '' }

{
    my $ap = SCTest::Apache->start(memcached => [$mc],
                                   modules => [qw(proxy proxy_http headers)],
                                   conf => <<'CONF');
<Location /app/raw>
    SharedCache Off
</Location>
ProxyPass /px/ http://127.0.0.1:@PORT@/app/raw/
ProxyPass /pq/ http://127.0.0.1:@PORT@/app/raw/
ProxyPass /rh/ http://127.0.0.1:@PORT@/app/raw/
ProxyPass /off/ http://127.0.0.1:@PORT@/app/raw/
<Location /px>
    SharedCache On
    SharedCacheTTL 60
</Location>
<Location /pq>
    SharedCache On
    SharedCacheTTL 60
    SharedCacheQuickHandler On
</Location>
<Location /rh>
    # the client's address passed in a header of the administrator's own
    SharedCache On
    SharedCacheTTL 60
    ProxyAddHeaders Off
    RequestHeader set X-Client-IP "expr=%{REMOTE_ADDR}"
    SharedCacheVaryByHeader X-Client-IP
</Location>
<Location /off>
    SharedCache Off
</Location>
<Location /app/esi>
    SharedCache On
    SharedCacheTTL 60
    SharedCacheESI On
</Location>
CONF

    # a page rendered for the address the backend was told of
    for my $base ('/px', '/pq', '/rh', '/off') {
        my $h = $base eq '/rh' ? 'X-Client-IP' : 'X-Forwarded-For';
        my $page = "$base/a?vary=$h&reflect=$h&cc=max-age%3D60";
        my $one = $ap->raw(GET => $page, _from => '127.0.0.1');
        my $again = $ap->raw(GET => $page, _from => '127.0.0.1');
        my $two = $ap->raw(GET => $page, _from => '127.0.0.5');
        my $two_again = $ap->raw(GET => $page, _from => '127.0.0.5');
        is(reflected($one), '127.0.0.1', "$base: the first client's page");
        is(reflected($two), '127.0.0.5',
           "$base: another client gets a page rendered for itself, not the first's ("
           . cs($two) . ')');
        is(reflected($two_again), '127.0.0.5', "$base: and again");
        next if $base eq '/off';
        # still a cache: each client's variant is stored and hit
        is(cs($again), 'HIT', "$base: the first client's page is a hit the second time");
        is(cs($two_again), 'HIT', "$base: the other client's page is a hit the second time");
    }

    # an allowlist at the backend, by the address mod_proxy forwards
    for my $base ('/px', '/pq') {
        my $page = "$base/report?allow=X-Forwarded-For:127.0.0.1&vary=X-Forwarded-For"
                   . '&cc=max-age%3D60';
        my $in = $ap->raw(GET => $page, _from => '127.0.0.1');
        my $in2 = $ap->raw(GET => $page, _from => '127.0.0.1');
        my $out = $ap->raw(GET => $page, _from => '127.0.0.5');
        is($in->{status}, 200, "$base allowlist: the insider is let in");
        is(cs($in2), 'HIT', "$base allowlist: the insider's page is stored");
        is($out->{status}, 403, "$base allowlist: the outsider is refused after the insider's visit ("
           . cs($out) . ')');

        # a backend that hides the page from outsiders with a 404 (stored
        # by default): an outsider first does not hide it from insiders
        my $hide = "$base/hide?allow=X-Forwarded-For:127.0.0.1&deny=404"
                   . '&vary=X-Forwarded-For';
        my $o = $ap->raw(GET => $hide, _from => '127.0.0.5');
        my $o2 = $ap->raw(GET => $hide, _from => '127.0.0.5');
        my $i = $ap->raw(GET => $hide, _from => '127.0.0.1');
        is($o->{status}, 404, "$base hidden: the outsider gets the backend's 404");
        is(cs($o2), 'HIT', "$base hidden: the outsider's 404 is stored");
        is($i->{status}, 200, "$base hidden: the insider still gets the page (" . cs($i) . ')');
    }

    # an ESI fragment that comes through the proxy
    my $page = esi_page('/app/esi/page',
                        'shell ' . esi_inc('/px/frag?vary=X-Forwarded-For'
                                           . '&reflect=X-Forwarded-For&cc=max-age%3D60'),
                        '&cc=max-age%3D60');
    my $one = $ap->raw(GET => $page, _from => '127.0.0.1');
    my $two = $ap->raw(GET => $page, _from => '127.0.0.5');
    my $two_again = $ap->raw(GET => $page, _from => '127.0.0.5');
    like($one->{body}, qr/shell .*reflected=127\.0\.0\.1/s, 'ESI: the first client\'s fragment');
    is(reflected($two), '127.0.0.5', 'ESI: another client gets a fragment rendered for itself');
    is(reflected($two_again), '127.0.0.5', 'ESI: and again');
    # (quick mode at /pq warns of the RequestHeader at /rh: not this test's)
    $ap->stop(allow => [qr/SC0111/]);
}

# The README's recipe behind a load balancer: mod_remoteip consumes the
# balancer's X-Forwarded-For (the request no longer bypasses), mod_proxy
# forwards the client's address as X-Forwarded-For again.  (The backend is
# this Apache, whose mod_remoteip makes that header REMOTE_ADDR.)
{
    my $ap = SCTest::Apache->start(memcached => [$mc],
                                   modules => [qw(proxy proxy_http remoteip)],
                                   conf => <<'CONF');
RemoteIPHeader X-Forwarded-For
RemoteIPTrustedProxy 127.0.0.1
<Location /app/raw>
    SharedCache Off
</Location>
ProxyPass /px/ http://127.0.0.1:@PORT@/app/raw/
<Location /px>
    SharedCache On
    SharedCacheTTL 60
</Location>
CONF
    my $page = '/px/a?vary=X-Forwarded-For&env=REMOTE_ADDR&cc=max-age%3D60';
    my $one = $ap->raw(GET => $page, 'X-Forwarded-For' => '198.51.100.7');
    my $one_again = $ap->raw(GET => $page, 'X-Forwarded-For' => '198.51.100.7');
    my $two = $ap->raw(GET => $page, 'X-Forwarded-For' => '203.0.113.9');
    like($one->{body}, qr/REMOTE_ADDR='198\.51\.100\.7'/, 'remoteip: the first client\'s page');
    is(cs($one_again), 'HIT', 'remoteip: stored for that client');
    like($two->{body}, qr/REMOTE_ADDR='203\.0\.113\.9'/,
         'remoteip: the second client gets a page rendered for its address (' . cs($two) . ')');

    # sharedcachectl inspect finds a variant by the header as the backend
    # received it
    my $port = $ap->port;
    my @args = ('inspect', "http://127.0.0.1:$port$page", '--vhost', "127.0.0.1:$port",
                '--backend', "http://127.0.0.1:$port/app/raw/a?vary=X-Forwarded-For"
                . '&env=REMOTE_ADDR&cc=max-age%3D60');
    my $r = SCTest::Cluster::ctl(servers => [$mc],
                                 args => [@args, '-H', 'X-Forwarded-For: 198.51.100.7']);
    is($r->{rc}, 0, 'inspect: the variant of 198.51.100.7 is cached') or diag("$r->{out}$r->{err}");
    like($r->{out}, qr/^variant:\s+x-forwarded-for: 198\.51\.100\.7$/m, 'and shown');
    $r = SCTest::Cluster::ctl(servers => [$mc],
                              args => [@args, '-H', 'X-Forwarded-For: 192.0.2.1']);
    is($r->{rc}, 1, 'inspect: no variant for an address that never asked');
    $ap->stop;
}

# What the key reads of the request is what it held when the handler
# let it render: mod_proxy_http2 drops Host from the request once it has
# made X-Forwarded-Host (and :authority) of it, before the store keys the
# response.  And mod_proxy merges the client's protocol version into Via
# (ProxyVia On).
{
    my $h2 = SCTest::mpm() ne 'prefork';    # mod_http2 is inactive under prefork
    my $ap = SCTest::Apache->start(memcached => [$mc],
                                   modules => [qw(proxy proxy_http), $h2 ? qw(proxy_http2 http2) : ()],
                                   conf => ($h2 ? <<'H2' : '') . <<'CONF');
Protocols h2c http/1.1
ProxyPass /h2/ h2c://127.0.0.1:@PORT@/app/raw/
<Location /h2>
    SharedCache On
    SharedCacheTTL 60
</Location>
H2
ProxyVia On
<Location /app/raw>
    SharedCache Off
</Location>
ProxyPass /px/ http://127.0.0.1:@PORT@/app/raw/
<Location /px>
    SharedCache On
    SharedCacheTTL 60
</Location>
CONF
    for my $h ($h2 ? ('X-Forwarded-Host', 'Host') : ()) {
        my $page = "/h2/p?vary=$h&reflect=$h&cc=max-age%3D60";
        my @r;
        for (1 .. 20) {
            # (an h2c request to the backend may get httpd's 411, more
            # often on a loaded machine: ask until three were answered)
            my $r = $ap->raw(GET => $page);
            push @r, $r if $r->{status} == 200;
            last if @r == 3;
        }
        cmp_ok(scalar @r, '>=', 2, "h2c backend, Vary: $h: answered at least twice");
        is(cs($r[-1]), 'HIT', "h2c backend, Vary: $h: a hit once stored ("
           . join(' ', map { cs($_) } @r) . ')');
    }

    my $page = '/px/v?vary=Via&reflect=Via&cc=max-age%3D60';
    my $old = $ap->raw(GET => $page, _proto => 'HTTP/1.0');
    my $new = $ap->raw(GET => $page);
    my $new2 = $ap->raw(GET => $page);
    like(reflected($old), qr/^1\.0$/, 'ProxyVia: the HTTP/1.0 client\'s page');
    like(reflected($new), qr/^1\.1$/,
         'ProxyVia: an HTTP/1.1 client gets the page rendered for its Via (' . cs($new) . ')');
    is(cs($new2), 'HIT', 'ProxyVia: stored per protocol version');

    # a refresh after the response (stale-while-revalidate) is a
    # subrequest made like the client's request: its protocol version and
    # port, so its page lands under the client's key, rendered for what
    # the client's own request would have sent
    my $swr = '&cc=max-age%3D3,%20stale-while-revalidate%3D60';
    for my $h ('Via', 'X-Forwarded-For') {
        my $p = "/px/s$h?vary=$h&reflect=$h$swr";
        my $first = $ap->raw(GET => $p);
        sleep 3.5;
        my @r;
        for (1 .. 4) {
            push @r, $ap->raw(GET => $p);
            sleep 0.5;
        }
        my $tok = sub { ($_[0]{body} =~ /token=(\w+)/)[0] // '' };
        is(cs($r[-1]), 'HIT', "refresh, Vary: $h: refreshed, then a hit ("
           . join(' ', map { cs($_) } @r) . ')');
        isnt($tok->($r[-1]), $tok->($first), "refresh, Vary: $h: the refreshed page is served");
        cmp_ok($ap->renders("/app/raw/s$h"), '<=', 2, "refresh, Vary: $h: one refresh render");
        my $line = sub { ($_[0]{body} =~ /reflected=([^\n]*)/)[0] // '' };
        is($line->($r[-1]), $line->($first),
           "refresh, Vary: $h: rendered for what the client's request sends the backend");
    }
    $ap->stop(allow => [qr/chunked transfer encoding/]);
}

done_testing;
