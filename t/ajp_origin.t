# mod_proxy_ajp (Tomcat) ends a body at the container's END_RESPONSE,
# also one shorter than the Content-Length the container declared, and
# httpd 2.4.59 and later drop that length unless ap_trust_cgilike_cl is
# set: by SharedCacheRequireLength's default an AJP page is stored only
# where ap_trust_cgilike_cl keeps the container's length, checked against
# the body; a body shorter than it, or broken off (the container closes
# before END_RESPONSE), is never stored.  Control: SharedCache Off renders
# every request.  (Outside attack rounds 82 F1 and 83 M1.)
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
my $ap = SCTest::Apache->start(memcached => [$mc], modules => [qw(proxy proxy_ajp setenvif)],
                               conf => <<"CONF");
<Location /j>
    SharedCache On
    SharedCacheTTL 60
</Location>
<Location /t>
    SharedCache On
    SharedCacheTTL 60
</Location>
<Location /off>
    SharedCache Off
</Location>
SetEnvIf Request_URI ^/t/ ap_trust_cgilike_cl=1
ProxyPass /j ajp://127.0.0.1:$port/j
ProxyPass /t ajp://127.0.0.1:$port/t
ProxyPass /off ajp://127.0.0.1:$port/off
CONF

# by default: the container's length dropped, nothing stored, and said
for my $page ('/j/page', '/j/nolen?nolen=1') {
    my $first = $ap->raw(GET => $page);
    is($first->{status}, 200, "$page: 200 from the container");
    my $again = $ap->raw(GET => $page);
    cache_is($again, 'UNCACHEABLE', "$page: not stored without ap_trust_cgilike_cl");
    like($again->{headers}{'cache-status'} // '', qr/detail=no-content-length/,
         "$page: Cache-Status says why");
    isnt($again->{body}, $first->{body}, "$page: rendered anew");
}

# ap_trust_cgilike_cl keeps the container's length: stored, whole
{
    my $first = $ap->raw(GET => '/t/page');
    cache_is($first, 'MISS', 'with ap_trust_cgilike_cl: a MISS first');
    my $again = $ap->raw(GET => '/t/page');
    cache_is($again, 'HIT', '... then a HIT');
    is($again->{body}, $first->{body}, '... the stored page, whole');
}

# a body shorter than the declared length (END_RESPONSE early), or broken
# off: never stored, each request renders
for my $page ('/t/short?short=1', '/j/short?short=1', '/t/cut?noend=1', '/j/cut?noend=1') {
    my %seen;
    for (1 .. 3) {
        my $r = $ap->raw(GET => $page);
        isnt($r->{cache}, 'HIT', "$page: not stored (request $_)");
        $seen{$1}++ if ($r->{body} // '') =~ /n=(\d+)/;
    }
    is(scalar(keys %seen), 3, "$page: each request rendered anew");
}

# control: SharedCache Off renders every time
my ($a, $b) = map { $ap->raw(GET => '/off/page')->{body} } 1 .. 2;
isnt($a, $b, 'control: SharedCache Off renders each request');

$ap->stop(allow => [qr/AH00992|AH00893|AH00892|AH00891|AH00890|AH01030|dialog to/]);
done_testing;
