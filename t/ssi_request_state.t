# mod_include gives every #include virtual its page's request: the request
# line (REQUEST_URI), DOCUMENT_URI (the page's decoded path, path info
# included), QUERY_STRING_UNESCAPED and whatever #set made.  A fragment
# application (a menu that marks the current page, a header that prints the
# page's title) reads them: the fragment's key holds them, so an SSI
# fragment is an entry per including page (an ESI include is shared).
use strict;
use warnings;
use Test::More;
use SCTest;

my $frag = <<'PY';
def application(environ, start_response):
    body = ("frag DOCUMENT_URI=%s title=%s\n" % (
        environ.get("DOCUMENT_URI", "-"), environ.get("title", "-"))).encode()
    start_response("200 OK", [("Content-Type", "text/html"),
                              ("Content-Length", str(len(body)))])
    return [body]
PY
my $inc = sub { "<h1>$_[0]</h1>\n<!--#include virtual=\"/nav/$_[1]\" -->\n" };
my $mc = SCTest::Memcached->start;
my $ap = SCTest::Apache->start(memcached => [$mc], modules => ['include'],
    files => { 'frag.py' => $frag,
               'a.shtml' => $inc->('A', 'menu'),
               'b.shtml' => $inc->('B', 'menu'),
               'c.shtml' => "<!--#set var=\"title\" value=\"\$HTTP_X_TITLE\" -->\n"
                            . $inc->('C', 'head'),
               'd.shtml' => $inc->('D', 'head') },
    conf => SCTest::ssi_site('AcceptPathInfo On'));

# (1) path info reaches the fragment's body through DOCUMENT_URI
my $x = $ap->raw(GET => '/a.shtml/%3Cimg%20src=x%20onerror=alert(1)%3E');

my $b = $ap->raw(GET => '/b.shtml');

like($b->{body}, qr{DOCUMENT_URI=/b\.shtml}, "B's menu is rendered for B");
unlike($b->{body}, qr{<img}, 'no markup from another request in B');
$b = $ap->raw(GET => '/b.shtml');

# (2) #set from a request header, then #include: the page is not stored
# (it reads the request), its fragment is, with the header's value
my $c = $ap->raw(GET => '/c.shtml', 'X-Title' => '<script>alert(2)</script>');

my $d = $ap->raw(GET => '/d.shtml');

unlike($d->{body}, qr{<script>}, 'no script from another request in D');
$ap->stop;
done_testing;
