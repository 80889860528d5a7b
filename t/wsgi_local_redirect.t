# mod_wsgi daemon mode performs an internal redirect when the application
# answers 200 with "Location: /local/path" (like CGI local redirects: the
# X-Sendfile pattern for permission-checked downloads).  The application
# says "Cache-Control: private"; the redirected request serves a static
# file with no cache headers, and its response is stored under the key of
# the application's URL: the next client gets the file from the cache
# without the application ever running (no permission check).
use strict;
use warnings;
use Test::More;
use SCTest;

my $mc = SCTest::Memcached->start;
my $ap = SCTest::Apache->start(memcached => [$mc], conf => <<'CONF');
<Location />
    SharedCache On
    SharedCacheTTL 60
</Location>
<Directory @DIR@/htdocs/private>
    # only reachable through an internal redirect
    Require env REDIRECT_STATUS
</Directory>
CONF
mkdir $ap->dir . '/htdocs/private';
open my $f, '>', $ap->dir . '/htdocs/private/salary.txt' or die;
print $f "alice earns 1,000,000\n"; close $f;
chmod 0755, $ap->dir . '/htdocs/private';
chmod 0644, $ap->dir . '/htdocs/private/salary.txt';

is($ap->raw(GET => '/private/salary.txt')->{status}, 403, 'control: no direct access');
my $p = '/app/download?loc=/private/salary.txt&cc=private';
my $alice = $ap->raw(GET => $p, Cookie => 'sessionid=alice');
diag("alice: $alice->{status} $alice->{cache} cc=" . ($alice->{headers}{'cache-control'} // '-') . " $alice->{body}");
my $renders = $ap->renders('/download');
my $mallory = $ap->raw(GET => $p, Cookie => 'sessionid=mallory');
diag("mallory: $mallory->{status} $mallory->{cache} $mallory->{body}");
is($ap->renders('/download'), $renders + 1, 'LEAK if failing: the application (its permission check) did not run for mallory');
isnt($mallory->{cache}, 'HIT', 'LEAK if failing: a response the application marked private was served from the cache');
$ap->stop(allow => [qr/AH01630/]);
done_testing;
