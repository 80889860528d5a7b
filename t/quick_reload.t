# Quick mode serves an entry before access control because, when it was
# stored, an anonymous client would have been let through to its URL
# (src/sc_quickprobe.c).  That holds for the configuration it was stored
# under, and for the .htaccess files of that moment:
# - after a reload that refuses, redirects or removes the URL (Require all
#   denied, Redirect, RewriteRule [G]), the quick handler kept serving the
#   old entries until they expired;
# - where httpd reads .htaccess files (AllowOverride), one added later
#   refuses the URL without any reload.
# An entry is quick-servable only under the configuration it was marked
# under (its tag), and never where httpd looks for .htaccess files; such
# entries are found by the normal handler, after access control.  A
# reload that changes nothing (logrotate's graceful) keeps quick mode.
use strict;
use warnings;
use Test::More;
use Time::HiRes qw(sleep);
use SCTest;

my $mc = SCTest::Memcached->start;
my $base = <<'CONF';
LogLevel warn sharedcache:trace1
<Location /app/q>
    SharedCache On
    SharedCacheTTL 600
    SharedCacheQuickHandler On
</Location>
CONF
my $ap = SCTest::Apache->start(memcached => [$mc], modules => ['rewrite'], conf => $base);

sub quick_hits {
    my ($path) = @_;
    return scalar grep { /hit for \Q$path\E served by the quick handler/ }
        split /\n/, $ap->error_log;
}

sub reload {
    my ($conf, $probe, $want) = @_;
    $ap->_write_conf($conf);
    kill 'USR1', $ap->parent_pid;
    # the new generation answers when the probe URL gives what it should
    for (1 .. 100) {
        sleep 0.2;
        last if $ap->get($probe)->{status} == $want;
    }
}

my @urls = qw(/app/q/secret /app/q/moved /app/q/gone /app/q/same);
my %first;
for my $u (@urls) {
    $first{$u} = $ap->get($u)->{body};
    is($ap->get($u)->{cache}, 'HIT', "$u: stored, then a hit");
    is(quick_hits($u), 1, "$u: ... from the quick handler");
}

# 1. A graceful restart that changes nothing: quick mode goes on.
reload($base, '/app/q/same', 200);
my $before = quick_hits('/app/q/same');
my $r = $ap->get('/app/q/same');
is($r->{cache}, 'HIT', 'same configuration: a hit');
is(quick_hits('/app/q/same'), $before + 1, 'same configuration: ... from the quick handler');

# 2. The operator withdraws pages and reloads.
reload($base . <<'CONF', '/app/q/secret', 403);
<Location /app/q/secret>
    Require all denied
</Location>
Redirect 301 /app/q/moved http://example.com/new
RewriteEngine On
RewriteRule ^/app/q/gone - [G]
CONF
for my $case (['/app/q/secret', 403], ['/app/q/moved', 301], ['/app/q/gone', 410]) {
    my ($u, $want) = @$case;
    for (1 .. 2) {
        my $got = $ap->get($u);
        is($got->{status}, $want, "changed configuration: $u gets $want ($got->{cache})");
        unlike($got->{body}, qr/\Q$first{$u}\E/, "changed configuration: $u, not the stored page") if $first{$u};
    }
}
$before = quick_hits('/app/q/same');
$r = $ap->get('/app/q/same');
is($r->{status}, 200, 'changed configuration: a page it left alone is served');
is($r->{cache}, 'HIT', '... from the cache');
is($r->{body}, $first{'/app/q/same'}, '... the stored page');
is(quick_hits('/app/q/same'), $before, '... by the normal handler, after access control');
$ap->stop(allow => [qr/AH01630/]);

# 3. Where httpd reads .htaccess files, quick mode serves nothing: a file
# added later applies at once.
{
    my $ap2 = SCTest::Apache->start(memcached => [$mc], conf => <<'CONF');
LogLevel warn sharedcache:trace1
<Directory @DIR@/app>
    AllowOverride AuthConfig
</Directory>
<Location /app/h>
    SharedCache On
    SharedCacheTTL 600
    SharedCacheQuickHandler On
</Location>
CONF
    my $u = '/app/h/page';
    my $page = $ap2->get($u)->{body};
    is($ap2->get($u)->{cache}, 'HIT', 'AllowOverride: stored, then a hit');
    is(scalar(grep { /hit for \Q$u\E served by the quick handler/ } split /\n/, $ap2->error_log), 0,
       'AllowOverride: ... never from the quick handler');
    open my $fh, '>', $ap2->dir . '/app/.htaccess' or die $!;
    print $fh "Require all denied\n";
    close $fh;
    chmod 0644, $ap2->dir . '/app/.htaccess';
    my $got = $ap2->get($u);
    is($got->{status}, 403, 'AllowOverride: an .htaccess file added later refuses the page at once');
    unlike($got->{body}, qr/\Q$page\E/, 'AllowOverride: ... not the stored page');
    unlink $ap2->dir . '/app/.htaccess';
    $ap2->stop(allow => [qr/AH01630/]);
}

# 4. The same where only a parent directory's AllowOverrideList makes httpd
# read an .htaccess file (a subdirectory's "AllowOverrideList None" does
# not stop it), with AllowOverride None or never set.
for my $parent ("AllowOverride None\n    AllowOverrideList Require",
                "AllowOverrideList Require") {
    (my $what = $parent) =~ s/\n\s*/, /;
    my $ap3 = SCTest::Apache->start(memcached => [$mc], conf => <<"CONF");
LogLevel warn sharedcache:trace1
<Directory \@DIR\@/htdocs>
    $parent
</Directory>
<Directory \@DIR\@/htdocs/sub>
    AllowOverrideList None
</Directory>
<Location /sub>
    SharedCache On
    SharedCacheTTL 600
    SharedCacheQuickHandler On
</Location>
CONF
    my $d = $ap3->dir;
    mkdir "$d/htdocs/sub";
    chmod 0755, "$d/htdocs/sub";
    open my $pf, '>', "$d/htdocs/sub/page.html" or die $!;
    print $pf "<p>members only</p>\n";
    close $pf;
    chmod 0644, "$d/htdocs/sub/page.html";
    $ap3->get('/sub/page.html');
    is($ap3->get('/sub/page.html')->{cache}, 'HIT', "$what: stored, then a hit");
    open my $fh, '>', "$d/htdocs/.htaccess" or die $!;
    print $fh "Require all denied\n";
    close $fh;
    chmod 0644, "$d/htdocs/.htaccess";
    my $got = $ap3->get('/sub/page.html');
    is($got->{status}, 403, "$what: the parent's .htaccess added later refuses the page at once");
    unlink "$d/htdocs/.htaccess";
    $ap3->stop(allow => [qr/AH01630/]);
}

done_testing;
