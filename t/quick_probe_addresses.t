# Quick mode serves an entry to anyone only where an anonymous client
# would be let through: httpd prepares the URL again for a client of no
# known address.  One probe address (TEST-NET-1) let a sloppy allowlist
# that covers it (192.0.0.0/8 in a <Directory>, which start-up only warns
# of: SC0104) make an insider's page quick-servable, and a client the
# allowlist refuses got it from the quick handler (found by the outside
# attack).  The probe now asks from TEST-NET-1, TEST-NET-3 and the IPv6
# documentation prefix: rules must let all three through.
use strict;
use warnings;
use Test::More;
use SCTest;

my $mc = SCTest::Memcached->start;
my $n = 0;
for my $range ('192.0.0.0/8', '192.0.0.0/3', '10.0.0.0/8') {
    my $ap = SCTest::Apache->start(memcached => [$mc], conf => <<"CONF");
<Directory \@DIR\@/app>
    Require ip 127.0.0.2 $range
</Directory>
<Location /app>
    SharedCache On
    SharedCacheTTL 60
    SharedCacheQuickHandler On
</Location>
CONF
    my $u = '/app/internal-report' . $n++ . '?cc=max-age%3D60';
    my $in = $ap->raw(GET => $u, _from => '127.0.0.2');
    is($in->{status}, 200, "allowlist $range: the insider gets the page");
    my $again = $ap->raw(GET => $u, _from => '127.0.0.2');
    cache_is($again, 'HIT', "allowlist $range: and its hits");
    my $out = $ap->raw(GET => $u, _from => '127.0.0.1');
    is($out->{status}, 403, "allowlist $range: a client it refuses is refused ("
       . ($out->{headers}{'cache-status'} // '') . ')');
    $ap->stop(allow => [qr/AH01630|SC0104/]);
}
# rules every address passes: quick hits for everyone
my $ap = SCTest::Apache->start(memcached => [$mc], conf => <<'CONF');
LogLevel warn sharedcache:trace1
<Directory @DIR@/app>
    Require all granted
</Directory>
<Location /app>
    SharedCache On
    SharedCacheTTL 60
    SharedCacheQuickHandler On
</Location>
CONF
my $u = '/app/open?cc=max-age%3D60';
$ap->raw(GET => $u, _from => '127.0.0.2');
my $r = $ap->raw(GET => $u, _from => '127.0.0.1');
cache_is($r, 'HIT', 'open rules: another client gets a hit');
my $quick = () = $ap->error_log =~ /served by the quick handler/g;
is($quick, 1, 'open rules: served by the quick handler');
$ap->stop;
done_testing;
