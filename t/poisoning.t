# Cache poisoning (THREATS 10, 11; DESIGN 5): commonly reflected request
# headers bypass the cache unless the location keys on them, virtual hosts
# never share entries, and a forged Host reaches only an entry of its own.
#
# Every request goes over its own connection (raw), read to the close: the
# store that follows a MISS is done before the next request is sent.
use strict;
use warnings;
use Test::More;
use SCTest;

my $EVIL = 'evil.example';
my @reflected = qw(X-Forwarded-Host X-Forwarded-Proto X-Forwarded-Scheme
                   X-Forwarded-Server X-Host X-Original-URL X-Rewrite-URL
                   X-HTTP-Method-Override);

my $mc = SCTest::Memcached->start;
my $ap = SCTest::Apache->start(memcached => [$mc], conf => <<'CONF');
<Location /app>
    SharedCache On
    SharedCacheTTL 60
</Location>
<Location /app/keyed>
    SharedCacheVaryByHeader X-Forwarded-Host
</Location>
# The first virtual host is the default one: a Host that names neither
# lands there.
<VirtualHost *:@PORT@>
    ServerName a.test
</VirtualHost>
<VirtualHost *:@PORT@>
    ServerName b.test
</VirtualHost>
CONF

sub get {
    my ($path, %h) = @_;
    $h{Host} //= 'a.test';
    return $ap->raw(GET => $path, %h);
}

sub token { $_[0]{body} =~ /token=([0-9a-f]{32})/ ? $1 : '' }

# ---- each reflected header: BYPASS, never stored, never served --------

my $n = 0;
for my $h (@reflected) {
    $n++;
    my $path = "/app/p/$n?reflect=$h";

    my $clean = get($path);
    cache_is($clean, 'MISS', "$h: a clean request is a MISS");
    my $again = get($path);
    cache_is($again, 'HIT', "$h: the next clean request is a HIT (control)");
    is($again->{body}, $clean->{body}, "$h: with the clean body");

    my $evil = get($path, $h => $EVIL);
    cache_is($evil, 'BYPASS', "$h: a request carrying it is a BYPASS");
    like($evil->{body}, qr/reflected=\Q$EVIL\E/,
         "$h: rendered by the app, which reflects it (control)");
    ok(token($evil) && token($evil) ne token($clean),
       "$h: a fresh render, not the cached page");

    my $after = get($path);
    cache_is($after, 'HIT', "$h: a clean request after it is still a HIT");
    is($after->{body}, $clean->{body}, "$h: of the clean entry");
    unlike($after->{body}, qr/\Q$EVIL\E/, "$h: never the evil value");

    # The header on a path nobody cached yet: nothing is stored.
    my $first = "/app/p/$n/first?reflect=$h";
    cache_is(get($first, $h => $EVIL), 'BYPASS',
             "$h: BYPASS on an empty cache too");
    my $c1 = get($first);
    cache_is($c1, 'MISS', "$h: the clean request after it is a MISS: "
                          . 'the bypassed response was not stored');
    unlike($c1->{body}, qr/\Q$EVIL\E/, "$h: and has no evil value");
    my $c2 = get($first);
    cache_is($c2, 'HIT', "$h: then a HIT");
    unlike($c2->{body}, qr/\Q$EVIL\E/, "$h: still without the evil value");
}

cache_is(get('/app/p/1?reflect=X-Forwarded-Host',
             'x-forwarded-host' => $EVIL), 'BYPASS',
         'header names are matched case-insensitively (x-forwarded-host)');
cache_is(get('/app/p/1?reflect=X-Forwarded-Host',
             'X-Forwarded-Host' => ''), 'BYPASS',
         'an empty X-Forwarded-Host still bypasses');
cache_is(get('/app/p/1?reflect=X-Forwarded-Host', 'X-Unlisted' => $EVIL),
         'HIT', 'an unlisted header does not bypass (control)');

# ---- a keyed reflected header: its value is part of the key -----------

{
    my $path = '/app/keyed/x?reflect=X-Forwarded-Host';
    my $clean = get($path);
    cache_is($clean, 'MISS', 'VaryByHeader X-Forwarded-Host: clean MISS');
    cache_is(get($path), 'HIT', 'VaryByHeader X-Forwarded-Host: clean HIT');

    my $e1 = get($path, 'X-Forwarded-Host' => $EVIL);
    cache_is($e1, 'MISS', 'with the keyed header the request is cached, '
                          . 'under its own key: MISS');
    like($e1->{body}, qr/reflected=\Q$EVIL\E/, 'the app reflected it');
    my $e2 = get($path, 'X-Forwarded-Host' => $EVIL);
    cache_is($e2, 'HIT', 'the same header value again: HIT');
    is($e2->{body}, $e1->{body}, 'with that value\'s body');
    my $e3 = get($path, 'x-forwarded-host' => $EVIL);
    cache_is($e3, 'HIT', 'the header name in another case: the same entry');
    my $o = get($path, 'X-Forwarded-Host' => 'other.example');
    cache_is($o, 'MISS', 'another value: an entry of its own (MISS)');
    like($o->{body}, qr/reflected=other\.example/, 'with its own value');

    my $after = get($path);
    cache_is($after, 'HIT', 'a clean request afterwards: HIT');
    is($after->{body}, $clean->{body}, 'of the clean entry');
    unlike($after->{body}, qr/\Q$EVIL\E/, 'never the evil value');

    cache_is(get($path, 'X-Forwarded-Proto' => 'https'), 'BYPASS',
             'a reflected header that is not keyed still bypasses there');

    my $f = '/app/keyed/first?reflect=X-Forwarded-Host';
    cache_is(get($f, 'X-Forwarded-Host' => $EVIL), 'MISS',
             'keyed header first on an empty path: MISS');
    my $fc = get($f);
    cache_is($fc, 'MISS', 'the clean request after it does not get its '
                          . 'entry (MISS)');
    unlike($fc->{body}, qr/\Q$EVIL\E/, 'and has no evil value');
}

