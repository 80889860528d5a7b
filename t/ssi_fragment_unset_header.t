# A fragment's location strips a client header (RequestHeader unset), yet
# mod_include already copied it into the page's variables (HTTP_X_ROLE),
# which the #include virtual fragment inherits: its application sees the
# client's value, so the fragment's key holds it (an inherited variable
# its handler does not set again).
use strict;
use warnings;
use Test::More;
use SCTest;

my $frag = <<'PY';
import uuid
def application(environ, start_response):
    body = ("nav role=%s tok=%s\n" % (environ.get("HTTP_X_ROLE", "-"), uuid.uuid4().hex)).encode()
    start_response("200 OK", [("Content-Type", "text/html"),
                              ("Content-Length", str(len(body)))])
    return [body]
PY
my $mc = SCTest::Memcached->start;
my $ap = SCTest::Apache->start(memcached => [$mc], modules => ['include'],
    files => { 'frag.py' => $frag,
               'p.shtml' => qq{<p>page</p>\n<!--#include virtual="/nav/menu" -->\n} },
    conf => SCTest::ssi_site() . <<'CONF');
<Location /nav>
    RequestHeader unset X-Role
</Location>
CONF
my $direct = $ap->raw(GET => '/nav/menu?direct', 'X-Role' => 'admin');
note "direct: $direct->{body}";
my $a = $ap->raw(GET => '/p.shtml', 'X-Role' => 'admin');
note "attacker: " . ($a->{headers}{'x-sharedcache'} // '-') . " $a->{body}";
my $v = $ap->raw(GET => '/p.shtml');
note "victim: " . ($v->{headers}{'x-sharedcache'} // '-') . " $v->{body}";
unlike($v->{body}, qr/role=admin/, "the victim never gets the attacker's X-Role");
$ap->stop(allow => [qr/./]);
done_testing;
