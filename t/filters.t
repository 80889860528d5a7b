# Other output filters: headers set by mod_headers count for the decision,
# and with mod_deflate the stored body is the application's, compressed
# again for each client that asks.  SHAREDCACHE_SAVE added by hand
# (SetOutputFilter) is harmless.
use strict;
use warnings;
use IO::Uncompress::Gunzip qw(gunzip);
use Test::More;
use SCTest;

my $mc = SCTest::Memcached->start;
my $ap = SCTest::Apache->start(memcached => [$mc], modules => ['deflate'],
                               conf => <<'CONF');
<Location /app>
    SharedCache On
    SharedCacheTTL 60
</Location>
<Location /app/private>
    Header set Cache-Control private
</Location>
<Location /app/maxage>
    Header set Cache-Control "max-age=2"
</Location>
<Location /app/cookie>
    Header add Set-Cookie "tracking=1"
</Location>
<Location /app/gz>
    SetOutputFilter DEFLATE
</Location>
<Location /filtered>
    SetOutputFilter SHAREDCACHE_SAVE
</Location>
CONF

# mod_headers runs after the capture filter: its headers still count.
$ap->get('/app/private/p');
my $p = $ap->get('/app/private/p');
cache_is($p, 'UNCACHEABLE', 'Header set Cache-Control private: not stored');
is($p->{headers}{'cache-control'}, 'private', 'and the client sees private');
$ap->get('/app/cookie/p');
cache_is($ap->get('/app/cookie/p'), 'UNCACHEABLE',
         'a Set-Cookie added by mod_headers: not stored');
$ap->get('/app/maxage/p');
cache_is($ap->get('/app/maxage/p'), 'HIT',
         'a max-age set by mod_headers is a freshness like any other');
sleep 3;
cache_is($ap->get('/app/maxage/p'), 'MISS',
         'and it expires after that max-age, not SharedCacheTTL');

# mod_deflate: the entry is stored uncompressed, served to both kinds of
# client correctly.
my $path = '/app/gz/page?size=20000';
my $plain1 = $ap->get($path);
my $gz = $ap->get($path, 'Accept-Encoding' => 'gzip');
my $plain2 = $ap->get($path);
cache_is($gz, 'HIT', 'a gzip client after a plain one: a HIT');
is($gz->{headers}{'content-encoding'}, 'gzip', 'compressed for it');
my $unzipped;
gunzip(\$gz->{body} => \$unzipped);
is($unzipped, $plain1->{body}, 'and it decompresses to the page');
cache_is($plain2, 'HIT', 'a plain client after it: a HIT');
ok(!$plain2->{headers}{'content-encoding'}, 'not compressed for it');
is($plain2->{body}, $plain1->{body}, 'byte-identical page');
is($ap->renders('/app/gz/page'), 1, 'one render for both encodings');

# SHAREDCACHE_SAVE added by hand is harmless.
is($ap->get('/filtered')->{status}, 404, 'SetOutputFilter SHAREDCACHE_SAVE:'
                                         . ' no crash');

$ap->stop;
done_testing;
