# UseCanonicalPhysicalPort On: httpd reports the port the client
# connected to as SERVER_PORT (what mod_rewrite, expressions and the
# application read) where the Host header names none, even where the
# ServerName has a port of its own.  One server on a public and an
# internal port refuses an admin path on the public one; a proxy in front
# of the internal port keeps the public Host.  The key holds the port httpd
# reports: the insider's page is never the outsider's (found by the
# outside attack: quick-served to the public port).
use strict;
use warnings;
use Test::More;
use SCTest;

my $internal = SCTest::Process::free_port();
my $mc = SCTest::Memcached->start;
my $ap = SCTest::Apache->start(memcached => [$mc], modules => ['rewrite'],
                               conf => <<"CONF");
Listen 127.0.0.1:$internal
ServerName www.example.com:80
UseCanonicalName Off
UseCanonicalPhysicalPort On
<Location /app>
    SharedCache On
    SharedCacheTTL 60
    SharedCacheQuickHandler On
</Location>
RewriteEngine On
RewriteCond %{SERVER_PORT} !=$internal
RewriteRule ^/app/admin - [F]
CONF

sub req {
    my ($port, $path) = @_;
    return $ap->raw(GET => $path, Host => 'www.example.com', _to_port => $port);
}

my $p = '/app/admin/report?reflect=Host';
is(req($ap->port, $p)->{status}, 403, 'the public port is refused');
my $in1 = req($internal, $p);
is($in1->{status}, 200, 'the internal port is let through');
my $in2 = req($internal, $p);
is($in2->{status}, 200, '... again');
is($in2->{cache}, 'HIT', '... from the cache');
my $out = req($ap->port, $p);
is($out->{status}, 403, 'the public port is still refused after the insider\'s page was stored');
isnt($out->{cache}, 'HIT', '... never given the insider\'s entry');

# A page both ports may have: each port its own entry (the application
# may read SERVER_PORT), both cached.
my $q = '/app/public/page';
req($ap->port, $q);
is(req($ap->port, $q)->{cache}, 'HIT', 'a public page is cached on the public port');
my $qi = req($internal, $q);
is($qi->{cache}, 'MISS', '... its own entry on the internal port');
is(req($internal, $q)->{cache}, 'HIT', '... cached there too');

$ap->stop;
done_testing;
