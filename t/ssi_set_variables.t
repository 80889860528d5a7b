# SSI "#set" of a variable named like a CGI one (HTTP_X_ROLE, REMOTE_HOST)
# reaches an #include virtual fragment's application: its handler sets
# such a variable again only when the request has the header (or when
# HostnameLookups resolves the client).  The fragment's key holds every
# variable it inherits that its handler does not set again to the same
# value.  (The page itself is not stored: it uses #if and #set.)
use strict;
use warnings;
use Test::More;
use SCTest;

my $frag = <<'PY';
import uuid
def application(environ, start_response):
    body = ("nav role=%s host=%s tok=%s\n" % (environ.get("HTTP_X_ROLE", "-"),
            environ.get("REMOTE_HOST", "-"), uuid.uuid4().hex)).encode()
    start_response("200 OK", [("Content-Type", "text/html"),
                              ("Content-Length", str(len(body)))])
    return [body]
PY
my %files = (
  'frag.py' => $frag,
  # (1) chosen by client address
  'a.shtml' => qq{<!--#if expr='-R "127.0.0.5/32"' --><!--#set var="HTTP_X_ROLE" value="staff" --><!--#endif -->\n<!--#include virtual="/nav/a" -->\n},
  # (2) REMOTE_HOST
  'b.shtml' => qq{<!--#if expr='-R "127.0.0.5/32"' --><!--#set var="REMOTE_HOST" value="staff-host" --><!--#endif -->\n<!--#include virtual="/nav/b" -->\n},
  # (3) copied from an unkeyed request header: poisoning
  'c.shtml' => qq{<!--#set var="HTTP_X_ROLE" value="\${HTTP_X_NICK}" -->\n<!--#include virtual="/nav/c" -->\n},
);
my $mc = SCTest::Memcached->start;
my $ap = SCTest::Apache->start(memcached => [$mc], modules => ['include'],
    files => \%files, conf => SCTest::ssi_site());

for my $p (qw(a b)) {
    my $in = $ap->raw(GET => "/$p.shtml", _from => '127.0.0.5');
    like($in->{body}, qr/staff/, "$p: the insider's fragment is the staff one");
    my $out = $ap->raw(GET => "/$p.shtml", _from => '127.0.0.1');
    note "outsider $p: $out->{body}";
    unlike($out->{body}, qr/staff/, "$p: an outsider never gets the staff fragment");
}
my $evil = $ap->raw(GET => '/c.shtml', 'X-Nick' => '<script>alert(1)</script>');
my $victim = $ap->raw(GET => '/c.shtml');
note "victim: $victim->{body}";
unlike($victim->{body}, qr/<script>/, 'c: a victim never gets the attacker\'s header');
$ap->stop;
done_testing;
