# Filters that run before SHAREDCACHE_SAVE (AP_FTYPE_RESOURCE and the
# content filters before it: mod_include, mod_substitute) already shaped
# the stored body: a hit must not run them again.  Run twice, a
# substitution is applied twice, and SSI markup that a fragment or the
# application sent as text is executed on every hit (one visitor's
# request headers in a page served from the cache).
use strict;
use warnings;
use URI::Escape qw(uri_escape);
use Test::More;
use SCTest;

my $evil = uri_escape('<p>[<!--#echo var="HTTP_X_SECRET" -->]</p>');
my %files = (
    'page.shtml' => "<html>page <!--#include virtual=\"/app/frag?text=$evil\" -->"
                    . " end\n",
);
my $mc = SCTest::Memcached->start;
my $ap = SCTest::Apache->start(memcached => [$mc],
                               modules => [qw(include substitute filter ext_filter)],
                               files => \%files, conf => $SCTest::SSI_DIR . <<'CONF');
<Location />
    SharedCache On
    SharedCacheTTL 60
    SharedCacheRequireLength Off
</Location>
ExtFilterDefine lang mode=output intype=text/html cmd="/bin/sh -c 'sed s/path=/lang=$HTTP_X_LANG,path=/'"
<Location /app/ext>
    SetOutputFilter lang
</Location>
<Location /app/sub>
    AddOutputFilterByType SUBSTITUTE text/html
    Substitute "s/path=/path=X/"
</Location>
CONF

my $m = $ap->get('/app/sub/p');
my $h = $ap->get('/app/sub/p');
like($m->{body}, qr{path=X/sub/p }, 'mod_substitute ran on the miss');
cache_is($h, 'HIT', 'the substituted page is stored');
is($h->{body}, $m->{body}, 'a hit is the page as stored, not substituted again');

$m = $ap->get('/page.shtml', 'X-Secret' => 'first');
$h = $ap->get('/page.shtml', 'X-Secret' => 'second-visitor');
like($m->{body}, qr/page <p>\[<!--#echo/, 'a fragment\'s text is not SSI');
cache_is($h, 'HIT', 'the SSI page is stored');
is($h->{body}, $m->{body}, 'a hit does not run mod_include again');
unlike($h->{body}, qr/second-visitor/,
       'no request header of the visitor reaches a shared page');

# A filter that may read the request (mod_ext_filter: its command gets
# the CGI variables) keeps the response out.
$m = $ap->get('/app/ext/p', 'X-Lang' => 'fr');
$h = $ap->get('/app/ext/p');
like($m->{body}, qr/lang=fr,/, 'mod_ext_filter ran');
unlike($h->{body}, qr/lang=fr/, 'the next visitor never gets its output');
isnt($h->{cache}, 'HIT', 'not stored');

done_testing;
