# httpd decides which <If> sections hold when it walks the sections,
# before header_parser and fixups; mod_headers' RequestHeader (not early)
# changes the request headers at fixups.  The key holds what httpd
# decided, noted at the first fixup, not a second evaluation of the
# conditions in the handler: a client that sent the header an <If> reads
# (then unset or replaced by RequestHeader) must not get its variant
# stored under everybody's key.  Found by an outside attack (round 66 F1);
# likewise a per-directory SetEnvIf (header_parser) that removes the
# variable an <If> read (round 67 F1): the note is taken at the first
# header_parser, right after httpd walked the sections.  SharedCache Off is
# the control.
use strict;
use warnings;
use Test::More;
use SCTest;

my $mc = SCTest::Memcached->start;
my $conf = <<'CONF';
Alias /s @DIR@/htdocs
<Location /s>
    SharedCache @SC@
    SharedCacheTTL 60
    # a variant chosen by a header, which is then not passed on
    <If "%{HTTP:X-Variant} == 'raw'">
        ForceType text/plain
    </If>
    RequestHeader unset X-Variant
</Location>
Alias /t @DIR@/htdocs
<Location /t>
    SharedCache @SC@
    SharedCacheTTL 60
    # the TLS-proxy recipe: the proxy in front says https, so does httpd
    <If "%{HTTP:X-Forwarded-Proto} == 'http'">
        ForceType text/plain
    </If>
    RequestHeader set X-Forwarded-Proto https
</Location>
SetEnvIf X-Beta "^1$" beta=1
Alias /b @DIR@/htdocs
<Location /b>
    SharedCache @SC@
    SharedCacheTTL 60
    <If "reqenv('beta') == '1'">
        ForceType text/plain
    </If>
    SetEnvIf Request_URI "." !beta
</Location>
CONF
for my $sc ('Off', 'On') {
    (my $c = $conf) =~ s/\@SC\@/$sc/g;
    my $ap = SCTest::Apache->start(memcached => [$mc], modules => ['headers', 'alias', 'setenvif'],
                                   conf => $c, files => { 'page.html' => "<p>hello</p>\n" });
    for my $case (['/s/page.html', 'X-Variant' => 'raw'],
                  ['/t/page.html', 'X-Forwarded-Proto' => 'http'],
                  ['/b/page.html', 'X-Beta' => '1']) {
        my ($u, @h) = @$case;
        like($ap->raw(GET => $u, @h)->{headers}{'content-type'} // '', qr{text/plain},
             "[$sc] $u: the client that asks gets its variant");
        $ap->raw(GET => $u, @h);
        like($ap->raw(GET => $u, _from => '127.0.0.5')->{headers}{'content-type'} // '',
             qr{text/html}, "[$sc] $u: another client gets the page as text/html");
        if ($sc eq 'On') {
            cache_is($ap->raw(GET => $u, _from => '127.0.0.5'), 'HIT',
                     "[$sc] $u: ... which is stored");
        }
    }
    $ap->stop;
}
done_testing;
