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
my $conf = $SCTest::SSI_DIR . <<'CONF';
WSGIScriptAlias /frag0 @DIR@/htdocs/box.wsgi process-group=scapp application-group=%{GLOBAL}
WSGIScriptAlias /frag1 @DIR@/htdocs/box.wsgi process-group=scapp application-group=%{GLOBAL}
WSGIScriptAlias /frag2 @DIR@/htdocs/box.wsgi process-group=scapp application-group=%{GLOBAL}
WSGIScriptAlias /frag3 @DIR@/htdocs/box.wsgi process-group=scapp application-group=%{GLOBAL}
<Location />
    SharedCache On
    SharedCacheTTL 60
</Location>
CONF
# Rules that pick a fragment per client, each in an Apache of its own (a
# rule anywhere may keep every SSI page of the server from being stored).
my %rules = (
    if => <<'CONF',
<Location /frag1>
    <If "-R '127.0.0.5/32'">
        SetEnv STAFF 1
    </If>
</Location>
CONF
    env => <<'CONF',
<Location /frag3>
    # fires for everybody but the staff
    SetEnv NEGATED 1
    RewriteEngine On
    RewriteCond %{REMOTE_ADDR} !=127.0.0.5
    RewriteRule ^ - [E=PUBLIC:1]
</Location>
CONF
    samedir => <<'CONF',
# in the page's own directory: it never fires for the page's URL
<Directory @DIR@/htdocs>
    RewriteEngine On
    RewriteCond %{REMOTE_ADDR} =127.0.0.5
    RewriteRule ^sdbox\.html$ sdstaff.html [L]
</Directory>
CONF
    header => <<'CONF',
<Location /frag2>
    RequestHeader set X-Staff 1 "expr=-R '127.0.0.5/32'"
</Location>
CONF
    rewrite => <<'CONF',
# server level; "INSIDER" holds the letters "ns" but is no [NS] flag
RewriteEngine On
RewriteCond %{REMOTE_ADDR} =127.0.0.5
RewriteRule ^/box3\.html$ /staffbox3.html [L,E=INSIDER:1]
CONF
    serverif => <<'CONF',
# server level, true for the fragment's URL only
<If "%{REQUEST_URI} =~ m#^/frag0/# && -R '127.0.0.5/32'">
    SetEnv STAFF 1
</If>
CONF
);
$frag{samedir} = '/sdbox.html';
$frag{serverif} = '/frag0/box';
$files{'sdbox.html'} = "public box\n";
$files{'sdstaff.html'} = "STAFF box: door code 4711\n";
$files{"$_.shtml"} = "$_: <!--#include virtual=\"$frag{$_}\" --> end\n"
    for keys %frag;

sub from {
    my ($ap, $src, $path) = @_;
    return $ap->raw(GET => $path, _from => $src);
}

my $mc = SCTest::Memcached->start;
for my $case (sort keys %rules) {
    my $ap = SCTest::Apache->start(memcached => [$mc], files => \%files,
                                   modules => ['include', 'env', 'rewrite'],
                                   conf => $conf . $rules{$case});
    my $page = "/$case.shtml";
    my $staff = from($ap, '127.0.0.5', $page);
    like($staff->{body}, qr/STAFF/, "$case: the staff get their box");
    isnt(from($ap, '127.0.0.5', $page)->{cache}, 'HIT',
         '  the page is not stored');
    unlike(from($ap, '127.0.0.1', $page)->{body}, qr/STAFF/,
           '  nobody else sees it');
    if ($frag{$case} =~ /^\/frag/) {
        from($ap, '127.0.0.1', $frag{$case});
        cache_is(from($ap, '127.0.0.1', $frag{$case}), 'HIT',
                 '  the fragment itself is stored');
    }
    if ($case eq 'if') {
        from($ap, '127.0.0.1', '/plain.shtml');
        cache_is(from($ap, '127.0.0.1', '/plain.shtml'), 'HIT',
                 'a page whose fragment has no rules: stored');
    }
    $ap->stop;
}
done_testing;
