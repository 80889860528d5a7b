# Query-string parser differentials (THREATS 11, 37): the key sorts the
# query's parameters by name and drops SharedCacheIgnoreQuery ones; two
# queries may share an entry only if every common parser reads the same
# parameters from both.  Otherwise an attacker caches the page for his
# spelling under the key of everyone else's.
#
# Every request goes over its own connection (raw), read to the close: the
# store that follows a MISS is done before the next request is sent.
use strict;
use warnings;
use Test::More;
use SCTest;

# An application that says what each common parser reads from the query:
#   amp   Python's parse_qs (3.9.2+), Django 3.2+: '&' only, %XX decoded
#         as UTF-8 with replacement, the last value of a name wins;
#   semi  the same split on ';' too: Perl's CGI.pm, Python before 3.9.2,
#         Django before 3.2, Rack before 3;
#   php   PHP's $_GET: '.', ' ' and '[' in a name read as '_'.
my $PARAMS = <<'WSGI';
import uuid
from urllib.parse import parse_qsl, quote

def show(pairs, name=lambda n: n):
    d = {}
    for k, v in pairs:
        d[name(k)] = v
    return '&'.join('%s=%s' % (quote(k), quote(v)) for k, v in sorted(d.items()))

def php(n):
    return n.replace('.', '_').replace(' ', '_').replace('[', '_')

def application(environ, start_response):
    qs = environ.get('QUERY_STRING', '')
    body = ('amp=%s\nsemi=%s\nphp=%s\ntoken=%s\n' % (
        show(parse_qsl(qs, keep_blank_values=True)),
        show(parse_qsl(qs.replace(';', '&'), keep_blank_values=True)),
        show(parse_qsl(qs, keep_blank_values=True), php),
        uuid.uuid4().hex)).encode()
    start_response('200 OK', [('Content-Type', 'text/plain'),
                              ('Content-Length', str(len(body)))])
    return [body]
WSGI

my $mc = SCTest::Memcached->start;
my $ap = SCTest::Apache->start(
    memcached => [$mc], files => { 'params.wsgi' => $PARAMS },
    conf => <<'CONF');
WSGIScriptAlias /params @DIR@/htdocs/params.wsgi process-group=scapp application-group=%{GLOBAL}
<LocationMatch "^/(app|params)">
    SharedCache On
    SharedCacheTTL 60
</LocationMatch>
<LocationMatch "^/(app|params)/iq">
    SharedCacheIgnoreQuery utm_*
</LocationMatch>
CONF

sub get { $ap->raw(GET => $_[0]) }
sub field { $_[0]{body} =~ /^$_[1]=(.*)$/m ? $1 : '' }
sub token { $_[0]{body} =~ /token=([0-9a-f]{32})/ ? $1 : '' }

# ---- (a) a ';' hidden in an ignored parameter ----------------------------
# "utm_source=x;evil=1" is utm_source to the key's '&' split, but evil=1
# to a ';'-splitting application: it is not ignorable.
{
    my $a1 = get('/app/iq/q?utm_source=x;evil=1');
    cache_is($a1, 'MISS', 'utm_source=x;evil=1: MISS');
    my $b1 = get('/app/iq/q?utm_source=y');
    cache_is($b1, 'MISS', 'utm_source=y after utm_source=x;evil=1: a MISS '
                          . '(evil=1 is in the first key only)');
    isnt(token($b1), token($a1), 'utm_source=y: a render of its own');
    my $c1 = get('/app/iq/q?utm_source=z');
    cache_is($c1, 'HIT', 'utm_source=z: HIT of utm_source=y '
                         . '(control: utm_* is ignored)');
    is(token($c1), token($b1), 'utm_source=z: of that entry');

    my $y = get('/app/iq/q2?utm_source=y');
    cache_is($y, 'MISS', 'other order: utm_source=y: MISS');
    my $x = get('/app/iq/q2?utm_source=x;evil=1');
    cache_is($x, 'MISS', 'utm_source=x;evil=1 after it: a MISS');
    isnt(token($x), token($y), 'with a render of its own');

    my $s = get('/params/iq/a?utm_source=x;view=evil');
    is(field($s, 'semi'), 'utm_source=x&view=evil',
       'a ;-splitting parser reads view=evil from it (control)');
    my $t = get('/params/iq/a?utm_source=y');
    cache_is($t, 'MISS', 'utm_source=y after utm_source=x;view=evil: MISS');
    is(field($t, 'semi'), 'utm_source=y', 'and no parser reads view from it');
}

