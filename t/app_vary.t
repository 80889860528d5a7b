# X-SharedCache-Vary: cookie=NAME (beyond RFC 9111, in the spirit of the
# Key header draft): the application narrows its Vary: Cookie to the
# cookies it reads, without configuration.  Analytics cookies then do not
# split the cache; the named cookie still does.  Where the location keys
# on cookies of its own (SharedCacheVaryByCookie), the directive wins.
# The header is for the cache only: never stored, never sent on.
use strict;
use warnings;
use Test::More;
use URI::Escape qw(uri_escape);
use SCTest;

my $mc = SCTest::Memcached->start;
my $ap = SCTest::Apache->start(memcached => [$mc], conf => <<'CONF');
<Location /app>
    SharedCache On
    SharedCacheTTL 60
</Location>
<Location /app/admin-keyed>
    SharedCacheVaryByCookie currency
</Location>
CONF

my $narrow = '&vary=Cookie&hdr=' . uri_escape('X-SharedCache-Vary:cookie=sessionid');
sub get { my ($p, $c) = @_; $ap->get($p, $c ? (Cookie => $c) : ()) }

my $p = "/app/narrow?x=1$narrow";
my $a = get($p, 'sessionid=s1; _ga=GA1.1');
cache_is($a, 'MISS', 'Vary: Cookie narrowed to sessionid: a MISS');
ok(!exists $a->{headers}{'x-sharedcache-vary'}, '  the header is not sent on');
my $b = get($p, '_ga=GA1.2; sessionid=s1');
cache_is($b, 'HIT', '  another _ga, the same sessionid: a HIT');
is($b->{body}, $a->{body}, '  of the same page');
ok(!exists $b->{headers}{'x-sharedcache-vary'}, '  the header is not stored');
cache_is(get($p, 'sessionid=s2; _ga=GA1.1'), 'MISS',
         '  another sessionid: a MISS');
cache_is(get($p), 'MISS', '  no cookie: a MISS');
cache_is(get($p, 'SessionId=s1'), 'HIT',
         '  the cookie name in another case (read without case): a HIT');
# A Cookie header that parsers may read differently keys as a whole.
cache_is(get($p, 'x=1 sessionid=s1; sessionid=s1'), 'MISS',
         '  a Cookie header parsers read differently: keyed whole, a MISS');

# Without the header Vary: Cookie keys the whole Cookie header.
my $w = '/app/whole?x=1&vary=Cookie';
get($w, 'sessionid=s1; _ga=GA1.1');
cache_is(get($w, 'sessionid=s1; _ga=GA1.2'), 'MISS',
         'plain Vary: Cookie: another _ga is a MISS');

# A header that is not made of cookie=NAME items is ignored: whole Cookie.
my $bad = '/app/bad?x=1&vary=Cookie&hdr='
        . uri_escape('X-SharedCache-Vary:cookie=sessionid, user-agent');
get($bad, 'sessionid=s1; _ga=GA1.1');
cache_is(get($bad, 'sessionid=s1; _ga=GA1.2'), 'MISS',
         'an unreadable X-SharedCache-Vary: Vary: Cookie stays whole');

# The administrator's SharedCacheVaryByCookie wins.
my $k = "/app/admin-keyed/page?x=1$narrow";
get($k, 'currency=EUR; sessionid=s1');
cache_is(get($k, 'currency=EUR; sessionid=s2'), 'HIT',
         'SharedCacheVaryByCookie currency wins over the header');
cache_is(get($k, 'currency=USD; sessionid=s1'), 'MISS',
         '  another currency: a MISS');

$ap->stop;
done_testing;
