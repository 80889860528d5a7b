# A subrequest whose handler fails (404 from the default handler) keeps
# r->status 200 while its filters see EOS: SHAREDCACHE_DECIDE stores an
# empty 200 under the fragment's own URL, served to everybody (also by the
# quick handler), and the including page is stored with the hole.
use strict; use warnings;
use Test::More; use SCTest;
my $mc = SCTest::Memcached->start;
my $ap = SCTest::Apache->start(memcached => [$mc], modules => ['include'], conf => <<'CONF');
<Directory @DIR@/htdocs>
    Options +Includes
    AddOutputFilter INCLUDES .shtml
</Directory>
<Location />
    SharedCache On
    SharedCacheTTL 60
</Location>
CONF
open my $f, '>', $ap->dir . '/htdocs/page.shtml' or die;
print $f "page [<!--#include virtual=\"/soon.html\" -->] end\n"; close $f;
my $b = $ap->get('/soon.html');
is($b->{status}, 404, 'before: /soon.html is 404');
my $p = $ap->get('/page.shtml');
diag("page: $p->{status} $p->{cache} body=$p->{body}");
my $a = $ap->get('/soon.html');
is($a->{status}, 404, "after the page: /soon.html still 404 (got $a->{status} $a->{cache}, body '" . $a->{body} . "')");
open $f, '>', $ap->dir . '/htdocs/soon.html' or die; print $f "NOW THERE\n"; close $f;
my $p2 = $ap->get('/page.shtml');
like($p2->{body}, qr/NOW THERE/, "page shows the fragment once it exists ($p2->{cache})");
$ap->stop(allow => [qr/AH00128|does not exist|AH01215|unable to include/]);
done_testing;
