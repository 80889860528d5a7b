# Header fields set before the handler runs (mod_headers' "early", the
# fields mod_negotiation sets for MultiViews, any module's hook before the
# handler) are made again, for its own request, by whatever set them: an
# entry never keeps them.  Before, an early Header with a per-client value
# (expr=%{REMOTE_ADDR}) was stored and every hit, quick or normal, gave
# the storing client's value to the others ("always": both, one after the
# other); a MultiViews page's hit carried its Content-Location twice
# (found by the outside attack, round 96).  A proxied response, whose
# handler replaces the fields set before it, is served without them, as
# its MISS was.  Quick mode serves only entries whose fields set before
# the handler were all there when the quick phase ran (it runs before
# access control and fixups, which may set more).
use strict;
use warnings;
use Test::More;
use SCTest;

sub one {
    my ($r, $name) = @_;
    my $v = $r->{headers}{lc $name};
    return ref $v ? join(' | ', @$v) : $v;
}

# the members of a field, however many fields carry them, sorted
sub members {
    my ($r, $name) = @_;
    return join ' + ', sort map { split /, / } split / \| /, one($r, $name) // '';
}

my $mc = SCTest::Memcached->start;
for my $quick ('On', 'Off') {
    my $port = SCTest::free_port();
    my $ap = SCTest::Apache->start(memcached => [$mc], port => $port,
        modules => [qw(proxy proxy_http)], wsgi_processes => 2,
        conf => <<"CONF");
LogLevel warn sharedcache:trace1
Header set X-Client "expr=%{REMOTE_ADDR}" early
Header always set X-Always "expr=%{REMOTE_ADDR}" early
Header set X-Frame-Options SAMEORIGIN early
SharedCacheNamespace early$quick
ProxyPass /px http://127.0.0.1:$port/app/px
<Location /app>
    SharedCache On
    SharedCacheTTL 60
    SharedCacheQuickHandler $quick
</Location>
<Location /app/stale>
    SharedCacheTTL 1
    SharedCacheStaleOnError 60
    SharedCacheQuickHandler Off
</Location>
<Location /px>
    SharedCache On
    SharedCacheTTL 60
    SharedCacheQuickHandler $quick
</Location>
<Location /app/rv>
    SharedCacheKeep 60
</Location>
<Location /px/rv>
    SharedCacheKeep 60
</Location>
CONF
    my $quick_hits = sub {
        my ($path) = @_;
        return scalar grep { /hit for \Q$path\E served by the quick handler/ }
            split /\n/, $ap->error_log;
    };

    # each client gets its own early fields, once, on every hit
    my $u = '/app/page?cc=max-age%3D60';
    for my $from (qw(127.0.0.5 127.0.0.5 127.0.0.6 127.0.0.7)) {
        my $r = $ap->raw(GET => $u, _from => $from);
        is($r->{status}, 200, "quick $quick: $from answered");
        is(one($r, 'X-Client'), $from, "quick $quick: $from gets its own early field ($r->{cache})");
        is(one($r, 'X-Always'), $from, "quick $quick: $from gets its own 'always' early field, once");
        is(one($r, 'X-Frame-Options'), 'SAMEORIGIN', "quick $quick: $from: an early constant once");
    }
    cache_is($ap->raw(GET => $u, _from => '127.0.0.8'), 'HIT', "quick $quick: still shared");
    is($quick_hits->('/app/page'), $quick eq 'On' ? 4 : 0,
       "quick $quick: the quick handler serves it as before");

    # a proxied response: its handler replaced the fields set before it
    my $p = '/px/page?cc=max-age%3D60';
    my $miss = $ap->raw(GET => $p, _from => '127.0.0.5');
    cache_is($miss, 'MISS', "quick $quick: proxied MISS");
    # (the backend, this server, sets its own: its client is 127.0.0.1;
    # its X-Frame-Options is the same as the front's early one)
    for my $from (qw(127.0.0.6 127.0.0.7)) {
        my $r = $ap->raw(GET => $p, _from => $from);
        cache_is($r, 'HIT', "quick $quick: proxied HIT for $from");
        is(one($r, 'X-Client'), one($miss, 'X-Client'),
           "quick $quick: the proxied hit has the backend's X-Client, as its MISS had");
        (my $always = one($miss, 'X-Always')) =~ s/127\.0\.0\.5/$from/;
        is(one($r, 'X-Always'), $always,
           "quick $quick: its own 'always' field and the backend's, never the storer's");
        is(one($r, 'X-Frame-Options'), one($miss, 'X-Frame-Options'),
           "quick $quick: the backend's X-Frame-Options, as the MISS had");
    }

    # a revalidation (the application answers 304) stores none of the
    # revalidating client's fields; direct and proxied
    for my $base ('/app/rv', '/px/rv') {
        my $v = "$base/page?cc=max-age%3D1&etag=%22v1%22&cond=1";
        my $first = $ap->raw(GET => $v, _from => '127.0.0.5');
        sleep 1.5;
        my $rv = $ap->raw(GET => $v, _from => '127.0.0.6');
        like($rv->{headers}{'cache-status'} // '', qr/fwd=stale; fwd-status=200; stored/,
             "quick $quick: $base: revalidated");
        for my $from (qw(127.0.0.7 127.0.0.8)) {
            my $r = $ap->raw(GET => $v, _from => $from);
            cache_is($r, 'HIT', "quick $quick: $base: then a HIT for $from");
            (my $always = one($first, 'X-Always')) =~ s/127\.0\.0\.5/$from/;
            is(one($r, 'X-Always'), $always,
               "quick $quick: $base: $from gets its own 'always' field, not the revalidator's");
            (my $client = one($first, 'X-Client')) =~ s/127\.0\.0\.5/$from/;
            is(one($r, 'X-Client'), $client, "quick $quick: $base: and X-Client as the MISS had it");
        }
    }

    # a stale copy served for an error carries this client's fields
    my $s = '/app/stale/page?failable=1';
    $ap->raw(GET => $s, _from => '127.0.0.5');
    sleep 1.5;
    my $fail = $ap->dir . '/app/fail';
    open my $fh, '>', $fail or die $!;
    close $fh;
    my $st = $ap->raw(GET => $s, _from => '127.0.0.6');
    unlink $fail;
    cache_is($st, 'STALE', "quick $quick: the stale copy replaces the 503");
    is(one($st, 'X-Client'), '127.0.0.6', "quick $quick: stale: the client's own early field");
    is(one($st, 'X-Always'), '127.0.0.6', "quick $quick: stale: its own 'always' field, once");
    $ap->stop(allow => [qr/SC0309/]);
}

