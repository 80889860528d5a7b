# F1: a mod_proxy_http backend that renders per client address (the
# X-Forwarded-For mod_proxy adds) and says so with Vary: X-Forwarded-For.
# Control 1: the same information passed by RequestHeader X-Client-IP expr=%{REMOTE_ADDR} (ProxyAddHeaders Off) is keyed.
# Control 2: SharedCache Off.
use strict;
use warnings;
use Test::More;
use SCTest;

my $mc = SCTest::Memcached->start;
my $ap = SCTest::Apache->start(memcached => [$mc],
                               modules => [qw(proxy proxy_http)],
                               conf => <<'CONF');
<Location /app/raw>
    SharedCache Off
</Location>
ProxyPass /px/ http://127.0.0.1:@PORT@/app/raw/
ProxyPass /rh/ http://127.0.0.1:@PORT@/app/raw/
ProxyPass /off/ http://127.0.0.1:@PORT@/app/raw/
<Location /px>
    SharedCache On
    SharedCacheTTL 60
</Location>
<Location /rh>
    SharedCache On
    SharedCacheTTL 60
    ProxyAddHeaders Off
    RequestHeader set X-Client-IP "expr=%{REMOTE_ADDR}"
</Location>
<Location /off>
    SharedCache Off
</Location>
CONF
for my $base ('/px', '/rh', '/off') {
    my $h = $base eq '/rh' ? 'X-Client-IP' : 'X-Forwarded-For';
    my $page = "$base/a?vary=$h&reflect=$h";
    my $one = $ap->raw('GET', $page, _from => '127.0.0.1');
    my $one2 = $ap->raw('GET', $page, _from => '127.0.0.1');
    my $two = $ap->raw('GET', $page, _from => '127.0.0.5');
    my ($r1) = $one->{body} =~ /reflected=(\S*)/;
    my ($r2) = $two->{body} =~ /reflected=(\S*)/;
    diag(sprintf "%-5s 127.0.0.1: %s %s (again: %s) | 127.0.0.5: %s %s, page for %s",
         $base, $one->{status}, $one->{headers}{'x-sharedcache'}//'-', $one2->{headers}{'x-sharedcache'}//'-',
         $two->{status}, $two->{headers}{'x-sharedcache'}//'-', $r2);
    is($r2, '127.0.0.5', "$base: client 127.0.0.5 gets a page rendered for itself");
}
$ap->stop;
done_testing;
