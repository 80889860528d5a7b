# Quick mode keys a request before any RewriteRule, section SetEnvIf or
# <If> runs.  Where such a rule routes or marks the clients it picks by
# what they are (their address, the local address, TLS, the environment,
# an expression, a map of any of those) and lets an anonymous client
# through, it is a blocklist: the store-time probe asks as an anonymous
# client, so the picked client would get the anonymous page as a quick
# hit (a [PT] to a section that refuses, a geo-block [R=302], a map's
# route, a <Directory> rewrite to a refused file, an application told by
# a variable).  Next to quick mode that fails configtest, as a Require
# not does (outside-attack round 60 F2).  Routes by what a client sends
# (headers, the request line) are only said (t/quick_rewrite_route.t).
use strict;
use warnings;
use Test::More;
use SCTest;

my $map = "/tmp/sc-quick-routes-$$.map";
open my $mf, '>', $map or die $!;
print $mf "127.0.0.66 /blocked\n";
close $mf;
END { unlink $map if $map }

my $quick = "<Location /app>\n    SharedCache On\n    SharedCacheQuickHandler On\n</Location>\n"
    . "<Location /blocked>\n    Require all denied\n</Location>\n";
my @refused = (
    [ '[PT] by address to a refusing section',
      "RewriteEngine On\nRewriteCond %{REMOTE_ADDR} =127.0.0.66\nRewriteRule ^/app/ /blocked [PT]\n" ],
    [ '[R=302] geo-block on an environment variable',
      "RewriteEngine On\nRewriteCond %{ENV:GEOIP_COUNTRY_CODE} ^(XX|YY)\$\nRewriteRule ^/app/ http://blocked.example/ [R=302,L]\n" ],
    [ 'a route a map of the address gives',
      "RewriteEngine On\nRewriteMap route \"txt:$map\"\nRewriteRule ^/app/(.*) \${route:%{REMOTE_ADDR}|/app/\$1} [PT]\n" ],
    [ 'a <Directory> rewrite by address to a refused file',
      "<Directory /tmp>\nRewriteEngine On\nRewriteCond %{REMOTE_ADDR} =127.0.0.66\nRewriteRule ^ denied.html [L]\n</Directory>\n<Files denied.html>\nRequire all denied\n</Files>\n" ],
    [ 'an expression condition',
      "RewriteEngine On\nRewriteCond expr \"-R '127.0.0.66/32'\"\nRewriteRule ^/app/ /blocked [PT]\n" ],
    [ 'a route on the local address',
      "RewriteEngine On\nRewriteCond %{SERVER_ADDR} !=127.0.0.1\nRewriteRule ^/app/ /blocked [PT]\n" ],
    [ 'a client certificate\'s name',
      "RewriteEngine On\nRewriteCond %{SSL:SSL_CLIENT_S_DN_CN} =mallory\nRewriteRule ^/app/ /blocked [PT]\n" ],
    [ 'a [E=] of the address the application reads',
      "RewriteEngine On\nRewriteCond %{REMOTE_ADDR} =127.0.0.66\nRewriteRule ^ - [E=BLOCKED:1]\n" ],
    [ 'a substitution of the address',
      "RewriteEngine On\nRewriteRule ^/app/(.*) /app/%{REMOTE_ADDR}/\$1 [PT]\n" ],
    [ 'a section\'s SetEnvIf Remote_Addr',
      "<Location /app/x>\nSetEnvIf Remote_Addr ^127\\.0\\.0\\.66\$ BLOCKED\n</Location>\n" ],
    [ 'a section\'s SetEnvIfExpr',
      "<Location /app/x>\nSetEnvIfExpr \"-R '127.0.0.66/32'\" BLOCKED\n</Location>\n" ],
    [ 'a section\'s SetEnvIf on an environment variable',
      "<Location /app/x>\nSetEnvIf GEOIP_COUNTRY_CODE ^XX\$ BLOCKED\n</Location>\n" ],
    [ 'a RequestHeader on an expression',
      "<Location /app/x>\nRequestHeader set X-Blocked 1 \"expr=-R '127.0.0.66/32'\"\n</Location>\n" ],
    [ 'a RequestHeader on an expression, "early" in its value (round 61 F1)',
      "<Location /app/x>\nRequestHeader set X-Blocked yearly-ban \"expr=-R '127.0.0.66/32'\"\n</Location>\n" ],
    [ '<Else> of an <If> on the address, with a Redirect',
      "<If \"-R '127.0.0.5/32'\">\nHeader set X-Staff 1\n</If>\n<Else>\nRedirect 302 / http://blocked.example/\n</Else>\n" ],
    [ '<If> on a function of the environment',
      "<If \"env('GEO') == 'XX'\">\nRedirect 302 / http://blocked.example/\n</If>\n" ],
    [ '<If> on the URL holding an access rule',
      "<If \"%{REQUEST_URI} =~ m#^/app/admin#\">\nRequire ip 127.0.0.5\n</If>\n" ],
    # the expression's operators glued to a keyword, a function's "(" after
    # a blank (round 62 L1)
    [ '<If> on "true and-R"', "<If \"true and-R '127.0.0.66/32'\">\nRedirect 302 / http://blocked.example/\n</If>\n" ],
    [ '<If> on "not-R"', "<If \"not-R '127.0.0.66/32'\">\nRedirect 302 / http://blocked.example/\n</If>\n" ],
    [ '<If> on "reqenv (..)"', "<If \"reqenv ('BLOCKED') == '1'\">\nRedirect 302 / http://blocked.example/\n</If>\n" ],
    # a quote inside a regex or a "..." string hid the rest (round 74 H1)
    [ 'a RewriteCond expr with a quote in a regex',
      "RewriteEngine On\nRewriteCond expr \"%{HTTP_HOST} =~ /'/ || -R '127.0.0.66/32'\"\nRewriteRule ^/app/ - [F]\n" ],
    [ 'a RewriteCond expr with a quote in a \"...\" string',
      "RewriteEngine On\nRewriteCond expr (\"'\"==\"x\"||-R'127.0.0.66/32')\nRewriteRule ^/app/ /blocked [PT]\n" ],
    # "\\}" inside a variable's argument does not end it (round 75 H1)
    [ 'a RewriteCond expr with an escaped "}" in a variable',
      "RewriteEngine On\nRewriteCond expr \"%{HTTP:X-A\\}/} == 'on' || -R '127.0.0.66' || %{HTTP:X-B\\}/} == 'on'\"\nRewriteRule ^/app/ /blocked [PT]\n" ],
    # a refusal on a file test changes without a reload, in an
    # expression as in a RewriteCond's own test (round 77 H1)
    [ 'a RewriteCond expr file test of REQUEST_FILENAME with [F]',
      "RewriteEngine On\nRewriteCond expr \"-f %{REQUEST_FILENAME}\"\nRewriteRule ^ - [F]\n" ],
    # a rule on a flag file or a map, through a variable or a route
    # (round 78 H1): it changes without a reload like a refusal on it
    [ 'a flag file\'s variable, then [F] on it',
      "RewriteEngine On\nRewriteCond /tmp/flags%{REQUEST_URI} -f\nRewriteRule ^ - [E=BLK:1]\nRewriteCond %{ENV:BLK} =1\nRewriteRule ^ - [F]\n" ],
    [ 'a map\'s variable, then [F] on it',
      "RewriteEngine On\nRewriteMap blocked \"txt:$map\"\nRewriteCond \${blocked:%{REQUEST_URI}|open} =closed\nRewriteRule ^ - [E=BLK:1]\nRewriteCond %{ENV:BLK} =1\nRewriteRule ^ - [F]\n" ],
    [ 'a flag file\'s variable, then a RewriteCond expr on it',
      "RewriteEngine On\nRewriteCond /tmp/flags%{REQUEST_URI} -f\nRewriteRule ^ - [E=BLK:1]\nRewriteCond expr \"reqenv('BLK') == '1'\"\nRewriteRule ^ - [F]\n" ],
    [ 'a route on a flag file to a refusing section',
      "RewriteEngine On\nRewriteCond /tmp/maint -f\nRewriteRule ^/app/ /blocked [PT]\n" ],
    # ... also ending the rules, an external redirect, through [C] and
    # [S] (round 79 H1)
    [ 'a route on a flag file with [PT,L]',
      "RewriteEngine On\nRewriteCond /tmp/maint -f\nRewriteRule ^/app/ /blocked [PT,L]\n" ],
    [ 'a takedown redirect on a flag file',
      "RewriteEngine On\nRewriteCond /tmp/flags%{REQUEST_URI} -f\nRewriteRule ^ /gone.html [R=302,L]\n" ],
    [ 'a flag file chaining to a route',
      "RewriteEngine On\nRewriteCond /tmp/maint -f\nRewriteRule ^ - [C]\nRewriteRule ^/app/ /blocked [PT]\n" ],
    [ 'a flag file skipping a route',
      "RewriteEngine On\nRewriteCond /tmp/maint -f\nRewriteRule ^ - [S=1]\nRewriteRule ^/app/(.*) /app/open/\$1 [PT]\n" ],
    [ 'a flag file chaining to an E=, then [F] on it in a <Location>',
      "RewriteEngine On\nRewriteCond /tmp/maint -f\nRewriteRule ^ - [C]\nRewriteRule ^ - [E=BLK:1]\n<Location /app/x>\nRewriteEngine On\nRewriteCond %{ENV:BLK} =1\nRewriteRule ^ - [F]\n</Location>\n" ],
    # per-directory lists joined by RewriteOptions Inherit (round 80 H1)
    [ 'a flag file\'s [L] in one <Location>, an inheriting one\'s [F]',
      "<Location /app>\nRewriteEngine On\nRewriteCond /tmp/flag -f\nRewriteRule ^ - [L]\n</Location>\n<Location /app/secret>\nRewriteEngine On\nRewriteOptions InheritBefore\nRewriteRule ^ - [F]\n</Location>\n" ],
    [ 'the same in two <Directory> sections',
      "<Directory /tmp/d>\nRewriteEngine On\nRewriteCond /tmp/flag -f\nRewriteRule ^ - [L]\n</Directory>\n<Directory /tmp/d/secret>\nRewriteEngine On\nRewriteOptions Inherit\nRewriteRule ^ - [F]\n</Directory>\n" ],
    # [END] in a server's or a host's rules ends the per-directory
    # rules too (outside attack round 81 H1)
    [ 'a flag file\'s [END] in the server\'s rules, a <Location>\'s [F]',
      "RewriteEngine On\nRewriteCond /tmp/flag -f\nRewriteRule ^ - [END]\n<Location /app/x>\nRewriteEngine On\nRewriteRule ^ - [F]\n</Location>\n" ],
    [ 'a map\'s [END] in a virtual host, a <Directory>\'s [R=403]',
      "<VirtualHost 127.0.0.2:80>\nRewriteEngine On\nRewriteMap open \"txt:$map\"\nRewriteCond \${open:%{REQUEST_URI}} =1\nRewriteRule ^ - [END]\n</VirtualHost>\n<Directory /tmp/d>\nRewriteEngine On\nRewriteRule ^ - [R=403]\n</Directory>\n" ],
    [ 'a flag file chained to an [END] in the server\'s rules, a <Location>\'s [G]',
      "RewriteEngine On\nRewriteCond /tmp/flag -f\nRewriteRule ^ - [C]\nRewriteRule ^ - [END]\n<Location /app/x>\nRewriteEngine On\nRewriteRule ^ - [G]\n</Location>\n" ],
    [ 'a client\'s [END] in the server\'s rules, a <Location>\'s [F]',
      "RewriteEngine On\nRewriteCond %{REMOTE_ADDR} =127.0.0.5\nRewriteRule ^ - [END]\n<Location /app/x>\nRewriteEngine On\nRewriteRule ^ - [F]\n</Location>\n" ],
    # a rule an earlier decision on state reaches is decided on state
    # (outside attack round 83 H1)
    [ 'a flag file\'s [L] before a route into a refusing section',
      "RewriteEngine On\nRewriteCond /tmp/flag -f\nRewriteRule ^ - [L]\nRewriteRule ^/app/(.*) /blocked/\$1 [PT]\n<Location /blocked>\nRequire all denied\n</Location>\n" ],
    [ 'a flag file\'s [L] before an [END], a <Location>\'s [F]',
      "RewriteEngine On\nRewriteCond /tmp/flag -f\nRewriteRule ^ - [L]\nRewriteRule ^ - [END]\n<Location /app/x>\nRewriteEngine On\nRewriteRule ^ - [F]\n</Location>\n" ],
    [ 'the same in a virtual host',
      "<VirtualHost 127.0.0.2:80>\nRewriteEngine On\nRewriteCond /tmp/flag -f\nRewriteRule ^ - [L]\nRewriteRule ^ - [END]\n</VirtualHost>\n<Location /app/x>\nRewriteEngine On\nRewriteRule ^ - [F]\n</Location>\n" ],
    [ 'a flag file\'s [END] before a <Location>\'s route',
      "RewriteEngine On\nRewriteCond /tmp/flag -f\nRewriteRule ^ - [END]\n<Location /app/x>\nRewriteEngine On\nRewriteRule ^ /blocked/x [PT]\n</Location>\n" ],
    [ 'a file map whose name holds braces next to an int: one (mod_rewrite reads the name up to the ":" outside braces)',
      "RewriteEngine On\nRewriteMap lc{ int:tolower\nRewriteMap \"lc{:}\" \"txt:$map\"\nRewriteCond \${lc{:}:%{REQUEST_URI}|0} =1\nRewriteRule ^/app/ - [F]\n" ],
    # a refusal inside an <If> on what a client sends, or on the time
    # (which changes without a reload, as a flag file does): outside
    # attack round 84 H1
    [ 'hotlink protection: a RewriteRule [F] inside an <If> on Referer',
      "<If \"! %{HTTP_REFERER} =~ m#^http://good\\.example/#\">\nRewriteEngine On\nRewriteRule ^ - [F]\n</If>\n" ],
    [ 'a Redirect gone inside an <If> on a header', "<If \"%{HTTP:X-Old-Client} == '1'\">\nRedirect gone\n</If>\n" ],
    [ 'a Redirect 403 inside an <If> on a header', "<If \"%{HTTP:X-Old-Client} == '1'\">\nRedirect 403\n</If>\n" ],
    [ 'a Redirect gone inside an <If> on the time', "<If \"%{TIME} > '20261129000000'\">\nRedirect gone\n</If>\n" ],
    [ 'a route on the time into a refusing section',
      "RewriteEngine On\nRewriteCond %{TIME_HOUR} ^0[0-6]\$\nRewriteRule ^/app/(.*) /closed/\$1 [PT]\n<Location /closed>\nRequire all denied\n</Location>\n" ],
    [ 'a refusal of HEAD only inside an <If> (the quick handler serves HEAD as GET)',
      "<If \"%{REQUEST_METHOD} == 'HEAD'\">\nRedirect 403\n</If>\n" ],
    [ 'a refusal of GET only inside an <If> (a regex)', "<If \"%{REQUEST_METHOD} =~ /^GET\$/\">\nRedirect 403\n</If>\n" ],
    [ 'a method compared to a header inside an <If> (a string expands %{...})', "<If \"%{REQUEST_METHOD} == '%{HTTP:X-M}'\">\nRedirect 403\n</If>\n" ],
    # method tests that GET and HEAD do not pass alike, however spelled
    # (outside attack round 86)
    [ 'HEAD refused by a case-blind regex', "<If \"%{request_method} =~ /^head\$/i\">\nRedirect 403\n</If>\n" ],
    [ 'all but GET refused', "<If \"%{REQUEST_METHOD} != 'GET'\">\nRedirect 403\n</If>\n" ],
    [ 'HEAD refused in an m_..._ regex', "<If \"%{REQUEST_METHOD} =~ m_^HEAD\$_\">\nRedirect 403\n</If>\n" ],
    [ 'a method or a header', "<If \"%{REQUEST_METHOD} == 'TRACE' || %{HTTP:X-A} == '1'\">\nRedirect 403\n</If>\n" ],
    [ 'SSLRequireSSL inside an <If> on a header', "<If \"%{HTTP:X-A} == '1'\">\nSSLRequireSSL\n</If>\n" ],
    # a regex compiled with the RegexDefaultOptions of its own line
    # (outside attack round 88 H1)
    [ 'HEAD refused by a RewriteCond under RegexDefaultOptions +ICASE',
      "RegexDefaultOptions +ICASE\nRewriteEngine On\nRewriteCond %{REQUEST_METHOD} ^head\$\nRewriteRule ^ - [F]\nRegexDefaultOptions -ICASE\n" ],
    [ 'HEAD refused by an <If> regex under RegexDefaultOptions +ICASE',
      "RegexDefaultOptions +ICASE\n<If \"%{REQUEST_METHOD} =~ /^head\$/\">\nRedirect 403\n</If>\nRegexDefaultOptions -ICASE\n" ],
    # a <Limit> limits the access rules in it, not the rest (outside
    # attack round 89 H1, H2)
    [ 'SSLRequire inside a <Limit POST>', "<Location /app/x>\n<Limit POST>\nSSLRequire %{REMOTE_ADDR} != \"127.0.0.9\"\n</Limit>\n</Location>\n" ],
    [ 'SSLCipherSuite inside a <Limit POST>', "<Location /app/x>\n<Limit POST>\nSSLCipherSuite HIGH\n</Limit>\n</Location>\n" ],
    # a denial in an <If> whatever its condition reads (outside attack
    # round 90 H1)
    [ 'a WSGIAccessScript inside a method-only <If>', "<If \"%{REQUEST_METHOD} != 'POST'\">\nWSGIAccessScript /tmp/access.wsgi\n</If>\n" ],
    [ 'a WSGIAccessScript inside an <If> on the URL', "<If \"%{REQUEST_URI} =~ m#^/app/#\">\nWSGIAccessScript /tmp/access.wsgi\n</If>\n" ],
    [ 'a WSGIAccessScript inside an <Else> of a method test', "<If \"%{REQUEST_METHOD} == 'POST'\">\nHeader set X-Post 1\n</If>\n<Else>\nWSGIAccessScript /tmp/access.wsgi\n</Else>\n" ],
    [ 'a WSGIAccessScript inside an <If> on a header', "<If \"%{HTTP:X-A} == '1'\">\nWSGIAccessScript /tmp/access.wsgi\n</If>\n" ],
    # a regex or wildcard <Location> covers any path (outside attack
    # round 91 H1)
    [ 'a denylist in a <Location ~ regex>', "<Location ~ \"^/app/x/\">\n<RequireAll>\nRequire all granted\nRequire not ip 127.0.0.9\n</RequireAll>\n</Location>\n" ],
    [ 'a denylist in <Location /app/> (the quick <Location /app> covers it)', "<Location /app/>\n<RequireAll>\nRequire all granted\nRequire not ip 127.0.0.9\n</RequireAll>\n</Location>\n" ],
    [ 'a denylist in a wildcard <Location>', "<Location \"/*/x\">\n<RequireAll>\nRequire all granted\nRequire not ip 127.0.0.9\n</RequireAll>\n</Location>\n" ],
    [ 'a route by a map in the substitution',
      "RewriteEngine On\nRewriteMap blocked \"txt:$map\"\nRewriteRule ^/app/(.*) \${blocked:\$1|/app/\$1} [PT]\n" ],
    [ 'an int: map whose name another host gives a file',
      "RewriteEngine On\nRewriteMap lc int:tolower\nRewriteRule ^/app/(.*) /app/\${lc:\$1} [PT]\n<VirtualHost 127.0.0.2:80>\nRewriteEngine On\nRewriteMap lc \"txt:$map\"\nRewriteRule ^/app/(.*) /app/\${lc:\$1} [PT]\n</VirtualHost>\n" ],
    [ 'an int: map around a file map', "RewriteEngine On\nRewriteMap lc int:tolower\nRewriteMap blocked \"txt:$map\"\nRewriteRule ^/app/(.*) /app/\${lc:\${blocked:\$1}} [PT]\n" ],
    [ 'a RewriteCond expr on a function of the environment',
      "RewriteEngine On\nRewriteCond expr \"reqenv('BLOCKED') == '1'\"\nRewriteRule ^/app/ /blocked [PT]\n" ],
    [ '<If> on "filesize (..)"', "<If \"filesize ('/tmp/flag') -gt 0\">\nRedirect 302 / http://blocked.example/\n</If>\n" ],
    [ 'a RequestHeader on "expr=not-R"', "<Location /app/x>\nRequestHeader set X-Blocked 1 \"expr=not-R '127.0.0.1/32'\"\n</Location>\n" ],
    [ '<If> on a file test of the request\'s file joined to another name (round 76 H1)',
      "<If \"-f %{REQUEST_FILENAME} . '.gone'\">\nRedirect 302 / http://blocked.example/\n</If>\n" ],
    [ '<If> on a file test of another file', "<If \"-f '/tmp/blocked-flag'\">\nRedirect 302 / http://blocked.example/\n</If>\n" ],
    [ 'a route on a variable an address rule sets',
      "RewriteEngine On\nRewriteCond %{REMOTE_ADDR} =127.0.0.66\nRewriteRule ^ - [E=BASE:/blocked]\nRewriteRule ^/app/(.*) %{ENV:BASE}/\$1 [PT]\n" ],
    [ '<If> with a Redirect',
      "<If \"-R '127.0.0.66/32'\">\nRedirect 302 http://blocked.example/\n</If>\n" ],
    [ '<If> with a SetEnv, inside a <Location>',
      "<Location /app>\n<If \"-R '127.0.0.66/32'\">\nSetEnv BLOCKED 1\n</If>\n</Location>\n" ],
    [ '<ElseIf> with a SetHandler',
      "<If \"-R '127.0.0.5/32'\">\nHeader set X-Staff 1\n</If>\n<ElseIf \"-R '127.0.0.66/32'\">\nSetHandler blocked-handler\n</ElseIf>\n" ],
);
for my $c (@refused) {
    my ($label, $rule) = @$c;
    my ($rc, $out) = SCTest::Apache->configtest($quick . $rule,
                                                modules => ['rewrite', 'ssl', 'headers', 'alias', 'env']);
    isnt($rc, 0, "$label next to quick mode: configtest fails");
    like($out, qr/SharedCacheQuickHandler On \(.*(routes or marks|denies) some clients/s,
         "$label: the message says why") or diag($out);
}

# What every client gets alike, or what a client sends (said, not
# refused), and a condition on the scheme (in the key).
for my $c (
    [ 'HSTS in <If> on HTTPS', "<If \"%{HTTPS} == 'on'\">\nHeader always set Strict-Transport-Security \"max-age=1\"\n</If>\n" ],
    [ 'forcing HTTPS', "RewriteEngine On\nRewriteCond %{HTTPS} off\nRewriteRule ^ https://%{HTTP_HOST}%{REQUEST_URI} [L,R=301]\n" ],
    [ 'a mobile route by User-Agent', "RewriteEngine On\nRewriteCond %{HTTP_USER_AGENT} Mobile\nRewriteRule ^/app/(.*) /app/m/\$1 [PT]\n" ],
    [ 'a canonical host', "RewriteEngine On\nRewriteCond %{HTTP_HOST} !^www\\. [NC]\nRewriteRule ^ http://www.example.com%{REQUEST_URI} [R=301,L]\n" ],
    [ 'a server-wide SetEnvIf Remote_Addr', "SetEnvIf Remote_Addr ^127\\.0\\.0\\.66\$ BLOCKED\n" ],
    [ 'a RequestHeader of the address (each client its own: the probe\'s is not the entry\'s)',
      "<Location /app/x>\nRequestHeader set X-Client-IP \"expr=%{REMOTE_ADDR}\"\n</Location>\n" ],
    # <If> on what the key holds, or what a client sends (round 61 F2)
    [ 'the manual\'s canonical host <If>', "<If \"%{HTTP_HOST} != 'www.example.com'\">\nRedirect / http://www.example.com/\n</If>\n" ],
    [ 'an <If> redirect to HTTPS', "<If \"%{HTTPS} != 'on'\">\nRedirect permanent / https://example.com/\n</If>\n" ],
    [ 'a load balancer\'s X-Forwarded-Proto <If>', "<If \"%{HTTP:X-Forwarded-Proto} == 'http'\">\nRedirect permanent / https://example.com/\n</If>\n" ],
    [ 'a type by URL in <If>', "<If \"%{REQUEST_URI} =~ m#\\.json\$#\">\nForceType application/json\n</If>\n" ],
    [ 'an <Else> of an <If> on the host', "<If \"%{HTTP_HOST} == 'www.example.com'\">\nHeader set X-A 1\n</If>\n<Else>\nRedirect / http://www.example.com/\n</Else>\n" ],
    # front controllers (round 62 M1): a variable a rule on the URL sets,
    # httpd's REDIRECT_STATUS, a file test of the request's own file
    [ 'Symfony\'s apache-pack rules', "<Directory /tmp/sym>\nRewriteEngine On\nRewriteCond %{REQUEST_URI}::\$0 ^(/.+)/(.*)::\\2\$\nRewriteRule .* - [E=BASE:%1]\nRewriteCond %{HTTP:Authorization} .+\nRewriteRule ^ - [E=HTTP_AUTHORIZATION:%0]\nRewriteCond %{ENV:REDIRECT_STATUS} =\"\"\nRewriteRule ^index\\.php(?:/(.*)|\$) %{ENV:BASE}/\$1 [R=301,L]\nRewriteCond %{REQUEST_FILENAME} -f\nRewriteRule ^ - [L]\nRewriteRule ^ %{ENV:BASE}/index.php [L]\n</Directory>\n" ],
    [ 'a REDIRECT_STATUS loop guard', "<Directory /tmp/wp>\nRewriteEngine On\nRewriteCond %{ENV:REDIRECT_STATUS} ^\$\nRewriteRule ^index\\.php\$ - [L]\nRewriteCond %{REQUEST_FILENAME} !-f\nRewriteRule . /index.php [L]\n</Directory>\n" ],
    [ 'an <If> front controller on its own file', "<Directory /tmp/x>\n<If \"! -f %{REQUEST_FILENAME}\">\nSetHandler application/x-httpd-php\n</If>\n</Directory>\n" ],
    [ 'an <If> on a hyphenated host', "<If \"%{HTTP_HOST} != 'www.my-site.example'\">\nRedirect / http://www.my-site.example/\n</If>\n" ],
    [ 'an <If> with "not (...)"', "<If \"not (%{HTTP_HOST} == 'www.example.com')\">\nRedirect / http://www.example.com/\n</If>\n" ],
    [ 'a RequestHeader early', "RequestHeader set X-Early 1 early\n" ],
    [ 'a section\'s BrowserMatch', "<Location /app/x>\nBrowserMatch Mobile mobile\n</Location>\n" ],
    # a RewriteCond expr is read as an <If>'s expression (round 73 L1)
    [ 'a canonical host by RewriteCond expr', "RewriteEngine On\nRewriteCond expr \"%{HTTP_HOST} != 'www.example.com'\"\nRewriteRule ^ http://www.example.com%{REQUEST_URI} [R=301,L]\n" ],
    [ 'a host refused by RewriteCond expr', "RewriteEngine On\nRewriteCond expr \"%{HTTP_HOST} =~ /^old\\./\"\nRewriteRule ^ - [F]\n" ],
    [ 'a RewriteCond expr regex with "(" and "-"', "RewriteEngine On\nRewriteCond expr \"%{REQUEST_URI} =~ m#^/app/old(/|-data)#\"\nRewriteRule ^ - [G]\n" ],
    [ 'an <If> front controller on DOCUMENT_ROOT and REQUEST_URI', "<Directory /tmp/x>\n<If \"! -f '%{DOCUMENT_ROOT}%{REQUEST_URI}'\">\nSetHandler application/x-httpd-php\n</If>\n</Directory>\n" ],
    [ 'a RewriteCond expr list of URLs (round 75 M1)', "RewriteEngine On\nRewriteCond expr \"%{REQUEST_URI} -in { '/old', '/older' }\"\nRewriteRule ^ - [G]\n" ],
    [ 'a front controller by RewriteCond expr', "<Directory /tmp/fc>\nRewriteEngine On\nRewriteCond expr \"! -f %{REQUEST_FILENAME}\"\nRewriteRule ^ index.php [L]\n</Directory>\n" ],
    [ 'a route by RewriteCond expr on a header', "RewriteEngine On\nRewriteCond expr \"req('X-Mobile') == '1'\"\nRewriteRule ^/app/(.*) /app/m/\$1 [PT]\n" ],
    # an int: map is a function of its key, like the URL it is given
    [ 'an [END] on the URL in the server\'s rules, a <Location>\'s [F]',
      "RewriteEngine On\nRewriteRule ^/static/ - [END]\n<Location /app/x>\nRewriteEngine On\nRewriteRule ^ - [F]\n</Location>\n" ],
    # a method refusal in an <If> that GET and HEAD pass alike, as the
    # same RewriteCond (outside attack round 85 F1)
    [ 'TRACE refused inside an <If>', "<If \"%{REQUEST_METHOD} == 'TRACE'\">\nRewriteEngine On\nRewriteRule ^ - [F]\n</If>\n" ],
    [ 'POST refused inside an <If>', "<If \"%{REQUEST_METHOD} == \\\"POST\\\"\">\nRedirect 405\n</If>\n" ],
    [ 'all but GET and HEAD refused inside an <If>', "<If \"%{REQUEST_METHOD} !~ /^(GET|HEAD)\$/\">\nRedirect 405\n</If>\n" ],
    [ 'PUT and DELETE refused inside an <If> (m#...#i)', "<If \"%{REQUEST_METHOD} =~ m#^(PUT|DELETE)\$#i\">\nRedirect 405\n</If>\n" ],
    [ 'TRACE refused by Require all denied inside an <If>', "<If \"%{REQUEST_METHOD} == 'TRACE'\">\nRequire all denied\n</If>\n" ],
    [ 'all but GET and HEAD refused by Require all denied inside an <If>', "<If \"%{REQUEST_METHOD} !~ /^(GET|HEAD)\$/\">\nRequire all denied\n</If>\n" ],
    [ 'a method refusal with the string first', "<If \"'TRACE' == %{REQUEST_METHOD}\">\nRedirect 405\n</If>\n" ],
    [ 'a method refusal by -in', "<If \"%{REQUEST_METHOD} -in { 'TRACE', 'TRACK' }\">\nRedirect 405\n</If>\n" ],
    [ 'a method refusal by an || of two and parentheses', "<If \"(%{REQUEST_METHOD} == 'TRACE' || %{REQUEST_METHOD} = 'TRACK')\">\nRedirect 405\n</If>\n" ],
    [ 'a method refusal by ! =~', "<If \"! %{REQUEST_METHOD} =~ /^(GET|HEAD)\$/\">\nRewriteEngine On\nRewriteRule ^ - [R=405]\n</If>\n" ],
    [ 'a method refusal by RewriteCond expr -in', "RewriteEngine On\nRewriteCond expr \"%{REQUEST_METHOD} -in {'TRACE','TRACK'}\"\nRewriteRule ^ - [F]\n" ],
    [ 'Require method GET HEAD', "<Location /app/x>\nRequire method GET HEAD POST\n</Location>\n" ],
    # httpd takes HEAD for GET in Require method and <Limit> (round 88 M1)
    [ 'Require method GET POST', "<Location /app/x>\nRequire method GET POST\n</Location>\n" ],
    [ 'Require method HEAD', "<Location /app/x>\nRequire method HEAD\n</Location>\n" ],
    [ 'an address rule for unsafe methods only (<Limit>)', "<Location /app/x>\n<Limit POST PUT DELETE>\nRequire ip 10.0.0.0/8\n</Limit>\n</Location>\n" ],
    [ 'Require not method in a <RequireAll>', "<Location /app/x>\n<RequireAll>\nRequire all granted\nRequire not method TRACE POST\n</RequireAll>\n</Location>\n" ],
    [ 'a denylist for POST only (<Limit>)', "<Location /app/x>\n<Limit POST>\n<RequireAll>\nRequire all granted\nRequire not ip 10.0.0.66\n</RequireAll>\n</Limit>\n</Location>\n" ],
    [ 'an address rule for all but GET (<LimitExcept>)', "<Location /app/x>\n<LimitExcept GET>\nRequire ip 10.0.0.0/8\n</LimitExcept>\n</Location>\n" ],
    # httpd's <Location /app> never covers /application (round 92 M1)
    [ 'a denylist in <Location /application> next to a quick <Location /app>', "<Location /application>\n<RequireAll>\nRequire all granted\nRequire not ip 127.0.0.9\n</RequireAll>\n</Location>\n" ],
    [ 'the lower-case URL redirect (an int: map)', "RewriteEngine On\nRewriteMap lc int:tolower\nRewriteCond %{REQUEST_URI} [A-Z]\nRewriteRule (.*) \${lc:\$1} [R=301,L]\n" ],
    [ 'a route through an int: map of the URL', "RewriteEngine On\nRewriteMap lc int:tolower\nRewriteRule ^/app/(.*) /app/\${lc:\$1} [PT]\n" ],
) {
    my ($label, $rule) = @$c;
    my ($rc, $out) = SCTest::Apache->configtest($quick . $rule,
                                                modules => ['rewrite', 'ssl', 'headers', 'alias', 'env']);
    is($rc, 0, "$label next to quick mode: fine") or diag($out);
}

# A quick <Location ~ regex> covers any path too (round 91 H1); an
# AllowMethods (mod_allowmethods takes HEAD for GET, as httpd does)
# refuses GET and HEAD alike, and the probe is a GET (round 91 L1).
{
    my ($rc, $out) = SCTest::Apache->configtest(
        "<Location ~ \"^/app/quick\">\n    SharedCache On\n    SharedCacheQuickHandler On\n</Location>\n"
        . "<Location /app/quick/x>\n<RequireAll>\nRequire all granted\nRequire not ip 127.0.0.9\n</RequireAll>\n</Location>\n");
    isnt($rc, 0, 'a quick <Location ~ regex> next to a denylist under it: configtest fails');
    ($rc, $out) = SCTest::Apache->configtest(
        $quick . "<Location /app/x>\nAllowMethods GET POST\n</Location>\n", modules => ['allowmethods']);
    is($rc, 0, 'mod_allowmethods next to quick mode: fine') or diag($out);
}

# mod_access_compat: "Deny from all" with an Allow is an allowlist (the
# probe's, as Require ip), never a denylist (outside attack round 93 M1);
# a Deny of some clients is one.
{
    my $compat = $quick . "<Directory /tmp/ac>\n%s\n</Directory>\n";
    my ($rc, $out) = SCTest::Apache->configtest(
        sprintf($compat, "Order Deny,Allow\nDeny from all\nAllow from 127.0.0.5"),
        modules => ['access_compat']);
    is($rc, 0, 'an allowlist of Deny from all and Allow from next to quick mode: fine') or diag($out);
    ($rc, $out) = SCTest::Apache->configtest(
        sprintf($compat, "SetEnvIf Referer ^http://www\\.example\\.com/ local_referal\nOrder Deny,Allow\nDeny from all\nAllow from env=local_referal"),
        modules => ['access_compat', 'setenvif']);
    is($rc, 0, 'the manual\'s 2.2 hotlink allowlist next to quick mode: fine') or diag($out);
    ($rc, $out) = SCTest::Apache->configtest(
        sprintf($compat, "Order Allow,Deny\nAllow from all\nDeny from 127.0.0.9"),
        modules => ['access_compat']);
    isnt($rc, 0, 'a denylist by Deny from an address next to quick mode: configtest fails');
}

# An address rule for GET (and so HEAD) restricts.
for my $limit ("<Limit GET>", "<Limit POST GET>", "<LimitExcept POST>") {
    (my $end = $limit) =~ s/<(\w+).*/<\/$1>/;
    my ($rc, $out) = SCTest::Apache->configtest(
        $quick . "<Location /app/x>\n$limit\nRequire ip 10.0.0.0/8\n$end\n</Location>\n");
    isnt($rc, 0, "an address rule in $limit next to quick mode: configtest fails");
    like($out, qr/restricts access to part of the same space/, '... as an access rule that restricts')
        or diag($out);
}

# A Header of mod_headers that applies to a quick location (the server's,
# its virtual host's, its own) changes every response after it is stored:
# no entry is ever a quick hit, and start-up says so (outside attack round
# 95 M1: HSTS, Nextcloud's X-Content-Type-Options); one set early does
# not.
for my $c (
    [ 'the HSTS recipe in the server', "Header always set Strict-Transport-Security \"max-age=63072000\"\n" ],
    [ 'a Header set in the virtual host', "<VirtualHost 127.0.0.2:80>\nSharedCacheQuickHandler On\nHeader set X-Content-Type-Options nosniff\n</VirtualHost>\n" ],
    [ 'a Header in the quick <Location>', "<Location /app/x>\nSharedCache On\nSharedCacheQuickHandler On\nHeader set X-Frame-Options SAMEORIGIN\n</Location>\n" ],
    # an expr= value is no condition (outside attack round 96 L2)
    [ 'a Header whose value is an expression', "Header set X-Uri \"expr=%{REQUEST_URI}\"\n" ],
) {
    my ($label, $conf) = @$c;
    my ($rc, $out) = SCTest::Apache->configtest($quick . $conf, modules => ['headers']);
    is($rc, 0, "$label: it starts") or diag($out);
    like($out, qr/SC0118: SharedCacheQuickHandler On \(\S+\) may serve nothing in the quick phase: the Header at \S+:\d+/,
         "$label: start-up says the location serves nothing in the quick phase") or diag($out);
}
{
    my ($rc, $out) = SCTest::Apache->configtest(
        $quick . "Header set X-Early 1 early\nHeader note X-A a-note\n"
        . "Header add Set-Cookie \"ROUTEID=.%{BALANCER_WORKER_ROUTE}e; path=/\" env=BALANCER_ROUTE_CHANGED\n",
        modules => ['headers']);
    unlike($out, qr/SC0118/, 'a Header set early, a Header note, one on a condition: no SC0118') or diag($out);
}

# An <If> inside a quick <Location> (only response headers: it starts) is
# decided after the quick phase: its entries are never quick hits, and
# start-up says so (round 68 M1).
{
    my ($rc, $out) = SCTest::Apache->configtest(
        "<Location /app>\n    SharedCache On\n    SharedCacheQuickHandler On\n"
        . "    <If \"%{REQUEST_URI} =~ /\\.css\$/\">\n        Header set X-Css yes\n    </If>\n"
        . "</Location>\n", modules => ['headers']);
    is($rc, 0, 'an <If> of response headers inside a quick <Location>: it starts');
    like($out, qr/SC0117: SharedCacheQuickHandler On \(\S+\) serves nothing in the quick phase: the <If> at \S+:\d+/,
         '... and says the location serves nothing in the quick phase') or diag($out);
}

# The round's reproduction, in a running server: refused at start-up; with
# quick mode off the blocked client is refused (control).
my $mc = SCTest::Memcached->start;
my $conf = <<'CONF';
<Location /app>
    SharedCache On
    SharedCacheTTL 60
</Location>
<Location /blocked>
    Require all denied
</Location>
RewriteEngine On
RewriteCond %{REMOTE_ADDR} =127.0.0.66
RewriteRule ^/app/ /blocked [PT]
CONF
my $ap = SCTest::Apache->start(memcached => [$mc], modules => ['rewrite'], conf => $conf);
$ap->raw(GET => '/app/page') for 1 .. 2;
is($ap->raw(GET => '/app/page', _from => '127.0.0.66')->{status}, 403,
   'normal mode: the routed client is refused');
$ap->stop(allow => [qr/AH01630/]);
(my $qconf = $conf) =~ s/SharedCacheTTL 60/SharedCacheTTL 60\n    SharedCacheQuickHandler On/;
my ($rc, $out) = SCTest::Apache->configtest($qconf, modules => ['rewrite']);
isnt($rc, 0, 'quick mode next to it: configtest fails');
like($out, qr/RewriteRule at \S+:\d+/, 'naming the rule') or diag($out);
done_testing;
