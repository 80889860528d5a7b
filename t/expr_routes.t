# httpd's expressions in mapping directives (2.4.19+): an Alias or
# ScriptAlias inside a <Location> ("Alias /srv/%{REMOTE_ADDR}.html") and
# SetHandler ("%{HTTP:X-H}") pick a file or handler per request, by what a
# client sends or is, and say so in no Vary.  Where one is configured (the
# server, or the main server's), the key holds the file (below the document
# root) and the handler, as for a mod_rewrite route: each client its own
# page, nobody's stored page for another, in normal and quick mode (the
# quick key cannot hold them: such entries are never quick hits).  Found by
# an outside attack (round 63); SharedCache Off is the control.
use strict;
use warnings;
use Test::More;
use SCTest;

my $mc = SCTest::Memcached->start;
for my $mode ('off', 'normal', 'quick') {
    my $conf = <<'CONF';
Listen 127.0.0.2:@PORT@
<Location /per>
    Alias "@DIR@/per/%{REMOTE_ADDR}.html"
    SharedCache SC
    SharedCacheTTL 60
    QUICK
</Location>
<Location /lang>
    Alias "@DIR@/per/lang-%{HTTP:X-Lang}.html"
    SharedCache SC
    SharedCacheTTL 60
</Location>
<Directory @DIR@/per>
    Require all granted
</Directory>
Alias /sh @DIR@/sh
<Directory @DIR@/sh>
    Options +ExecCGI
    Require all granted
</Directory>
<Location /sh>
    SetHandler "%{HTTP:X-H}"
    SharedCache SC
    SharedCacheTTL 60
</Location>
CONF
    $conf =~ s/SC$/$mode eq 'off' ? 'Off' : 'On'/gme;
    $conf =~ s/QUICK/$mode eq 'quick' ? 'SharedCacheQuickHandler On' : ''/ge;
    my $ap = SCTest::Apache->start(memcached => [$mc], modules => ['alias', 'cgi', 'mime'],
                                   conf => $conf);
    mkdir $ap->dir . '/per';
    mkdir $ap->dir . '/sh';
    for my $name ('127.0.0.5', '127.0.0.9', 'lang-de', 'lang-en', 'lang-') {
        open my $f, '>', $ap->dir . "/per/$name.html" or die $!;
        print $f "page of $name\n";
        close $f;
    }
    open my $f, '>', $ap->dir . '/sh/s.cgi' or die $!;
    print $f "#!/bin/sh\n# SECRET=hunter2\necho 'Content-Type: text/plain'\n"
        . "echo 'Cache-Control: max-age=60'\necho\necho 'script output'\n";
    close $f;
    chmod 0755, $ap->dir . '/sh/s.cgi';

    $ap->raw(GET => '/per/x', _from => '127.0.0.5') for 1 .. 3;
    like($ap->raw(GET => '/per/x', _from => '127.0.0.9')->{body}, qr/page of 127\.0\.0\.9/,
         "$mode: an Alias by address: each client its own page");
    $ap->raw(GET => '/lang/x', 'X-Lang' => 'de') for 1 .. 2;
    like($ap->raw(GET => '/lang/x', 'X-Lang' => 'en')->{body}, qr/page of lang-en/,
         "$mode: an Alias by header: no other header's page");
    like($ap->raw(GET => '/lang/x')->{body}, qr/page of lang-\n/,
         "$mode: ... nor for a client without it");
    $ap->raw(GET => '/sh/s.cgi', 'X-H' => 'default-handler') for 1 .. 2;
    my $r = $ap->raw(GET => '/sh/s.cgi', 'X-H' => 'cgi-script');
    like($r->{body}, qr/script output/, "$mode: a SetHandler by header: the script's output");
    unlike($r->{body}, qr/SECRET/, "$mode: ... never its source");
    if ($mode ne 'off') {
        $ap->raw(GET => '/per/x', _from => '127.0.0.9');
        cache_is($ap->raw(GET => '/per/x', _from => '127.0.0.9'), 'HIT',
                 "$mode: each client's page is stored");
    }
    $ap->stop(allow => [qr/AH0\d+: .*(?:not found|No such file)/]);
}
done_testing;
