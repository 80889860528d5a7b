# A per-directory RewriteRule (front-controller style: an internal
# redirect) whose target depends on the client's address.  The key is the
# client's request-target only, and the first request of the chain looks
# up and serves hits before the redirect happens: the redirected request's
# access control (Require ip on the target) never runs for the hit.
use strict;
use warnings;
use Test::More;
use SCTest;
use IO::Socket::INET;

my $mc = SCTest::Memcached->start;
my $ap = SCTest::Apache->start(memcached => [$mc], modules => ['rewrite'],
    files => { 'dash' => "public dashboard\n" }, conf => <<'CONF');
<Location />
    SharedCache On
    SharedCacheTTL 60
</Location>
<Directory @DIR@/htdocs>
    RewriteEngine On
    RewriteCond %{REMOTE_ADDR} =127.0.0.5
    RewriteRule ^dash$ /app/internal/dash [L]
    # unconditional: every /admin/* goes to the intranet-only backend
    RewriteRule ^admin/(.*)$ /app/internal/$1 [L]
</Directory>
<Location /app/internal>
    Require ip 127.0.0.5
</Location>
CONF

# From a client address of its own (rules on the address).
sub from {
    my ($src, $target, %h) = @_;
    return $ap->raw(GET => $target, _from => $src, %h);
}

is(from('127.0.0.1', '/app/internal/dash')->{status}, 403,
   'control: the intranet page is refused to 127.0.0.1');
my $staff = from('127.0.0.5', '/dash');
like($staff->{body}, qr{path=/internal/dash}, '127.0.0.5 is sent to the intranet page');
my $pub = from('127.0.0.1', '/dash');
diag("public: $pub->{status} $pub->{cache} $pub->{body}");
like($pub->{body}, qr{public dashboard},
     'LEAK if failing: 127.0.0.1 gets the intranet page (access control skipped)');

# Unconditional rewrite, access control only on the target.
my $deny = from('127.0.0.1', '/admin/report');
is($deny->{status}, 403, 'control: /admin/report is refused to 127.0.0.1 (cold cache)');
$staff = from('127.0.0.5', '/admin/report2');
like($staff->{body}, qr{path=/internal/report2}, 'staff renders /admin/report2');
$pub = from('127.0.0.1', '/admin/report2');
diag("public: $pub->{status} $pub->{cache} $pub->{body}");
is($pub->{status}, 403,
   'LEAK if failing: once staff cached it, 127.0.0.1 gets it without the Require ip');

$ap->stop(allow => [qr/AH01630/]);
done_testing;
