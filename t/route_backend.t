# The key's "route" is r->uri + r->args only.  mod_rewrite may route by an
# unkeyed request header or cookie without changing r->uri: a substitution
# that is a file-system path (server context, no [PT]) changes only
# r->filename; [P] changes only the handler/backend.  Whoever sends the header
# first decides the page everybody gets.
use strict; use warnings;
use Test::More; use SCTest; use IO::Socket::INET;

my $mc = SCTest::Memcached->start;
my $ap = SCTest::Apache->start(memcached => [$mc], modules => ['rewrite', 'proxy', 'proxy_http'],
    conf => <<'CONF');
<Location />
    SharedCache On
    SharedCacheTTL 60
</Location>
RewriteEngine On
RewriteCond %{HTTP:X-Beta} =1
RewriteRule ^/pub/page\.html$ @DIR@/htdocs/pub/beta.html [L]
RewriteCond %{HTTP_COOKIE} (^|;\s*)ab=b
RewriteRule ^/pub/ab\.html$ @DIR@/htdocs/pub/b.html [L]
RewriteCond %{HTTP:X-Beta} =1
RewriteRule ^/px/(.*)$ http://127.0.0.1:@PORT@/app/beta/$1 [P]
RewriteRule ^/px/(.*)$ http://127.0.0.1:@PORT@/app/stable/$1 [P]
CONF
mkdir $ap->dir . '/htdocs/pub';
for (['page.html', 'STABLE'], ['beta.html', 'EVIL-BETA'], ['ab.html', 'VARIANT-A'], ['b.html', 'VARIANT-B']) {
    open my $f, '>', $ap->dir . "/htdocs/pub/$_->[0]" or die; print $f "$_->[1]\n"; close $f;
}
sub from {
    my ($target, %h) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $ap->port, Timeout => 30) or die $!;
    print $s "GET $target HTTP/1.1\r\nHost: 127.0.0.1:" . $ap->port . "\r\n"
        . join('', map { "$_: $h{$_}\r\n" } sort keys %h) . "Connection: close\r\n\r\n";
    local $/; my $resp = <$s> // '';
    return SCTest::HTTP::parse_response($resp);
}
my $a = from('/pub/page.html', 'X-Beta' => 1);
diag("attacker: $a->{cache} $a->{body}");
my $v = from('/pub/page.html');
like($v->{body}, qr/STABLE/, "victim without X-Beta gets the stable page ($v->{cache}: $v->{body})");
$a = from('/pub/ab.html', Cookie => 'ab=b');
$v = from('/pub/ab.html');
like($v->{body}, qr/VARIANT-A/, "visitor without the A/B cookie gets A ($a->{cache}/$v->{cache}: $v->{body})");
$a = from('/px/x', 'X-Beta' => 1);
$v = from('/px/x');
like($v->{body}, qr/stable/, "proxy route by header ($a->{cache}/$v->{cache}: $v->{body})");
$ap->stop;
done_testing;
