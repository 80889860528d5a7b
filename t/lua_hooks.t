# mod_lua's hooks run code before the cache's handler that may route or
# change a request by anything it carries (here: the file, by a header):
# no key holds that, so the requests of a server (or virtual host) where
# such a hook is configured are served uncached (Cache-Status
# detail=code-hook), said at start-up (SC0120).  Before, the first
# client's file was stored and served to everyone (found by the outside
# attack).  Other virtual hosts are cached as before.
use strict;
use warnings;
use Test::More;
use SCTest;

my $lua = <<'LUA';
function route(r)
    if r.uri == "/page" then
        local f = r.headers_in['X-Beta'] == "1" and "beta.html" or "stable.html"
        r.filename = r.document_root .. "/" .. f
        return apache2.OK
    end
    return apache2.DECLINED
end
function fix(r)
    if r.uri == "/page2.html" and r.headers_in['X-Beta'] == "1" then
        r.filename = r.document_root .. "/beta.html"
    end
    return apache2.DECLINED
end
LUA
my %files = ('stable.html' => "STABLE\n", 'beta.html' => "BETA-ONLY\n",
             'page2.html' => "STABLE2\n", 'route.lua' => $lua);
my $mc = SCTest::Memcached->start;

# In the main server.
my $ap = SCTest::Apache->start(memcached => [$mc], modules => ['lua'],
                               files => \%files, conf => <<'CONF');
LuaHookTranslateName @DIR@/htdocs/route.lua route early
LuaHookFixups @DIR@/htdocs/route.lua fix
<Location />
    SharedCache On
    SharedCacheTTL 60
</Location>
CONF
like($ap->error_log, qr/SC0120.*LuaHookTranslateName/, 'said at start-up');
for my $p ('/page', '/page2.html') {
    my $beta = $ap->raw(GET => $p, 'X-Beta' => '1');
    like($beta->{body}, qr/BETA/, "$p: the hook routes the beta client");
    my $other = $ap->raw(GET => $p);
    unlike($other->{body}, qr/BETA/, "$p: the next client gets its own file");
    like($other->{headers}{'cache-status'} // '', qr/detail=code-hook/,
         "$p: served uncached (detail=code-hook)");
}
$ap->stop(allow => [qr/SC0120/]);

# In one virtual host: the other is cached as before.
my $vhost = sub {
    my ($name, $hook) = @_;
    return <<"VH";
<VirtualHost 127.0.0.1:\@PORT\@>
    ServerName $name
    $hook
    <Location />
        SharedCache On
        SharedCacheTTL 60
    </Location>
</VirtualHost>
VH
};
$ap = SCTest::Apache->start(memcached => [$mc], modules => ['lua'],
    files => \%files,
    conf => $vhost->('plain.test', '')
        . $vhost->('lua.test', 'LuaHookFixups @DIR@/htdocs/route.lua fix'));
my $port = $ap->port;
$ap->raw(GET => '/page2.html', Host => "lua.test:$port", 'X-Beta' => '1');
unlike($ap->raw(GET => '/page2.html', Host => "lua.test:$port")->{body}, qr/BETA/,
       'a virtual host with a hook: the next client gets its own file');
$ap->raw(GET => '/page2.html', Host => "plain.test:$port");
cache_is($ap->raw(GET => '/page2.html', Host => "plain.test:$port"), 'HIT',
         'a virtual host without one: cached');
$ap->stop(allow => [qr/SC0120/]);
done_testing;
