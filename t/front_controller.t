# Front controllers (THREATS 11, 32): one script answers every URL and
# routes on REQUEST_URI, reached through mod_rewrite's per-directory
# internal redirect or mod_dir's FallbackResource, in front of a CGI
# (mod_cgid) and of a mod_wsgi application.  httpd's r->uri is then the
# script's URI for every page; the cache must still give each URL the
# application answered its own entry.
#
# Every request goes over its own connection (raw), read to the close: the
# store that follows a MISS is done before the next request is sent.
use strict;
use warnings;
use Test::More;
use SCTest;

# The application: echoes the URL it routed on and a fresh token; a page
# under /no-such is a 404 (the framework's "not found").
my $CGI = <<'CGI';
#!/usr/bin/perl
my $uri = $ENV{REQUEST_URI} // '';
my $token = join '', map { sprintf '%04x', int rand 65536 } 1 .. 8;
my $body = "uri=$uri\nquery=" . ($ENV{QUERY_STRING} // '') . "\ntoken=$token\n";
# With a Content-Length: a CGI's body is stored only when it can be
# checked (a CGI that dies mid-body ends it like a whole one).
print "Status: 404 Not Found\r\n" if $uri =~ m{^/no-such};
print "Content-Type: text/plain\r\nContent-Length: ", length($body),
    "\r\n\r\n", $body;
CGI

my $WSGI = <<'WSGI';
import uuid
def application(environ, start_response):
    uri = environ.get('REQUEST_URI', '')
    body = ('uri=%s\nquery=%s\ntoken=%s\n' % (
        uri, environ.get('QUERY_STRING', ''), uuid.uuid4().hex)).encode()
    status = '404 Not Found' if uri.startswith('/no-such') else '200 OK'
    start_response(status, [('Content-Type', 'text/plain'),
                            ('Content-Length', str(len(body)))])
    return [body]
WSGI

my $CACHE = <<'CONF';
<Location />
    SharedCache On
    SharedCacheTTL 60
</Location>
CONF

# httpd drops a CGI's own Content-Length unless ap_trust_cgilike_cl is
# set; without a length a CGI body cannot be checked and is not stored.
my $CGI_DIR = <<'CONF';
    Options +ExecCGI +FollowSymLinks
    AddHandler cgi-script .cgi
    SetEnvIf Request_URI . ap_trust_cgilike_cl=1
CONF

my $WSGI_MOUNT = 'WSGIScriptAlias /front @DIR@/htdocs/front.wsgi '
    . "process-group=scapp application-group=%{GLOBAL}\n";

my @scenarios = (
    { name => 'mod_rewrite -> CGI', modules => [qw(rewrite cgid)],
      conf => <<"CONF" },
<Directory \@DIR\@/htdocs>
$CGI_DIR    RewriteEngine On
    RewriteCond %{REQUEST_FILENAME} !-f
    RewriteRule ^ index.cgi [L]
</Directory>
CONF
    { name => 'FallbackResource -> CGI', modules => [qw(dir cgid)],
      conf => <<"CONF" },
<Directory \@DIR\@/htdocs>
$CGI_DIR    DirectoryIndex index.cgi
    FallbackResource /index.cgi
</Directory>
CONF
    { name => 'mod_rewrite -> mod_wsgi', modules => [qw(rewrite)],
      conf => <<"CONF" },
$WSGI_MOUNT<Directory \@DIR\@/htdocs>
    RewriteEngine On
    RewriteCond %{REQUEST_FILENAME} !-f
    RewriteRule ^ /front [L]
</Directory>
CONF
    { name => 'FallbackResource -> mod_wsgi', modules => [qw(dir)],
      conf => <<"CONF" },
$WSGI_MOUNT<Directory \@DIR\@/htdocs>
    DirectoryIndex /front
    FallbackResource /front
</Directory>
CONF
);

# Asked in this order: a 404 first (it must not become the home page),
# then pages that must each get their own entry.
my @pages = (['/no-such-page', 404], ['/', 200],
             ['/invoice/secret-42', 200], ['/other?x=1', 200]);

sub field { $_[0]{body} =~ /^$_[1]=(.*)$/m ? $1 : '' }

my $mc = SCTest::Memcached->start;
my $prefix = 0;
for my $sc (@scenarios) {
    my $what = $sc->{name};
    $prefix++;
    my $ap = SCTest::Apache->start(
        memcached => [$mc], modules => $sc->{modules},
        files => { 'index.cgi' => $CGI, 'front.wsgi' => $WSGI },
        conf => "SharedCachePrefix fc$prefix\n$sc->{conf}$CACHE");
    chmod 0755, $ap->dir . '/htdocs/index.cgi';

    my %first;
    for (@pages) {
        my ($url, $status) = @$_;
        my (undef, $query) = split /\?/, $url, 2;
        my $r = $ap->raw(GET => $url);
        $first{$url} = $r;
        is($r->{status}, $status, "$what: $url: status $status");
        cache_is($r, 'MISS', "$what: $url: first request is a MISS");
        # The internal redirect is part of the same request: it must not
        # wait for the fill lock its own client request holds.
        cmp_ok($r->{ms}, '<', 5000, "$what: $url: answered without waiting "
               . 'for its own fill lock (SharedCacheLockTimeout 10 s)');
        is(field($r, 'uri'), $url,
           "$what: $url: the body is the page the application routed for "
           . 'this URL');
        is(field($r, 'query'), $query // '',
           "$what: $url: the application saw the query string");
        isnt(field($r, 'token'), '', "$what: $url: a token (control)");
    }
    for (@pages) {
        my ($url, $status) = @$_;
        my $r = $ap->raw(GET => $url);
        cache_is($r, 'HIT', "$what: $url: second request is a HIT");
        is($r->{status}, $status, "$what: $url: with status $status");
        is($r->{body}, $first{$url}{body},
           "$what: $url: and the body of its own first render");
    }
    # The missing page was asked first: the home page never shows it.
    my $home = $ap->raw(GET => '/');
    isnt($home->{status}, 404, "$what: the home page is not the 404");
    unlike($home->{body}, qr/no-such/, "$what: nor its body");
    $ap->stop;
}
done_testing;
