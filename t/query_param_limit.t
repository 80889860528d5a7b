# A backend that reads only the first 1000 query variables and drops the
# rest (PHP's max_input_vars, with arg_separator.input "&;"; Tomcat's
# maxParameterCount; Node's maxKeys): parameters the key ignores
# (SharedCacheIgnoreQuery) must not push the ones it keeps out of what the
# backend reads.  Past 100 parameters, counted at '&' and ';', a query is
# keyed as sent.  The backend here is a WSGI stand-in for such a PHP.
use strict;
use warnings;
use Test::More;
use SCTest;

my $APP = <<'WSGI';
import re
def application(environ, start_response):
    qs = environ.get('QUERY_STRING', '')
    parts = [p for p in re.split('[&;]', qs) if p][:1000]
    d = {}
    for p in parts:
        k, _, v = p.partition('=')
        d[k] = v
    body = ('page=%s\n' % d.get('page', '1')).encode()
    start_response('200 OK', [('Content-Type', 'text/plain'),
                              ('Content-Length', str(len(body)))])
    return [body]
WSGI

my $mc = SCTest::Memcached->start;
my $ap = SCTest::Apache->start(memcached => [$mc], files => { 'php.wsgi' => $APP },
                               conf => <<'CONF');
WSGIScriptAlias /php @DIR@/htdocs/php.wsgi process-group=scapp application-group=%{GLOBAL}
<Location /php>
    SharedCache On
    SharedCacheTTL 60
    SharedCacheIgnoreQuery utm_*
</Location>
CONF
sub get { $ap->raw(GET => $_[0]) }

# 1000 ignored parameters before page=2: the backend reads page 1.
my $a = get('/php/a?' . join('&', ('utm_') x 1000) . '&page=2');
like($a->{body}, qr/page=1/, "1000 ignored parameters: the backend reads page 1");
like(get('/php/a?page=2')->{body}, qr/page=2/, '?page=2 gets page 2');

# 999 variables in one '&' parameter (';'), then an ignored one.
my $pad = join ';', ('x=1') x 999;
like(get("/php/b?$pad&utm_source=a&page=2")->{body}, qr/page=1/,
     "';' variables and an ignored parameter: the backend reads page 1");
like(get("/php/b?$pad&page=2")->{body}, qr/page=2/, 'without it: page 2');

# A few ignored parameters still share the entry.
get('/php/c?utm_source=x&page=2');
my $c = get('/php/c?page=2');
cache_is($c, 'HIT', 'utm_source=x&page=2 and page=2 share an entry');
like($c->{body}, qr/page=2/, '... of page 2');
$ap->stop;
done_testing;
