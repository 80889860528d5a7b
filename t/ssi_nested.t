# Nested SSI: a private fragment inside a fragment.  fragment_reaches_page
# reports to the outermost page only; the middle fragment (a .shtml in a
# SharedCache On location, itself a subrequest that the module captures and
# stores under its own key) never hears that its part was private, and is
# stored with alice's private part.  Later: a direct GET of the middle
# fragment, or the page for bob, is served alice's part.
use strict;
use warnings;
use Test::More;
use SCTest;

my $mc = SCTest::Memcached->start;
my $ap = SCTest::Apache->start(memcached => [$mc], modules => ['include'],
    files => {
        'nest.shtml' => "page [<!--#include virtual=\"/mid.shtml\" -->]\n",
        'mid.shtml'  => "mid <!--#include virtual=\"/app/inner?cc=private&reflect=Cookie\" -->\n",
        'top.shtml'  => "<<!--#include virtual=\"/in.shtml\" -->>",
        'in.shtml'   => "(in <!--#include virtual=\"/app/inner-public\" --> after)",
    }, conf => <<'CONF');
<Directory @DIR@/htdocs>
    Options +Includes
    AddOutputFilter INCLUDES .shtml
</Directory>
<Location />
    SharedCache On
    SharedCacheTTL 60
</Location>
<Location /in.shtml>
    SharedCacheRequireLength Off
</Location>
<Location /top.shtml>
    SharedCache Off
</Location>
CONF
my $alice = $ap->raw(GET => '/nest.shtml', Cookie => 'sessionid=alice-secret');
like($alice->{body}, qr/alice-secret/, 'alice sees her private part');
diag("alice: $alice->{cache}");
my $bob = $ap->raw(GET => '/nest.shtml', Cookie => 'sessionid=bob');
diag("bob page: $bob->{cache} $bob->{body}");
unlike($bob->{body}, qr/alice-secret/, 'LEAK if failing: bob\'s page holds alice\'s private part');
my $mid = $ap->raw(GET => '/mid.shtml');
diag("direct mid: $mid->{cache} $mid->{body}");
unlike($mid->{body}, qr/alice-secret/, 'LEAK if failing: the middle fragment was stored with alice\'s private part');

# A fragment's own fragment shares its SUBREQ_CORE (httpd adds none to a
# subrequest of a subrequest): its EOS passes through the middle
# fragment's filters, and must not end the middle fragment's capture.
# (The page itself is not cached: the second request runs mod_include
# again and takes the middle fragment from the cache, under the page's
# key: mod_include gives it the page's DOCUMENT_URI and request line.)
my $t1 = $ap->get('/top.shtml');
my $misses = $mc->stats->{get_misses};
my $t2 = $ap->get('/top.shtml');
like($t1->{body}, qr{^<\(in <html>.*</html>\n after\)>$}s, 'an SSI page in an SSI page');
is($t2->{body}, $t1->{body}, 'the same again, whole: what follows its own include too');
is($mc->stats->{get_misses}, $misses,
   'the middle fragment was stored: the second page missed nothing');
$ap->stop;
done_testing;
