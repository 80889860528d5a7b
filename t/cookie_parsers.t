# Cookie parser differentials (THREATS 2, 37): a request carries whatever
# cookie any common parser would read from its Cookie header.  Python's
# http.cookies (SimpleCookie) splits on blanks, so "x=1 sessionid=S" is a
# session to it; Rack 2 and Tomcat's legacy parser split on commas; Django,
# Werkzeug and http.cookies strip blanks around a name ("sessionid =S").
# With SharedCacheBypassCookie sessionid each such request must BYPASS and
# nothing rendered for it may be stored; with SharedCacheVaryByCookie lang,
# "x=1 lang=de" must not share an entry with a request without lang or with
# "lang=en".
#
# Every request goes over its own connection (raw), read to the close: the
# store that follows a MISS is done before the next request is sent.
use strict;
use warnings;
use Test::More;
use SCTest;

my $mc = SCTest::Memcached->start;
my $ap = SCTest::Apache->start(memcached => [$mc], conf => <<'CONF');
<Location /app>
    SharedCache On
    SharedCacheTTL 60
</Location>
<Location /app/anon>
    SharedCacheBypassCookie sessionid
</Location>
<Location /app/lang>
    SharedCacheVaryByCookie lang
</Location>
CONF

sub get { my ($path, %h) = @_; $ap->raw(GET => $path, %h) }
sub token { $_[0]{body} =~ /token=([0-9a-f]{32})/ ? $1 : '' }

# A Cookie header as test names show it.
sub shown {
    my ($c) = @_;
    $c =~ s/\t/\\t/g;
    $c =~ s/\r\nCookie: / + Cookie: /;
    return $c;
}

# Cookie headers in which some common parser finds sessionid=S.
my @sessions = (
    'x=1 sessionid=S',           # blank-separated: http.cookies
    "x=1\tsessionid=S",          # tab-separated: http.cookies
    'x=1,sessionid=S',           # comma-separated: Rack 2, Tomcat legacy
    'sessionid =S',              # a blank before "=": Django, Werkzeug
    'x="a;b"; sessionid=S',      # a quoted value holding ";"
    # Two Cookie lines, which httpd joins into "x=1, sessionid=S" (raw
    # writes the value as is: the CRLF starts the second line).
    "x=1\r\nCookie: sessionid=S",
    'x=1; sessionid=S',          # plain RFC 6265 (control)
);

# ---- SharedCacheBypassCookie sessionid: on an empty cache ---------------

my $n = 0;
for my $c (@sessions) {
    $n++;
    my $shown = shown($c);
    my $p = "/app/anon/first$n?reflect=Cookie";
    my $s = get($p, Cookie => $c);
    like($s->{body}, qr/sessionid/, "'$shown': rendered with the cookie "
                                    . '(control)');
    cache_is($s, 'BYPASS', "'$shown': BYPASS");
    my $plain = get($p);
    cache_is($plain, 'MISS', "'$shown': a request without cookies after "
                             . 'it is a MISS (nothing was stored)');
    unlike($plain->{body}, qr/sessionid/, "'$shown': and never gets the page "
                                          . 'rendered for the session');
    isnt(token($plain), token($s), "'$shown': nor its render");
}

# ---- an anonymous entry exists: the session is not served it ------------

{
    my $p = '/app/anon/shared?reflect=Cookie';
    my $a1 = get($p, Cookie => 'x=1');
    cache_is($a1, 'MISS', 'anonymous (x=1): MISS (control)');
    my $a2 = get($p);
    cache_is($a2, 'HIT', 'anonymous: then a HIT (control)');
    for my $c (@sessions) {
        my $shown = shown($c);
        my $s = get($p, Cookie => $c);
        cache_is($s, 'BYPASS', "'$shown' with an anonymous entry stored: "
                               . 'BYPASS');
        isnt(token($s), token($a1), "'$shown': not the anonymous page");
    }
    my $a3 = get($p);
    is(token($a3), token($a1), 'the anonymous entry is untouched');
    unlike($a3->{body}, qr/sessionid/, 'and has no session in it');
}

# Cookie names are case-sensitive: "SessionID=S" need not bypass; nothing
# is asserted about it.

# ---- SharedCacheVaryByCookie lang ----------------------------------------

{
    # "x=1 lang=de" first: the page rendered for it (lang=de to
    # http.cookies) reaches neither a request without lang nor lang=en.
    my $p = '/app/lang/a?reflect=Cookie';
    my $de = get($p, Cookie => 'x=1 lang=de');
    like($de->{body}, qr/lang=de/, '"x=1 lang=de": rendered with it '
                                   . '(control)');
    my $en = get($p, Cookie => 'lang=en');
    isnt(token($en), token($de), '"lang=en" after "x=1 lang=de": not its '
                                 . 'entry');
    like($en->{body}, qr/reflected=lang=en$/m, '"lang=en": rendered for en');
    my $none = get($p);
    unlike($none->{body}, qr/lang=de/, 'no cookie after "x=1 lang=de": never '
                                       . 'its page');
    my $x = get($p, Cookie => 'x=1');
    unlike($x->{body}, qr/lang=de/, '"x=1" after "x=1 lang=de": never its '
                                    . 'page');
    my $i = 0;
    for my $c ('x=1,lang=de', "x=1\r\nCookie: lang=de") {
        my $q = '/app/lang/c' . ++$i . '?reflect=Cookie';
        like(get($q, Cookie => $c)->{body}, qr/lang=de/,
             "'@{[shown($c)]}': rendered (control)");
        unlike(get($q)->{body}, qr/lang=de/,
               "no cookie after '@{[shown($c)]}': never its page");
    }
}
{
    # The other way round: entries for lang=en and for no lang exist;
    # "x=1 lang=de" is served neither.
    my $p = '/app/lang/b?reflect=Cookie';
    my $en = get($p, Cookie => 'lang=en');
    cache_is($en, 'MISS', '"lang=en": MISS (control)');
    my $none = get($p, Cookie => 'x=1');
    cache_is($none, 'MISS', '"x=1" (no lang): MISS (control)');
    cache_is(get($p), 'HIT', 'no cookie: the entry without lang '
                             . '(control)');
    my $de = get($p, Cookie => 'x=1 lang=de');
    isnt($de->{cache}, 'HIT', '"x=1 lang=de" with those entries stored: '
                              . 'not a HIT');
    isnt(token($de), token($en), '"x=1 lang=de": not the lang=en page');
    isnt(token($de), token($none), '"x=1 lang=de": not the page without '
                                   . 'lang');
    like($de->{body}, qr/reflected=x=1 lang=de$/m,
         '"x=1 lang=de": rendered for it');
    is(token(get($p, Cookie => 'lang=en')), token($en),
       '"lang=en" still gets its own entry');
    is(token(get($p)), token($none), 'no cookie still gets the entry '
                                     . 'without lang');
}

$ap->stop;
done_testing;
