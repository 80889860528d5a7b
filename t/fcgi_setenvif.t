# mod_proxy_fcgi's ProxyFCGISetEnvIf makes FastCGI parameters from the
# request (the client's address through -R or %{REMOTE_ADDR}, a header read
# through req_novary(), which adds no Vary) inside mod_proxy_fcgi's
# handler, after the key was made: no key holds them.  Where its settings
# apply, a FastCGI request is served uncached, through ProxyPass and
# through the PHP-FPM recipe (SetHandler "proxy:fcgi://..." in
# <FilesMatch>), to a TCP port or a unix socket (PHP-FPM's default), set in a <Location>, a <Directory> or the virtual host;
# elsewhere FastCGI pages are cached as before.  (mod_proxy_fcgi drops the
# backend's Content-Length: FastCGI pages are stored with
# SharedCacheRequireLength Off.)  Control: the application's own answer to
# each client, without the cache.
use strict;
use warnings;
use Test::More;
use SCTest;
use SCTest::Process qw(free_port wait_port spawn stop_pid workdir);

my $port = free_port();
my $wd = workdir();
my ($fcgi, $fcgi_unix);
# the responders go whatever happens to the test
END { stop_pid($_) for grep { $_ } $fcgi, $fcgi_unix }
$fcgi = spawn("$wd/fcgi.log", 'python3', "$SCTest::ROOT/t/lib/fcgi_echo.py", $port);
wait_port($port, 10, $fcgi) or die "the FastCGI responder did not start";
# the same on a unix socket, as PHP-FPM listens by default
my $sock = "$wd/fcgi.sock";
$fcgi_unix = spawn("$wd/fcgi-unix.log", 'python3',
                      "$SCTest::ROOT/t/lib/fcgi_echo.py", $sock);
for (1 .. 100) { last if -S $sock; select undef, undef, undef, 0.1 }
-S $sock or die "the FastCGI responder on a unix socket did not start";

my %files = ('staff.php' => "x\n", 'plain.php' => "x\n",
             'staff.fpm' => "x\n", 'plain.fpm' => "x\n");
my $mc = SCTest::Memcached->start;
# FastCGI pages have no Content-Length once through mod_proxy_fcgi
my $cached = <<'CONF';
<Location />
    SharedCache On
    SharedCacheTTL 60
    SharedCacheRequireLength Off
</Location>
CONF
my $ap = SCTest::Apache->start(memcached => [$mc], modules => [qw(proxy proxy_fcgi)],
                               files => \%files, conf => $cached . <<"CONF");
ProxyPass /f/ fcgi://127.0.0.1:$port/
<Location /f/staff>
    ProxyFCGISetEnvIf "-R '127.0.0.5'" STAFF "yes"
</Location>
<Location /f/addr>
    ProxyFCGISetEnvIf "true" CLIENT "%{REMOTE_ADDR}"
</Location>
<Location /f/tenant>
    ProxyFCGISetEnvIf "req_novary('X-Tenant') != ''" TENANT "%{req_novary:X-Tenant}"
</Location>
<FilesMatch "\\.php\$">
    SetHandler "proxy:fcgi://127.0.0.1:$port"
</FilesMatch>
<Files "staff.php">
    ProxyFCGISetEnvIf "-R '127.0.0.5'" STAFF "yes"
</Files>
ProxyPass /u/ "unix:$sock|fcgi://localhost/"
<Location /u/staff>
    ProxyFCGISetEnvIf "-R '127.0.0.5'" STAFF "yes"
</Location>
<FilesMatch "\\.fpm\$">
    SetHandler "proxy:unix:$sock|fcgi://localhost"
</FilesMatch>
<Files "staff.fpm">
    ProxyFCGISetEnvIf "-R '127.0.0.5'" STAFF "yes"
</Files>
CONF

sub var { my ($r, $n) = @_; $r->{body} =~ /^\Q$n\E=(.*)$/m ? $1 : '(none)' }

