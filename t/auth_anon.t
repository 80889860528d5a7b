# mod_authn_anon (the manual's recipe: user "anonymous" or "guest", the
# visitor's e-mail address as the password) gives every visitor the same
# user name, and `Anonymous *` lets a visitor give any: that name is no
# one's identity, and an application that reads the credentials
# (WSGIPassAuthorization On) tells visitors apart by the address.  Under
# SharedCacheVaryByUser such a request bypasses the cache; a user another
# provider authenticated (AuthBasicProvider file anon) is keyed as before.
# Before, one visitor got another's page, address included (found by the
# outside attack).
use strict;
use warnings;
use Test::More;
use MIME::Base64 qw(encode_base64);
use SCTest;

my $app = <<'WSGI';
import base64, uuid
def application(environ, start_response):
    auth = environ.get('HTTP_AUTHORIZATION', '')
    who = base64.b64decode(auth.split(' ', 1)[1]).decode() if ' ' in auth else ''
    body = ('user=%s credentials=%s token=%s\n' % (environ.get('REMOTE_USER'), who, uuid.uuid4().hex)).encode()
    start_response('200 OK', [('Content-Type', 'text/plain'), ('Content-Length', str(len(body))),
                              ('Cache-Control', 'max-age=60')])
    return [body]
WSGI
# htpasswd's {SHA} form: alice / secret
my $users = "alice:{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=\n";
my $mc = SCTest::Memcached->start;
my $ap = SCTest::Apache->start(memcached => [$mc],
    modules => [qw(auth_basic authn_core authn_anon authn_file authz_user)],
    files => { 'g.wsgi' => $app, 'users' => $users }, conf => <<'CONF');
WSGIScriptAlias /guest @DIR@/htdocs/g.wsgi process-group=scapp application-group=%{GLOBAL}
WSGIScriptAlias /any @DIR@/htdocs/g.wsgi process-group=scapp application-group=%{GLOBAL}
WSGIScriptAlias /mixed @DIR@/htdocs/g.wsgi process-group=scapp application-group=%{GLOBAL}
WSGIPassAuthorization On
<LocationMatch "^/(guest|any|mixed)">
    SharedCache On
    SharedCacheTTL 60
    SharedCacheVaryByUser On
    AuthType Basic
    AuthName "Use 'anonymous' & Email address for guest entry"
    Require valid-user
</LocationMatch>
<Location /guest>
    AuthBasicProvider anon
    Anonymous_NoUserID off
    Anonymous_MustGiveEmail on
    Anonymous_VerifyEmail on
    Anonymous_LogEmail on
    Anonymous anonymous guest
</Location>
<Location /any>
    AuthBasicProvider anon
    Anonymous *
</Location>
<Location /mixed>
    AuthBasicProvider file anon
    AuthUserFile @DIR@/htdocs/users
    Anonymous guest
</Location>
CONF
sub as { ('Authorization' => 'Basic ' . encode_base64("$_[0]:$_[1]", '')) }

for my $u ('/guest/home', '/any/home') {
    my $first = $ap->raw(GET => $u, as('anonymous', 'alice@example.org'));
    is($first->{status}, 200, "$u: the first visitor is let in ($first->{cache})");
    my $other = $ap->raw(GET => $u, as('anonymous', 'bob@example.net'));
    like($other->{body}, qr/bob\@example\.net/, "$u: another visitor gets a page of his own ($other->{cache})");
    unlike($other->{body}, qr/alice/, "$u: never the first one's");
    cache_is($other, 'BYPASS', "$u: a user name mod_authn_anon accepts bypasses the cache");
}
# "Anonymous *": a visitor may give any user name, a real one's too
my $claimed = $ap->raw(GET => '/any/page', as('alice', 'mallory@example.com'));
cache_is($claimed, 'BYPASS', '/any: a claimed user name bypasses too');

# a user the file provider authenticated is still keyed by name
my $a1 = $ap->raw(GET => '/mixed/home', as('alice', 'secret'));
my $a2 = $ap->raw(GET => '/mixed/home', as('alice', 'secret'));
cache_is($a2, 'HIT', '/mixed: a user the file provider authenticated gets hits');
my $g = $ap->raw(GET => '/mixed/home', as('guest', 'carol@example.org'));
cache_is($g, 'BYPASS', '/mixed: the anonymous guest bypasses');
like($g->{body}, qr/carol/, '/mixed: and gets a page of its own');
$ap->stop(allow => [qr/AH01672/]);
done_testing;
