# Authentication without Authorization (THREATS 3, 33): a TLS client
# certificate makes httpd set r->user (SSLUserName) with no header the
# cache could see.  A request with an authenticated user must BYPASS unless
# the location varies by user (SharedCacheVaryByUser On); then each user
# gets an entry of their own.  Nobody ever gets a page rendered for alice.
#
# The CA, the server certificate and the client certificates of alice and
# bob are made here with the openssl CLI; requests are sent with curl.
# mod_headers copies r->user into X-User (RequestHeader runs after mod_ssl's
# fixup, which sets r->user), and the app reflects it (reflect=X-User).
# sc-test: alone (it measures time; make prove runs the others two at a time)
use strict;
use warnings;
use Test::More;
use Time::HiRes qw(sleep time);
use SCTest;

my $pki = SCTest::test_pki();   # CA, server 127.0.0.1, alice, bob

my $tls = SCTest::free_port();
my $mc = SCTest::Memcached->start;
my $ap = SCTest::Apache->start(
    memcached => [$mc],
    modules => [qw(ssl socache_shmcb)],
    conf => SCTest::PKI::tls_vhost($pki, $tls, <<"CONF"));
    SSLVerifyClient optional
    SSLUserName SSL_CLIENT_S_DN_CN
    SSLOptions +StdEnvVars
    RequestHeader set X-User "expr=%{REMOTE_USER}"
    <Location /app>
        SharedCache On
        SharedCacheTTL 60
    </Location>
    <Location /app/peruser>
        SharedCacheVaryByUser On
    </Location>
    <Location /app/quick>
        SharedCacheQuickHandler On
    </Location>
CONF

# GET over TLS as alice, bob or nobody (SCTest::PKI::tls_get).
sub tls_get { SCTest::PKI::tls_get($ap, $pki, $tls, @_) }

sub token { $_[0]{body} =~ /token=([0-9a-f]{32})/ ? $1 : '' }

# ---- the certificates work and httpd knows the user (controls) ---------

my $c = tls_get('/app/control?reflect=X-User&cc=no-store', 'alice');
is($c->{status}, 200, 'alice\'s certificate is accepted');
like($c->{body}, qr/^reflected=alice$/m, 'r->user is alice (control)');
like(tls_get('/app/control?reflect=X-User&cc=no-store', 'bob')->{body},
     qr/^reflected=bob$/m, 'r->user is bob (control)');
my $anon = tls_get('/app/control?reflect=X-User&cc=no-store');
is($anon->{status}, 200, 'a client without a certificate is let in');
like($anon->{body}, qr/^reflected=$/m, 'with no user (control)');

# ---- no SharedCacheVaryByUser: an authenticated user bypasses ---------

{
    my $p = '/app/u1?reflect=X-User';
    my $a1 = tls_get($p, 'alice');
    like($a1->{body}, qr/^reflected=alice$/m, 'alice: rendered for alice');
    cache_is($a1, 'BYPASS', 'alice (certificate, no Authorization): '
                            . 'BYPASS');
    my $b1 = tls_get($p, 'bob');
    cache_is($b1, 'BYPASS', 'bob after alice: BYPASS');
    unlike($b1->{body}, qr/alice/, 'bob never gets alice\'s page');
    like($b1->{body}, qr/^reflected=bob$/m, 'bob gets a page rendered for him');
    my $n1 = tls_get($p);
    isnt($n1->{cache}, 'HIT', 'anonymous after alice and bob: not a HIT');
    unlike($n1->{body}, qr/alice|bob/, 'anonymous never gets alice\'s or '
                                       . 'bob\'s page');
    isnt(token($n1), token($a1), 'anonymous: not alice\'s render');
    my $n2 = tls_get($p);
    unlike($n2->{body}, qr/alice|bob/, 'the next anonymous request neither');
    my $a2 = tls_get($p, 'alice');
    cache_is($a2, 'BYPASS', 'alice again: BYPASS');
    isnt(token($a2), token($a1), 'alice again: a fresh render');
}

# An anonymous entry exists: alice is not served it (she is authenticated:
# the page the app renders for her may differ), and it stays anonymous.
{
    my $p = '/app/u2?reflect=X-User';
    my $n1 = tls_get($p);
    cache_is($n1, 'MISS', 'anonymous first: MISS (control)');
    my $n2 = tls_get($p);
    cache_is($n2, 'HIT', 'anonymous again: HIT (control)');
    is(token($n2), token($n1), 'of the anonymous entry (control)');
    my $a1 = tls_get($p, 'alice');
    cache_is($a1, 'BYPASS', 'alice with an anonymous entry stored: '
                            . 'BYPASS');
    like($a1->{body}, qr/^reflected=alice$/m,
         'alice gets a page rendered for her, not the anonymous one');
    my $n3 = tls_get($p);
    is(token($n3), token($n1), 'the anonymous entry is untouched');
    unlike($n3->{body}, qr/alice/, 'and has nothing of alice');
}

# ---- quick mode: alice's page must not be stored for the quick phase --
# (the quick handler runs before mod_ssl sets r->user)

{
    my $p = '/app/quick/q?reflect=X-User';
    my $a1 = tls_get($p, 'alice');
    cache_is($a1, 'BYPASS', 'quick location, alice first: BYPASS');
    my $n1 = tls_get($p);
    unlike($n1->{body}, qr/alice/, 'quick location: anonymous never gets '
                                   . 'alice\'s page');
    isnt(token($n1), token($a1), 'quick location: not alice\'s render');
    my $b1 = tls_get($p, 'bob');
    unlike($b1->{body}, qr/alice/, 'quick location: bob never gets '
                                   . 'alice\'s page');
}

# ---- SharedCacheVaryByUser On: one entry per user ---------------------

{
    my $p = '/app/peruser/p?reflect=X-User';
    my $a1 = tls_get($p, 'alice');
    cache_is($a1, 'MISS', 'VaryByUser: alice: MISS');
    like($a1->{body}, qr/^reflected=alice$/m, 'VaryByUser: rendered for alice');
    my $b1 = tls_get($p, 'bob');
    cache_is($b1, 'MISS', 'VaryByUser: bob after alice: MISS');
    like($b1->{body}, qr/^reflected=bob$/m, 'VaryByUser: rendered for bob');
    my $a2 = tls_get($p, 'alice');
    cache_is($a2, 'HIT', 'VaryByUser: alice again: HIT');
    is(token($a2), token($a1), 'VaryByUser: of alice\'s entry');
    my $b2 = tls_get($p, 'bob');
    cache_is($b2, 'HIT', 'VaryByUser: bob again: HIT');
    is(token($b2), token($b1), 'VaryByUser: of bob\'s entry');
    my $n1 = tls_get($p);
    isnt($n1->{cache}, 'HIT', 'VaryByUser: anonymous: not a HIT');
    unlike($n1->{body}, qr/alice|bob/, 'VaryByUser: anonymous never gets '
                                       . 'a user\'s page');
}

# mod_ssl warns (AH02227) when SSLUserName finds no certificate: a
# warning, not an error.
$ap->stop(allow => [qr/SC0111/]);
done_testing;
