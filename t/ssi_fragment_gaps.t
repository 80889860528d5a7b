# SSI pages (mod_include) whose fragments come from places the page's
# decision does not see:
#  (1) a fragment from a location with "SharedCache Off" (the README's way
#      to keep a personal page out of the cache) that reflects the session
#      cookie, without Vary or Cache-Control: alice's fragment is stored
#      inside the page and served to everybody;
#  (2) a fragment behind "Require ip": rendered for the allowed client,
#      stored in the page, served to everybody;
#  (3) a fragment that says "Vary: Cookie" (Django reading the session)
#      inside a page whose location declares SharedCacheVaryByCookie for
#      another cookie: the fragment's Vary: Cookie is narrowed away.
#  (4) (low) a fragment that may not be reused at all (s-maxage=0) is
#      stored for the page's SharedCacheTTL: fragment freshness is ignored.
use strict;
use warnings;
use Test::More;
use SCTest;
use IO::Socket::INET;

my %files = (
    'off.shtml'  => "page <!--#include virtual=\"/app/account/box?reflect=Cookie\" --> end\n",
    'acl.shtml'  => "page <!--#include virtual=\"/app/intranet/box\" --> end\n",
    'fresh.shtml' => "page <!--#include virtual=\"/app/frag?cc=s-maxage%3D0\" --> end\n",
    'cur/vary.shtml' => "page <!--#include virtual=\"/app/frag?vary=Cookie&reflect=Cookie\" --> end\n",
);
my $mc = SCTest::Memcached->start;
my $ap = SCTest::Apache->start(memcached => [$mc], modules => ['include'],
    files => {}, conf => <<'CONF');
<Directory @DIR@/htdocs>
    Options +Includes
    AddOutputFilter INCLUDES .shtml
</Directory>
<Location />
    SharedCache On
    SharedCacheTTL 60
</Location>
<Location /app/account>
    SharedCache Off
</Location>
<Location /app/intranet>
    Require ip 127.0.0.5
</Location>
<Location /cur>
    SharedCacheVaryByCookie currency
</Location>
CONF
mkdir $ap->dir . '/htdocs/cur';
for my $f (keys %files) {
    open my $fh, '>', $ap->dir . "/htdocs/$f" or die; print $fh $files{$f}; close $fh;
}

# From a client address of its own (rules on the address).
sub from {
    my ($src, $target, %h) = @_;
    return $ap->raw(GET => $target, _from => $src, %h);
}

# (1)
my $alice = from('127.0.0.1', '/off.shtml', Cookie => 'sessionid=alice-secret');
like($alice->{body}, qr/reflected=sessionid=alice-secret/, 'alice sees her own box');
my $bob = from('127.0.0.1', '/off.shtml', Cookie => 'sessionid=bob');
diag("bob: $bob->{cache} $bob->{body}");
unlike($bob->{body}, qr/alice-secret/, 'LEAK if failing: bob gets alice\'s box (fragment from a SharedCache Off location)');

# (2)
my $staff = from('127.0.0.5', '/acl.shtml');
like($staff->{body}, qr{path=/intranet/box}, 'staff page holds the intranet box');
my $pub = from('127.0.0.1', '/acl.shtml');
diag("public: $pub->{cache} $pub->{body}");
unlike($pub->{body}, qr{path=/intranet/box},
       'LEAK if failing: the public gets the Require-ip fragment');

# (3)
$alice = from('127.0.0.1', '/cur/vary.shtml', Cookie => 'currency=eur; sessionid=alice-secret');
like($alice->{body}, qr/alice-secret/, 'alice sees her own fragment');
$bob = from('127.0.0.1', '/cur/vary.shtml', Cookie => 'currency=eur; sessionid=bob');
diag("bob: $bob->{cache} $bob->{body}");
unlike($bob->{body}, qr/alice-secret/, 'LEAK if failing: the fragment\'s Vary: Cookie was narrowed to the page\'s currency cookie');

# (4)
my $f1 = from('127.0.0.1', '/fresh.shtml');
my $f2 = from('127.0.0.1', '/fresh.shtml');
diag("fresh: $f1->{cache} -> $f2->{cache}");
isnt($f2->{cache}, 'HIT', 'STALE PART if failing: a fragment with s-maxage=0 is served from the page entry');

$ap->stop(allow => [qr/AH01630/, qr/unable to include "\/app\/intranet\/box"/]);
done_testing;
