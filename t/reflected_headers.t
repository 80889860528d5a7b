# Reflected request headers (THREATS 10, 37): headers that applications,
# frameworks and proxies (Werkzeug's ProxyFix, Django, Rails, PHP, CDNs)
# reflect into pages must never let a page rendered for them be stored for
# everyone.  Either the request bypasses the cache or the header is keyed:
# in both cases a plain request afterwards is a MISS without the value.
# Also the underscore spellings (read as the hyphenated header by wsgiref,
# gunicorn before 22 and others; sent through mod_proxy to a wsgiref
# backend, since httpd's own WSGI/CGI environment drops such names), an
# administrator's own header (SharedCacheBypassHeader), and a header listed
# in SharedCacheVaryByHeader (keyed, not bypassed).
#
# Every request goes over its own connection (raw), read to the close: the
# store that follows a MISS is done before the next request is sent.
use strict;
use warnings;
use Test::More;
use SCTest;

my $EVIL = 'evil.example';
my @reflected = qw(X-Forwarded-For X-Real-IP X-Forwarded-Ssl X-Original-Host
    X-HTTP-Method X-HTTP-Method-Override X-Forwarded-Host X-Forwarded-Proto
    X-Forwarded-Scheme X-Forwarded-Server X-Forwarded-Port X-Forwarded-Prefix
    Forwarded X-Original-URL X-Rewrite-URL X-Host X-Client-IP
    X-Cluster-Client-IP True-Client-IP CF-Connecting-IP Fastly-Client-IP
    X-Url-Scheme Front-End-Https X-Forwarded-Uri X-Original-Uri);

my $bport = SCTest::free_port();
my $mc = SCTest::Memcached->start;
my $ap = SCTest::Apache->start(
    memcached => [$mc],
    modules => [qw(proxy proxy_http)],
    conf => <<"CONF");
<Location /app>
    SharedCache On
    SharedCacheTTL 60
</Location>
<Location /app/keyed>
    SharedCacheVaryByHeader X-Forwarded-For X-Forwarded-Host
</Location>
ProxyPass /px/ http://127.0.0.1:$bport/
<Location /px>
    SharedCache On
    SharedCacheTTL 60
</Location>
<Location /px/keyed>
    SharedCacheVaryByHeader X-Forwarded-Host
</Location>
CONF

# The proxied backend: the Apache's copy of the app, served by wsgiref.
my $backend = SCTest::spawn($ap->dir . '/backend.log', 'python3',
    "$SCTest::ROOT/t/fixtures/reflected_headers/wsgiref_backend.py",
    $bport, $ap->dir . '/app/app.py');
SCTest::wait_port($bport, 10, $backend) or die 'the wsgiref backend did '
                                              . 'not start';
END { SCTest::stop_pid($backend) if $backend }

sub get { my ($path, %h) = @_; $ap->raw(GET => $path, %h) }
sub token { $_[0]{body} =~ /token=([0-9a-f]{32})/ ? $1 : '' }

# The header first, on a URL nobody cached: the page rendered for it must
# not be what a plain request gets afterwards.
sub never_stored {
    my ($what, $path, $h, $value) = @_;
    my $with = get($path, $h => $value);
    like($with->{body}, qr/^reflected=.*\Q$value\E/m,
         "$what: the app reflects it (control)");
    my $plain = get($path);
    cache_is($plain, 'MISS', "$what: a plain request after it is a MISS");
    unlike($plain->{body}, qr/\Q$value\E/, "$what: and never gets its value");
    isnt(token($plain), token($with), "$what: nor its render");
    return $with;
}

# ---- each reflected header --------------------------------------------

my $n = 0;
for my $h (@reflected) {
    $n++;
    my $value = $h eq 'Forwarded' ? "host=$EVIL" : $EVIL;
    my $first = never_stored($h, "/app/r/$n/first?reflect=$h", $h, $value);
    cache_is($first, 'BYPASS', "$h: a request carrying it is a BYPASS");

    # A clean entry exists: the request with the header is rendered for it
    # and the clean entry stays clean.
    my $path = "/app/r/$n?reflect=$h";
    my $clean = get($path);
    cache_is(get($path), 'HIT', "$h: clean entry stored (control)");
    my $with = get($path, $h => $value);
    isnt($with->{cache}, 'HIT', "$h: with a clean entry stored: not a HIT");
    like($with->{body}, qr/\Q$value\E/, "$h: rendered for its value");
    my $after = get($path);
    is(token($after), token($clean), "$h: the clean entry is untouched");
    unlike($after->{body}, qr/\Q$EVIL\E/, "$h: and never has the value");
}

# ---- underscore spellings, through mod_proxy to a wsgiref backend -------