# mod_cgi (and mod_proxy_fcgi) merge a script's field into one of the
# same name set before: "127.0.0.5, app" keeps "app" only.  A 304 that
# answers a revalidation replaces no stored field by one set before the
# handler (the application's Content-Security-Policy stays).
my $cgimod = SCTest::mpm() eq 'prefork' ? 'cgi' : 'cgid';
my $merge_cgi = <<'CGI';
#!/bin/sh
printf 'Content-Type: text/plain\r\nCache-Control: max-age=60\r\nX-Client: app\r\nX-Always: app\r\nContent-Length: 5\r\n\r\nBODY\n'
CGI
my $reval_cgi = <<'CGI';
#!/bin/sh
if [ "$HTTP_IF_NONE_MATCH" = '"v1"' ]; then
  printf 'Status: 304 Not Modified\r\nETag: "v1"\r\nCache-Control: max-age=1\r\n\r\n'
  exit 0
fi
printf 'Content-Type: text/html\r\nETag: "v1"\r\nCache-Control: max-age=1\r\nContent-Security-Policy: script-src '"'self'"'\r\nContent-Length: 5\r\n\r\nBODY\n'
CGI
for my $quick ('On', 'Off') {
    my $ap = SCTest::Apache->start(memcached => [$mc], modules => [$cgimod],
        files => { 'c/m.cgi' => $merge_cgi, 'c/r.cgi' => $reval_cgi },
        conf => <<"CONF");
SetEnvIf Request_URI . ap_trust_cgilike_cl=1
Header set X-Client "expr=%{REMOTE_ADDR}" early
Header always set X-Always "expr=%{REMOTE_ADDR}" early
Header set Content-Security-Policy "frame-ancestors 'self'" early
SharedCacheNamespace cgi$quick
<Directory \@DIR\@/htdocs/c>
    Options +ExecCGI
    AddHandler cgi-script .cgi
</Directory>
<Location /c>
    SharedCache On
    SharedCacheTTL 60
    SharedCacheKeep 60
    SharedCacheQuickHandler $quick
</Location>
CONF
    chmod 0755, map { $ap->dir . "/htdocs/c/$_" } qw(m.cgi r.cgi);
    for my $from (qw(127.0.0.5 127.0.0.6 127.0.0.7)) {
        my $r = $ap->raw(GET => '/c/m.cgi', _from => $from);
        is(members($r, 'X-Always'), "$from + app",
           "CGI quick $quick: $from: its own 'always' field and the script's ($r->{cache})");
        is(members($r, 'X-Client'), "$from + app",
           "CGI quick $quick: $from: its own early field and the script's");
    }
    for my $step (1 .. 5) {
        my $from = '127.0.0.' . (4 + $step);
        my $r = $ap->raw(GET => '/c/r.cgi', _from => $from);
        is(one($r, 'X-Always'), $from, "CGI quick $quick: request $step: its own 'always' field only");
        is(members($r, 'Content-Security-Policy'), "frame-ancestors 'self' + script-src 'self'",
           "CGI quick $quick: request $step ($r->{cache}; " . ($r->{headers}{"cache-status"} // "") . "): the early and the application's policy, once each");
        sleep 2 if $step == 2;
    }
    $ap->stop;
}

# A handler that merges its value into an early field in place (here a
# mod_lua handler; "127.0.0.5, app" in r->headers_out): the early part
# is taken off, the table is not taken for replaced.  (Quick mode refuses
# to start next to mod_lua, which checks access by its own rules.)
my $lua = <<'LUA';
function handle(r)
    r.content_type = "text/plain"
    r.headers_out['Cache-Control'] = "max-age=60"
    r.headers_out['Content-Length'] = "4"
    r.headers_out['X-Client'] = (r.headers_out['X-Client'] or "") .. ", app"
    r:puts("LUA\n")
    return apache2.OK
end
LUA
for my $quick ('Off') {
    my $ap = SCTest::Apache->start(memcached => [$mc], modules => ['lua'],
        files => { 'l/x.lua' => $lua }, conf => <<"CONF");
Header set X-Client "expr=%{REMOTE_ADDR}" early
SharedCacheNamespace lua$quick
<Directory \@DIR\@/htdocs/l>
    SetHandler lua-script
</Directory>
<Location /l>
    SharedCache On
    SharedCacheTTL 60
    SharedCacheQuickHandler $quick
</Location>
CONF
    for my $from (qw(127.0.0.5 127.0.0.6 127.0.0.7)) {
        my $r = $ap->raw(GET => '/l/x.lua', _from => $from);
        is(members($r, 'X-Client'), "$from + app",
           "Lua handler quick $quick: $from: its own early value and the handler's ($r->{cache} " . ($r->{headers}{"cache-status"} // "") . ")");
    }
    cache_is($ap->raw(GET => '/l/x.lua'), 'HIT', "Lua handler quick $quick: stored");
    $ap->stop;
}

# MultiViews: mod_negotiation sets Vary, TCN and Content-Location in the
# type checker, after the quick phase and before the handler.
for my $quick ('On', 'Off') {
    my $ap = SCTest::Apache->start(memcached => [$mc],
        modules => ['negotiation'],
        files => { 'doc.html.en' => "ENGLISH\n", 'doc.html.fr' => "FRANCAIS\n" },
        conf => <<"CONF");
LogLevel warn sharedcache:trace1
AddLanguage en .en
AddLanguage fr .fr
SharedCacheNamespace neg$quick
<Directory \@DIR\@/htdocs>
    Options +MultiViews
    Require all granted
</Directory>
<Location />
    SharedCache On
    SharedCacheTTL 60
    SharedCacheQuickHandler $quick
</Location>
CONF
    for my $lang (qw(en fr)) {
        my $want = $lang eq 'en' ? 'ENGLISH' : 'FRANCAIS';
        for my $n (1 .. 3) {
            my $r = $ap->raw(GET => '/doc', 'Accept-Language' => $lang);
            like($r->{body}, qr/$want/, "MultiViews quick $quick: $lang gets its variant ($r->{cache})");
            is(one($r, 'Content-Location'), "doc.html.$lang",
               "MultiViews quick $quick: $lang: Content-Location once ($r->{cache})");
            like(one($r, 'Vary') // '', qr/accept-language/i,
                 "MultiViews quick $quick: $lang: Vary names Accept-Language");
            unlike(one($r, 'Vary') // '', qr/accept-language.*accept-language/i,
                   "MultiViews quick $quick: $lang: Vary says it once");
            cache_is($r, 'HIT', "MultiViews quick $quick: $lang: then HITs") if $n > 1;
        }
    }
    $ap->stop;
}

# mod_cern_meta adds the fields of a file's .meta file in a fixups hook
# (after the quick phase): every hit gets them once, made anew; a quick
# hit could not, so none serves it.
for my $quick ('On', 'Off') {
    my $ap = SCTest::Apache->start(memcached => [$mc], modules => ['cern_meta'],
        files => { 'm/page.html' => "PAGE\n", 'm/.web/page.html.meta' => "X-Meta: one\n" },
        conf => <<"CONF");
LogLevel warn sharedcache:trace1
SharedCacheNamespace meta$quick
<Directory \@DIR\@/htdocs/m>
    MetaFiles on
</Directory>
<Location /m>
    SharedCache On
    SharedCacheTTL 60
    SharedCacheQuickHandler $quick
</Location>
CONF
    for my $n (1 .. 3) {
        my $r = $ap->raw(GET => '/m/page.html', _from => '127.0.0.' . (4 + $n));
        like($r->{body}, qr/PAGE/, "MetaFiles quick $quick: the page ($r->{cache})");
        is(one($r, 'X-Meta'), 'one', "MetaFiles quick $quick: its .meta field once ($r->{cache})");
        cache_is($r, 'HIT', "MetaFiles quick $quick: then HITs") if $n > 1;
    }
    $ap->stop;
}
done_testing;
