# An ESI include is a request of its own, as a surrogate makes it: the
# fragment's handler sees its own request line (REQUEST_URI), not the
# page's, and of the page's variables only what configuration set (which
# its key holds); never the page's CGI variables (PATH_INFO) or anything
# the page's handler added.  So one page's request (a script in its
# query) never reaches an entry other pages and the fragment's own URL
# are served from, and the fragment is still shared by every page.
use strict;
use warnings;
use Test::More;
use SCTest;

my $frag = <<'PY';
def application(environ, start_response):
    keys = ["QUERY_STRING", "REQUEST_URI", "PATH_INFO", "DOCUMENT_URI"]
    body = (" ".join("%s=%s" % (k, environ.get(k, "-")) for k in keys) + "\n").encode()
    start_response("200 OK", [("Content-Type", "text/html"),
                              ("Content-Length", str(len(body)))])
    return [body]
PY
my $mc = SCTest::Memcached->start;
my $ap = SCTest::Apache->start(memcached => [$mc], files => { 'frag.py' => $frag },
    conf => <<'CONF');
<Location />
    SharedCache On
    SharedCacheTTL 60
    SharedCacheESI On
</Location>
WSGIScriptAlias /nav @DIR@/htdocs/frag.py process-group=scapp application-group=%{GLOBAL}
CONF
my $page = esi_page('/app/shell', 'S:' . esi_inc('/nav'));
my $a = $ap->raw(GET => "$page&x=<script>alert('page-one')</script>");
like($a->{body}, qr{REQUEST_URI=/nav PATH_INFO= }, "the fragment sees its own request line, not the page's");
my $b = $ap->raw(GET => esi_page('/app/other', 'O:' . esi_inc('/nav')));
unlike($b->{body}, qr{page-one|/app/shell}, "another page holds nothing of the first page's request");
is((split /O:/, $b->{body})[1], (split /S:/, $a->{body})[1],
   'the fragment is the same entry in both pages');
my $c = $ap->raw(GET => '/nav');
unlike($c->{body}, qr{<script>}, 'the fragment at its own URL holds no script from a page');
$ap->stop;
done_testing;
