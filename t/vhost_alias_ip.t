# mod_vhost_alias's VirtualDocumentRootIP (and VirtualScriptAliasIP) maps a
# request to a document root by the local address the client connected to:
# one server on an internal and a public address serves each its own
# files.  The key holds the local address where such a directive applies
# (normal and quick mode); the Host-based VirtualDocumentRoot needs none
# (the Host is keyed).  Found by an outside attack (round 62): the public
# address got the internal one's page.
use strict;
use warnings;
use Test::More;
use SCTest;

my $mc = SCTest::Memcached->start;
for my $mode ('off', 'normal', 'quick') {
    my $conf = <<'CONF';
Listen 127.0.0.2:@PORT@
VirtualDocumentRootIP @DIR@/vroot/%0
<Location /site>
    SharedCache SC
    SharedCacheTTL 60
    QUICK
</Location>
CONF
    $conf =~ s/SC/$mode eq 'off' ? 'Off' : 'On'/e;
    $conf =~ s/QUICK/$mode eq 'quick' ? 'SharedCacheQuickHandler On' : ''/e;
    my $ap = SCTest::Apache->start(memcached => [$mc], modules => ['vhost_alias'],
                                   conf => $conf);
    for my $ip ('127.0.0.1', '127.0.0.2') {
        system('mkdir', '-p', $ap->dir . "/vroot/$ip/site");
        open my $f, '>', $ap->dir . "/vroot/$ip/site/page.html" or die $!;
        print $f $ip eq '127.0.0.1' ? "INTERNAL admin page\n" : "public page\n";
        close $f;
    }
    my $host = "127.0.0.1:$ap->{port}";
    $ap->raw(GET => '/site/page.html', Host => $host) for 1 .. 2;
    my $pub = $ap->raw(GET => '/site/page.html', Host => $host,
                       _to_addr => '127.0.0.2', _from => '127.0.0.9');
    like($pub->{body}, qr/public page/,
         "$mode: a client of the public address gets the public page");
    if ($mode ne 'off') {
        $ap->raw(GET => '/site/page.html', Host => $host, _to_addr => '127.0.0.2');
        cache_is($ap->raw(GET => '/site/page.html', Host => $host, _to_addr => '127.0.0.2'),
                 'HIT', "$mode: ... stored for that address");
        like($ap->raw(GET => '/site/page.html', Host => $host)->{body},
             qr/INTERNAL/, "$mode: the internal address keeps its own");
    }
    $ap->stop;
}
done_testing;
