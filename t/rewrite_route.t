# Server-context RewriteRule [PT] whose outcome depends on something that
# is not in the key.  Since af969cb the key holds the client's raw
# request-target (r->unparsed_uri), no longer r->uri/r->args after the
# rewrite: two requests for the same target that mod_rewrite sends to two
# different places now share one entry.
#   (1) by client address: an intranet-only page (Require ip) rendered for
#       127.0.0.5 is served to 127.0.0.1;
#   (2) by a request header used in the substitution: mod_rewrite adds no
#       Vary for it, the header's value reaches the page of everyone.
use strict;
use warnings;
use Test::More;
use SCTest;
use IO::Socket::INET;

my $mc = SCTest::Memcached->start;
my $ap = SCTest::Apache->start(memcached => [$mc], modules => ['rewrite'],
                               conf => <<'CONF');
<Location /app>
    SharedCache On
    SharedCacheTTL 60
</Location>
RewriteEngine On
RewriteCond %{REMOTE_ADDR} =127.0.0.5
RewriteRule ^/app/dash$ /app/internal/dash [PT]
<Location /app/internal>
    Require ip 127.0.0.5
</Location>
RewriteRule ^/app/lang$ /app/lang/%{HTTP:X-Lang} [PT]
# the same, changing only the query
RewriteCond %{REMOTE_ADDR} =127.0.0.5
RewriteRule ^/app/qdash$ /app/qdash?view=staff&reflect=X-Staff-Note [PT]
RewriteRule ^/app/qlang$ /app/qlang?size=%{HTTP:X-Size} [PT]
CONF

# One request on its own connection from a chosen loopback source address.
# From a client address of its own (rules on the address).
sub from {
    my ($src, $target, %h) = @_;
    return $ap->raw(GET => $target, _from => $src, %h);
}

# (1) controls: the internal page is refused to the public
my $ctl = from('127.0.0.1', '/app/internal/dash');
is($ctl->{status}, 403, 'control: /app/internal/* is for 127.0.0.5 only');
my $staff = from('127.0.0.5', '/app/dash');
like($staff->{body}, qr{path=/internal/dash}, '127.0.0.5 gets the intranet page');
my $pub = from('127.0.0.1', '/app/dash');
diag("public: $pub->{cache} $pub->{body}");
unlike($pub->{body}, qr{path=/internal/dash},
       'LEAK if failing: the public client gets the intranet-only page');

# (2) the header in the substitution
my $evil = from('127.0.0.1', '/app/lang', 'X-Lang' => '<svg onload=alert(1)>');
diag("evil: $evil->{cache} $evil->{body}");
my $victim = from('127.0.0.1', '/app/lang', 'X-Lang' => 'en');
diag("victim: $victim->{cache} $victim->{body}");
unlike($victim->{body}, qr{svg}, 'POISON if failing: the attacker\'s header reaches a victim');
my $plain = from('127.0.0.1', '/app/lang');
unlike($plain->{body}, qr{svg}, 'POISON if failing: ... and a plain visitor');

# (3) only the query rewritten
$staff = from('127.0.0.5', '/app/qdash', 'X-Staff-Note' => 'payroll-2026');
like($staff->{body}, qr{reflected=payroll}, '127.0.0.5 gets the staff view');
$pub = from('127.0.0.1', '/app/qdash');
diag("public: $pub->{cache} $pub->{body}");
unlike($pub->{body}, qr{payroll}, 'LEAK if failing: public gets the staff view (query rewrite by IP)');
$evil = from('127.0.0.1', '/app/qlang', 'X-Size' => '7');
diag("evil: $evil->{cache} [$evil->{body}]");
$victim = from('127.0.0.1', '/app/qlang', 'X-Size' => '50');
diag("victim: $victim->{cache} [$victim->{body}]");
is(length $victim->{body}, 50, 'POISON if failing: a request header in the rewritten query is not keyed');

$ap->stop(allow => [qr/AH01630/]);
done_testing;
