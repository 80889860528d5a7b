# A fragment cut short of its Content-Length where its own copy stops
# before its end, and an SSI page around a cut fragment included by ESI
# (found by an outside attack).  A page is stored only with fragments
# found whole: served from the cache, or copied to the end of their
# length.  One above its location's SharedCacheMaxSize, or whose tags
# are refused, was never checked: the page is not stored.  An SSI page
# around a cut fragment answers 200 without a length or an error; the
# ESI page that includes it takes it as a failed include (SC0515).
use strict;
use warnings;
use Test::More;
use SCTest;

my $cut = '/app/big/cut?size=100&stream=2&crash=1&hdr=Content-Length:200100';
my $cut_small = '/app/cut?size=100&stream=2&crash=1&hdr=Content-Length:200100';
my $whole = '/app/big/whole?size=100&stream=2&hdr=Content-Length:200100';
my %files = (
    'cut.shtml'   => "<html>page <!--#include virtual=\"$cut\" --> PAGE-END\n",
    'whole.shtml' => "<html>page <!--#include virtual=\"$whole\" --> PAGE-END\n",
    # a tag of 129 bytes: SHAREDCACHE_DECIDE refuses the fragment's tags,
    # its copy stops before the length is checked
    'tag.shtml'   => "<html>page <!--#include virtual=\"/app/tag/cut?size=100&stream=2&crash=1&hdr=Content-Length:200100&sk=" . ('t' x 129) . "\" --> PAGE-END\n",
    # the same cut fragment where it is copied
    'small.shtml' => "<html>page <!--#include virtual=\"$cut_small\" --> PAGE-END\n",
    'inner.shtml' => "INNER-BEGIN <!--#include virtual=\"$cut_small\" --> INNER-END\n",
);

my $mc = SCTest::Memcached->start;
my $ap = SCTest::Apache->start(memcached => [$mc], modules => ['include'],
                               files => \%files,
                               conf => $SCTest::SSI_DIR . <<'CONF');
<Location />
    SharedCache On
    SharedCacheTTL 60
</Location>
<Location /app/big>
    SharedCacheMaxSize 1000
</Location>
<Location /app/page>
    SharedCacheESI On
</Location>
CONF

for my $case (['/small.shtml', 'the fragment copied'],
              ['/cut.shtml', 'the fragment above its SharedCacheMaxSize'],
              ['/tag.shtml', 'the fragment with a tag of 129 bytes']) {
    my ($page, $what) = @$case;
    my $a = $ap->raw(GET => $page);
    my $b = $ap->raw(GET => $page);
    note(sprintf '%s: first %s %s %d bytes; second %s %s %d bytes', $page,
         $a->{status}, $a->{cache}, length $a->{body}, $b->{status},
         $b->{cache}, length $b->{body});
    ok(length($a->{body}) < 200100, "$page: the fragment was cut ($what)");
    isnt($b->{cache}, 'HIT', "$page: the page is not stored ($what)")
        or diag("HIT of " . length($b->{body}) . " bytes, same body: "
                . ($a->{md5} eq $b->{md5} ? 'yes' : 'no'));
}
# A whole fragment above its location's SharedCacheMaxSize: not checked
# either, the page is not stored (the rule errs on the safe side).
my $a = $ap->raw(GET => '/whole.shtml');
is(length($a->{body} =~ s/\A<html>page (.*) PAGE-END\n\z/$1/sr), 200100,
   'whole.shtml: the whole fragment');

my $n = 0;
sub page {
    my ($src, $attrs) = @_;
    $n++;
    return $ap->raw(GET => esi_page("/app/page/$n",
                    '<h1>s</h1>' . esi_inc($src, $attrs) . '<p>e</p>'));
}
my $r = page($cut_small);
is($r->{status}, 502, 'the cut fragment as an ESI include: 502');
$r = page('/inner.shtml');
is($r->{status}, 502, 'an SSI page around it as an ESI include: 502');
unlike($r->{body}, qr/INNER/, '... none of it sent');
$r = page('/inner.shtml', ' onerror="continue"');
is($r->{status}, 200, 'onerror="continue": the page');
is($r->{body}, '<h1>s</h1><p>e</p>', '... without the broken include');

$ap->stop(allow => [qr/\[wsgi:error\]/, qr/SC0514/, qr/SC0515/, qr/SC0509/]);
done_testing;
