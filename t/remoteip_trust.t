# mod_remoteip behind a load balancer (README, "reflected headers"): the
# address it takes from the header of a proxy on its list is the client's
# address for the application and the cache alike; a client that is not
# on the list cannot set it: mod_remoteip leaves its header, which then
# bypasses (a name on the reflected list), or reaches the application
# only as that header (another name: REMOTE_ADDR stays the connection's).
use strict;
use warnings;
use Test::More;
use SCTest;

my $mc = SCTest::Memcached->start;
my $vhost = sub {
    my ($name, $header) = @_;
    return <<"VH";
<VirtualHost 127.0.0.1:\@PORT\@>
    ServerName $name
    WSGIScriptAlias /app \@DIR\@/app/app.py process-group=scapp application-group=%{GLOBAL}
    RemoteIPHeader $header
    RemoteIPInternalProxy 127.0.0.5
    <Location /app>
        SharedCache On
        SharedCacheTTL 60
    </Location>
</VirtualHost>
VH
};
my $ap = SCTest::Apache->start(memcached => [$mc], modules => [qw(remoteip)],
                               conf => $vhost->('listed.test', 'X-Client-IP')
                                       . $vhost->('custom.test', 'X-Edge-Client'));
my $port = $ap->port;
sub addr { $_[0]{body} =~ /REMOTE_ADDR='([^']*)'/ ? $1 : '(none)' }
my $u = '/app/ip?env=REMOTE_ADDR&cc=max-age%3D60';

# an outsider's X-Client-IP: left in place, the request bypasses
my $forged = $ap->raw(GET => $u, Host => "listed.test:$port", _from => '127.0.0.6',
                      'X-Client-IP' => '6.6.6.6');
is(addr($forged), '127.0.0.6', 'an unlisted client does not set REMOTE_ADDR');
is($forged->{cache}, 'BYPASS', 'its X-Client-IP stays, and the request bypasses');
my $victim = $ap->raw(GET => $u, Host => "listed.test:$port", _from => '127.0.0.7');
isnt(addr($victim), '6.6.6.6', 'POISON if failing: the next client never sees the forged address');

# the balancer's header: consumed, the client's address as the balancer says
my $via = $ap->raw(GET => "$u&lb=1", Host => "listed.test:$port", _from => '127.0.0.5',
                   'X-Client-IP' => '198.51.100.7');
is(addr($via), '198.51.100.7', 'the listed balancer sets the client address');
isnt($via->{cache}, 'BYPASS', 'and the request may use the cache (the header is consumed)');

# a name off the reflected list, from an outsider: REMOTE_ADDR is its own
$forged = $ap->raw(GET => "$u&c=1", Host => "custom.test:$port", _from => '127.0.0.6',
                   'X-Edge-Client' => '6.6.6.6');
is(addr($forged), '127.0.0.6', 'another header name: an unlisted client does not set it');
$victim = $ap->raw(GET => "$u&c=1", Host => "custom.test:$port", _from => '127.0.0.7');
isnt(addr($victim), '6.6.6.6', 'POISON if failing: nor does anyone see it later');
$ap->stop;
done_testing;
