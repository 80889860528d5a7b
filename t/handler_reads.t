# httpd's own handlers that make a response from a request header without
# saying so in Vary: mod_imagemap builds its menu ("ImapMenu formatted",
# "base referer") and its default redirect from Referer.  (mod_reflector,
# which copies request headers into its answer, answers POST only.)
# Where the response is stored (SharedCacheRequireLength Off: imagemap
# sends no length), a client's Referer must not reach another client's
# menu (outside attack round 69 F1), in normal and in quick mode, however
# the handler is picked: by its name, or by the content type httpd hands
# it by (round 70 F1: httpd names the handler after the type only while
# it runs).
use strict;
use warnings;
use Test::More;
use SCTest;

my $mc = SCTest::Memcached->start;
my $map = "base referer\ndefault referer\nrect /a.html \"Link A\" 0,0 10,10\n";
my %route = (
    addhandler => ["AddHandler imap-file .map", '/m.map'],
    addtype    => ["AddType application/x-httpd-imap .map", '/m.map'],
    forcetype  => ["<Files m.map>\n    ForceType application/x-httpd-imap\n"
                   . "</Files>", '/m.map'],
    rewrite_t  => ["RewriteEngine On\n"
                   . "RewriteRule ^/m\\.txt\$ - [T=application/x-httpd-imap]",
                   '/m.txt'],
);
for my $name (sort keys %route) {
    for my $quick (0, 1) {
        my ($how, $u) = @{ $route{$name} };
        my $q = $quick ? 'SharedCacheQuickHandler On' : '';
        my $ap = SCTest::Apache->start(
            memcached => [$mc],
            modules   => ['imagemap', 'rewrite'],
            files     => { 'm.map' => $map, 'm.txt' => $map },
            conf      => <<"CONF");
ImapMenu formatted
$how
<LocationMatch "^/m\\.">
    SharedCache On
    SharedCacheTTL 60
    SharedCacheRequireLength Off
    $q
</LocationMatch>
CONF
        my $t = "$name, " . ($quick ? 'quick' : 'normal');
        my $evil = $ap->raw(GET => $u, Referer => 'http://evil.example/p/');
        like($evil->{body}, qr/evil\.example/, "$t: the menu links to its Referer");
        my $again = $ap->raw(GET => $u, Referer => 'http://evil.example/p/');
        cache_is($again, 'HIT', "$t: the same Referer's menu is a hit");
        for my $ref (undef, 'http://127.0.0.1/home') {
            my $v = $ap->raw(GET => $u, defined $ref ? (Referer => $ref) : ());
            unlike($v->{body}, qr/evil\.example/,
                   "$t: POISON if failing: Referer " . ($ref // 'none')
                   . " got another Referer's menu ($v->{cache})");
        }
        # the default redirect (a point in no region) goes to the Referer
        $ap->raw(GET => "$u?50,50", Referer => 'http://evil.example/p/') for 1 .. 2;
        my $r = $ap->raw(GET => "$u?50,50", Referer => 'http://127.0.0.1/h');
        is($r->{headers}{location} // '', 'http://127.0.0.1/h',
           "$t: POISON if failing: another Referer's redirect ($r->{cache})");
        $ap->stop;
    }
}
done_testing;
