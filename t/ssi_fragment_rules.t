# An SSI page stores its fragments' output, but is keyed on its own
# request only: what a fragment's location derives from the request
# (SetEnvIf, <If>, RequestHeader, RewriteRule [E=]) is not in the page's key,
# and a rule that did not fire leaves no trace.  A page whose fragment may
# derive something its own request does not is not stored; each fragment
# still is, under its own rules (from an outside attack: a staff-only box
# chosen by the client address was served to everybody).
use strict;
use warnings;
use Test::More;
use SCTest;

my $box = <<'WSGI';
import uuid
def application(environ, start_response):
    staff = environ.get('STAFF') or environ.get('HTTP_X_STAFF') \
        or ('NEGATED' in environ and 'PUBLIC' not in environ)
    body = ('STAFF PANEL ' if staff else 'public box ') + uuid.uuid4().hex
    body = body.encode()
    start_response('200 OK', [('Content-Type', 'text/html'),
                              ('Content-Length', str(len(body))),
                              ('Cache-Control', 'max-age=60')])
    return [body]
WSGI
my %files = ('box.wsgi' => $box, 'box3.html' => "public box3\n",
             'staffbox3.html' => "STAFF box3: door code 4711\n");
my %frag = (if => '/frag1/box', header => '/frag2/box', env => '/frag3/box',
            plain => '/frag0/box',
            rewrite => '/box3.html');
$files{"$_.shtml"} = "$_: <!--#include virtual=\"$frag{$_}\" --> end\n"
    for keys %frag;
my $conf = $SCTest::SSI_DIR . <<'CONF';
WSGIScriptAlias /frag0 @DIR@/htdocs/box.wsgi process-group=scapp application-group=%{GLOBAL}
WSGIScriptAlias /frag1 @DIR@/htdocs/box.wsgi process-group=scapp application-group=%{GLOBAL}
WSGIScriptAlias /frag2 @DIR@/htdocs/box.wsgi process-group=scapp application-group=%{GLOBAL}
WSGIScriptAlias /frag3 @DIR@/htdocs/box.wsgi process-group=scapp application-group=%{GLOBAL}
<Location />
    SharedCache On
    SharedCacheTTL 60
</Location>
<Location /frag1>
    <If "-R '127.0.0.5/32'">
        SetEnv STAFF 1
    </If>
</Location>
<Location /frag2>
    RequestHeader set X-Staff 1 "expr=-R '127.0.0.5/32'"
</Location>
<Location /frag3>
    # fires for everybody but the staff
    SetEnv NEGATED 1
    RewriteEngine On
    RewriteCond %{REMOTE_ADDR} !=127.0.0.5
    RewriteRule ^ - [E=PUBLIC:1]
</Location>
CONF

sub from {
    my ($ap, $src, $path) = @_;
    return $ap->raw(GET => $path, _from => $src);
}

my $mc = SCTest::Memcached->start;
my $ap = SCTest::Apache->start(memcached => [$mc], files => \%files,
                               modules => ['include', 'env', 'rewrite'],
                               conf => $conf);
for my $p (qw(if header env)) {
    my $staff = from($ap, '127.0.0.5', "/$p.shtml");
    like($staff->{body}, qr/STAFF PANEL/, "$p: the staff get their panel");
    isnt(from($ap, '127.0.0.5', "/$p.shtml")->{cache}, 'HIT',
         '  the page is not stored');
    unlike(from($ap, '127.0.0.1', "/$p.shtml")->{body}, qr/STAFF/,
           '  nobody else sees it');
    from($ap, '127.0.0.1', $frag{$p});
    cache_is(from($ap, '127.0.0.1', $frag{$p}), 'HIT',
             '  the fragment itself is stored');
}
from($ap, '127.0.0.1', '/plain.shtml');
cache_is(from($ap, '127.0.0.1', '/plain.shtml'), 'HIT',
         'a page whose fragment has no rules of its own: stored');
$ap->stop;

# A server-level RewriteRule reaches subrequests: it may pick another file
# for a fragment for some clients only.
$conf .= <<'CONF';
RewriteEngine On
RewriteCond %{REMOTE_ADDR} =127.0.0.5
RewriteRule ^/box3\.html$ /staffbox3.html [L]
CONF
$ap = SCTest::Apache->start(memcached => [$mc], files => \%files,
                            modules => ['include', 'env', 'rewrite'],
                            conf => $conf);
like(from($ap, '127.0.0.5', '/rewrite.shtml')->{body}, qr/STAFF box3/,
     'rewrite: the staff get their box');
unlike(from($ap, '127.0.0.1', '/rewrite.shtml')->{body}, qr/STAFF/,
       '  nobody else sees it');
$ap->stop;
done_testing;
