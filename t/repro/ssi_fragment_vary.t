# Does an SSI page carry its fragment's Vary (README: "a fragment's Vary becomes the page's as sent")?
use strict;
use warnings;
use Test::More;
use SCTest;

my $mc = SCTest::Memcached->start;
my $ap = SCTest::Apache->start(memcached => [$mc],
                               modules => [qw(include)],
                               files => { 'p.shtml' => "page <!--#include virtual=\"/app/frag?vary=Accept-Language&reflect=Accept-Language&cc=max-age%3D60\" -->\n" },
                               conf => <<'CONF');
<Location />
    SharedCache On
    SharedCacheTTL 60
</Location>
<Directory @DIR@/htdocs>
    Options +Includes
    AddType text/html .shtml
    AddOutputFilter INCLUDES .shtml
</Directory>
CONF
my $en = $ap->get('/p.shtml', 'Accept-Language' => 'en');
my $en2 = $ap->get('/p.shtml', 'Accept-Language' => 'en');
my $de = $ap->get('/p.shtml', 'Accept-Language' => 'de');
for ([en => $en], [en2 => $en2], [de => $de]) {
    my ($n, $r) = @$_;
    my $b = $r->{body}; $b =~ s/\n/ | /g;
    diag("$n: $r->{cache} vary=".($r->{headers}{vary}//'(none)')." cc=".($r->{headers}{'cache-control'}//'(none)')." $b");
}
like($de->{body}, qr/reflected=de/, 'de gets the de fragment');
ok(defined $en->{headers}{vary} && $en->{headers}{vary} =~ /accept-language/i, 'the page says Vary: Accept-Language (MISS)');
ok(defined $en2->{headers}{vary} && $en2->{headers}{vary} =~ /accept-language/i, 'the page says Vary: Accept-Language (HIT)');
$ap->stop;
done_testing;
