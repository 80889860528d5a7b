# httpd's own handlers that make a response from a request header without
# saying so in Vary: mod_imagemap builds its menu ("ImapMenu formatted",
# "base referer") and its default redirect from Referer.  (mod_reflector,
# which copies request headers into its answer, answers POST only.)
# Where the response is stored (SharedCacheRequireLength Off: imagemap sends no
# length), a client's Referer must not reach another client's menu
# (outside attack round 69 F1), in normal and in quick mode.
use strict;
use warnings;
use Test::More;
use SCTest;

my $mc = SCTest::Memcached->start;
for my $quick (0, 1) {
    my $q = $quick ? 'SharedCacheQuickHandler On' : '';
    my $ap = SCTest::Apache->start(
        memcached => [$mc],
        modules   => ['imagemap'],
        files     => {
            'm.map' => "base referer\ndefault referer\n"
                . "rect /a.html \"Link A\" 0,0 10,10\n",
        },
        conf => <<"CONF");
AddHandler imap-file .map
ImapMenu formatted
<Location /m.map>
    SharedCache On
    SharedCacheTTL 60
    SharedCacheRequireLength Off
    $q
</Location>
CONF
    my $mode = $quick ? 'quick' : 'normal';
    my $evil = $ap->raw(GET => '/m.map', Referer => 'http://evil.example/p/');
    like($evil->{body}, qr/evil\.example/, "$mode: the menu links to its Referer");
    my $again = $ap->raw(GET => '/m.map', Referer => 'http://evil.example/p/');
    cache_is($again, 'HIT', "$mode: the same Referer's menu is a hit");
    for my $ref (undef, 'http://127.0.0.1/home') {
        my $v = $ap->raw(GET => '/m.map', defined $ref ? (Referer => $ref) : ());
        unlike($v->{body}, qr/evil\.example/,
               "$mode: POISON if failing: Referer " . ($ref // 'none')
               . " got another Referer's menu ($v->{cache})");
    }
    # the default redirect (a point in no region) goes to the Referer
    $ap->raw(GET => '/m.map?50,50', Referer => 'http://evil.example/p/');
    my $r = $ap->raw(GET => '/m.map?50,50', Referer => 'http://127.0.0.1/h');
    unlike($r->{headers}{location} // '', qr/evil/,
           "$mode: POISON if failing: another Referer's redirect ($r->{cache})");
    $ap->stop;
}
done_testing;
