# mod_lua's hooks run code before the cache's handler that may route or
# change a request by anything it carries (here: the file, by a header):
# no key holds that, so the requests of a server (or virtual host) where
# such a hook is configured are served uncached (Cache-Status
# detail=code-hook), said at start-up (SC0120).  Before, the first
# client's file was stored and served to everyone (found by the outside
# attack).  Other virtual hosts are cached as before.  A hook in an
# .htaccess file (LuaHookFixups is allowed there) serves the requests of
# its directory uncached (SC0206; the start-up walk cannot see it).
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

# In an .htaccess file: nothing at start-up, the directory's requests are
# served uncached; a directory without one is cached as before.
$ap = SCTest::Apache->start(memcached => [$mc], modules => ['lua'],
    files => \%files, conf => <<'CONF');
<Directory @DIR@/htdocs>
    AllowOverride All
</Directory>
<Location />
    SharedCache On
    SharedCacheTTL 60
</Location>
CONF
my $htdocs = $ap->dir . '/htdocs';
for my $sub ('hooked', 'plain') {
    mkdir "$htdocs/$sub";
    chmod 0755, "$htdocs/$sub";
    for my $f ('page2.html', 'beta.html') {
        open my $fh, '>', "$htdocs/$sub/$f" or die $!;
        print $fh $files{$f};
        close $fh;
        chmod 0644, "$htdocs/$sub/$f";
    }
    my $ht = $sub eq 'hooked' ? "LuaHookFixups $htdocs/route.lua fixsub\n"
                              : "# nothing here\n";
    open my $fh, '>', "$htdocs/$sub/.htaccess" or die $!;
    print $fh $ht;
    close $fh;
    chmod 0644, "$htdocs/$sub/.htaccess";
}
open my $fh, '>>', "$htdocs/route.lua" or die $!;
print $fh <<'LUA';
function fixsub(r)
    if r.headers_in['X-Beta'] == "1" then
        r.filename = string.gsub(r.filename, "page2.html$", "beta.html")
    end
    return apache2.DECLINED
end
LUA
close $fh;
my $beta = $ap->raw(GET => '/hooked/page2.html', 'X-Beta' => '1');
like($beta->{body}, qr/BETA/, '.htaccess: the hook routes the beta client');
my $other = $ap->raw(GET => '/hooked/page2.html');
unlike($other->{body}, qr/BETA/, '.htaccess: the next client gets its own file');
$ap->raw(GET => '/plain/page2.html');
cache_is($ap->raw(GET => '/plain/page2.html'), 'HIT',
         '.htaccess without a hook: cached');
$ap->stop(allow => [qr/SC0206: an \.htaccess file runs a mod_lua hook/]);
done_testing;
