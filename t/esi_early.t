# An ESI page's lookup asks for its includes' keys too (src/sc_incearly.c),
# but what it read is used only when the page is served as found.  A page
# rendered after its lookup may change its own fragments: here the
# application purges the fragment it then includes ("mark messages read"),
# and the page must carry the fragment rendered after that PURGE, on the
# first visit of a child and on the next (when the page's lookup has
# learnt the include's keys and read them before the render).
use strict;
use warnings;
use Test::More;
use HTTP::Tiny;
use SCTest;

my $inbox = <<'PY';
import urllib.request
def application(environ, start_response):
    req = urllib.request.Request(
        "http://127.0.0.1:%s/app/frag/unread" % environ["SERVER_PORT"],
        method="PURGE")
    st = urllib.request.urlopen(req, timeout=5).status
    body = ('purged=%d [<esi:include src="/app/frag/unread"/>]' % st).encode()
    start_response("200 OK", [("Content-Type", "text/html"),
                              ("Cache-Control", "no-store"),
                              ("Surrogate-Control", 'content="ESI/1.0"'),
                              ("Content-Length", str(len(body)))])
    return [body]
PY
my $mc = SCTest::Memcached->start;
my $ap = SCTest::Apache->start(memcached => [$mc], files => { 'inbox.py' => $inbox },
                               conf => <<'CONF');
<Location /app>
    SharedCache On
    SharedCacheTTL 60
    SharedCachePurge On
</Location>
WSGIScriptAlias /inbox @DIR@/htdocs/inbox.py process-group=scapp application-group=%{GLOBAL}
<Location /inbox>
    SharedCache On
    SharedCacheESI On
</Location>
CONF
sub tok { ($_[0] =~ /token=(\w+)/)[0] }
my $ua = HTTP::Tiny->new(keep_alive => 1);   # one connection: one child
for my $visit (1 .. 3) {
    $ap->get('/app/frag/unread');
    my $cached = tok($ap->get('/app/frag/unread')->{body});
    my $r = $ua->get($ap->url('/inbox'));
    like($r->{content}, qr/purged=200/, "visit $visit: the page purged its fragment");
    isnt(tok($r->{content}), $cached,
         "visit $visit: ... and includes it as rendered after that PURGE");
}
$ap->stop;
done_testing;
