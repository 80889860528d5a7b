# mod_proxy_ajp (Tomcat, Jetty) frames its bodies: the body ends with the
# container's END_RESPONSE, and one the container breaks off (it closes
# the connection first) ends with an error bucket (ap_proxy_backend_broke),
# as mod_proxy_http's chunked bodies do.  httpd 2.4.59 and later drop the
# container's Content-Length (unless ap_trust_cgilike_cl is set), so an
# AJP page is stored without one, by SharedCacheRequireLength's default;
# a body broken off is never stored.  Control: SharedCache Off renders
# every request.  (Outside attack round 82 F1: no AJP page was stored.)
use strict;
use warnings;
use Test::More;
use SCTest;
use SCTest::Process qw(free_port wait_port spawn stop_pid workdir);

my $port = free_port();
my $wd = workdir();
my $ajp;
END { stop_pid($ajp) if $ajp }
$ajp = spawn("$wd/ajp.log", 'python3', "$SCTest::ROOT/t/lib/ajp_echo.py", $port);
wait_port($port, 10, $ajp) or die "the AJP container did not start";

my $mc = SCTest::Memcached->start;
my $ap = SCTest::Apache->start(memcached => [$mc], modules => [qw(proxy proxy_ajp)],
                               conf => <<"CONF");
<Location /j>
    SharedCache On
    SharedCacheTTL 60
</Location>
<Location /off>
    SharedCache Off
</Location>
ProxyPass /j ajp://127.0.0.1:$port/j
ProxyPass /off ajp://127.0.0.1:$port/off
CONF

for my $page ('/j/page', '/j/nolen?nolen=1') {
    my $first = $ap->raw(GET => $page);
    is($first->{status}, 200, "$page: 200 from the container");
    cache_is($first, 'MISS', "$page: a MISS first");
    my $again = $ap->raw(GET => $page);
    cache_is($again, 'HIT', "$page: then a HIT, stored without a Content-Length");
    is($again->{body}, $first->{body}, "$page: the stored page, whole");
}

# the container breaks the body off: never stored, each request renders
my %seen;
for (1 .. 3) {
    my $r = $ap->raw(GET => '/j/cut?noend=1');
    isnt($r->{cache}, 'HIT', "a body broken off is not stored (request $_)");
    $seen{$1}++ if ($r->{body} // '') =~ /n=(\d+)/;
}
is(scalar(keys %seen), 3, 'each request of a broken-off body rendered anew');

# control: SharedCache Off renders every time
my ($a, $b) = map { $ap->raw(GET => '/off/page')->{body} } 1 .. 2;
isnt($a, $b, 'control: SharedCache Off renders each request');

$ap->stop(allow => [qr/AH00992|AH00893|AH00892|AH00891|AH00890|AH01030|dialog to/]);
done_testing;
