# Quick mode lets a page through when an anonymous client would be let
# through; a rule that denies some clients by what they send or are
# (Require not, Require expr or any provider but those that only let
# clients in by what they have, Require env of a variable a later rule
# may remove, Deny, <RequireNone>, SSLRequire, any
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
    # a refusal reached by an earlier rule's rewrite on the client
    [ '[F] of a path an earlier rule rewrites bots to', "RewriteEngine On\nRewriteCond %{HTTP_USER_AGENT} badbot [NC]\nRewriteRule ^/(.*)\$ /blocked/\$1\nRewriteRule ^/blocked/ - [F]\n" ],
    # the request line is the client's: its protocol, and a method the
    # quick handler serves (GET, HEAD)
    [ 'RewriteCond SERVER_PROTOCOL [F]', "RewriteEngine On\nRewriteCond %{SERVER_PROTOCOL} =HTTP/1.0\nRewriteRule ^ - [F]\n" ],
    [ 'RewriteCond REQUEST_METHOD =HEAD [F]', "RewriteEngine On\nRewriteCond %{REQUEST_METHOD} =HEAD\nRewriteRule ^ - [F]\n" ],
    # every spelling mod_rewrite reads
    [ '[redirect=403]', "RewriteEngine On\nRewriteCond %{HTTP_USER_AGENT} badbot [NC]\nRewriteRule ^ - [redirect=403]\n" ],
    [ '[R=0403]', "RewriteEngine On\nRewriteCond %{HTTP_USER_AGENT} badbot [NC]\nRewriteRule ^ - [R=0403]\n" ],
    [ '"[NC, F]"', "RewriteEngine On\nRewriteCond %{HTTP_USER_AGENT} badbot [NC]\nRewriteRule ^ - \"[NC, F]\"\n" ],
    # the local address is the connection's, not keyed (one virtual
    # host may listen on an internal and a public address)
    [ 'RewriteCond SERVER_ADDR [F]', "RewriteEngine On\nRewriteCond %{SERVER_ADDR} =127.0.0.2\nRewriteRule ^/dq/internal/ - [F]\n" ],
    # a protocol httpd accepts beyond the usual four
    [ 'RewriteCond SERVER_PROTOCOL, other versions [F]', "RewriteEngine On\nRewriteCond %{SERVER_PROTOCOL} !^HTTP/(0\\.9|1\\.[01]|2\\.0)\$\nRewriteRule ^ - [F]\n" ],
    # the one path an earlier rule decides on, without case
    [ '[F] of the path an earlier [NC] rule on the client decides on', "RewriteEngine On\nRewriteCond %{HTTP_USER_AGENT} !Mozilla\nRewriteRule ^/dq/x\$ - [NC,L]\nRewriteRule ^/dq/X\$ - [F]\n" ],
    # a parent server's rules run before a virtual host's that inherits them
    [ '[F] after a parent\'s [L] on the client (RewriteOptions InheritBefore)', "RewriteEngine On\nRewriteCond %{HTTP_USER_AGENT} !goodbot\nRewriteRule ^ - [L]\n<VirtualHost 127.0.0.2:8080>\nRewriteEngine On\nRewriteOptions InheritBefore\nRewriteRule ^/dq/ - [F]\n</VirtualHost>\n" ],
    [ 'a parent\'s [F] after a virtual host\'s [L] on the client (RewriteOptions Inherit)', "RewriteEngine On\nRewriteRule ^/dq/ - [F]\n<VirtualHost 127.0.0.2:8080>\nRewriteEngine On\nRewriteOptions Inherit\nRewriteCond %{HTTP_USER_AGENT} !goodbot\nRewriteRule ^ - [L]\n</VirtualHost>\n" ],
    [ '[Forbidden]', "RewriteEngine On\nRewriteCond %{HTTP_USER_AGENT} badbot [NC]\nRewriteRule ^ - [Forbidden]\n" ],
    # a redirect that does not end the rules goes on with its substitution
    # with "-" mod_rewrite redirects nowhere: [R,L] is [L]
    [ '[F] after a "-" [R=301,L] on the client', "RewriteEngine On\nRewriteCond %{HTTP_USER_AGENT} !Mozilla\nRewriteRule ^ - [R=301,L]\nRewriteRule ^/dq/admin - [F]\n" ],
    [ '[F] after a "-" [R,END] on the client', "RewriteEngine On\nRewriteCond %{HTTP_USER_AGENT} !Mozilla\nRewriteRule ^ - [R,END]\nRewriteRule ^/dq/admin - [F]\n" ],
    [ '[F] after a redirect on the client without [L]', "RewriteEngine On\nRewriteCond %{HTTPS} off\nRewriteRule ^ https://%{HTTP_HOST}%{REQUEST_URI} [R=301]\nRewriteRule ^/dq/secret - [F]\n" ],
    # "Require env" lets in whom a variable was set for: a later rule
    # that takes it away from some clients (after the quick phase: a
    # section's SetEnvIf, a server-level RewriteRule) refuses them, and
    # the anonymous client, for whom it does not fire, gets through
    [ 'Require env of a variable a section\'s SetEnvIf removes', "SetEnvIf Request_URI . good\n<Directory /tmp>\nSetEnvIf X-Bad ^1\$ !good\nRequire env good\n</Directory>\n" ],
    [ 'Require env of a variable a section\'s BrowserMatchNoCase removes', "SetEnvIf Request_URI . good\n<Directory /tmp>\nBrowserMatchNoCase badbot !good\n<RequireAny>\nRequire env other good\n</RequireAny>\n</Directory>\n" ],
    [ 'Require env of a variable a section\'s SetEnvIfExpr removes', "SetEnvIf Request_URI . good\n<Directory /tmp>\nSetEnvIfExpr \"-R '127.0.0.9/32'\" !good\nRequire env good\n</Directory>\n" ],
    [ 'Require env of a variable a RewriteRule [E=!] removes', "SetEnvIf Request_URI . good\nRewriteEngine On\nRewriteCond %{HTTP:X-Bad} =1\nRewriteRule ^ - [E=!good]\n<Directory /tmp>\nRequire env good\n</Directory>\n" ],
    [ 'Require env of a variable a second E= flag removes', "SetEnvIf Request_URI . good\nRewriteEngine On\nRewriteCond %{HTTP_USER_AGENT} badbot [NC]\nRewriteRule ^ - [E=bot:1,E=!good]\n<Directory /tmp>\nRequire env good\n</Directory>\n" ],
    # ... or after access control, but before the handler (fixups): the
    # stored key then lacks it as the refused client's quick key does
    [ 'Require env of a variable a section\'s RewriteRule [E=!] removes', "<Directory /tmp>\nSetEnvIf Referer ^\$ local_ref\nSetEnvIf Referer ^http://good\\.example/ local_ref\nRewriteEngine On\nRewriteRule ^ - [E=!local_ref]\nRequire env local_ref\n</Directory>\n" ],
    [ 'Require env of a variable UnsetEnv removes', "<Directory /tmp>\nSetEnvIf Referer ^\$ local_ref\nRequire env local_ref\n</Directory>\nUnsetEnv local_ref\n" ],
    # a name mod_rewrite expands before it reads the "!": an escape, a
    # back-reference the client chooses
    [ 'Require env of a variable an escaped [E=\\!] removes', "SetEnvIf Request_URI . good\nRewriteEngine On\nRewriteCond %{HTTP:X-Bad} =1\nRewriteRule ^ - [E=\\!good]\n<Directory /tmp>\nRequire env good\n</Directory>\n" ],
    [ 'Require env of a variable the client names to [E=!%1]', "SetEnvIf Request_URI . good\nRewriteEngine On\nRewriteCond %{HTTP:X-Bad} (.+)\nRewriteRule ^ - [E=!%1]\n<Directory /tmp>\nRequire env good\n</Directory>\n" ],
    [ 'Require env of a variable [E=%1] may name with its "!"', "SetEnvIf Request_URI . good\nRewriteEngine On\nRewriteCond %{HTTP:X-Bad} (.+)\nRewriteRule ^ - [E=%1:x]\n<Directory /tmp>\nRequire env good\n</Directory>\n" ],
    # mod_rewrite's words: "\ " is a blank inside one
    [ '[F] after a pattern with an escaped blank', "RewriteEngine On\nRewriteCond %{HTTP_USER_AGENT} evil\nRewriteRule ^/dq/(\\ )? - [F]\n" ],
    [ '[F] on a test string with an escaped blank', "RewriteEngine On\nRewriteCond %{REQUEST_URI}\\ %{HTTP_USER_AGENT} evil\$\nRewriteRule ^/dq/ - [F]\n" ],
    [ 'Require env of a variable removed after an escaped blank', "SetEnvIf Request_URI . good\nRewriteEngine On\nRewriteCond %{HTTP:X-Bad} =1\nRewriteRule ^/(\\ )? - [E=!good]\n<Directory /tmp>\nRequire env good\n</Directory>\n" ],
    # a provider alias under a name the check trusts replaces that
    # provider: its expression may refuse some clients
    [ 'an AuthzProviderAlias named method', "<AuthzProviderAlias expr method \"! -R '127.0.0.9/32'\">\n</AuthzProviderAlias>\n<Directory /tmp>\nRequire method GET\n</Directory>\n" ],
    [ 'an AuthzProviderAlias named all', "<AuthzProviderAlias expr all \"! -R '127.0.0.9/32'\">\n</AuthzProviderAlias>\n<Location /dq>\nRequire all granted\n</Location>\n" ],
    # mod_ssl refuses a connection by its cipher at access control (a
    # renegotiation); the probe copies the storing client's connection
    [ 'a section\'s SSLCipherSuite', "<Location /dq/strong>\nSSLCipherSuite ECDHE-ECDSA-AES256-GCM-SHA384\n</Location>\n" ],
    # a variable the key never holds (the cache's own names, mod_ssl's
    # where they are connection facts): its presence is in no key
    [ 'Require env of a variable named sharedcache*', "<Directory /tmp>\nSetEnvIf User-Agent ^(?!.*BadBot) sharedcache_ok\nRequire env sharedcache_ok\n</Directory>\n" ],
    [ 'Require env HTTPS', "<Directory /tmp>\nSetEnvIf User-Agent ^(?!.*BadBot) HTTPS=on\nRequire env HTTPS\n</Directory>\n" ],
    [ 'Require env of an SSL_ variable', "RewriteEngine On\nRewriteCond %{HTTP_USER_AGENT} !BadBot [NV]\nRewriteRule ^ - [E=SSL_OK]\n<Directory /tmp>\nRequire env SSL_OK\n</Directory>\n" ],
    # mod_access_compat's twins of Require not env and Require env
    [ 'Allow from env=!var', "<Directory /tmp>\nSetEnvIfNoCase User-Agent badbot bad_bot\nOrder Allow,Deny\nAllow from env=!bad_bot\n</Directory>\n" ],
    [ 'Allow from env= of a variable a section\'s SetEnvIf removes', "SetEnvIf Request_URI . good\n<Directory /tmp>\nSetEnvIfNoCase User-Agent badbot !good\nOrder Allow,Deny\nAllow from 192.0.2.0/24 env=good\n</Directory>\n" ],
    [ 'Require env of a variable a RewriteRule [env=!] removes', "SetEnvIf Request_URI . good\nRewriteEngine On\nRewriteCond %{REMOTE_ADDR} =127.0.0.9\nRewriteRule ^ - [NC,env=!good]\n<Directory /tmp>\nRequire env good\n</Directory>\n" ],
);
for my $c (@denying) {
    my ($label, $rule) = @$c;
    my ($rc, $out) = SCTest::Apache->configtest($quick . $rule,
                                                modules => ['rewrite', 'proxy', 'ssl',
                                                            'access_compat', 'env']);
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
# "Require env" of a variable nothing takes away later is an allowlist:
# the probe keeps such pages out of the quick phase (the server-level
# SetEnvIf that removes one runs before it, and is in the key).
($rc, $out) = SCTest::Apache->configtest(
    $quick . "SetEnvIf X-Good ^1\$ good\nSetEnvIf X-Bad ^1\$ !other\n"
    . "<Directory /tmp>\nSetEnvIf X-Bad ^1\$ !unrelated\nRequire env good\n</Directory>\n");
is($rc, 0, 'Require env of a variable no later rule removes next to quick mode is fine')
    or diag($out);
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
# Refusals of methods the quick handler never serves are fine.
($rc, $out) = SCTest::Apache->configtest(
    $quick . "RewriteEngine On\nRewriteCond %{REQUEST_METHOD} ^(TRACE|TRACK)\n"
    . "RewriteRule .* - [F]\nRewriteCond %{REQUEST_METHOD} !^(GET|HEAD|POST)\$ [NC]\n"
    . "RewriteRule .* - [F]\nRewriteCond %{REQUEST_METHOD} =POST\n"
    . "RewriteRule ^/dq/ro/ - [R=405]\n", modules => ['rewrite']);
is($rc, 0, 'refusals of TRACE, of other methods than GET, HEAD, POST, of POST: fine')
    or diag($out);
# Drupal's and Nextcloud's rules: a URL-only refusal after a front
# controller on the request's own file; one after a rule on the client
# whose pattern matches no path the refusal matches.
($rc, $out) = SCTest::Apache->configtest($quick . <<'DRUPAL', modules => ['rewrite']);
<Directory /var/www/drupal>
  RewriteEngine on
  RewriteRule "/\.|^\.(?!well-known/)" - [F]
  RewriteCond %{HTTP_HOST} .
  RewriteCond %{HTTP_HOST} ^www\.(.+)$ [NC]
  RewriteRule ^ http%{ENV:protossl}://%1%{REQUEST_URI} [L,R=301]
  RewriteCond %{REQUEST_URI} ^(.*)?/(install\.php) [OR]
  RewriteCond %{REQUEST_URI} ^(.*)?/(rebuild\.php)
  RewriteCond %{REQUEST_URI} !core
  RewriteRule ^ %1/core/%2 [L,QSA,R=301]
  RewriteRule ^core/install\.php core/install.php?rewrite=ok [QSA,L]
  RewriteCond %{REQUEST_FILENAME} !-f
  RewriteCond %{REQUEST_FILENAME} !-d
  RewriteCond %{REQUEST_URI} !=/favicon.ico
  RewriteRule ^ index.php [L]
  RewriteCond %{REQUEST_URI} !/core/[^/]*\.php$
  RewriteCond %{REQUEST_URI} !/core/modules/system/tests/https?\.php
  RewriteCond %{REQUEST_URI} !/core/modules/statistics/statistics\.php$
  RewriteRule "^(.+/.*|autoload)\.php($|/)" - [F]
</Directory>
DRUPAL
is($rc, 0, 'Drupal\'s rules next to quick mode are fine') or diag($out);
($rc, $out) = SCTest::Apache->configtest($quick . <<'NEXTCLOUD', modules => ['rewrite']);
<Directory /var/www/nextcloud>
  RewriteEngine on
  RewriteCond %{HTTP_USER_AGENT} DavClnt
  RewriteRule ^$ /remote.php/webdav/ [L,R=302]
  RewriteRule .* - [env=HTTP_AUTHORIZATION:%{HTTP:Authorization}]
  RewriteRule ^\.well-known/carddav /remote.php/dav/ [R=301,L]
  RewriteRule ^\.well-known/caldav /remote.php/dav/ [R=301,L]
  RewriteRule ^remote/(.*) remote.php [QSA,L]
  RewriteRule ^(?:build|tests|config|lib|3rdparty|templates)/.* - [R=404,L]
  RewriteRule ^\.well-known/(?!acme-challenge|pki-validation) /index.php [QSA,L]
  RewriteRule ^ocm-provider/?$ index.php [QSA,L]
  RewriteRule ^(?:\.(?!well-known)|autotest|occ|issue|indie|db_|console).* - [R=404,L]
</Directory>
NEXTCLOUD
is($rc, 0, 'Nextcloud\'s rules next to quick mode are fine') or diag($out);
# ... but a refusal that can match the path such a rule decides on is not.
($rc, $out) = SCTest::Apache->configtest($quick . <<'DAV', modules => ['rewrite']);
<Directory /var/www/nextcloud>
  RewriteEngine on
  RewriteCond %{HTTP_USER_AGENT} DavClnt
  RewriteRule ^$ /remote.php/webdav/ [L]
  RewriteRule ^$ - [F]
</Directory>
DAV
isnt($rc, 0, 'a refusal of the path a rule on the client decides on fails');
# A redirect that ends the rules sends whom it matches away for good:
# those it does not match reach a later refusal as if it were not there,
# and nobody gets the page.  Forcing HTTPS, or a canonical URL for
# index.php, before a refusal of a path (found wrongly refused by the
# outside attack).
for my $c (
    [ 'forcing HTTPS', "RewriteCond %{HTTPS} off\nRewriteRule ^ https://%{HTTP_HOST}%{REQUEST_URI} [L,R=301]\n" ],
    [ 'index.php to /', "RewriteCond %{THE_REQUEST} ^[A-Z]{3,9}\\ /index\\.php\\ HTTP/\nRewriteRule ^/index\\.php\$ http://www.example.com/ [R=301,L]\n" ],
    [ 'DavClnt to WebDAV', "RewriteCond %{HTTP_USER_AGENT} DavClnt\nRewriteRule ^/\$ /remote.php/webdav/ [END,R=302]\n" ],
) {
    my ($label, $redirect) = @$c;
    ($rc, $out) = SCTest::Apache->configtest(
        $quick . "RewriteEngine On\n$redirect"
        . "RewriteRule ^/wp-config\\.php\$ - [F]\nRewriteRule ^/\$ - [F]\n",
        modules => ['rewrite']);
    is($rc, 0, "$label, then a refusal of a path: fine") or diag($out);
}
done_testing;
