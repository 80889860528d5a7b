# A header on the reflected list (X-Forwarded-Proto, X-Real-IP ...) makes
# a request bypass when the client sends it: the application may trust
# it.  One the configuration sets (mod_headers' RequestHeader: the usual
# recipe behind a TLS-terminating proxy) is no reason: it is keyed as a
# derived header, like any RequestHeader's.  Found by an outside attack
# (round 64 M1): every request bypassed; also where the client sent the
# very value the configuration sets (round 65).  A client's own stays a
# bypass.
use strict;
use warnings;
use Test::More;
use SCTest;

my $mc = SCTest::Memcached->start;
my $ap = SCTest::Apache->start(memcached => [$mc], modules => ['headers'], conf => <<'CONF');
<Location /app>
    SharedCache On
    SharedCacheTTL 60
    RequestHeader set X-Forwarded-Proto "https"
</Location>
<Location /app/early>
    RequestHeader set X-Real-IP "expr=%{REMOTE_ADDR}"
</Location>
CONF
my $u = '/app/p?reflect=X-Forwarded-Proto';
$ap->get($u);
my $r = $ap->get($u);
cache_is($r, 'HIT', 'a reflected header the configuration sets: cached');
like($r->{body}, qr/reflected=https/, '... the application sees it');
# the client's own value is overridden: same page, same key
cache_is($ap->get($u, 'X-Forwarded-Proto' => 'http'), 'HIT',
         "a client's value the configuration replaces: the same page");
# the proxy in front sends the very value the configuration sets (ELB,
# haproxy, nginx: X-Forwarded-Proto: https): set by the configuration all
# the same (round 65)
$ap->get($u, 'X-Forwarded-Proto' => 'https');
cache_is($ap->get($u, 'X-Forwarded-Proto' => 'https'), 'HIT',
         'the same value from a proxy in front: cached');
# a value of the client's address: keyed, each address its own
my $e = '/app/early/p?reflect=X-Real-IP';
$ap->raw(GET => $e, _from => '127.0.0.5') for 1 .. 2;
cache_is($ap->raw(GET => $e, _from => '127.0.0.5'), 'HIT', 'X-Real-IP set from the address: cached');
like($ap->raw(GET => $e, _from => '127.0.0.9')->{body}, qr/reflected=127\.0\.0\.9/,
     '... each address its own page');
# where the configuration sets nothing, a client's own still bypasses
$ap->stop;
$ap = SCTest::Apache->start(memcached => [$mc], modules => ['headers']);
like($ap->get('/app/q?reflect=X-Forwarded-Proto', 'X-Forwarded-Proto' => 'https')->{headers}{'cache-status'} // '',
     qr/detail=reflected-header/, "a client's own reflected header: bypass");
$ap->stop;
done_testing;
