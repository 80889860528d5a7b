# Stale on error where an ErrorDocument answers the failure, the usual
# "ErrorDocument 503 /maintenance.html" of a reverse proxy: with
# ProxyErrorOverride On (the backend's 503 replaced), or a backend that is
# down (mod_proxy's own 503), the ErrorDocument a local path (an internal
# redirect) or a URL (a 302).  A stale copy within SharedCacheStaleOnError
# replaces the error there too; before, the error document went out and
# the stale copy was never used (found by two outside attacks).  Once the
# backend answers again, the page is rendered again.
use strict;
use warnings;
use Test::More;
use SCTest;

my $mc = SCTest::Memcached->start;
my $down = SCTest::free_port(); # nothing listens there
my $ap = SCTest::Apache->start(memcached => [$mc], modules => [qw(proxy proxy_http)],
    files => { 'maint.html' => "maintenance page\n" }, conf => <<"CONF");
<Location /app/raw>
    SharedCache Off
</Location>
ProxyPass /over/ http://127.0.0.1:\@PORT\@/app/raw/
ProxyPass /overurl/ http://127.0.0.1:\@PORT\@/app/raw/
ProxyPass /gone/ http://127.0.0.1:$down/
Alias /origin/ \@DIR\@/origin/
<Directory \@DIR\@/origin>
    Require all granted
    Header set Cache-Control "max-age=1"
</Directory>
ProxyPass /shared/ http://127.0.0.1:\@PORT\@/origin/
<LocationMatch "^/(over|overurl|gone|shared)/">
    SharedCache On
    SharedCacheTTL 1
    SharedCacheStaleOnError 300
</LocationMatch>
<Location /over>
    ProxyErrorOverride On
    ErrorDocument 503 /maint.html
</Location>
<Location /overurl>
    ProxyErrorOverride On
    ErrorDocument 503 http://127.0.0.1:\@PORT\@/maint.html
</Location>
<Location /gone>
    ErrorDocument 503 /maint.html
</Location>
<Location /shared>
    ProxyErrorOverride On
    ErrorDocument 404 http://127.0.0.1:\@PORT\@/maint.html
    ErrorDocument 503 http://127.0.0.1:\@PORT\@/maint.html
</Location>
CONF
my $fail = $ap->dir . '/app/fail';
my @pages = ('/over/p?failable=1', '/overurl/p?failable=1');
my %first;
for my $u (@pages) {
    my $r = $ap->raw(GET => $u);
    is($r->{status}, 200, "$u: rendered ($r->{cache})");
    $first{$u} = $r->{body};
}
sleep 2; # expired, within SharedCacheStaleOnError
open my $fh, '>', $fail or die "$fail: $!";
close $fh;
for my $u (@pages) {
    my $r = $ap->raw(GET => $u);
    is($r->{status}, 200, "$u: the backend fails: the stale copy ($r->{status} $r->{cache})");
    cache_is($r, 'STALE', "$u: marked STALE");
    is($r->{body}, $first{$u}, "$u: the stored body");
}
unlink $fail;
sleep 2;
for my $u (@pages) {
    my $r = $ap->raw(GET => $u);
    is($r->{status}, 200, "$u: the backend answers again: a page ($r->{cache})");
    isnt($r->{body}, $first{$u}, "$u: rendered again, not the stale copy");
}
# One ErrorDocument URL for a 404 and a 503: httpd's 302 no longer tells
# which it answers, and a 404 is an answer, not a failure (RFC 5861 4):
# the redirect goes out, never the stale copy of a page that is gone
# (found by the outside attack on the first version of this rule).
my $origin = $ap->dir . '/origin';
mkdir $origin;
open my $art, '>', "$origin/article.html" or die $!;
print $art "an article\n";
close $art;
my $was = $ap->raw(GET => '/shared/article.html');
is($was->{status}, 200, "a proxied article: rendered ($was->{cache})");
sleep 2;
unlink "$origin/article.html";
my $now = $ap->raw(GET => '/shared/article.html');
is($now->{status}, 302, 'deleted: the ErrorDocument redirect the 404 and 503 share');
unlike($now->{body}, qr/an article/, 'never the stale copy of the deleted page');
# a backend that is down: nothing was ever stored, the ErrorDocument goes out
my $g = $ap->raw(GET => '/gone/x');
is($g->{status}, 503, 'a backend never reached: its error');
like($g->{body}, qr/maintenance page/, 'with the ErrorDocument');
$ap->stop(allow => [qr/AH01114|AH00957|AH01102|AH00959|SC0309/]);
done_testing;
