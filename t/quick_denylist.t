# Quick mode lets a page through when an anonymous client would be let
# through; a rule that denies some clients by what they send or are
# (Require not, Require expr, Deny, <RequireNone>, RewriteRule [F] on
# the client's headers or address) lets the anonymous client through and
# the denied ones would get quick hits.  Such a rule next to quick mode
# fails configtest, naming the SharedCacheQuickHandler line and the rule.
use strict;
use warnings;
use Test::More;
use SCTest;

my $quick = "<Location /dq>\n    SharedCache On\n    SharedCacheQuickHandler On\n</Location>\n";
my @denying = (
    [ 'Require not ip', "<Directory /tmp>\n<RequireAll>\nRequire all granted\nRequire not ip 127.0.0.9\n</RequireAll>\n</Directory>\n" ],
    [ 'Require not env', "SetEnvIfNoCase User-Agent badbot bad_bot\n<Location />\n<RequireAll>\nRequire all granted\nRequire not env bad_bot\n</RequireAll>\n</Location>\n" ],
    [ 'Require expr', "<Files \"*.wsgi\">\nRequire expr \"%{HTTP_USER_AGENT} !~ /bot/\"\n</Files>\n" ],
    [ 'RequireNone', "<Directory /tmp>\n<RequireAll>\nRequire all granted\n<RequireNone>\nRequire ip 127.0.0.9\n</RequireNone>\n</RequireAll>\n</Directory>\n" ],
    [ 'RewriteRule [F]', "RewriteEngine On\nRewriteCond %{HTTP_USER_AGENT} bot [NC]\nRewriteRule ^ - [F]\n" ],
    [ 'RewriteRule [F], one condition of two', "RewriteEngine On\nRewriteCond %{REMOTE_ADDR} !=127.0.0.5\nRewriteCond %{REMOTE_ADDR} =127.0.0.9\nRewriteRule ^ - [F]\n" ],
);
for my $c (@denying) {
    my ($label, $rule) = @$c;
    my ($rc, $out) = SCTest::Apache->configtest($quick . $rule, modules => ['rewrite']);
    isnt($rc, 0, "$label next to quick mode: configtest fails");
    like($out, qr/SharedCacheQuickHandler On \(.*denies some clients/s,
         "$label: the message says why") or diag($out);
}
my ($rc, $out) = SCTest::Apache->configtest(
    $quick . "<Directory /tmp>\nRequire all granted\n</Directory>\n");
is($rc, 0, 'Require all granted next to quick mode is fine') or diag($out);
# "[F] for all but 127.0.0.5" is an allowlist: the anonymous client is
# refused, so the probe keeps such pages out of the quick phase itself.
($rc, $out) = SCTest::Apache->configtest(
    $quick . "RewriteEngine On\nRewriteCond %{REMOTE_ADDR} !=127.0.0.5\n"
    . "RewriteRule ^/dq/staff - [F]\n", modules => ['rewrite']);
is($rc, 0, 'an allowlist written as [F] for all but one address is fine')
    or diag($out);



done_testing;
