# Variance (DESIGN 3-4; THREATS 2-4, 27): who shares an entry.
# SharedCacheVaryByHeader, SharedCacheVaryByCookie, the response's Vary
# (comma lists, several lines, Vary: Cookie narrowed by VaryByCookie),
# SharedCacheBypassCookie, SharedCacheIgnoreQuery, SharedCacheVaryByUser
# with httpd's basic authentication, and SharedCacheVary expressions.
#
# Every request goes over its own connection (raw), read to the close: the
# store that follows a MISS is done before the next request is sent.
use strict;
use warnings;
use Test::More;
use MIME::Base64 qw(encode_base64);
use SCTest;

# Basic-auth users, in a file the unprivileged User can read.
my $authdir = SCTest::workdir();
my $htpasswd = "$authdir/htpasswd";
system("htpasswd -bc $htpasswd alice pw 2>/dev/null") == 0
    or die "htpasswd alice";
system("htpasswd -b $htpasswd bob pw2 2>/dev/null") == 0
    or die "htpasswd bob";
chmod 0644, $htpasswd;

my $mc = SCTest::Memcached->start;
my $ap = SCTest::Apache->start(
    memcached => [$mc],
    modules => [qw(asis auth_basic authn_core authn_file authz_user)],
    files => {
        'multi.asis' => "Status: 200 OK\nContent-Type: text/plain\n"
            . "Cache-Control: max-age=60\n"
            . "Vary: Accept-Language\nVary: X-Foo\n\nmulti\n",
    },
    conf => <<"CONF");
AddHandler send-as-is asis
SetEnvIf X-Role ^(admin)\$ role=\$1
<Location /app>
    SharedCache On
    SharedCacheTTL 60
</Location>
<Location /multi.asis>
    SharedCache On
</Location>
<Location /app/lang>
    SharedCacheVaryByHeader Accept-Language
</Location>
<Location /app/cookie>
    SharedCacheVaryByCookie lang
</Location>
<Location /app/sid>
    SharedCacheVaryByCookie sid
</Location>
<Location /app/hdrvary>
    Header append Vary X-Bar
</Location>
<Location /app/anon>
    SharedCacheBypassCookie sessionid
</Location>
<Location /app/iq>
    SharedCacheIgnoreQuery utm_* fbclid
</Location>
<Location /app/iqall>
    SharedCacheIgnoreQuery *
</Location>
<Location /app/user>
    AuthType Basic
    AuthName "sc test"
    AuthBasicProvider file
    AuthUserFile $htpasswd
    Require valid-user
    SharedCacheVaryByUser On
</Location>
<Location /app/authonly>
    AuthType Basic
    AuthName "sc test"
    AuthBasicProvider file
    AuthUserFile $htpasswd
    Require valid-user
</Location>
<Location /app/nouser>
    SharedCacheVaryByUser On
</Location>
<Location /app/role>
    SharedCacheVary "%{ENV:role}"
</Location>
CONF

sub get { my ($path, %h) = @_; $ap->raw(GET => $path, %h) }

sub token { $_[0]{body} =~ /token=([0-9a-f]{32})/ ? $1 : '' }

sub basic { 'Basic ' . encode_base64("$_[0]:$_[1]", '') }

# Each variant (request headers) of path: MISS first, each a render of its
# own; then each again: a HIT of its own entry.
sub variants {
    my ($what, $path, @variants) = @_;
    my (@first, %tok);
    while (my ($name, $h) = splice @variants, 0, 2) {
        my $r = get($path, %$h);
        cache_is($r, 'MISS', "$what: $name: MISS first");
        ok(token($r) && !$tok{token($r)}++, "$what: $name: a render of its own");
        push @first, [$name, $h, $r];
    }
    for (@first) {
        my ($name, $h, $r) = @$_;
        my $again = get($path, %$h);
        cache_is($again, 'HIT', "$what: $name: then a HIT");
        is(token($again), token($r), "$what: $name: of its own entry");
    }
    return map { $_->[2] } @first;
}

# ---- SharedCacheVaryByHeader Accept-Language --------------------------

{
    my ($en, $de) = variants('VaryByHeader Accept-Language',
                             '/app/lang/p?reflect=Accept-Language',
                             en => { 'Accept-Language' => 'en' },
                             de => { 'Accept-Language' => 'de' },
                             absent => {},
                             empty => { 'Accept-Language' => '' });
    like($en->{body}, qr/reflected=en$/m, 'the en entry was rendered for en');
    like($de->{body}, qr/reflected=de$/m, 'the de entry was rendered for de');
    is(get('/app/lang/p?reflect=Accept-Language',
           'accept-language' => 'en')->{body}, $en->{body},
       'the header name in another case: the en entry');
    cache_is(get('/app/lang/p?reflect=Accept-Language',
                 'Accept-Language' => 'fr'),
             'MISS', 'a third language: a MISS');
}