# ---- (b) names that decode alike: the order of their values ------------
# parse_qs keeps the last value of "status"; %73tatus is "status" too.
{
    my $a = get('/app/q?%73tatus=404&status=200');
    is($a->{status}, 200, '%73tatus=404&status=200: the app answers 200');
    cache_is($a, 'MISS', '%73tatus=404&status=200: MISS');
    my $b = get('/app/q?status=200&%73tatus=404');
    cache_is($b, 'MISS', 'status=200&%73tatus=404 after it: a MISS '
                         . '(the app reads status=404)');
    is($b->{status}, 404, 'status=200&%73tatus=404: the app\'s own 404');
    isnt(token($b), token($a), 'status=200&%73tatus=404: a render of its own');
    my $c = get('/app/q?status=200&%73tatus=404');
    cache_is($c, 'HIT', 'status=200&%73tatus=404 again: HIT');
    is($c->{status}, 404, 'with its own status');
    is(get('/app/q?%73tatus=404&status=200')->{status}, 200,
       '%73tatus=404&status=200 again: still 200');
}

# ---- (c)-(e) reordering across names one parser reads as one -----------
# [what, first query, second query, parser, what it reads from each]
my @pairs = (
    ['(c) ";" hides a parameter from the sort', 'a=1;view=evil&view=good',
     'view=good&a=1;view=evil', 'semi', 'a=1&view=good', 'a=1&view=evil'],
    ['(d) PHP reads page.id as page_id', 'page_id=7&page.id=1',
     'page.id=1&page_id=7', 'php', 'page_id=1', 'page_id=7'],
    ['(e) invalid UTF-8 names decode alike', '%FFx=1&%FEx=2',
     '%FEx=2&%FFx=1', 'amp', '%EF%BF%BDx=2', '%EF%BF%BDx=1'],
);
my $n = 0;
for my $p (@pairs) {
    my ($what, $qa, $qb, $parser, $ra, $rb) = @$p;
    $n++;
    my $a = get("/params/r$n?$qa");
    cache_is($a, 'MISS', "$what: ?$qa: MISS");
    is(field($a, $parser), $ra, "$what: ?$qa: $parser reads $ra (control)");
    cache_is(get("/params/r$n?$qa"), 'HIT', "$what: ?$qa: then a HIT");
    my $b = get("/params/r$n?$qb");
    cache_is($b, 'MISS', "$what: ?$qb after ?$qa: a MISS");
    is(field($b, $parser), $rb, "$what: ?$qb: the page for $rb");
    isnt(token($b), token($a), "$what: ?$qb: a render of its own");
}

# ---- (e) more parameters than a backend reads -------------------------
# PHP reads the first max_input_vars (1000) pairs and drops the rest
# (Tomcat and Node likewise): 1000 ignored parameters before page=2
# would render page 1 under the key of ?page=2.  Past 100 parameters a
# query is keyed as sent.
{
    my $long = '/app/iq/list?' . join('&', ('utm_') x 1000) . '&page=2';
    cache_is(get($long), 'MISS', '1000 ignored parameters and page=2: a MISS');
    cache_is(get('/app/iq/list?page=2'), 'MISS',
             '?page=2 after it: a MISS, not its entry');
    my $few = '/app/iq/few?' . join('&', ('utm_x=1') x 99) . '&page=2';
    get($few);
    cache_is(get('/app/iq/few?page=2'), 'HIT',
             '99 ignored parameters and page=2: ?page=2 shares its entry');
}

# ---- controls: spellings every parser reads alike may share -----------
{
    my $a = get('/params/same?b=2&a=1');
    my $b = get('/params/same?a=1&b=2');
    cache_is($b, 'HIT', 'a=1&b=2 after b=2&a=1: a HIT (sorted key)');
    is(token($b), token($a), 'of the same entry');
}

$ap->stop;
done_testing;
