# One render per page across the farm (SharedCacheLock): a cold URL hit by
# 100 simultaneous requests renders once; waiters are served as soon as it
# is stored; two Apache hosts share the lease; an uncacheable response
# does not serialise anyone, nor does an uncacheable SSI fragment or the
# uncacheable target of an internal redirect (their subrequest or
# redirected request lets go of the lease).
# sc-test: alone (it measures time; make prove runs the others two at a time)
use strict;
use warnings;
use Test::More;
use Time::HiRes qw(time);
use SCTest;

my $mc = SCTest::Memcached->start;
my $site = <<'CONF';
<VirtualHost *:@PORT@>
    ServerName www.test:80
    <Location /app>
        SharedCache On
        SharedCacheTTL 60
    </Location>
    <LocationMatch "^/app/(frag|target)$">
        SharedCacheLockTimeout 4
    </LocationMatch>
    <Directory @DIR@/htdocs>
        Options +Includes
        AddOutputFilter INCLUDES .shtml
        RewriteEngine On
        RewriteRule ^go$ /app/target?cc=no-store [L]
    </Directory>
</VirtualHost>
CONF
my %opt = (memcached => [$mc], conf => $site, wsgi_processes => 4,
           modules => ['include', 'rewrite'],
           files => { 'page.shtml' => "before\n<!--#include virtual="
                                      . "\"/app/frag?cc=no-store\" -->\n"
                                      . "after\n" });
# Two hosts of a farm: the same port on two addresses.
my $ap1 = SCTest::Apache->start(%opt);
my $ap2 = SCTest::Apache->start(%opt, addr => '127.0.0.2',
                                port => $ap1->port);

sub cold_burst {
    my ($name, $n, @apaches) = @_;
    my @res = SCTest::Apache->burst(map {
        [ $apaches[$_ % @apaches], $name, Host => 'www.test' ]
    } 0 .. $n - 1);
    return @res;
}

for my $case ([ 'fast', '' ], [ '200 ms', '&sleep=200' ]) {
    my ($label, $q) = @$case;
    my $path = "/app/cold-" . ($q ? 'slow' : 'fast') . "?size=2048$q";
    my @res = cold_burst($path, 100, $ap1);
    my @miss = grep { $_->{cache} eq 'MISS' } @res;
    is(scalar(grep { $_->{status} == 200 } @res), 100,
       "$label app: 100 simultaneous requests, all 200");
    is($ap1->renders($path =~ s/\?.*//r), 1, "$label app: rendered once");
    is(scalar @miss, 1, "$label app: one MISS, the rest served from it");
    my %bodies = map { $_->{md5} => 1 } @res;
    is(scalar keys %bodies, 1, "$label app: all bodies identical");
    my $render = $miss[0]{ms};
    my $last = (sort { $b <=> $a } map { $_->{ms} } @res)[0];
    cmp_ok($last, '<=', $render + 50,
           sprintf("$label app: last answer %.0f ms, the render %.0f ms",
                   $last, $render));
}

# Two hosts, 50 requests each, one memcached: one render in the farm.
my $path = '/app/farm?sleep=200';
my @res = cold_burst($path, 100, $ap1, $ap2);
is(scalar(grep { $_->{status} == 200 } @res), 100,
   'two hosts: 100 requests, all 200');
is($ap1->renders('/app/farm') + $ap2->renders('/app/farm'), 1,
   'two hosts: one render in total');
is(scalar(grep { $_->{cache} eq 'MISS' } @res), 1, 'two hosts: one MISS');

# An uncacheable response: the marker stops the waiting at once, so 100
# requests take about one render each in parallel, not 100 in a row.
my $t0 = time;
@res = cold_burst('/app/nostore?cc=no-store&sleep=200', 100, $ap1);
my $wall = (time - $t0) * 1000;
is(scalar(grep { $_->{status} == 200 } @res), 100,
   'uncacheable: 100 requests, all 200');
is(scalar(grep { $_->{cache} eq 'UNCACHEABLE' } @res), 100,
   'all UNCACHEABLE');
cmp_ok($wall, '<', 5000, sprintf('uncacheable: wall time %.0f ms, not 100 x'
                                 . ' 200 ms in a row', $wall));
my $t1 = time;
$ap1->get('/app/nostore?cc=no-store&sleep=200');
cmp_ok((time - $t1) * 1000, '<', 400,
       'a later request skips the lock (one render, no wait)');

# The lease is released for subrequests and internal redirects: an SSI
# page (outside the cache) with an uncacheable fragment, and a request
# that a per-directory RewriteRule sends to an uncacheable page, do not
# wait for the lock (4 s) on the next load.
for my $i (1 .. 3) {
    my $t0 = time;
    my $r = $ap1->get('/page.shtml');
    cmp_ok((time - $t0) * 1000, '<', 1500,
           "SSI page with an uncacheable fragment, load $i: no lock wait");
}
for my $i (1 .. 3) {
    my $t0 = time;
    $ap1->get('/go');
    cmp_ok((time - $t0) * 1000, '<', 1500,
           "internally redirected request $i: no lock wait");
}

$_->stop for $ap1, $ap2;
done_testing;
