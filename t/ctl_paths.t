# sharedcachectl names a URL by the path httpd makes of it (r->uri: dot
# segments resolved, slashes merged, unreserved %XX decoded, then every
# %XX), as the module and the Python package do: the URL's counter, and
# the server that holds the URL's keys, follow from it.
use strict;
use warnings;
use Test::More;
use SCTest;

my $mc = SCTest::Memcached->start;
for my $path ('/a//b/./c/%2e%2e/caf%C3%A9%20x', '/y/%2e%2e/page5', '/',
              '/a/.', '/a/b/..', '/..', '//x//', '/a/../../b', '/%7euser/x') {
    my $url = "http://example.com$path";
    my $ctl = `$SCTest::ROOT/tools/sharedcachectl --servers '${\ $mc->addr }' purge '$url' 2>&1`;
    my ($dep) = $ctl =~ /^not found (u:\S+(?: \S+)*) \(/m;
    my $py = `/usr/bin/python3 -c "import sys; sys.path.insert(0, '$SCTest::ROOT/python'); from sharedcache import keys; sys.stdout.buffer.write(keys.url_dep('$url'))"`;
    is($dep, $py, "$path: the same URL as the Python package ($py)");
}
done_testing;
