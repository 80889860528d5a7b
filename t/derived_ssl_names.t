# Variables named like mod_ssl's (HTTPS, SSL_*) are connection facts, not
# keyed, only where mod_ssl itself reports them: on a TLS connection, with
# the value it reports, not empty (it reports "" for any name it does not
# know, and on a plain connection for all).  Set empty by the
# configuration (a RewriteRule [E=SSL_STAFF], a SetEnvIf SSL_FLAG=) for
# some clients on a plain connection of a server that loads mod_ssl, they
# are keyed like any other variable: a client they were not set for never
# gets the page of one they were.  Control: what each client's own render
# shows.
use strict;
use warnings;
use Test::More;
use SCTest;

my $mc = SCTest::Memcached->start;
my $ap = SCTest::Apache->start(memcached => [$mc],
                               modules => [qw(rewrite ssl socache_shmcb)],
                               conf => <<'CONF');
<Location /app>
    SharedCache On
    SharedCacheTTL 60
</Location>
RewriteEngine On
RewriteCond %{REMOTE_ADDR} =127.0.0.5
RewriteRule ^/app/ - [E=SSL_STAFF]
SetEnvIfExpr "-R '127.0.0.5' && %{REQUEST_URI} =~ m#^/app/SSL_FLAG#" SSL_FLAG=
CONF
sub var { my ($r, $n) = @_; $r->{body} =~ /^\Q$n\E=(.*)$/m ? $1 : '(none)' }
for my $name ('SSL_STAFF', 'SSL_FLAG') {
    my $u = "/app/$name?env=$name&cc=max-age%3D60";
    my $staff = $ap->raw(GET => $u, _from => '127.0.0.5');
    my $other = $ap->raw(GET => $u, _from => "127.0.0.6");
    my $own = $ap->raw(GET => "$u&control=1", _from => '127.0.0.6');
    isnt(var($staff, $name), var($own, $name), "$name: set for 127.0.0.5 only (control)");
    is(var($other, $name), var($own, $name),
       "LEAK if failing: $name: another client gets its own page ($other->{cache})");
}
$ap->stop;
done_testing;
