# What httpd's configuration derives from the request and hands to the
# application is part of the key: environment variables it set (SetEnvIf,
# BrowserMatch, RewriteRule [E=] even with [NV], SetEnv inside <If>) and
# request headers it added or changed (RequestHeader, also from those
# variables).  Each is a header the module never saw as a reflected one;
# unkeyed, one visitor's derived page is served to the next.  Also the
# request-target's form: an absolute-form target (GET http://host/path)
# reaches the application as such (REQUEST_URI), so it is keyed as sent.
use strict;
use warnings;
use Test::More;
use SCTest;

my $envapp = <<'WSGI';
import uuid
def application(environ, start_response):
    keys = ['DEVICE', 'HTTPS', 'wsgi.url_scheme', 'HTTP_X_DEVICE', 'HTTP_X_UA',
            'INTERNAL', 'ROLE', 'REQUEST_URI']
    body = ''.join('%s=%s\n' % (k, environ.get(k, '')) for k in keys)
    body += 'token=%s\n' % uuid.uuid4().hex
    body = body.encode()
    start_response('200 OK', [('Content-Type', 'text/plain'),
                              ('Content-Length', str(len(body))),
                              ('Cache-Control', 'max-age=60')])
    return [body]
WSGI

my $mc = SCTest::Memcached->start;
my $ap = SCTest::Apache->start(memcached => [$mc],
                               modules => [qw(rewrite env substitute filter)],
                               files => { 'env.wsgi' => $envapp,
                                          'page.html' => "public page\n",
                                          'internal.html' => "internal page\n",
                                          'h.html' => "hello\n",
                                          'index.html' => "index\n" },
                               conf => <<'CONF');
WSGIScriptAlias /env @DIR@/htdocs/env.wsgi process-group=scapp application-group=%{GLOBAL}
RewriteEngine On
RewriteCond %{HTTP:X-Mobile} =1 [NV]
RewriteRule ^/env/nv - [E=DEVICE:mobile]
SetEnvIf CloudFront-Forwarded-Proto https HTTPS=on
SetEnvIf User-Agent "(iPhone|Android)" IS_MOBILE
SetEnvIf Cookie "(^|; )role=admin" ROLE=admin
<Location /env/device>
    RequestHeader set X-Device mobile env=IS_MOBILE
</Location>
<Location /env/ua>
    RequestHeader set X-UA "expr=%{HTTP:User-Agent}"
</Location>
<If "-R '127.0.0.2/32'">
    SetEnv INTERNAL 1
</If>
# a route by the client's address, without [PT]: only the file changes
RewriteCond %{REMOTE_ADDR} ^127\.0\.0\.2$
RewriteRule ^/page\.html$ /internal.html [L]
# a filter by the client's address
<Location /h.html>
    <If "-R '127.0.0.2/32'">
        AddOutputFilter SUBSTITUTE .html
        Substitute "s/hello/hello staff/"
    </If>
</Location>
<Location />
    SharedCache On
    SharedCacheTTL 60
</Location>
CONF

sub field { my ($r, $k) = @_; ($r->{body} =~ /^\Q$k\E=(.*)$/m)[0] // '' }

# Each case: a request that derives something, then one that does not.
my @cases = (
    [ 'SetEnvIf HTTPS=on from a header', '/env/scheme',
      [ 'CloudFront-Forwarded-Proto' => 'https' ], [], 'wsgi.url_scheme', 'http' ],
    [ 'RewriteRule [E=] on a header with [NV]', '/env/nv',
      [ 'X-Mobile' => '1' ], [], 'DEVICE', '' ],
    [ 'RequestHeader from a SetEnvIf variable', '/env/device/a',
      [ 'User-Agent' => 'Android' ], [ 'User-Agent' => 'Desktop' ],
      'HTTP_X_DEVICE', '' ],
    [ 'RequestHeader copying a header', '/env/ua/a',
      [ 'User-Agent' => 'Evil <script>' ], [ 'User-Agent' => 'Desktop' ],
      'HTTP_X_UA', 'Desktop' ],
    [ 'SetEnvIf on a cookie', '/env/role',
      [ Cookie => 'role=admin' ], [], 'ROLE', '' ],
);
for my $c (@cases) {
    my ($what, $path, $first, $second, $field, $want) = @$c;
    my $a = $ap->get($path, @$first);
    my $b = $ap->get($path, @$second);
    is(field($b, $field), $want, "$what: the next visitor gets their own page")
        or diag("first: $a->{cache} second: $b->{cache}");
    my $b2 = $ap->get($path, @$second);
    cache_is($b2, 'HIT', "$what: and it is cached for them");
}

# <If> on the client's address: an internal client's page is not an
# external one's.
my $in = $ap->raw(GET => '/env/internal', _from => '127.0.0.2');
my $out = $ap->get('/env/internal');
is(field($in, 'INTERNAL'), '1', 'the internal client gets the internal page');
is(field($out, 'INTERNAL'), '', 'an external client never gets it');

# An absolute-form target: the application sees it as sent.
my $abs = $ap->raw(GET => $ap->url('/env/abs'));
my $origin = $ap->get('/env/abs');
like(field($abs, 'REQUEST_URI'), qr{^http://}, 'absolute form reaches the app');
is(field($origin, 'REQUEST_URI'), '/env/abs',
   'the origin form never gets the absolute form\'s page');

# A RewriteRule without [PT] routes by the client's address: only the file
# changes, and it is keyed.
my $staff = $ap->raw(GET => '/page.html', _from => '127.0.0.2');
my $public = $ap->get('/page.html');
is($staff->{body}, "internal page\n", 'the internal client is routed to its page');
is($public->{body}, "public page\n", 'another client never gets it');
cache_is($ap->get('/page.html'), 'HIT', 'and the public page is cached');

# An <If> on the client's address adds a filter: which <If> holds is keyed.
$staff = $ap->raw(GET => '/h.html', _from => '127.0.0.2');
$public = $ap->get('/h.html');
is($staff->{body}, "hello staff\n", '<If>: the internal client\'s variant');
is($public->{body}, "hello\n", 'another client never gets it');

# A header a RequestHeader directive names is keyed whoever sent it: a
# desktop client claiming X-Device: mobile gets its own entry.
my $claim = $ap->get('/env/device/b', 'User-Agent' => 'Desktop',
                     'X-Device' => 'mobile');
my $plain = $ap->get('/env/device/b', 'User-Agent' => 'Desktop');
is(field($claim, 'HTTP_X_DEVICE'), 'mobile', 'the claiming client');
is(field($plain, 'HTTP_X_DEVICE'), '', 'the next desktop never gets its page');

# Request-targets that are not in origin form are keyed as sent.
my $odd = $ap->raw(GET => 'http:?x=1');
my $root = $ap->get('/?x=1');
isnt($root->{cache}, 'HIT', '"GET http:?x=1" never stores "/?x=1"');

my @bad = $ap->unexpected_errors;
is_deeply(\@bad, [], 'no unexpected error in the log');
done_testing;
