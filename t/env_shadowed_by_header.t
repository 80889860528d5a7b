# The configuration sets a variable named like a header's CGI variable
# (WordPress's, Joomla's, CodeIgniter's "SetEnv HTTP_MOD_REWRITE On", a
# RewriteRule [E=HTTP_X_SITE:...]); httpd's ap_add_common_vars, which
# builds what mod_wsgi, mod_cgi and mod_proxy_fcgi pass on, then replaces
# it with the value of the client's header of that name (Mod-Rewrite:,
# X-Site:; CONTENT_TYPE from Content-Type: round 67 F2).  The key holds that header's value next to the variable's:
# each value its own page, nobody's for another.  Found by an outside
# attack (round 66 F2); SharedCache Off is the control.
use strict;
use warnings;
use Test::More;
use SCTest;

my $mc = SCTest::Memcached->start;
my $conf = <<'CONF';
<Location /app>
    SharedCache @SC@
    SharedCacheTTL 60
    SetEnv HTTP_MOD_REWRITE On
</Location>
<Location /app/ct>
    SetEnv CONTENT_TYPE text/html
</Location>
RewriteEngine On
RewriteRule ^/app/rw - [E=HTTP_X_SITE:main]
CONF
for my $sc ('Off', 'On') {
    (my $c = $conf) =~ s/\@SC\@/$sc/g;
    my $ap = SCTest::Apache->start(memcached => [$mc], modules => ['env', 'rewrite'], conf => $c);
    for my $case (['/app/links?env=HTTP_MOD_REWRITE', 'Mod-Rewrite', 'Off', qr/'On'/],
                  ['/app/rw?env=HTTP_X_SITE', 'X-Site', '<script>x</script>', qr/'main'/],
                  ['/app/ct/p?env=CONTENT_TYPE', 'Content-Type', 'text/evil', qr/'text\/html'/]) {
        my ($u, $h, $val, $want) = @$case;
        like($ap->raw(GET => $u, $h => $val, _from => '127.0.0.9')->{body}, qr/\Q$val\E/,
             "[$sc] $u: the application gets the client's $h");
        $ap->raw(GET => $u, _from => '127.0.0.5');
        like($ap->raw(GET => $u, _from => '127.0.0.5')->{body}, $want,
             "[$sc] $u: a client without it gets the configured value");
        like($ap->raw(GET => $u, $h => $val, _from => '127.0.0.9')->{body}, qr/\Q$val\E/,
             "[$sc] $u: ... and the one with it its own");
    }
    if ($sc eq 'On') {
        cache_is($ap->raw(GET => '/app/links?env=HTTP_MOD_REWRITE'), 'HIT',
                 'the configured page is stored');
    }
    $ap->stop;
}
done_testing;
