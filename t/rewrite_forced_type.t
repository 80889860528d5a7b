# mod_rewrite's [T=] and [H=] choose a type or handler by the rule's
# conditions, also with "-" as the substitution (nothing else changes):
# the client's address, or a header condition with [NV] (which adds no
# Vary).  The key holds what they chose, in server and directory context.
use strict;
use warnings;
use Test::More;
use SCTest;

my $mc = SCTest::Memcached->start;
my $ap = SCTest::Apache->start(memcached => [$mc], modules => ['rewrite'],
    files => { 'page.html' => "<p>hello</p>\n",
               'note.txt' => "<script>alert(1)</script>\n",
               'dir.txt' => "<script>alert(2)</script>\n" },
    conf => <<'CONF');
<Location />
    SharedCache On
    SharedCacheTTL 60
</Location>
RewriteEngine On
RewriteCond %{REMOTE_ADDR} =127.0.0.5
RewriteRule ^/page\.html$ - [T=text/plain]
RewriteCond %{HTTP:X-Preview} =1 [NV]
RewriteRule ^/note\.txt$ - [T=text/html]
<Directory @DIR@/htdocs>
    RewriteEngine On
    RewriteCond %{HTTP:X-Preview} =1 [NV]
    RewriteRule ^dir\.txt$ - [T=text/html]
</Directory>
CONF

sub type_of { my $v = $_[0]{headers}{'content-type'}; ref $v ? $v->[0] : $v }

my $a = $ap->raw(GET => '/page.html', _from => '127.0.0.5');
like(type_of($a), qr{text/plain}, 'the rule gives 127.0.0.5 text/plain');
my $b = $ap->raw(GET => '/page.html', _from => '127.0.0.1');
like(type_of($b), qr{text/html}, 'another client gets text/html, not the entry of 127.0.0.5');
cache_is($ap->raw(GET => '/page.html', _from => '127.0.0.1'), 'HIT',
         'each has an entry of its own');

for my $path ('/note.txt', '/dir.txt') {
    my $x = $ap->raw(GET => $path, 'X-Preview' => 1);
    like(type_of($x), qr{text/html}, "$path: [T=] by an [NV] header condition applies");
    my $v = $ap->raw(GET => $path);
    like(type_of($v), qr{text/plain},
         "$path: a client without the header gets text/plain (not a text file as HTML)");
}
$ap->stop;
done_testing;