# ---- SharedCacheVaryByCookie lang --------------------------------------

{
    my $p = '/app/cookie/p';
    my ($de, $fr, $none) = variants('VaryByCookie lang', $p,
        'lang=de' => { Cookie => 'lang=de' },
        'lang=fr' => { Cookie => 'lang=fr' },
        'no Cookie' => {},
        'lang= (empty)' => { Cookie => 'lang=' },
        'lang twice' => { Cookie => 'lang=de; lang=fr' });
    for my $c ('_ga=GA1.2.3; lang=de', 'lang=de; _ga=GA1.9.9; _gid=x',
               'lang=de;_fbp=fb.1') {
        my $r = get($p, Cookie => $c);
        cache_is($r, 'HIT', "other cookies do not split ($c): HIT");
        is(token($r), token($de), "($c): the lang=de entry");
    }
    my $a = get($p, Cookie => '_ga=GA1.2.3');
    cache_is($a, 'HIT', 'only an analytics cookie: HIT');
    is(token($a), token($none), 'of the entry without lang');
    my $x = get($p, Cookie => 'xlang=de');
    is(token($x), token($none), 'a cookie whose name ends in lang is not lang');

    # Cookie names are read as applications read them: Django's
    # parse_cookie and Python's http.cookies strip blanks around the name.
    my $sp = get($p, Cookie => 'lang =fr');
    ok($sp->{cache} eq 'BYPASS' || token($sp) eq token($fr),
       '"lang =fr", which the app reads as lang=fr: the lang=fr entry '
       . "(or a BYPASS), not the one without lang ($sp->{cache})");
    my $q = '/app/cookie/spaced?reflect=Cookie';
    like(get($q, Cookie => '_ga=1; lang =fr')->{body}, qr/lang =fr/,
         '"lang =fr" on an empty cache: rendered (control)');
    my $n = get($q);
    unlike($n->{body}, qr/lang/,
           'a request without lang never gets the page rendered for '
           . '"lang =fr"');
}

# ---- the response's Vary, no directive ---------------------------------

{
    my $p = '/app/rvary?vary=Accept-Language&reflect=Accept-Language';
    my ($en, $fr) = variants('Vary: Accept-Language', $p,
        en => { 'Accept-Language' => 'en' },
        fr => { 'Accept-Language' => 'fr' },
        absent => {});
    like($en->{body}, qr/reflected=en$/m, 'rendered for en');
    like($fr->{body}, qr/reflected=fr$/m, 'rendered for fr');
    is(get($p, 'Accept-Language' => 'en')->{body}, $en->{body},
       'en still gets the en variant after the others were stored');
}
{
    my $p = '/app/rvary2?vary=Accept-Language,%20X-Foo&reflect=X-Foo';
    variants('Vary: Accept-Language, X-Foo', $p,
        'en 1' => { 'Accept-Language' => 'en', 'X-Foo' => '1' },
        'en 2' => { 'Accept-Language' => 'en', 'X-Foo' => '2' },
        'fr 1' => { 'Accept-Language' => 'fr', 'X-Foo' => '1' },
        'en, no X-Foo' => { 'Accept-Language' => 'en' });
    my $lc = get('/app/rvary3?vary=accept-language,x-foo',
                 'Accept-Language' => 'en', 'X-Foo' => '1');
    cache_is($lc, 'MISS', 'Vary names in lower case: MISS');
    cache_is(get('/app/rvary3?vary=accept-language,x-foo',
                 'Accept-Language' => 'en', 'X-Foo' => '2'), 'MISS',
             'Vary names in lower case: another X-Foo is another variant');
}
{
    # Vary on two header lines (a static .asis file), merged as one list.
    my %h = ('Accept-Language' => 'en', 'X-Foo' => '1');
    cache_is(get('/multi.asis', %h), 'MISS', 'Vary on two lines: MISS');
    cache_is(get('/multi.asis', %h), 'HIT', 'Vary on two lines: HIT');
    cache_is(get('/multi.asis', %h, 'X-Foo' => '2'), 'MISS',
             'Vary on two lines: the second line\'s header selects a variant');
    cache_is(get('/multi.asis', %h, 'Accept-Language' => 'fr'), 'MISS',
             'Vary on two lines: the first line\'s header selects a variant');
}
{
    # A Vary added by httpd's configuration (mod_headers) is part of the
    # response the client gets: the cache must honour it as well.
    my $p = '/app/hdrvary/p?reflect=X-Bar';
    my $b1 = get($p, 'X-Bar' => '1');
    cache_is($b1, 'MISS', 'Vary added by mod_headers: MISS');
    is($b1->{headers}{vary}, 'X-Bar', 'the client sees Vary: X-Bar (control)');
    cache_is(get($p, 'X-Bar' => '1'), 'HIT',
             'Vary added by mod_headers: the same X-Bar is a HIT');
    my $b2 = get($p, 'X-Bar' => '2');
    isnt($b2->{cache}, 'HIT',
         'Vary added by mod_headers: another X-Bar is not a HIT');
    like($b2->{body}, qr/reflected=2$/m,
         'Vary added by mod_headers: another X-Bar gets its own body');
}

