# mod_wsgi's WSGITrustedProxyHeaders turns request headers into the WSGI
# environment Django and Flask build every link from: X-Forwarded-Script-Name
# and X-Script-Name into SCRIPT_NAME; X-Forwarded-HTTPS, X-HTTPS,
# X-Forwarded-Proto, X-Forwarded-SSL and X-Scheme into wsgi.url_scheme;
# X-Forwarded-Host and X-Host into HTTP_HOST; the port, server and client
# address headers into their variables (mod_wsgi 4.9 accepts fifteen: all
# but X-Forwarded-Scheme, which it did not apply here, are tried).  A
# request carrying one is not served from (nor stored for) the cache: a
# visitor who sends none never gets the sender's links.  Control: what the
# application renders for a request without the header.
use strict;
use warnings;
use Test::More;
use SCTest;

my $mc = SCTest::Memcached->start;
my $ap = SCTest::Apache->start(memcached => [$mc], conf => <<'CONF');
WSGITrustedProxyHeaders X-Forwarded-Script-Name X-Script-Name
WSGITrustedProxyHeaders X-Forwarded-HTTPS X-HTTPS X-Forwarded-Proto X-Forwarded-SSL X-Scheme
WSGITrustedProxyHeaders X-Forwarded-Host X-Host X-Forwarded-Port X-Forwarded-Server
WSGITrustedProxyHeaders X-Forwarded-For X-Client-IP X-Real-IP
<Location /app>
    SharedCache On
    SharedCacheTTL 60
</Location>
CONF
my @cases = (
    [ 'X-Forwarded-Script-Name', '/evil', 'SCRIPT_NAME' ],
    [ 'X-Script-Name', '/evil', 'SCRIPT_NAME' ],
    [ 'X-Forwarded-HTTPS', 'on', 'wsgi.url_scheme' ],
    [ 'X-HTTPS', '1', 'wsgi.url_scheme' ],
    [ 'X-Forwarded-Proto', 'https', 'wsgi.url_scheme' ],
    [ 'X-Forwarded-SSL', 'on', 'wsgi.url_scheme' ],
    [ 'X-Scheme', 'https', 'wsgi.url_scheme' ],
    [ 'X-Forwarded-Host', 'evil.example', 'HTTP_HOST' ],
    [ 'X-Host', 'evil.example', 'HTTP_HOST' ],
    [ 'X-Forwarded-Port', '8443', 'SERVER_PORT' ],
    [ 'X-Forwarded-Server', 'evil.example', 'SERVER_NAME' ],
    [ 'X-Forwarded-For', '192.0.2.7', 'REMOTE_ADDR' ],
    [ 'X-Client-IP', '192.0.2.7', 'REMOTE_ADDR' ],
    [ 'X-Real-IP', '192.0.2.7', 'REMOTE_ADDR' ],
);
sub env_line { my ($r, $var) = @_; $r->{body} =~ /^(\Q$var\E=.*)$/m ? $1 : '(none)' }
my $i = 0;
for my $c (@cases) {
    my ($h, $v, $var) = @$c;
    $i++;
    my $u = "/app/trusted$i?env=$var&cc=max-age%3D60";
    my $alone = $ap->raw(GET => "$u&control=1");
    my $sent = $ap->raw(GET => $u, $h => $v);
    my $victim = $ap->raw(GET => $u);
    my $own = env_line($alone, $var);
    isnt(env_line($sent, $var), $own,
         "$h reaches the application as $var (mod_wsgi trusts it)");
    is($sent->{cache}, 'BYPASS', "$h: the request is not served from the cache");
    is(env_line($victim, $var), $own,
       "POISON if failing: a visitor without $h gets the application's own $var");
    # and the other way round: an entry stored by a plain visitor is not
    # served to a request whose environment differs
    my $later = $ap->raw(GET => $u, $h => $v);
    is(env_line($later, $var), env_line($sent, $var),
       "$h: a later sender gets its own environment");
}
$ap->stop;
done_testing;
