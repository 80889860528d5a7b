# mod_auth_digest answers each request with an Authentication-Info field
# of its own (RFC 7616 3.5: rspauth over that request's cnonce and nonce
# count, which a client checks to authenticate the server).  It is about
# the exchange, not the page: never stored, and a hit carries the one
# mod_auth_digest made for it.  Before, the first render's field was
# stored and replayed on every hit of the user's page (found by the
# outside attack).  Proxy-Authentication-Info is the same for a proxy.
use strict;
use warnings;
use Test::More;
use Digest::MD5 qw(md5_hex);
use SCTest;

my $mc = SCTest::Memcached->start;
my $ap = SCTest::Apache->start(memcached => [$mc],
    modules => [qw(auth_digest authn_core authn_file authz_user)],
    files => { 'digest' => 'alice:r:' . md5_hex('alice:r:pw') . "\n" },
    conf => <<'CONF');
<Location />
    SharedCache On
    SharedCacheTTL 60
</Location>
<Location /app/dig>
    AuthType Digest
    AuthName r
    AuthDigestProvider file
    AuthUserFile @DIR@/htdocs/digest
    Require valid-user
    SharedCacheVaryByUser On
</Location>
CONF

my $u = '/app/dig/page?cc=max-age%3D60';
my $challenge = $ap->raw(GET => $u);
is($challenge->{status}, 401, 'no credentials: the challenge');
my ($nonce) = ($challenge->{headers}{'www-authenticate'} // '') =~ /nonce="([^"]+)"/;
ok($nonce, 'the challenge has a nonce');

my $nc = 0;
sub digest_get {
    my ($cnonce) = @_;
    my $count = sprintf '%08x', ++$nc;
    my $ha1 = md5_hex('alice:r:pw');
    my $ha2 = md5_hex("GET:$u");
    my $resp = md5_hex("$ha1:$nonce:$count:$cnonce:auth:$ha2");
    return $ap->raw(GET => $u, Authorization =>
        qq{Digest username="alice", realm="r", nonce="$nonce", uri="$u", }
      . qq{algorithm=MD5, response="$resp", qop=auth, nc=$count, cnonce="$cnonce"});
}

for my $round (1 .. 3) {
    my $cnonce = "cn$round" . int(rand 1e9);
    my $r = digest_get($cnonce);
    is($r->{status}, 200, "request $round is let in ($r->{cache})");
    my $ai = $r->{headers}{'authentication-info'} // '';
    my @ai = ref $ai ? @$ai : ($ai);
    is(scalar @ai, 1, "request $round: one Authentication-Info field ($r->{cache})");
    my $all = join ' | ', @ai;
    like($all, qr/cnonce="\Q$cnonce\E"/, "request $round: it answers its own cnonce");
    is(() = $all =~ /rspauth/g, 1, "request $round: no stored rspauth beside it");
    cache_is($r, 'HIT', "request $round: the page is still cached") if $round > 1;
}
$ap->stop;
done_testing;
