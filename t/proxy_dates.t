# Dates as the origin sent them: mod_proxy_http rewrites a backend's Date,
# Expires and Last-Modified into IMF-fixdate whenever APR's lenient parser
# reads them (ignoring the zone name, "UTC", "AEST", a missing comma), so an
# Expires that RFC 9110 5.6.7 makes invalid ("already expired", RFC 9111
# 5.3) reaches the cache looking valid.  The cache judges the line the
# backend sent (http-tests/cache-tests freshness-expires-invalid-*).
use strict;
use warnings;
use POSIX qw(strftime);
use Test::More;
use URI::Escape qw(uri_escape);
use SCTest;

my $mc = SCTest::Memcached->start;
my $ap = SCTest::Apache->start(memcached => [$mc],
                               modules => [qw(proxy proxy_http)],
                               conf => <<'CONF');
<Location /app/raw>
    SharedCache Off
</Location>
ProxyPass /px/ http://127.0.0.1:@PORT@/app/raw/
<Location /px>
    SharedCache On
    SharedCacheTTL 0
</Location>
<Location /px/edited>
    # mod_headers replaces the backend's Expires: the cache judges that one
    Header set Expires "expr=%{HTTP:X-Never}Thu, 01 Jan 2099 00:00:00 GMT"
</Location>
CONF

my $t = time + 3600;
my $fix = strftime('%a, %d %b %Y %H:%M:%S', gmtime $t);
my %forms = (
    'IMF-fixdate'     => "$fix GMT",
    'zone UTC'        => "$fix UTC",
    'zone AEST'       => "$fix AEST",
    'no comma'        => strftime('%a %d %b %Y %H:%M:%S GMT', gmtime $t),
    'one-digit hour'  => strftime('%a, %d %b %Y ', gmtime $t)
                         . (gmtime $t)[2] % 10 . strftime(':%M:%S GMT', gmtime $t),
    'two spaces'      => strftime('%a, %d %b  %Y %H:%M:%S GMT', gmtime $t),
);
my $n = 0;
for my $form (sort keys %forms) {
    my $page = '/px/d' . $n++ . '?hdr=' . uri_escape("Expires:$forms{$form}");
    $ap->get($page);
    my $second = $ap->get($page);
    if ($form eq 'IMF-fixdate') {
        cache_is($second, 'HIT', "Expires in IMF-fixdate: fresh, a HIT");
    }
    else {
        isnt($second->{cache}, 'HIT',
             "Expires with $form ($forms{$form}): expired, not a HIT");
    }
}

# What mod_headers set after the proxy is what the cache judges.
my $page = '/px/edited/x?hdr=' . uri_escape("Expires:$fix UTC");
$ap->get($page);
cache_is($ap->get($page), 'HIT',
         'an Expires that mod_headers set after the proxy: judged as set');

$ap->stop;
done_testing;