# ---- Vary: Cookie ------------------------------------------------------

{
    my $p = '/app/vc?vary=Cookie';
    variants('Vary: Cookie without VaryByCookie', $p,
        'sid=1' => { Cookie => 'sid=1' },
        'sid=2' => { Cookie => 'sid=2' },
        'sid=1 and _ga' => { Cookie => 'sid=1; _ga=GA1' },
        'no Cookie' => {});
}
{
    my $p = '/app/sid/p?vary=Cookie';
    my ($s1, $s2, $none) = variants('Vary: Cookie with VaryByCookie sid', $p,
        'sid=1' => { Cookie => 'sid=1; _ga=GA1' },
        'sid=2' => { Cookie => 'sid=2; _ga=GA1' },
        'no sid' => { Cookie => '_ga=GA1' });
    my $n = get($p, Cookie => 'sid=1; _ga=GA2; _gid=7');
    cache_is($n, 'HIT', 'narrowed to sid: same sid, other analytics '
                        . 'cookies: HIT');
    is(token($n), token($s1), 'of the sid=1 entry');
    my $m = get($p, Cookie => '_ga=GA3');
    is(token($m), token($none), 'no sid, another analytics cookie: the entry '
                                . 'without sid');
    my $z = get($p);
    cache_is($z, 'HIT', 'no Cookie header at all: the entry without sid');
}

# ---- SharedCacheBypassCookie sessionid ---------------------------------

{
    my $p = '/app/anon/p';
    my $a1 = get($p, Cookie => 'lang=de');
    cache_is($a1, 'MISS', 'BypassCookie: an anonymous request is a MISS');
    my $a2 = get($p);
    cache_is($a2, 'HIT', 'BypassCookie: the next anonymous request: HIT');
    is(token($a2), token($a1), 'of the anonymous entry');
    my $before = $ap->renders('/app/anon/p');
    my $s = get($p, Cookie => 'lang=de; sessionid=abc');
    cache_is($s, 'BYPASS', 'with sessionid after an anonymous store: '
                           . 'BYPASS');
    isnt(token($s), token($a1), 'a fresh render, not the anonymous entry');
    is($ap->renders('/app/anon/p'), $before + 1, 'rendered by the app');
    cache_is(get($p, Cookie => 'sessionid='), 'BYPASS',
             'an empty sessionid: BYPASS too');
    my $x = get($p, Cookie => 'xsessionid=1; sessionidx=2');
    cache_is($x, 'HIT', 'cookies whose names only contain sessionid: HIT');
    cache_is(get($p, Cookie => ' sessionid=abc'), 'BYPASS',
             'a sessionid after blanks: BYPASS');
    # Django's parse_cookie and Python's http.cookies read "sessionid =abc"
    # as the session cookie: the page is rendered for that session.
    cache_is(get($p, Cookie => 'sessionid =abc'), 'BYPASS',
             '"sessionid =abc" (a blank before =), a session to the app: '
             . 'BYPASS');
    my $a3 = get($p);
    is(token($a3), token($a1), 'the anonymous entry is untouched');

    my $sp = '/app/anon/spaced?reflect=Cookie';
    like(get($sp, Cookie => 'sessionid =abc')->{body}, qr/sessionid =abc/,
         '"sessionid =abc" on an empty cache: rendered (control)');
    my $an = get($sp);
    unlike($an->{body}, qr/sessionid/,
           'an anonymous request never gets the page rendered for '
           . '"sessionid =abc"');

    my $q = '/app/anon/first';
    cache_is(get($q, Cookie => 'sessionid=abc'), 'BYPASS',
             'with sessionid on an empty cache: BYPASS');
    cache_is(get($q), 'MISS', 'the anonymous request after it is a MISS: '
                              . 'nothing was stored');
    cache_is(get($q), 'HIT', 'then a HIT');
}

