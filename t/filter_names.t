# A filter before the cache is trusted to make the body from the response
# alone only if it is the module that registered its name (mod_sed,
# mod_buffer, mod_substitute, mod_include...).  httpd keeps one registry
# of filter names, and ExtFilterDefine, LuaOutputFilter and FilterDeclare
# register the administrator's name in it, replacing the function of a
# module's filter of that name: an ext filter called "sed" that writes the
# visitor's cookie into the page is not mod_sed.  AddOutputFilterByType's
# chain (BYTYPE:NAME) is trusted only where no FilterDeclare or
# FilterProvider names one, however the name is quoted.
use strict;
use warnings;
use File::Temp qw(tempdir);
use Test::More;
use SCTest;

my $mc = SCTest::Memcached->start;
my $dir = tempdir(CLEANUP => 1);
chmod 0755, $dir;
open my $lua, '>', "$dir/f.lua" or die;
print $lua <<'LUA';
function output_filter(r)
    coroutine.yield("")
    while bucket ~= nil do
        coroutine.yield((string.gsub(bucket, "path=",
            "cookie=" .. (r.headers_in['Cookie'] or '') .. ",path=")))
    end
    coroutine.yield("")
end
LUA
close $lua;
chmod 0644, "$dir/f.lua";

my $ext = q{mode=output intype=text/html cmd="/bin/sh -c 'sed s/path=/cookie=$HTTP_COOKIE,path=/'"};
my $n = 0;

# Each: what registers the name, the modules, the filter set on /app.
for my $case (
    ['ExtFilterDefine sed', [qw(ext_filter)], "ExtFilterDefine sed $ext", 'sed'],
    ['ExtFilterDefine sed next to mod_sed', [qw(sed ext_filter)],
     "ExtFilterDefine sed $ext", 'sed'],
    ['ExtFilterDefine buffer next to mod_buffer', [qw(buffer ext_filter)],
     "ExtFilterDefine buffer $ext", 'buffer'],
    ['ExtFilterDefine substitute next to mod_substitute',
     [qw(substitute ext_filter)], "ExtFilterDefine substitute $ext",
     'substitute'],
    ['LuaOutputFilter buffer next to mod_buffer', [qw(buffer lua)],
     "LuaOutputFilter buffer $dir/f.lua output_filter", 'BUFFER'],
) {
    my ($name, $mods, $define, $set) = @$case;
    $n++;
    my $ap = SCTest::Apache->start(memcached => [$mc], modules => $mods,
                                   conf => <<"CONF");
$define
<Location /app>
    SharedCache On
    SharedCacheTTL 600
    SharedCacheRequireLength Off
    SharedCacheNamespace names$n
    @{[ $set ? "SetOutputFilter $set" : '' ]}
</Location>
CONF
    my $v = $ap->get('/app/page', Cookie => 'sessionid=VICTIM-SECRET');
    like($v->{body}, qr/cookie=sessionid=VICTIM-SECRET/,
         "$name: the filter ran with the visitor's cookie");
    my $o = $ap->get('/app/page');
    unlike($o->{body}, qr/VICTIM-SECRET/,
           "$name: another visitor never gets it");
    isnt($o->{cache}, 'HIT', "$name: the page is not stored");
    $ap->stop;
}

# The modules themselves are still trusted, by name or by type.
for my $case (['mod_sed', [qw(sed)], "<Location /app>\n"
               . "    SetOutputFilter sed\n    OutputSed s/path=/path=S/\n</Location>"],
              ['mod_buffer', [qw(buffer)],
               "<Location /app>\n    SetOutputFilter BUFFER\n</Location>"],
              ['mod_substitute by type', [qw(filter substitute)],
               "<Location /app>\n    AddOutputFilterByType SUBSTITUTE text/html\n"
               . "    Substitute s/path=/path=S/\n</Location>"]) {
    my ($name, $mods, $conf) = @$case;
    $n++;
    my $ap = SCTest::Apache->start(memcached => [$mc], modules => $mods,
                                   conf => <<"CONF");
<Location /app>
    SharedCache On
    SharedCacheTTL 600
    SharedCacheRequireLength Off
    SharedCacheNamespace names$n
</Location>
$conf
CONF
    $ap->get('/app/page');
    my $h = $ap->get('/app/page');
    cache_is($h, 'HIT', "$name: its page is stored");
    $ap->stop;
}

# A quoted BYTYPE: name in FilterProvider is the same chain.
for my $quote ('"', "'") {
    $n++;
    my $ap = SCTest::Apache->start(
        memcached => [$mc], modules => [qw(include filter substitute)],
        files => { 'page.shtml' => "<p>hello <!--#echo var=\"HTTP_COOKIE\" --></p>\n" },
        conf => <<"CONF");
<Directory \@DIR\@/htdocs>
    Options +Includes
</Directory>
AddType text/html .shtml
AddOutputFilterByType SUBSTITUTE text/plain
FilterProvider ${quote}BYTYPE:SUBSTITUTE${quote} INCLUDES "%{CONTENT_TYPE} =~ m|^text/html|"
<Location />
    SharedCache On
    SharedCacheTTL 600
    SharedCacheNamespace names$n
</Location>
CONF
    my $v = $ap->get('/page.shtml', Cookie => 'sessionid=VICTIM-SECRET');
    like($v->{body}, qr/VICTIM-SECRET/,
         "FilterProvider ${quote}BYTYPE:${quote}: SSI ran with the cookie");
    my $o = $ap->get('/page.shtml');
    unlike($o->{body}, qr/VICTIM-SECRET/,
           "FilterProvider ${quote}BYTYPE:${quote}: another visitor never gets it");
    $ap->stop;
}
done_testing;
