# An ESI include whose response is content-coded (an application that
# gzips its own output, a .gz file served with AddEncoding) cannot be
# spliced into a page: its bytes would sit raw in the middle of the
# page.  The include fails (SC0516) and its alt or onerror apply, as
# for any failed include.
use strict;
use warnings;
use IO::Compress::Gzip qw(gzip);
use URI::Escape qw(uri_escape);
use Test::More;
use SCTest;

my $gz;
gzip(\"<p>zipped fragment</p>" => \$gz);
my $mc = SCTest::Memcached->start;
my $ap = SCTest::Apache->start(memcached => [$mc],
    files => { 'frag.txt.gz' => $gz, 'plain.txt' => "<p>plain fragment</p>" },
    conf => <<'CONF');
AddEncoding gzip .gz
Alias /q @DIR@/htdocs
<Location /q>
    SharedCache On
    SharedCacheTTL 60
    SharedCacheQuickHandler On
</Location>
<Location /app>
    SharedCache On
    SharedCacheTTL 60
    SharedCacheESI On
</Location>
CONF
my $text = uri_escape('[<esi:include src="/frag.txt.gz" onerror="continue"/>]'
                      . '(<esi:include src="/frag.txt.gz" alt="/plain.txt"/>)');
my $r = $ap->get("/app/page?text=$text&sc=content%3D%22ESI%2F1.0%22");
is($r->{status}, 200, 'a page with coded includes: 200');
is($r->{body}, '[](<p>plain fragment</p>)',
   '... onerror="continue" leaves nothing, alt is used; no coded bytes');
like($ap->error_log, qr/SC0516/, '... and says why');

# A coded fragment the cache stored (a quick location: pages may take it
# from memcached without a subrequest) is no more spliced in.
$text = uri_escape('[<esi:include src="/q/frag.txt.gz" onerror="continue"/>]');
for my $n (1 .. 3) {
    my $p = $ap->get("/app/q$n?text=$text&sc=content%3D%22ESI%2F1.0%22");
    is($p->{body}, '[]', "page $n with a stored coded fragment: nothing of it");
}
$ap->stop(allow => [qr/SC0516/]);
done_testing;
