# Headers that common stacks read as the scheme / mount point and that the
# built-in reflected list does not hold: X-Scheme (Tornado xheaders=True,
# nginx/uwsgi recipes), X-Script-Name (the Flask "ReverseProxied" recipe).
# The test app only echoes them (reflect=NAME) as such stacks would into
# every absolute URL they build.  And the client-address and scheme
# headers other frameworks read (Symfony's and Laravel's trusted-proxy
# lists, PHP's HTTP_CLIENT_IP and HTTP_X_FORWARDED recipes, Cloudflare's
# CF-Visitor), found missing by an outside attack (round 66 F3).
use strict;
use warnings;
use Test::More;
use SCTest;

my $mc = SCTest::Memcached->start;
my $ap = SCTest::Apache->start(memcached => [$mc]);
for my $h ('X-Scheme', 'X-Script-Name', 'Client-IP', 'X-Forwarded', 'Forwarded-For',
           'CF-Visitor', 'X-Proxied-Https') {
    my $e = $ap->raw(GET => "/app/g?reflect=$h", $h => '//evil.example');
    my $v = $ap->raw(GET => "/app/g?reflect=$h");
    diag("$h: attacker $e->{cache}, victim $v->{cache}");
    unlike($v->{body}, qr/evil/, "POISON if failing: $h is neither bypassed nor keyed");
}
$ap->stop;
done_testing;