# ---- virtual hosts never share entries --------------------------------

{
    my $path = '/app/vhost?reflect=Host';
    my $a1 = get($path, Host => 'a.test');
    cache_is($a1, 'MISS', 'vhost a.test: MISS');
    my $a2 = get($path, Host => 'a.test');
    cache_is($a2, 'HIT', 'vhost a.test: HIT (control)');
    is($a2->{body}, $a1->{body}, 'vhost a.test: its body');
    my $b1 = get($path, Host => 'b.test');
    cache_is($b1, 'MISS',
             'the same path on vhost b.test after a.test cached it: MISS');
    isnt(token($b1), token($a1), 'with a body of its own');
    like($b1->{body}, qr/reflected=b\.test/, 'rendered for b.test');
    my $b2 = get($path, Host => 'b.test');
    cache_is($b2, 'HIT', 'vhost b.test: then a HIT');
    is($b2->{body}, $b1->{body}, 'of b.test\'s entry');
    is(get($path, Host => 'a.test')->{body}, $a1->{body},
       'a.test still gets its own entry');

    # The application sees the Host header as sent (case, port): each
    # spelling is an entry of its own, never another's.
    my $up = get($path, Host => 'A.TEST');
    cache_is($up, 'MISS', 'Host in upper case: an entry of its own');
    isnt($up->{body}, $a1->{body}, 'not a.test\'s body');
    my $port = get($path, Host => 'a.test:' . $ap->port);
    cache_is($port, 'MISS', 'Host with the port: an entry of its own');
    cache_is(get($path, Host => 'a.test:' . $ap->port), 'HIT',
             'which it then hits');

    # An absolute-form target names the host itself; httpd uses it and
    # rewrites Host: never a.test's entry.
    my $abs = $ap->raw(GET => 'http://b.test:' . $ap->port . $path,
                       Host => 'a.test');
    isnt($abs->{body}, $a1->{body}, 'absolute-form target for b.test: never'
                                    . ' a.test\'s entry');
}

# ---- a forged Host on the default virtual host ------------------------

{
    my $path = '/app/forged?reflect=Host';
    my $f1 = get($path, Host => 'evil.test');
    cache_is($f1, 'MISS', 'a forged Host (default vhost) is a MISS');
    like($f1->{body}, qr/reflected=evil\.test/, 'the app reflected it');
    my $f2 = get($path, Host => 'evil.test');
    cache_is($f2, 'HIT', 'the forged Host again: a HIT of its own entry '
                         . '(control: it was stored)');
    my $n1 = get($path, Host => 'a.test');
    cache_is($n1, 'MISS', 'the default vhost\'s own name: MISS, not the '
                          . 'forged entry');
    unlike($n1->{body}, qr/evil/, 'never the forged Host\'s body');
    like($n1->{body}, qr/reflected=a\.test/, 'rendered for a.test');
    my $n2 = get($path, Host => 'a.test');
    cache_is($n2, 'HIT', 'then a HIT');
    unlike($n2->{body}, qr/evil/, 'still without the forged Host');
    my $ip = get($path, Host => '127.0.0.1:' . $ap->port);
    cache_is($ip, 'MISS', 'the address as Host: an entry of its own');
    unlike($ip->{body}, qr/evil/, 'without the forged Host');

    # Forged first on a path nobody asked for, then a normal request.
    my $g = '/app/forged2?reflect=Host';
    get($g, Host => 'evil.test');
    my $g1 = get($g, Host => 'a.test');
    cache_is($g1, 'MISS', 'forged Host first: the normal request after it '
                          . 'is a MISS');
    unlike($g1->{body}, qr/evil/, 'and never sees the forged entry');
}

# ---- a forged port in Host ----------------------------------------------
# httpd drops the port from the host name it matches, but the application
# still sees it in Host (Django's build_absolute_uri, links, redirects):
# a forged port must not reach the entry of the real one.

{
    my $path = '/app/port?reflect=Host';
    my $f = get($path, Host => 'a.test:6666');
    like($f->{body}, qr/reflected=a\.test:6666$/m,
         'the app reflects a forged port in Host (control)');
    my $n1 = get($path, Host => 'a.test');
    cache_is($n1, 'MISS', 'forged port first: the normal request after it '
                          . 'is a MISS');
    unlike($n1->{body}, qr/6666/, 'and never sees the forged port');
    my $n2 = get($path, Host => 'a.test:' . $ap->port);
    unlike($n2->{body}, qr/6666/, 'nor does one naming the real port');

    # The same through an absolute-form target, whose authority httpd puts
    # in Host.
    my $path2 = '/app/port2?reflect=Host';
    my $a = $ap->raw(GET => "http://a.test:6666$path2", Host => 'a.test');
    like($a->{body}, qr/reflected=a\.test:6666$/m,
         'absolute-form target with a forged port: reflected (control)');
    my $n3 = get($path2, Host => 'a.test');
    cache_is($n3, 'MISS', 'the normal request after it is a MISS');
    unlike($n3->{body}, qr/6666/, 'and never sees the forged port');
}

$ap->stop;
done_testing;