# [what, URL, variable, the first client's headers, the second's]
my @cases = (
    [ 'ProxyPass, -R', '/f/staff/p?env=STAFF', 'STAFF',
      { _from => '127.0.0.5' }, { _from => '127.0.0.6' } ],
    [ 'ProxyPass, %{REMOTE_ADDR}', '/f/addr/p?env=CLIENT', 'CLIENT',
      { _from => '127.0.0.5' }, { _from => '127.0.0.6' } ],
    [ 'ProxyPass, req_novary', '/f/tenant/p?env=TENANT', 'TENANT',
      { 'X-Tenant' => 'acme' }, {} ],
    [ 'SetHandler in FilesMatch, -R', '/staff.php?env=STAFF', 'STAFF',
      { _from => '127.0.0.5' }, { _from => '127.0.0.6' } ],
    [ 'ProxyPass to a unix socket, -R', '/u/staff/p?env=STAFF', 'STAFF',
      { _from => '127.0.0.5' }, { _from => '127.0.0.6' } ],
    [ 'SetHandler to a unix socket, -R', '/staff.fpm?env=STAFF', 'STAFF',
      { _from => '127.0.0.5' }, { _from => '127.0.0.6' } ],
);
for my $c (@cases) {
    my ($what, $u, $var, $first, $second) = @$c;
    my $a = $ap->raw(GET => $u, %$first);
    my $b = $ap->raw(GET => $u, %$second);
    my $own = $ap->raw(GET => "$u&control=1", %$second);
    isnt(var($a, $var), var($own, $var),
         "$what: the two clients get different $var from the application");
    is(var($b, $var), var($own, $var),
       "LEAK if failing: $what: the second client gets its own $var"
       . " (X-SharedCache: $b->{cache})");
    is($b->{cache}, 'BYPASS', "$what: served uncached");
    like($b->{headers}{'cache-status'} // '', qr/detail=fcgi-env/,
         "$what: Cache-Status says why");
}

# Where no ProxyFCGISetEnvIf applies, FastCGI pages are cached.
for my $u ('/f/plain/p', '/plain.php', '/u/plain/p', '/plain.fpm') {
    my $m = $ap->raw(GET => $u);
    my $h = $ap->raw(GET => $u);
    cache_is($h, 'HIT', "$u: a FastCGI page without such rules is cached");
    is($h->{body}, $m->{body}, "$u: the hit is the stored page");
}
$ap->stop;

# Set for the whole server: every FastCGI request of it.
$ap = SCTest::Apache->start(memcached => [$mc], modules => [qw(proxy proxy_fcgi)],
                            conf => $cached . <<"CONF");
ProxyPass /f/ fcgi://127.0.0.1:$port/
ProxyFCGISetEnvIf "-R '127.0.0.5'" STAFF "yes"
CONF
my $a = $ap->raw(GET => '/f/any?env=STAFF', _from => '127.0.0.5');
my $b = $ap->raw(GET => '/f/any?env=STAFF', _from => '127.0.0.6');
is(var($b, 'STAFF'), 'None',
   'LEAK if failing: set for the server: the second client gets its own STAFF');
is($b->{cache}, 'BYPASS', 'set for the server: served uncached');
$ap->stop;

# Set for one virtual host: its FastCGI requests, not the other host's.
my $vh = sub {
    my ($name, $rule) = @_;
    return <<"VH";
<VirtualHost 127.0.0.1:\@PORT\@>
    ServerName $name
    ProxyPass /f/ fcgi://127.0.0.1:$port/
    $rule
    <Location />
        SharedCache On
        SharedCacheTTL 60
        SharedCacheRequireLength Off
    </Location>
</VirtualHost>
VH
};
$ap = SCTest::Apache->start(memcached => [$mc], modules => [qw(proxy proxy_fcgi)],
    conf => $vh->('rules.test', q{ProxyFCGISetEnvIf "-R '127.0.0.5'" STAFF "yes"})
            . $vh->('plain.test', ''));
my $hp = $ap->port;
$a = $ap->raw(GET => '/f/any?env=STAFF', Host => "rules.test:$hp", _from => '127.0.0.5');
$b = $ap->raw(GET => '/f/any?env=STAFF', Host => "rules.test:$hp", _from => '127.0.0.6');
is(var($b, 'STAFF'), 'None',
   'LEAK if failing: set for a virtual host: the second client gets its own STAFF');
is($b->{cache}, 'BYPASS', 'set for a virtual host: served uncached');
$ap->raw(GET => '/f/any', Host => "plain.test:$hp");
cache_is($ap->raw(GET => '/f/any', Host => "plain.test:$hp"), 'HIT',
         'the other virtual host caches its FastCGI pages');
$ap->stop;
done_testing;