# ---- SharedCacheIgnoreQuery ---------------------------------------------

{
    my $r = get('/app/iq/q?id=1&utm_source=x');
    cache_is($r, 'MISS', 'IgnoreQuery utm_* fbclid: id=1&utm_source: MISS');
    for my $q ('id=1&fbclid=y', 'id=1', 'utm_medium=m&id=1&utm_campaign=c',
               'fbclid=1&id=1&fbclid=2') {
        my $s = get("/app/iq/q?$q");
        cache_is($s, 'HIT', "IgnoreQuery: $q shares id=1's entry");
        is(token($s), token($r), "IgnoreQuery: $q: the same body");
    }
    for my $q ('id=2', 'id=1&xutm_a=1', 'id=1&fbclidx=1', 'id=1&UTM_source=x') {
        cache_is(get("/app/iq/q?$q"), 'MISS',
                 "IgnoreQuery: $q is an entry of its own");
    }
    is($ap->renders('/app/iq/q?id=1&utm_source=x'), 1,
       'the app saw the full query, ignored parameters included');

    my $all = get('/app/iqall/q?a=1');
    cache_is($all, 'MISS', 'IgnoreQuery *: MISS');
    for my $q ('/app/iqall/q?b=2', '/app/iqall/q', '/app/iqall/q?a=1&c=3') {
        my $s = get($q);
        cache_is($s, 'HIT', "IgnoreQuery *: $q shares the entry");
        is(token($s), token($all), "IgnoreQuery *: $q: the same body");
    }
    cache_is(get('/app/iqall/other?a=1'), 'MISS',
             'IgnoreQuery *: another path is still another entry');
}

# ---- SharedCacheVaryByUser with basic authentication -------------------

{
    my $p = '/app/user/p';
    my ($alice, $bob) = variants('VaryByUser', $p,
        alice => { Authorization => basic('alice', 'pw') },
        bob => { Authorization => basic('bob', 'pw2') });
    my $none = get($p);
    is($none->{status}, 401, 'VaryByUser: no credentials: 401');
    isnt($none->{cache}, 'HIT', 'never a HIT');
    my $wrong = get($p, Authorization => basic('alice', 'wrong'));
    is($wrong->{status}, 401, 'alice with a wrong password after alice\'s '
                              . 'entry was stored: 401');
    isnt($wrong->{cache}, 'HIT', 'not served from alice\'s entry');
    unlike($wrong->{body}, qr/\Q@{[token($alice)]}\E/, 'without her page');
    my $eve = get($p, Authorization => basic('eve', 'pw'));
    is($eve->{status}, 401, 'an unknown user: 401');

    my $q = '/app/authonly/p';
    for my $i (1, 2) {
        my $r = get($q, Authorization => basic('alice', 'pw'));
        is($r->{status}, 200, "without VaryByUser ($i): alice is let in");
        cache_is($r, 'BYPASS', "without VaryByUser ($i): Authorization "
                               . 'is a BYPASS');
    }
    is($ap->renders('/app/authonly/p'), 2, 'rendered each time');

    # VaryByUser where httpd authenticates nobody: Authorization alone
    # does not make a user.
    for my $i (1, 2) {
        cache_is(get('/app/nouser/p', Authorization => basic('alice', 'pw')),
                 'BYPASS', "VaryByUser, no authentication ($i): "
                           . 'Authorization is a BYPASS');
    }
    cache_is(get('/app/nouser/p'), 'MISS',
             'and nothing was stored (control: without it, a MISS)');
}

# ---- SharedCacheVary "%{ENV:role}" ---------------------------------------

{
    my $p = '/app/role/p';
    my ($admin, $none) = variants('SharedCacheVary %{ENV:role}', $p,
        admin => { 'X-Role' => 'admin' },
        none => {});
    my $user = get($p, 'X-Role' => 'user');
    cache_is($user, 'HIT', 'a role the SetEnvIf does not set: HIT');
    is(token($user), token($none), 'of the entry without a role');
    is(token(get($p, 'X-Role' => 'admin')), token($admin),
       'admin still gets the admin entry');
}

# The wrong password and the unknown user above.
$ap->stop(allow => [qr/AH01617: user alice: authentication failure/,
                    qr/AH01618: user eve not found/]);
done_testing;
