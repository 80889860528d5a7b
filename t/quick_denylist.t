# Quick mode lets a page through when an anonymous client would be let
# through; a rule that denies some clients by what they send or are
# (Require not, Require expr or any provider but those that only let
# clients in by what they have, Deny, <RequireNone>, SSLRequire, any
# access rule in <If>/<ElseIf>/<Else>, a RewriteRule [F], [G] or [R=4xx] on anything but
# the URL and the host, or on a RewriteMap or a file test, which change
# without a reload) lets the anonymous client through and the denied
# ones would get quick hits.  Such a rule next to quick mode
# fails configtest, naming the SharedCacheQuickHandler line and the rule.
use strict;
use warnings;
use Test::More;
use SCTest;

# a blocklist map (RewriteMap must find its file)
my $map = "/tmp/sc-quick-denylist-$$.map";
open my $mf, '>', $map or die $!;
print $mf "/dq/blocked closed\n";
close $mf;
END { unlink $map if $map }
my $quick = "<Location /dq>\n    SharedCache On\n    SharedCacheQuickHandler On\n</Location>\n";
my @denying = (
    [ 'Require not ip', "<Directory /tmp>\n<RequireAll>\nRequire all granted\nRequire not ip 127.0.0.9\n</RequireAll>\n</Directory>\n" ],
    [ 'Require not env', "SetEnvIfNoCase User-Agent badbot bad_bot\n<Location />\n<RequireAll>\nRequire all granted\nRequire not env bad_bot\n</RequireAll>\n</Location>\n" ],
    [ 'Require expr', "<Files \"*.wsgi\">\nRequire expr \"%{HTTP_USER_AGENT} !~ /bot/\"\n</Files>\n" ],
    [ 'RequireNone', "<Directory /tmp>\n<RequireAll>\nRequire all granted\n<RequireNone>\nRequire ip 127.0.0.9\n</RequireNone>\n</RequireAll>\n</Directory>\n" ],
    [ 'RewriteRule [F]', "RewriteEngine On\nRewriteCond %{HTTP_USER_AGENT} bot [NC]\nRewriteRule ^ - [F]\n" ],
    [ 'RewriteRule [F], one condition of two', "RewriteEngine On\nRewriteCond %{REMOTE_ADDR} !=127.0.0.5\nRewriteCond %{REMOTE_ADDR} =127.0.0.9\nRewriteRule ^ - [F]\n" ],
    [ '<If> with Require all denied in a <Location>', "<Location /dq>\n<If \"-R '127.0.0.9/32'\">\nRequire all denied\n</If>\n</Location>\n" ],
    [ 'server-level <If> with Require all denied', "<If \"%{HTTP_USER_AGENT} =~ /bot/\">\nRequire all denied\n</If>\n" ],
    [ 'Require all denied in <ElseIf>', "<Location /dq>\n<If \"%{REQUEST_METHOD} == 'POST'\">\nRequire all granted\n</If>\n<ElseIf \"-R '127.0.0.9/32'\">\nRequire all denied\n</ElseIf>\n</Location>\n" ],
    [ 'RewriteCond expr [F]', "RewriteEngine On\nRewriteCond expr \"-R '127.0.0.9/32'\"\nRewriteRule ^ - [F]\n" ],
    [ 'RewriteCond CONN_REMOTE_ADDR [F]', "RewriteEngine On\nRewriteCond %{CONN_REMOTE_ADDR} =127.0.0.9\nRewriteRule ^ - [F]\n" ],
    [ 'hotlink protection: two negated conditions [F]', "RewriteEngine On\nRewriteCond %{HTTP_REFERER} !^\$\nRewriteCond %{HTTP_REFERER} !^http://good\\.example/ [NC]\nRewriteRule ^ - [F]\n" ],
    [ 'RewriteRule [R=403]', "RewriteEngine On\nRewriteCond %{REMOTE_ADDR} =127.0.0.9\nRewriteRule ^ - [R=403]\n" ],
    [ '[F] for all but one address', "RewriteEngine On\nRewriteCond %{REMOTE_ADDR} !=127.0.0.5\nRewriteRule ^/dq/staff - [F]\n" ],
    [ 'SSLRequire', "<Location /dq>\nSSLRequire not (%{REMOTE_ADDR} -ipmatch \"127.0.0.9/32\")\n</Location>\n" ],
    [ 'an AuthzProviderAlias', "<AuthzProviderAlias expr notblocked \"! -R '127.0.0.9/32'\">\n</AuthzProviderAlias>\n<Directory /tmp>\nRequire notblocked\n</Directory>\n" ],
    [ '<Proxy> with Require not', "<Proxy \"*\">\n<RequireAll>\nRequire all granted\nRequire not ip 127.0.0.9\n</RequireAll>\n</Proxy>\n" ],
    # what changes without a reload: a blocklist map, a flag file
    [ 'RewriteRule [F] on a RewriteMap', "RewriteEngine On\nRewriteMap blocked \"txt:$map\"\nRewriteCond \${blocked:%{REQUEST_URI}|open} =closed\nRewriteRule ^ - [F]\n" ],
    [ 'RewriteRule [F] on a file test', "RewriteEngine On\nRewriteCond /tmp/flags%{REQUEST_URI} -f\nRewriteRule ^ - [F]\n" ],
    [ 'RewriteRule [G] on a negated file test', "RewriteEngine On\nRewriteCond %{REQUEST_FILENAME} !-f\nRewriteRule ^/dq/gone - [G]\n" ],
    [ 'RewriteRule [R=503] on a maintenance file', "RewriteEngine On\nRewriteCond /tmp/maintenance.flag -f\nRewriteRule ^ - [R=503]\n" ],
    # a refusal reached or not by an earlier rule's decision on the client
    # or on the file system: a chain, a skip, a last rule
    [ '[F] chained [C] to a rule on the User-Agent', "RewriteEngine On\nRewriteCond %{HTTP_USER_AGENT} badbot [NC]\nRewriteRule ^/dq/ - [C]\nRewriteRule ^ - [F]\n" ],
    [ '[F] skipped [S=1] by a flag file', "RewriteEngine On\nRewriteCond /tmp/flag !-f\nRewriteRule ^ - [S=1]\nRewriteRule ^/dq/ - [F]\n" ],
    [ '[F] after an [L] on a flag file', "RewriteEngine On\nRewriteCond /tmp/open -f\nRewriteRule ^ - [L]\nRewriteRule ^/dq/ - [F]\n" ],
);
for my $c (@denying) {
    my ($label, $rule) = @$c;
    my ($rc, $out) = SCTest::Apache->configtest($quick . $rule,
                                                modules => ['rewrite', 'proxy', 'ssl']);
    isnt($rc, 0, "$label next to quick mode: configtest fails");
    like($out, qr/SharedCacheQuickHandler On \(.*denies some clients/s,
         "$label: the message says why") or diag($out);
}
# A module that checks access by rules of its own (mod_lua's hooks, any
# module the check does not know): quick mode is refused while it is loaded.
{
    my ($rc, $out) = SCTest::Apache->configtest(
        $quick . "<Location /lua>\nLuaHookAccessChecker /tmp/no.lua deny_bots\n</Location>\n",
        modules => ['lua']);
    isnt($rc, 0, 'mod_lua next to quick mode: configtest fails');
    like($out, qr/SharedCacheQuickHandler On \(.*mod_lua\.c checks access/s,
         'mod_lua: the message names the module') or diag($out);
}
my ($rc, $out) = SCTest::Apache->configtest(
    $quick . "<Directory /tmp>\nRequire all granted\n</Directory>\n");
is($rc, 0, 'Require all granted next to quick mode is fine') or diag($out);
# A refusal on the URL alone is fine, and so is a route on a file test
# (a front controller: routing, not access).
($rc, $out) = SCTest::Apache->configtest(
    $quick . "RewriteEngine On\nRewriteCond %{REQUEST_URI} ^/dq/gone\n"
    . "RewriteRule ^ - [G]\n"
    . "RewriteCond %{REQUEST_FILENAME} !-f\nRewriteRule ^/dq/(.*) /app/\$1 [PT]\n",
    modules => ['rewrite']);
is($rc, 0, 'a [G] on the URL and a route on a file test next to quick mode are fine') or diag($out);
# WordPress's rules (a front controller with [L] on file tests) are fine.
($rc, $out) = SCTest::Apache->configtest(
    $quick . "RewriteEngine On\nRewriteRule ^/index\\.php\$ - [L]\n"
    . "RewriteCond %{REQUEST_FILENAME} !-f\nRewriteCond %{REQUEST_FILENAME} !-d\n"
    . "RewriteRule . /index.php [L]\n", modules => ['rewrite']);
is($rc, 0, 'WordPress\'s rules next to quick mode are fine') or diag($out);
done_testing;
