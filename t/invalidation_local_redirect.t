# A POST that the application answers with a CGI-style local redirect (200
# and "Location: /a/local/path", which mod_wsgi, like mod_cgi, turns into an
# internal GET of that path).  The method that counts is the client's: the
# POST's URL and the redirect's target are invalidated, and the internal
# GET that answers a POST is neither looked up nor stored (an outside
# attack found both pages still HITs after the POST).
use strict;
use warnings;
use Test::More;
use SCTest;
use SCTest::Cluster qw(body_token);

my $mc = SCTest::Memcached->start;
my $ap = SCTest::Apache->start(memcached => [$mc], conf => <<'CONF');
<Location /app>
    SharedCache On
    SharedCacheTTL 300
</Location>
CONF
$ap->get($_) for '/app/lr/form', '/app/lr/done';
my $f0 = $ap->get('/app/lr/form');
my $d0 = $ap->get('/app/lr/done');
cache_is($f0, 'HIT', 'the form page is cached');
cache_is($d0, 'HIT', 'the page the POST redirects to is cached');

my $done_renders = $ap->renders('/app/lr/done');
my $p = $ap->raw(POST => '/app/lr/form?loc=/app/lr/done', _body => 'comment=hi');
is($p->{status}, 200, 'the POST is answered with the local redirect\'s page');
cache_is($p, 'BYPASS', 'and that answer is not from the cache');
is($ap->renders('/app/lr/done') - $done_renders, 1, 'the redirect\'s target was rendered for it');
like($p->{body}, qr{path=/lr/done}, 'it is the target page');

my $f1 = $ap->get('/app/lr/form');
my $d1 = $ap->get('/app/lr/done');
isnt(body_token($f1->{body}), body_token($f0->{body}), 'the POSTed URL is invalidated')
    or diag("form: $f1->{cache}");
isnt(body_token($d1->{body}), body_token($d0->{body}), 'the redirect\'s target is invalidated')
    or diag("done: $d1->{cache}");
$ap->stop;
done_testing;
