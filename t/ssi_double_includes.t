# mod_include twice in a chain (httpd does not merge filters): a section's
# SetOutputFilter INCLUDES next to mod_mime's AddOutputFilter INCLUDES
# .shtml, or AddOutputFilterByType INCLUDES.  The SSI watch reads what the
# first INCLUDES reads, the page's source; the second runs what the first
# made of it, the included fragments' text among it, with the request of
# whoever missed.  A fragment's text (user content) holding
# <!--#echo var="HTTP_COOKIE" --> then put that visitor's cookie into the
# stored page.  A second INCLUDES keeps the page out (request-filter); a
# page with one is stored as before.
use strict;
use warnings;
use Test::More;
use URI::Escape qw(uri_escape);
use SCTest;

my $frag = uri_escape('<!--#echo var="HTTP_COOKIE" -->');
my $page = "<p>comments: <!--#include virtual=\"/app/comment?text=$frag\" --></p>\n";
my $mc = SCTest::Memcached->start;

my %twice = (
    'AddOutputFilter and SetOutputFilter' => <<'CONF',
<Location /page.shtml>
    SetOutputFilter INCLUDES
</Location>
CONF
    'SetOutputFilter and AddOutputFilterByType' => <<'CONF',
AddOutputFilterByType INCLUDES text/html
<Location /page.shtml>
    SetOutputFilter INCLUDES
</Location>
CONF
);

for my $name (sort keys %twice) {
    my $ap = SCTest::Apache->start(memcached => [$mc], modules => [qw(include filter)],
        files => { 'page.shtml' => $page }, conf => <<"CONF");
<Directory \@DIR\@/htdocs>
    Options +Includes
    AddOutputFilter INCLUDES .shtml
</Directory>
$twice{$name}
<Location />
    SharedCache On
    SharedCacheTTL 600
</Location>
CONF
    my $victim = $ap->get('/page.shtml', Cookie => 'sessionid=VICTIM-SECRET-123');
    like($victim->{body}, qr/VICTIM-SECRET/, "$name: the second INCLUDES ran the fragment's SSI (the set-up)");
    like($victim->{headers}{'cache-status'} // '', qr/detail=request-filter/, "$name: not stored, and why");
    for (1 .. 2) {
        my $other = $ap->get('/page.shtml');
        isnt($other->{cache}, 'HIT', "$name: another visitor, not a hit");
        unlike($other->{body}, qr/VICTIM-SECRET/, "$name: another visitor never gets the victim's cookie");
    }
    $ap->stop;
}

# One INCLUDES: the page is stored (the fragment's SSI text is not run).
{
    my $ap = SCTest::Apache->start(memcached => [$mc], modules => [qw(include)],
        files => { 'page.shtml' => $page }, conf => <<'CONF');
<Directory @DIR@/htdocs>
    Options +Includes
    AddOutputFilter INCLUDES .shtml
</Directory>
<Location />
    SharedCache On
    SharedCacheTTL 600
    SharedCacheNamespace once
</Location>
CONF
    my $first = $ap->get('/page.shtml', Cookie => 'sessionid=VICTIM-SECRET-123');
    unlike($first->{body}, qr/VICTIM-SECRET/, 'one INCLUDES: the fragment\'s SSI text is not run');
    my $hit = $ap->get('/page.shtml');
    is($hit->{cache}, 'HIT', 'one INCLUDES: stored, then a hit');
    is($hit->{body}, $first->{body}, 'one INCLUDES: the same page');
    $ap->stop;
}

done_testing;
