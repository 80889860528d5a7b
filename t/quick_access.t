# SharedCacheQuickHandler next to access rules that its start-up check
# does not see (THREATS 36): .htaccess (Require, mod_rewrite [F] on the
# client address, "Require not env" of a per-directory SetEnvIf, a
# denylist).  (Rules it sees next to quick mode, <If> with Require, [F] on
# the client, denylists, a <Location ~> regex, which may cover any path
# (outside attack round 91), fail configtest: t/quick_denylist.t, and
# below.)  An allowed client (127.0.0.5) fills the entry in the
# normal phase; the quick handler must never serve it to anyone else,
# because an entry is quick-servable only when httpd would let an
# anonymous client through to it.  A public page still gets quick HITs.
use strict;
use warnings;
use Test::More;
use SCTest;
use IO::Socket::INET;

{
    my ($rc, $out) = SCTest::Apache->configtest(<<'CONF');
<Location /app/quick>
    SharedCache On
    SharedCacheQuickHandler On
</Location>
<Location ~ "^/app/quick/rx/">
    Require ip 127.0.0.5
</Location>
CONF
    isnt($rc, 0, 'a <Location ~ regex> with Require ip next to quick mode: configtest fails');
    like($out, qr/restricts access to part of the same space/, '... as a rule that restricts') or diag($out);
}

my $mc = SCTest::Memcached->start;
my $ap = SCTest::Apache->start(memcached => [$mc], modules => ['rewrite'],
    conf => <<'CONF');
LogLevel warn sharedcache:trace1
<Location /app/quick>
    SharedCache On
    SharedCacheTTL 60
    SharedCacheQuickHandler On
</Location>
<Location /dq>
    SharedCache On
    SharedCacheTTL 60
    SharedCacheQuickHandler On
</Location>
Alias /dq @DIR@/htdocs/dq
<Directory @DIR@/htdocs/dq>
    AllowOverride All
    Require all granted
</Directory>
CONF
mkdir $ap->dir . '/htdocs/dq';
for my $sub ('ht', 'rwd', 'senv', 'deny') {
    mkdir $ap->dir . "/htdocs/dq/$sub";
    open my $f, '>', $ap->dir . "/htdocs/dq/$sub/page.html" or die $!;
    print $f "<p>staff only: $sub</p>\n";
    close $f;
}
open my $h, '>', $ap->dir . '/htdocs/dq/pub.html' or die $!;
print $h "<p>public</p>\n";
close $h;
open $h, '>', $ap->dir . '/htdocs/dq/ht/.htaccess' or die $!;
print $h "Require ip 127.0.0.5\n";
close $h;
open $h, '>', $ap->dir . '/htdocs/dq/rwd/.htaccess' or die $!;
print $h "RewriteEngine On\nRewriteCond %{REMOTE_ADDR} !=127.0.0.5\n"
    . "RewriteRule ^ - [F]\n";
close $h;
# An allowlist written as a denial of what a per-directory SetEnvIf gives
# everybody else (mod_setenvif reads per-directory rules only after its
# server-wide ones, at post_read_request: the probe runs that phase too).
open $h, '>', $ap->dir . '/htdocs/dq/senv/.htaccess' or die $!;
print $h "SetEnvIfExpr \"! -R '127.0.0.5/32'\" outsider\n"
    . "<RequireAll>\n    Require all granted\n"
    . "    Require not env outsider\n</RequireAll>\n";
close $h;
# A denylist: the anonymous client passes it, the denied one must not get
# quick hits (an .htaccess file the module cannot see at start-up: a page
# for which httpd read one is never quick-servable).
open $h, '>', $ap->dir . '/htdocs/dq/deny/.htaccess' or die $!;
print $h "<RequireAll>\n    Require all granted\n"
    . "    Require not ip 127.0.0.9\n</RequireAll>\n";
close $h;
chmod 0644, map { $ap->dir . "/htdocs/dq/$_/.htaccess" } 'ht', 'rwd', 'senv',
    'deny';

# From a client address of its own (rules on the address).
sub from {
    my ($src, $target, %h) = @_;
    return $ap->raw(GET => $target, _from => $src, %h);
}

for my $p ('/dq/ht/page.html', '/dq/rwd/page.html', '/dq/senv/page.html') {
    is(from('127.0.0.1', $p)->{status}, 403, "$p: refused to 127.0.0.1");
    my $staff = from('127.0.0.5', $p);
    is($staff->{status}, 200, "$p: allowed to 127.0.0.5 ($staff->{cache})");
    cache_is(from('127.0.0.5', $p), 'HIT', "$p: stored for it");
    my $pub = from('127.0.0.1', $p);
    is($pub->{status}, 403, "$p: the quick handler never serves it to "
                            . "127.0.0.1 ($pub->{cache})");
}

# The denylist of an .htaccess file: the denied client is refused, also
# once another client filled the entry.
is(from('127.0.0.9', '/dq/deny/page.html')->{status}, 403,
   '/dq/deny: refused to the denied 127.0.0.9');
is(from('127.0.0.1', '/dq/deny/page.html')->{status}, 200, '/dq/deny: allowed to 127.0.0.1');
cache_is(from('127.0.0.1', '/dq/deny/page.html'), 'HIT', '/dq/deny: stored');
is(from('127.0.0.9', '/dq/deny/page.html')->{status}, 403,
   '/dq/deny: still refused to 127.0.0.9 (never a quick hit)');

# A public page of the same locations: quick HITs, except where httpd
# reads .htaccess files (AllowOverride All): one added later would refuse
# it without a reload, which the quick phase cannot see (t/quick_reload.t).
for my $case (['/app/quick/open/page', 1], ['/dq/pub.html', 0]) {
    my ($p, $quick) = @$case;
    from('127.0.0.1', $p);
    my $n = () = $ap->error_log =~ /served by the quick handler/g;
    cache_is(from('127.0.0.1', $p), 'HIT', "$p: a HIT");
    my $m = () = $ap->error_log =~ /served by the quick handler/g;
    is($m, $n + $quick, $quick ? "$p: served by the quick handler"
                               : "$p: AllowOverride All: served after access control");
}
$ap->stop(allow => [qr/AH01630/, qr/AH01797/, qr/forbidden/i]);
done_testing;