{
    my $ctl = never_stored('proxied, X-Forwarded-Proto (control)',
                           '/px/ctl?reflect=X-Forwarded-Proto',
                           'X-Forwarded-Proto' => 'evilproto');
    cache_is($ctl, 'BYPASS', 'proxied: X-Forwarded-Proto is a BYPASS '
                             . '(control)');
    my $i = 0;
    for (['X_Forwarded_Proto', 'X-Forwarded-Proto'],
         ['X_Forwarded_Host', 'X-Forwarded-Host'],
         ['X-Forwarded_Host', 'X-Forwarded-Host']) {
        my ($sent, $read) = @$_;
        $i++;
        my $w = never_stored("proxied, $sent", "/px/u/$i?reflect=$read",
                             $sent => "evil$i");
        cache_is($w, 'BYPASS', "proxied: $sent is a BYPASS");
    }
    # Keying X-Forwarded-Host keys that spelling only: X_Forwarded_Host,
    # which the backend reads as the same header, is not in the key.
    my $k = never_stored('proxied, keyed X-Forwarded-Host, X_Forwarded_Host '
                         . 'sent', '/px/keyed/u?reflect=X-Forwarded-Host',
                         'X_Forwarded_Host' => 'evilkeyed');
    cache_is($k, 'BYPASS', 'proxied, keyed X-Forwarded-Host: '
                           . 'X_Forwarded_Host is a BYPASS');
    my $kk = $ap->raw(GET => '/px/keyed/v?reflect=X-Forwarded-Host',
                      'X-Forwarded-Host' => 'good.example',
                      'X_Forwarded_Host' => 'evilboth');
    like($kk->{body}, qr/evilboth/, 'proxied, both spellings: the backend '
                                    . 'reads both (control)');
    my $good = get('/px/keyed/v?reflect=X-Forwarded-Host',
                   'X-Forwarded-Host' => 'good.example');
    unlike($good->{body}, qr/evilboth/, 'proxied, both spellings: a request '
           . 'with only the keyed one never gets the other\'s value');
}

# ---- a header in SharedCacheVaryByHeader is keyed, not bypassed -------

for my $h (qw(X-Forwarded-For X-Forwarded-Host)) {
    my $p = "/app/keyed/$h?reflect=$h";
    my $e1 = get($p, $h => $EVIL);
    cache_is($e1, 'MISS', "VaryByHeader $h: cached under its value (MISS)");
    my $e2 = get($p, $h => $EVIL);
    cache_is($e2, 'HIT', "VaryByHeader $h: the same value: HIT");
    is(token($e2), token($e1), "VaryByHeader $h: of that value's entry");
    my $o = get($p, $h => 'other.example');
    cache_is($o, 'MISS', "VaryByHeader $h: another value: MISS");
    like($o->{body}, qr/reflected=other\.example$/m,
         "VaryByHeader $h: rendered for it");
    my $c = get($p);
    cache_is($c, 'MISS', "VaryByHeader $h: no header: an entry of its own");
    unlike($c->{body}, qr/example/, "VaryByHeader $h: without any value");
}
never_stored('VaryByHeader location, unkeyed X-Real-IP',
             '/app/keyed/real?reflect=X-Real-IP', 'X-Real-IP' => '192.0.2.9');

$ap->stop;
SCTest::stop_pid($backend);
undef $backend;

# ---- SharedCacheBypassHeader: an administrator's own header ------------

my $tconf = <<'CONF';
<Location /app>
    SharedCache On
    SharedCacheTTL 60
    SharedCacheBypassHeader X-Tenant
</Location>
CONF
my ($rc, $out) = SCTest::Apache->configtest($tconf);
is($rc, 0, 'SharedCacheBypassHeader X-Tenant is accepted by configtest')
    or diag($out);
my $tap = eval { SCTest::Apache->start(memcached => [$mc], conf => $tconf) };
ok($tap, 'Apache starts with SharedCacheBypassHeader') or diag($@);
SKIP: {
    skip 'no Apache with SharedCacheBypassHeader', 13 unless $tap;
    my $tget = sub { my ($p, %h) = @_; $tap->raw(GET => $p, %h) };
    my $p = '/app/tenant?reflect=X-Tenant';
    my $clean = $tget->($p);
    cache_is($clean, 'MISS', 'X-Tenant location: a clean request: MISS');
    cache_is($tget->($p), 'HIT', 'X-Tenant location: then a HIT');
    my $t = $tget->($p, 'X-Tenant' => 'acme');
    cache_is($t, 'BYPASS', 'a request with X-Tenant: BYPASS');
    like($t->{body}, qr/^reflected=acme$/m, 'rendered for tenant acme');
    cache_is($tget->($p, 'x-tenant' => 'acme'), 'BYPASS',
             'x-tenant in lower case: BYPASS');
    my $after = $tget->($p);
    is(token($after), token($clean), 'the clean entry is untouched');
    unlike($after->{body}, qr/acme/, 'and never has the tenant');

    my $f = '/app/tenant/first?reflect=X-Tenant';
    cache_is($tget->($f, 'X-Tenant' => 'acme'), 'BYPASS',
             'X-Tenant on an empty cache: BYPASS');
    my $fc = $tget->($f);
    cache_is($fc, 'MISS', 'the plain request after it: MISS');
    unlike($fc->{body}, qr/acme/, 'without the tenant');
    cache_is($tget->('/app/tenant/x?reflect=X-Forwarded-Host',
                     'X-Forwarded-Host' => $EVIL), 'BYPASS',
             'the built-in headers still bypass next to '
             . 'SharedCacheBypassHeader');
    cache_is($tget->('/app/tenant/x?reflect=X-Forwarded-For',
                     'X-Forwarded-For' => $EVIL), 'BYPASS',
             'and the new built-in ones too');
    $tap->stop;
}
done_testing;
