# Bypass rules are evaluated per request of an internal-redirect chain,
# but every request of the chain uses the client's request-target as key.
# A front controller (per-directory RewriteRule) sends /account to the app
# at /app/account.  The administrator protects the public URL:
#   <Location /account> SharedCacheBypassCookie sessionid
# The first request (/account) bypasses; the redirected request
# (/app/account, whose location has no bypass) renders, and stores alice's
# page under the key "/account"; an anonymous GET /account is then looked
# up by the first request and served alice's page.  (3) The same with
# SharedCacheVaryByCookie on the public URL: the redirected request keys
# without the cookie, and serves alice's page to bob.  (2) shows that a
# server-level SetEnvIf no-sharedcache does hold (re-run on the redirect).
use strict;
use warnings;
use Test::More;
use SCTest;

my $mc = SCTest::Memcached->start;
my $ap = SCTest::Apache->start(memcached => [$mc], modules => ['rewrite', 'env'],
    conf => <<'CONF');
SetEnvIf Cookie "psess=" no-sharedcache
<Location />
    SharedCache On
    SharedCacheTTL 60
</Location>
<Directory @DIR@/htdocs>
    RewriteEngine On
    RewriteRule ^account$ /app/account?reflect=Cookie [L]
    RewriteRule ^profile$ /app/profile?reflect=Cookie [L]
    RewriteRule ^orders$ /app/orders?reflect=Cookie [L]
    RewriteRule ^cart$ /app/cart?reflect=Cookie [L]
    RewriteRule ^basket$ /app/basket?reflect=Cookie [L]
</Directory>
# the README's "SetEnvIf ... no-sharedcache", by URL
SetEnvIf Request_URI "^/cart" no-sharedcache
<Location /basket>
    SetEnv no-sharedcache 1
</Location>
<Location /orders>
    SharedCacheVaryByCookie sessionid
</Location>
<Location /account>
    SharedCacheBypassCookie sessionid
</Location>
CONF

# (1) SharedCacheBypassCookie on the public URL
my $alice = $ap->raw(GET => "/account", Cookie => "sessionid=alice-secret");
like($alice->{body}, qr/alice-secret/, 'alice gets her page');
diag("alice: $alice->{cache}");
my $anon = $ap->raw(GET => '/account');
diag("anonymous: $anon->{cache} $anon->{body}");
unlike($anon->{body}, qr/alice-secret/, 'LEAK if failing: anonymous gets alice\'s page (bypass cookie on the public URL)');

# (2) SetEnvIf ... no-sharedcache (server context)
$alice = $ap->raw(GET => "/profile", Cookie => "psess=alice-secret");
diag("alice: $alice->{cache}");
$anon = $ap->raw(GET => '/profile');
diag("anonymous: $anon->{cache} $anon->{body}");
unlike($anon->{body}, qr/alice-secret/, 'LEAK if failing: anonymous gets alice\'s page (no-sharedcache env)');

# (3) SharedCacheVaryByCookie on the public URL
$alice = $ap->raw(GET => "/orders", Cookie => "sessionid=alice-secret");
diag("alice: $alice->{cache}");
my $bob = $ap->raw(GET => '/orders', Cookie => "sessionid=bob");
diag("bob: $bob->{cache} $bob->{body}");
unlike($bob->{body}, qr/alice-secret/, 'LEAK if failing: bob gets alice\'s page (VaryByCookie on the public URL)');

# (4) no-sharedcache set by URL (SetEnvIf Request_URI, SetEnv in <Location>)
for my $u ('/cart', '/basket') {
    $alice = $ap->raw(GET => $u, Cookie => "sessionid=alice-secret");
    diag("$u alice: $alice->{cache}");
    $anon = $ap->raw(GET => $u);
    diag("$u anonymous: $anon->{cache} $anon->{body}");
    unlike($anon->{body}, qr/alice-secret/, "LEAK if failing: $u is marked no-sharedcache, yet anonymous gets alice's page");
}
$ap->stop;
done_testing;
