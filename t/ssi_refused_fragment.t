# A fragment that fails before its handler runs (403 from access control,
# 404 for a missing file) never reaches SHAREDCACHE_DECIDE: the page is
# stored with mod_include's "[an error occurred ...]" in place of the
# fragment and served to the clients who may see the fragment (CPDoS).
use strict; use warnings;
use Test::More; use SCTest; use IO::Socket::INET;

my $mc = SCTest::Memcached->start;
my $ap = SCTest::Apache->start(memcached => [$mc], modules => ['include'],
    conf => <<'CONF');
<Directory @DIR@/htdocs>
    Options +Includes
    AddOutputFilter INCLUDES .shtml
</Directory>
<Location />
    SharedCache On
    SharedCacheTTL 60
</Location>
<Location /app/intranet>
    Require ip 127.0.0.5
</Location>
CONF
my %files = ('acl.shtml' => "page <!--#include virtual=\"/app/intranet/box\" --> end\n",
             'missing.shtml' => "page <!--#include virtual=\"/nope.html\" --> end\n");
for (keys %files) { open my $f, '>', $ap->dir . "/htdocs/$_" or die; print $f $files{$_}; close $f }
# From a client address of its own (rules on the address).
sub from {
    my ($src, $target, %h) = @_;
    return $ap->raw(GET => $target, _from => $src, %h);
}
my $e = from('127.0.0.1', '/acl.shtml');
like($e->{body}, qr/error occurred/, "outsider gets the error text ($e->{cache})");
my $s = from('127.0.0.5', '/acl.shtml');
like($s->{body}, qr/path=\/intranet\/box/, "staff still gets the fragment ($s->{cache})");
my $m1 = from('127.0.0.1', '/missing.shtml');
my $m2 = from('127.0.0.1', '/missing.shtml');
isnt($m2->{cache}, 'HIT', "a page whose fragment failed (404) is not stored ($m1->{cache} then $m2->{cache})");
$ap->stop(allow => [qr/AH01630/, qr/AH01797/, qr/forbidden/i, qr/AH01215|unable to include|AH01276|does not exist/]);
done_testing;
