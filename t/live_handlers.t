# httpd's pages of the server's live state (mod_status's server-status,
# mod_info's server-info, mod_proxy_balancer's balancer-manager, mod_md's
# md-status) are never
# stored, like the module's own status page, even under a location with
# SharedCache On where responses without a length are stored
# (SharedCacheRequireLength Off): an administrator reads them for what is
# happening now, and server-status lists other clients' requests (outside
# attack round 71 L1); also where mod_status is picked by its content
# type (application/x-httpd-status: round 72 F1), which httpd makes the
# handler's name only while it runs.
use strict;
use warnings;
use Test::More;
use SCTest;

my $mc = SCTest::Memcached->start;
my $ap = SCTest::Apache->start(
    memcached => [$mc],
    modules   => ['status', 'info', 'proxy', 'proxy_balancer', 'proxy_http',
                  'slotmem_shm', 'lbmethod_byrequests', 'md'],
    files     => { 's.st' => '', 'f.page' => '' },
    conf      => <<'CONF');
MDStoreDir @DIR@/md
AddType application/x-httpd-status .st
<Files f.page>
    ForceType application/x-httpd-status
</Files>
<Location /status-by-type>
    SetHandler application/x-httpd-status
</Location>
<Location />
    SharedCache On
    SharedCacheTTL 60
    SharedCacheRequireLength Off
</Location>
<Location /server-status>
    SetHandler server-status
</Location>
<Location /server-info>
    SetHandler server-info
</Location>
<Location /balancer-manager>
    SetHandler balancer-manager
</Location>
<Location /md-status>
    SetHandler md-status
</Location>
CONF

sub accesses { ($_[0]{body} =~ /^Total Accesses: (\d+)/m)[0] // -1 }

for my $u ('/server-status', '/s.st', '/f.page', '/status-by-type') {
    my $first = $ap->raw(GET => "$u?auto");
    is($first->{status}, 200, "$u answers");
    my $second = $ap->raw(GET => "$u?auto", _from => '127.0.0.5');
    isnt($second->{cache}, 'HIT', "$u is not a hit");
    cmp_ok(accesses($second), '>', accesses($first),
           "$u counts the requests since (it is live)");
}
for my $u ('/server-info', '/balancer-manager', '/md-status') {
    my $a = $ap->raw(GET => $u);
    my $b = $ap->raw(GET => $u);
    is($a->{status}, 200, "$u answers");
    isnt($b->{cache}, 'HIT', "$u is not a hit");
}
$ap->stop(allow => [qr/AH10187/]); # balancer-manager: a GET without Referer
done_testing;
