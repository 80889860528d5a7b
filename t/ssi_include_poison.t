# Drive sc_anyone_may() (quick entries and SSI fragments with their own
# config) through modules whose hooks do work in translate/fixups:
# mod_dir (DirectoryIndex, FallbackResource, autoindex), mod_negotiation,
# mod_rewrite [P]/[PT]/[R]/[N], mod_alias Redirect, ProxyPass, auth_basic,
# auth_form + session, mod_actions; also over h2c.  Apache must stay up,
# no child may die, every answer must be sane.
use strict; use warnings;
use Test::More; use SCTest; use IO::Socket::INET;

my $mc = SCTest::Memcached->start;
my $ap = SCTest::Apache->start(memcached => [$mc],
    modules => [qw(rewrite proxy proxy_http dir autoindex negotiation include auth_basic authn_core authn_file authz_user
                   session session_cookie request auth_form actions http2)],
    conf => <<'CONF');
LogLevel warn sharedcache:trace1
Protocols h2c http/1.1
SharedCacheQuickHandler On
<Location />
    SharedCache On
    SharedCacheTTL 60
    SharedCacheRequireLength Off
</Location>
<Directory @DIR@/htdocs>
    Options +Includes +Indexes +MultiViews
    AddOutputFilter INCLUDES .shtml
    DirectoryIndex index.html
</Directory>
<Directory @DIR@/htdocs/fb>
    FallbackResource /fb/front.html
</Directory>
RewriteEngine On
RewriteCond %{HTTP:X-P} =1
RewriteRule ^/rp/(.*)$ http://127.0.0.1:@PORT@/app/p/$1 [P]
RewriteRule ^/rpt/(.*)$ /app/pt/$1 [PT]
RewriteRule ^/rr/(.*)$ /app/r/$1 [R=302]
RewriteRule ^/rn/a(.*)$ /rn/$1 [N]
ProxyPass /pp/ http://127.0.0.1:@PORT@/app/pp/
Redirect /redir /app/target
<Directory @DIR@/htdocs/rwd>
    RewriteEngine On
    RewriteCond %{HTTP:X-P} =1
    RewriteRule ^(.*)$ http://127.0.0.1:@PORT@/app/rwd/$1 [P]
</Directory>
<Directory @DIR@/htdocs/basic>
    AuthType Basic
    AuthName x
    AuthBasicProvider file
    AuthUserFile @DIR@/htpasswd
    Require valid-user
</Directory>
<Directory @DIR@/htdocs/form>
    AuthType form
    AuthName x
    AuthFormProvider file
    AuthUserFile @DIR@/htpasswd
    Session On
    SessionCookieName session path=/
    AuthFormLoginRequiredLocation /login.html
    Require valid-user
</Directory>
Action text/x-act /app/act virtual
AddType text/x-act .act
CONF
my $d = $ap->dir;
system('mkdir', '-p', map { "$d/htdocs/$_" } qw(idx ai fb neg rwd basic form act));
my %f = ('idx/index.html' => "IDX\n", 'ai/a.txt' => "a\n", 'fb/front.html' => "FRONT\n",
         'neg/doc.html' => "NEG\n", 'rwd/x.html' => "RWD\n", 'basic/s.html' => "BASIC\n",
         'form/s.html' => "FORM\n", 'login.html' => "LOGIN\n", 'act/x.act' => "ACT\n",
         'frag.shtml' => join('', map { "[<!--#include virtual=\"$_\" -->]\n" }
              qw(/idx/ /ai/ /fb/nothing /neg/doc /rwd/x.html /basic/s.html /form/s.html /pp/f /rp/f /rpt/f /rr/f /rn/aaab /redir /act/x.act)),
         'htpasswd' => '');
for (keys %f) { my $p = /htpasswd/ ? "$d/$_" : "$d/htdocs/$_"; open my $h, '>', $p or die; print $h $f{$_}; close $h }
my @paths = ();
sub raw {
    my ($target, %h) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $ap->port, Timeout => 20) or die $!;
    print $s "GET $target HTTP/1.1\r\nHost: 127.0.0.1:" . $ap->port . "\r\n"
        . join('', map { "$_: $h{$_}\r\n" } sort keys %h) . "Connection: close\r\n\r\n";
    local $/; my $resp = <$s> // '';
    my $r = SCTest::HTTP::parse_response($resp);
    return $r->{status} . ' ' . ($r->{cache} || '-');
}
for my $p (@paths) {
    my @r = map { raw($p) } 1..3;
    my @rx = map { raw($p, 'X-P' => 1) } 1..2;
    my @ry = map { raw($p) } 1..2;
    ok($r[0] !~ /^0 / && $r[2] !~ /^0 /, "$p: @r | X-P: @rx | @ry");
}
# h2c prior knowledge
for my $p (@paths) {
    my @o = map { scalar `curl -s -o /dev/null -w '%{http_code} %{http_version}' --max-time 15 --http2-prior-knowledge http://127.0.0.1:@{[$ap->port]}$p` } 1..3;
    ok($o[2] =~ /^\d{3} 2/, "h2c $p: @o");
}
for my $p (qw(/neg/doc /rr/f /rn/aaab /redir /rp/f /idx/)) { my $o = `curl -s -i --max-time 15 http://127.0.0.1:@{[$ap->port]}$p`; diag("BEFORE $p: " . join("|", grep { /^(HTTP|x-sharedcache|content-length|location)/i } split /\r\n/, $o)) }
raw("/frag.shtml");
for my $p (qw(/neg/doc /rr/f /rn/aaab /redir /rp/f /idx/)) { my $o = `curl -s -i --max-time 15 http://127.0.0.1:@{[$ap->port]}$p`; diag("AFTER $p: " . join("|", grep { /^(HTTP|x-sharedcache|content-length|location)/i } split /\r\n/, $o)) }
my $log = $ap->error_log;
my $quick = () = $log =~ /served by the quick handler/g;
diag("quick hits: $quick");
diag($_) for grep { /anonymous client would get/ } split /\n/, $log;
unlike($log, qr/exit signal|Segmentation|AH00052|child pid \d+ exit/, 'no child crashed');
$ap->stop(allow => [qr/.*/]);
done_testing;
