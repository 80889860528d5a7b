# What runs SSI is known by its filter, not by a name, and the SSI watch
# reads exactly what mod_include runs:
# - a Substitute before INCLUDES may write SSI (here from a {{visitor}}
#   placeholder): the watch, right before mod_include, reads it, and the
#   page, whose SSI then reads the request, is not stored;
# - a mod_filter chain is named as the administrator likes: one named
#   "sed" or "buffer" that runs INCLUDES is not mod_sed or mod_buffer, and
#   keeps the page out (request-filter).
use strict;
use warnings;
use Test::More;
use URI::Escape qw(uri_escape);
use SCTest;

my $mc = SCTest::Memcached->start;
my $echo = '<!--#echo var="HTTP_COOKIE" -->';
my $frag = uri_escape($echo);

my @cases = (
    ['Substitute writing SSI before INCLUDES', [qw(include substitute)],
     { 'page.shtml' => "<p>hello {{visitor}}</p>\n" }, <<'CONF'],
<Directory @DIR@/htdocs>
    Options +Includes
    AddOutputFilter SUBSTITUTE;INCLUDES .shtml
    Substitute "s|\{\{visitor\}\}|<!--#echo var=\"HTTP_COOKIE\" -->|"
</Directory>
CONF
    ['a mod_filter chain named sed running INCLUDES', [qw(include filter)],
     { 'page.shtml' => "<p>comments: <!--#include virtual=\"/app/comment?text=$frag\" --></p>\n" }, <<'CONF'],
<Directory @DIR@/htdocs>
    Options +Includes
    AddOutputFilter INCLUDES .shtml
</Directory>
FilterDeclare sed
FilterProvider sed INCLUDES "%{CONTENT_TYPE} =~ m|^text/html|"
FilterChain sed
CONF
    ['a chain declared as BYTYPE:sed running INCLUDES', [qw(include filter)],
     { 'page.shtml' => "<p>hello $echo</p>\n" }, <<'CONF'],
<Directory @DIR@/htdocs>
    Options +Includes
</Directory>
AddType text/html .shtml
FilterDeclare BYTYPE:sed
FilterProvider BYTYPE:sed INCLUDES "%{CONTENT_TYPE} =~ m|^text/html|"
FilterChain BYTYPE:sed
CONF
    ['INCLUDES added to AddOutputFilterByType SUBSTITUTE', [qw(include filter substitute)],
     { 'page.shtml' => "<p>hello $echo</p>\n" }, <<'CONF'],
<Directory @DIR@/htdocs>
    Options +Includes
</Directory>
AddType text/html .shtml
AddOutputFilterByType SUBSTITUTE text/plain
FilterProvider BYTYPE:SUBSTITUTE INCLUDES "%{CONTENT_TYPE} =~ m|^text/html|"
CONF
    ['a mod_filter chain named buffer, the only INCLUDES', [qw(include filter)],
     { 'page.shtml' => "<p>hello $echo</p>\n" }, <<'CONF'],
<Directory @DIR@/htdocs>
    Options +Includes
</Directory>
AddType text/html .shtml
FilterDeclare buffer
FilterProvider buffer INCLUDES "%{CONTENT_TYPE} =~ m|^text/html|"
FilterChain buffer
CONF
);

for my $c (@cases) {
    my ($name, $modules, $files, $conf) = @$c;
    my $ap = SCTest::Apache->start(memcached => [$mc], modules => $modules,
                                   files => $files, conf => <<"CONF");
$conf
<Location />
    SharedCache On
    SharedCacheTTL 600
</Location>
CONF
    my $victim = $ap->get('/page.shtml', Cookie => 'sessionid=VICTIM-SECRET-123');
    like($victim->{body}, qr/VICTIM-SECRET/, "$name: the SSI ran with the victim's request (the set-up)");
    for (1 .. 2) {
        my $other = $ap->get('/page.shtml');
        isnt($other->{cache}, 'HIT', "$name: another visitor, not a hit");
        unlike($other->{body}, qr/VICTIM-SECRET/, "$name: another visitor never gets the victim's cookie");
    }
    $ap->stop;
}

# A Substitute before INCLUDES that writes no SSI: stored as before.
{
    my $ap = SCTest::Apache->start(memcached => [$mc], modules => [qw(include substitute)],
        files => { 'page.shtml' => "<p>hello {{visitor}}</p>\n" }, conf => <<'CONF');
<Directory @DIR@/htdocs>
    Options +Includes
    AddOutputFilter SUBSTITUTE;INCLUDES .shtml
    Substitute "s|\{\{visitor\}\}|friend|"
</Directory>
<Location />
    SharedCache On
    SharedCacheTTL 600
    SharedCacheNamespace plain-substitute
</Location>
CONF
    my $first = $ap->get('/page.shtml');
    like($first->{body}, qr/hello friend/, 'a plain Substitute: the page');
    my $hit = $ap->get('/page.shtml');
    is($hit->{cache}, 'HIT', 'a plain Substitute before INCLUDES: stored, then a hit');
    is($hit->{body}, $first->{body}, '... the same page');
    $ap->stop;
}

# AddOutputFilterByType SUBSTITUTE as its manual shows it: stored.
{
    my $ap = SCTest::Apache->start(memcached => [$mc], modules => [qw(filter substitute)],
        files => { 'page.html' => "<p>hello {{visitor}}</p>\n" }, conf => <<'CONF');
AddOutputFilterByType SUBSTITUTE text/html
Substitute "s|\{\{visitor\}\}|friend|"
<Location />
    SharedCache On
    SharedCacheTTL 600
    SharedCacheNamespace bytype-substitute
</Location>
CONF
    my $first = $ap->get('/page.html');
    like($first->{body}, qr/hello friend/, 'AddOutputFilterByType SUBSTITUTE: the page');
    my $hit = $ap->get('/page.html');
    is($hit->{cache}, 'HIT', 'AddOutputFilterByType SUBSTITUTE: stored, then a hit');
    is($hit->{body}, $first->{body}, '... the same page');
    $ap->stop;
}

done_testing;
