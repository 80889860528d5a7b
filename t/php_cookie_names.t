# Cookie-name differential with PHP: PHP turns '.' (and ' ') in a cookie
# name into '_' ($_COOKIE['wordpress_logged_in_abc'] for a cookie sent as
# "wordpress.logged.in_abc").  sc_key_cookie_header_ok accepts '.' (a
# tchar), and sc_key_cookie looks for the exact name: a logged-in request
# spelled with dots neither bypasses (SharedCacheBypassCookie) nor is keyed
# (SharedCacheVaryByCookie), PHP logs it in, and its personal page is
# stored for every anonymous visitor.  Needs php-cgi (Debian php-cgi).
use strict;
use warnings;
use Test::More;
use SCTest;
plan skip_all => 'no php-cgi' unless -x '/usr/bin/php-cgi';

my $mc = SCTest::Memcached->start;
my $ap = SCTest::Apache->start(memcached => [$mc], modules => ['cgid'],
    conf => <<'CONF');
<Directory @DIR@/htdocs>
    Options +ExecCGI
    AddHandler cgi-script .cgi
</Directory>
<Location />
    SharedCache On
    SharedCacheTTL 60
    # httpd's CGI header parsing drops the script's Content-Length
    SharedCacheRequireLength Off
</Location>
<Location /wp>
    SharedCacheBypassCookie wordpress_logged_in_abc
</Location>
<Location /lv>
    SharedCacheVaryByCookie laravel_session
</Location>
CONF
my $d = $ap->dir . '/htdocs';
for my $dir (qw(wp lv)) {
    my $cookie = $dir eq 'wp' ? 'wordpress_logged_in_abc' : 'laravel_session';
    mkdir "$d/$dir";
    open my $p, '>', "$d/$dir/page.php" or die;
    print $p <<"PHP";
<?php
\$u = \$_COOKIE['$cookie'] ?? null;
\$body = \$u ? "Howdy, \$u (your private dashboard)\\n" : "Hello anonymous\\n";
header('Cache-Control: max-age=60');
header('Content-Length: ' . strlen(\$body));
echo \$body;
PHP
    close $p;
    open my $c, '>', "$d/$dir/page.cgi" or die;
    print $c "#!/bin/sh\nexport REDIRECT_STATUS=200 SCRIPT_FILENAME=$d/$dir/page.php\nexec /usr/bin/php-cgi\n";
    close $c;
    chmod 0755, "$d/$dir", "$d/$dir/page.cgi";
    chmod 0644, "$d/$dir/page.php";
}

for my $case (['wp', 'wordpress.logged.in_abc', 'wordpress_logged_in_abc', 'SharedCacheBypassCookie'],
              ['lv', 'laravel.session', 'laravel_session', 'SharedCacheVaryByCookie']) {
    my ($dir, $dotted, $real, $what) = @$case;
    my $ctl = $ap->raw(GET => "/$dir/page.cgi", Cookie => "$real=alice");
    like($ctl->{body}, qr/Howdy, alice/, "control ($what): php reads $real");
    cache_is($ctl, $dir eq 'wp' ? 'BYPASS' : 'MISS', "control ($what): the real spelling is bypassed or keyed");
    my $evil = $ap->raw(GET => "/$dir/page.cgi", Cookie => "$dotted=attacker");
    diag("$what attacker: $evil->{cache} $evil->{body}");
    my $anon = $ap->raw(GET => "/$dir/page.cgi");
    diag("$what anonymous: $anon->{cache} $anon->{body}");
    like($anon->{body}, qr/Hello anonymous/, "POISON if failing ($what): the anonymous visitor gets the attacker's logged-in page");
}
$ap->stop;
done_testing;
