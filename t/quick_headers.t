# A quick hit carries the same headers as a normal hit, and the quick
# phase never keys on a header that httpd rewrites before the normal
# phase.  (1) mod_headers' Header set in a <Location>: every response has
# it, quick or not.  (2) RequestHeader sets a keyed header from the client
# address: a client that sends that header itself never gets the entry of
# the client it names.
use strict;
use warnings;
use Test::More;
use SCTest;
use IO::Socket::INET;

my $mc = SCTest::Memcached->start;
my $ap = SCTest::Apache->start(memcached => [$mc], conf => <<'CONF');
LogLevel warn sharedcache:trace1
SharedCacheVaryByHeader X-Tenant
<Location /app/quick>
    SharedCache On
    SharedCacheTTL 60
    SharedCacheQuickHandler On
</Location>
<Location /app/quick/hdr>
    Header set X-Frame-Options DENY
</Location>
<Location /app/quick/t>
    RequestHeader set X-Tenant "expr=%{REMOTE_ADDR}"
</Location>
CONF

# From a client address of its own (rules on the address).
sub from {
    my ($src, $target, %h) = @_;
    return $ap->raw(GET => $target, _from => $src, %h);
}
sub quick_hits { my @n = $ap->error_log =~ /served by the quick handler/g;
                 scalar @n }

# (1)
my @r = map { from('127.0.0.1', '/app/quick/hdr/page') } 1 .. 3;
cache_is($r[0], 'MISS', 'Header set: first a MISS');
cache_is($r[2], 'HIT', 'then HITs');
is(scalar(grep { ($_->{headers}{'x-frame-options'} // '') eq 'DENY' } @r), 3,
   'every response carries the Location\'s Header set');

# (2) The entry for 127.0.0.5, keyed on the X-Tenant that RequestHeader
# set from its address.
my $staff = from('127.0.0.5', '/app/quick/t?reflect=X-Tenant');
like($staff->{body}, qr/127\.0\.0\.5/, 'staff page reflects its tenant');
cache_is(from('127.0.0.5', '/app/quick/t?reflect=X-Tenant'), 'HIT',
         'stored for it');
my $before = quick_hits();
my $evil = from('127.0.0.1', '/app/quick/t?reflect=X-Tenant',
                'X-Tenant' => '127.0.0.5');
unlike($evil->{body}, qr/127\.0\.0\.5/,
       'a client naming another tenant never gets its page');
is(quick_hits(), $before, 'the quick handler served nothing');

# A public page with nothing changed by filters still gets quick HITs.
from('127.0.0.1', '/app/quick/plain');
$before = quick_hits();
cache_is(from('127.0.0.1', '/app/quick/plain'), 'HIT', 'plain: a HIT');
is(quick_hits(), $before + 1, 'from the quick handler');
$ap->stop(allow => [qr/SC0111/]);
# A Header with a condition is evaluated per response, so for a stored
# entry only for the client that stored it: next to quick mode, start-up
# and configtest say so (SC0115), naming both lines; a Header without one
# (above) is not named.
{
    my ($rc, $out) = SCTest::Apache->configtest(<<'CONF2');
<Location /app>
    SharedCache On
    SharedCacheQuickHandler On
</Location>
<Location /app/members>
    Header set Cache-Control no-store "expr=-n %{HTTP_COOKIE}"
    Header always set X-Beta yes env=beta
    Header set X-Frame-Options DENY
</Location>
CONF2
    is($rc, 0, 'a conditional Header next to quick mode: a warning, not a refusal');
    my @w = $out =~ /SC0115: SharedCacheQuickHandler On \((\S+:\d+)\) serves an entry's stored headers to every client: the condition of the Header at (\S+:\d+)/g;
    is(scalar @w, 4, 'configtest names both conditional Headers and the quick line')
        or diag($out);
    isnt($w[1], $w[3], '... each Header once');
}
done_testing;
