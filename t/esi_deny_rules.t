# An ESI include whose location refuses some clients makes the assembled
# page private to the client it was made for, also where an anonymous
# client passes those rules: a deny rule (Require not ip), a rule inside
# an <If> section.  The page is assembled for each client, but a shared
# cache downstream (a CDN, a proxy) would store a public page made for an
# allowed client and hand the fragment to a refused one.  The same rule
# as a fragment's or a lookup's (rules_pass_anyone, src/sc_fragment.c).
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
<Location /app/esi>
    SharedCacheESI On
</Location>
<Location /app/denied>
    <RequireAll>
        Require all granted
        Require not ip 127.0.0.5
    </RequireAll>
</Location>
<Location /app/iffy>
    <If "-R '127.0.0.5'">
        Require all denied
    </If>
</Location>
<Location /app/open>
    Require all granted
</Location>
CONF
my $cc = '&cc=' . 'max-age%3D600';
my $n = 0;
for my $frag ('/app/denied/one', '/app/iffy/one') {
    my $page = esi_page('/app/esi/p' . $n++, 'P[' . esi_inc("$frag?cc=max-age%3D300") . ']', $cc);
    my $r = $ap->raw(GET => $page, _from => '127.0.0.1');
    (my $path = $frag) =~ s{^/app}{};
    like($r->{body}, qr{path=\Q$path\E}, "$frag: an allowed client gets the fragment");
    like($r->{headers}{'cache-control'} // '', qr/private/,
         "$frag: the page is private to it, as the rules refuse some clients");
    my $x = $ap->raw(GET => $page, _from => '127.0.0.5');
    unlike($x->{body}, qr{path=\Q$path\E}, "$frag: the refused client never gets it");
}
$ap->stop(allow => [qr/AH01630|AH01797|SC0509/]);

# Where no rule of the server denies some clients, a fragment with rules
# of its own that an anonymous client passes keeps the page public; in
# the server above, with its deny rules, any such fragment makes it
# private (the same rule as for an SSI fragment: README).
$ap = SCTest::Apache->start(memcached => [$mc], conf => <<'CONF');
<Location /app>
    SharedCache On
    SharedCacheTTL 60
</Location>
<Location /app/esi>
    SharedCacheESI On
</Location>
<Location /app/open>
    Require all granted
</Location>
CONF
my $page = esi_page('/app/esi/open', 'P[' . esi_inc('/app/open/one?cc=max-age%3D300') . ']', $cc);
my $r = $ap->raw(GET => $page);
like($r->{body}, qr{path=/open/one}, 'an open fragment joins the page');
unlike($r->{headers}{'cache-control'} // '', qr/private/, 'and the page stays public');
$ap->stop;
done_testing;
