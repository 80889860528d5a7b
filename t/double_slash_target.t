# client_target() parses r->unparsed_uri with apr_uri_parse: a request-
# target "//app/page.html" reads as authority "app" + path "/page.html",
# while httpd (ap_parse_uri strips leading "//") serves /app/page.html.
# The level-1 key of "//app/page.html" is the key of "/page.html".  Only
# the URL-dependency check (deps hold the decoded r->uri) keeps the wrong
# body from being served: the attacker can still evict the entry, and the
# key no longer names what the application serves.
use strict;
use warnings;
use Test::More;
use SCTest;

my $mc = SCTest::Memcached->start;
my $ap = SCTest::Apache->start(memcached => [$mc],
    files => { 'page.html' => "the real page\n" }, conf => <<'CONF');
<Location />
    SharedCache On
    SharedCacheTTL 60
</Location>
CONF
$ap->raw(GET => '/page.html');
cache_is($ap->raw(GET => '/page.html'), 'HIT', 'control: /page.html is cached');
my $evil = $ap->raw(GET => '//app/page.html');
diag("attacker //app/page.html: $evil->{status} $evil->{cache} $evil->{body}");
my $v = $ap->raw(GET => '/page.html');
diag("victim /page.html: $v->{cache} $v->{body}");
is($v->{body}, "the real page\n", 'POISON if failing: the victim gets /app/page.html');
cache_is($v, 'HIT', 'EVICTION if failing: the attacker\'s request replaced the victim\'s entry');
$ap->stop;
done_testing;
