# SharedCacheQuickHandler: hits of public locations are served before
# access control; nothing else ever is.  Quick entries are keyed on the
# decoded path, never on the raw one.
use strict;
use warnings;
use Test::More;
use SCTest;

my $mc = SCTest::Memcached->start;
my $ap = SCTest::Apache->start(memcached => [$mc], conf => <<'CONF');
LogLevel warn sharedcache:trace1
SetEnvIf X-Allow ^1$ allowed
SharedCacheBypassCookie sessionid
<Location /app>
    SharedCache On
    SharedCacheTTL 60
</Location>
<Location /app/pub>
    SharedCacheQuickHandler On
</Location>
<Location /app/pub/lang>
    SharedCacheVaryByCookie lang
</Location>
<Location /app/acl>
    Require env allowed
</Location>
CONF

sub quick_hits {
    my ($path) = @_;
    return scalar grep { /hit for \Q$path\E served by the quick handler/ }
        split /\n/, $ap->error_log;
}

# A public location: MISS, then HITs from the quick handler.
my $m = $ap->get('/app/pub/page');
my $h = $ap->get('/app/pub/page');
cache_is($m, 'MISS', 'quick location: first a MISS');
cache_is($h, 'HIT', 'then a HIT');
is($h->{body}, $m->{body}, 'byte-identical');
$ap->get('/app/pub/page') for 1 .. 3;
is(quick_hits('/app/pub/page'), 4, 'every HIT came from the quick handler');
is($ap->renders('/app/pub/page'), 1, 'one render');

# An entry stored behind access control is never served by the quick
# handler: the request without permission is refused by httpd.
my $allowed = $ap->get('/app/acl/secret', 'X-Allow' => '1');
is($allowed->{status}, 200, 'a permitted request renders the page');
cache_is($ap->get('/app/acl/secret', 'X-Allow' => '1'), 'HIT',
         'and permitted requests get HITs (normal handler)');
my $denied = $ap->get('/app/acl/secret');
is($denied->{status}, 403, 'a request without permission is refused');
unlike($denied->{body}, qr/token=/, 'and sees nothing of the page');
is(quick_hits('/app/acl/secret'), 0, 'the quick handler served none of it');

# Credentials and bypass cookies are never served in the quick phase.
my $auth = $ap->get('/app/pub/page', Authorization => 'Basic dTpw');
cache_is($auth, 'BYPASS', 'Authorization: not served by the quick handler');
isnt($auth->{body}, $m->{body}, 'but rendered for that client');
my $logged = $ap->get('/app/pub/page', Cookie => 'sessionid=abc');
cache_is($logged, 'BYPASS', 'a bypass cookie (set for the virtual host)'
                           . ' is honoured in the quick phase');
is(quick_hits('/app/pub/page'), 4, 'neither came from the quick handler');

# A deeper location that keys on a cookie of its own: its entries are
# not quick-servable, and each language still gets its own page.
my $de = $ap->get('/app/pub/lang/x', Cookie => 'lang=de');
my $fr = $ap->get('/app/pub/lang/x', Cookie => 'lang=fr');
is($ap->get('/app/pub/lang/x', Cookie => 'lang=de')->{body}, $de->{body},
   'deeper location with its own variance: de HIT shows the de page');
is($ap->get('/app/pub/lang/x', Cookie => 'lang=fr')->{body}, $fr->{body},
   'fr HIT shows the fr page');
isnt($de->{body}, $fr->{body}, 'de and fr are different entries');
is(quick_hits('/app/pub/lang/x'), 0,
   'served by the normal handler, which knows the location\'s variance');

# Quick mode never keys on a raw, undecoded path.
{
    $ap->raw(GET => '/app/pub/caf%25C3%25A9?status=404');
    my $victim = $ap->raw(GET => '/app/pub/caf%C3%A9?status=404');
    isnt($victim->{cache}, 'HIT', 'a double-encoded path does not fill the'
                                  . ' quick entry of the decoded one');
    unlike($victim->{body}, qr{caf%C3%A9}, 'the victim gets its own page');
}

$ap->stop(allow => [qr/AH01630: client denied/]);
done_testing;
