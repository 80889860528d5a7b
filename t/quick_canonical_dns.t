# UseCanonicalName DNS: httpd reports as SERVER_NAME the name the
# connection's local address resolves to (what mod_rewrite, expressions
# and the application read).  One server on an internal and a public
# address refuses an admin path where that name is not the internal one.
# The key's ServerName is the name reported, so neither address gets the
# other's page (found by the outside attack: quick-served to the public
# address, and a page showing SERVER_NAME given to the other address).
use strict;
use warnings;
use Test::More;
use SCTest;

my $mc = SCTest::Memcached->start;
my $ap = SCTest::Apache->start(memcached => [$mc], modules => ['rewrite'],
                               conf => <<"CONF");
Listen 127.0.0.2:\@PORT\@
ServerName www.example.com
UseCanonicalName DNS
<Location /app>
    SharedCache On
    SharedCacheTTL 60
    SharedCacheQuickHandler On
</Location>
RewriteEngine On
RewriteCond %{SERVER_NAME} !=localhost
RewriteRule ^/app/admin - [F]
CONF

sub req {
    my ($addr, $path) = @_;
    return $ap->raw(GET => $path, Host => 'www.example.com', _to_addr => $addr);
}

my $name = req('127.0.0.1', '/app/probe?env=SERVER_NAME')->{body};
SKIP: {
    skip "127.0.0.1 does not resolve to localhost here ($name)", 6
        unless $name =~ /SERVER_NAME=.?localhost/;
    my $p = '/app/admin/report?env=SERVER_NAME';
    is(req('127.0.0.2', $p)->{status}, 403, 'the public address is refused');
    is(req('127.0.0.1', $p)->{status}, 200, 'the internal address is let through');
    is(req('127.0.0.1', $p)->{cache}, 'HIT', '... from the cache');
    my $o = req('127.0.0.2', $p);
    is($o->{status}, 403, 'the public address is still refused after the insider\'s page was stored');
    isnt($o->{cache}, 'HIT', '... never given the insider\'s entry');
    # a page each address may have: each gets the name it is told
    my $q = '/app/pub/page?env=SERVER_NAME';
    req('127.0.0.1', $q);
    my $b = req('127.0.0.2', $q);
    like($b->{body}, qr/SERVER_NAME=.?www\.example\.com/, 'the public address gets its own SERVER_NAME');
}
$ap->stop;

# UseCanonicalName DNS in a <Location>, not the virtual host: the quick
# handler keys as the virtual host does (ServerName), the normal one with
# the name the location reports.  Where an address resolves to no name it
# falls back to the ServerName, and its entry had every address's quick
# key (found by the outside attack): a location that reports the server
# otherwise than its virtual host is never quick-servable.
$ap = SCTest::Apache->start(memcached => [$mc], modules => ['rewrite'],
                            conf => <<"CONF");
Listen 127.0.0.2:\@PORT\@
ServerName www.example.com
<Location /app>
    SharedCache On
    SharedCacheTTL 60
    SharedCacheQuickHandler On
    UseCanonicalName DNS
</Location>
<Location /app/admin>
    RewriteEngine On
    RewriteCond %{SERVER_NAME} !=www.example.com
    RewriteRule ^ - [F]
</Location>
CONF
SKIP: {
    my $n2 = req('127.0.0.2', '/app/probe2?env=SERVER_NAME')->{body};
    skip "127.0.0.2 resolves to a name here ($n2)", 5
        unless $name =~ /SERVER_NAME=.?localhost/ && $n2 =~ /SERVER_NAME=.?www\.example\.com/;
    my $p = '/app/admin/report?env=SERVER_NAME';
    is(req('127.0.0.1', $p)->{status}, 403, 'per location: the address named localhost is refused');
    is(req('127.0.0.2', $p)->{status}, 200, '... the one without a name is let through');
    is(req('127.0.0.2', $p)->{cache}, 'HIT', '... from the cache');
    my $o = req('127.0.0.1', $p);
    is($o->{status}, 403, '... and the first is still refused after that page was stored');
    isnt($o->{cache}, 'HIT', '... never given its entry');
}
$ap->stop;
done_testing;
