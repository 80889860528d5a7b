# An ESI page for a browser (Accept-Encoding: gzip) with Debian's
# deflate.conf: the page goes out as one gzip member made of deflate
# pieces (sc_codec.h), the shell's and the fragments' as they were stored
# and those of includes made by a subrequest compressed for this page;
# mod_deflate never compresses it (again).  Whatever a client accepts, the
# page decodes to the same bytes an identity client gets, with its own
# user's fragment.
use strict;
use warnings;
use IO::Uncompress::Gunzip qw(gunzip $GunzipError);
use JSON::PP qw(decode_json);
use Test::More;
use SCTest;

my $mc = SCTest::Memcached->start;
my $ap = SCTest::Apache->start(memcached => [$mc],
                               modules => ['filter', 'deflate'],
                               conf => <<'CONF');
LogLevel warn sharedcache:info
AddOutputFilterByType DEFLATE text/html text/plain text/xml text/css text/javascript
AddOutputFilterByType DEFLATE application/x-javascript application/javascript application/ecmascript
AddOutputFilterByType DEFLATE application/rss+xml
AddOutputFilterByType DEFLATE application/wasm
AddOutputFilterByType DEFLATE application/xml
BrowserMatch ^OldBrowser no-gzip
<Location /app>
    SharedCache On
    SharedCacheTTL 60
    SharedCacheESI On
</Location>
<Location /app/quick>
    SharedCacheQuickHandler On
</Location>
<Location /app/user>
    SharedCacheVaryByCookie sessionid
</Location>
<Location /app/off>
    SharedCacheCompress Off
</Location>
<Location /sc-status>
    SetHandler sharedcache-status
</Location>
CONF

my @GZ = ('Accept-Encoding' => 'gzip, deflate');
my $fill = join '', map { "<p>paragraph $_ of the shell</p>\n" } 1 .. 60;
my $text = "<html><body><h1>shell</h1>\n$fill"
         . esi_inc('/app/quick/a?size=3000') . "\n<hr>\n"
         . esi_inc('/app/sub/b?size=2000') . "\n<div class=user>"
         . esi_inc('/app/user/u?reflect=Cookie') . "</div>\n$fill</body></html>\n";
my $page = esi_page('/app/page/g', $text);
# literal runs of the shell: before a, between a and b, b and u, after u
my $runs = 4;

sub h { my ($r, $n) = @_; return $r->{headers}{lc $n} // '' }

sub plain {
    my ($r) = @_;
    return $r->{body} unless h($r, 'content-encoding') eq 'gzip';
    my $out;
    gunzip(\$r->{body} => \$out) or return "gunzip failed: $GunzipError";
    return $out;
}

sub counters {
    my $s = decode_json($ap->get('/sc-status?json')->{body});
    return ($s->{esi_gzip_stored} // -1, $s->{esi_gzip_compressed} // -1);
}

my %who = (anna => 'sessionid=anna', bob => 'sessionid=bob', anon => undef);
my %identity;
for my $round (1 .. 3) {
    for my $who (sort keys %who) {
        my @cookie = $who{$who} ? (Cookie => $who{$who}) : ();
        my $id = $ap->get($page, @cookie);
        is(h($id, 'content-encoding'), '', "$who, visit $round: identity client, no coding");
        $identity{$who} //= $id->{body};
        is($id->{body}, $identity{$who}, "$who, visit $round: identity page as first assembled");
        my $gz = $ap->get($page, @cookie, @GZ);
        is(h($gz, 'content-encoding'), 'gzip', "$who, visit $round: gzip client, Content-Encoding gzip");
        like(h($gz, 'vary'), qr/accept-encoding/i, "$who, visit $round: Vary: Accept-Encoding");
        is(plain($gz), $identity{$who}, "$who, visit $round: gzip page decodes (once) to the identity page");
    }
}
like($identity{anna}, qr/sessionid=anna/, 'anna sees her own fragment');
unlike($identity{anna}, qr/bob/, 'anna never sees bob\'s');
like($identity{bob}, qr/sessionid=bob/, 'bob sees his own fragment');
unlike($identity{bob}, qr/anna/, 'bob never sees anna\'s');
like($identity{anon}, qr/<div class=user>/, 'an anonymous visitor gets the page');
unlike($identity{anon}, qr/sessionid/, '... without anyone\'s fragment');

# Where the pieces came from, on a warm page: the shell's runs and the
# quick fragment as stored; the two includes made by subrequests
# compressed for the page.
my ($stored0, $made0) = counters();
my $gz = $ap->get($page, Cookie => 'sessionid=anna', @GZ);
my ($stored1, $made1) = counters();
is($stored1 - $stored0, $runs + 1, 'warm page: the shell\'s runs and the direct fragment sent as stored');
is($made1 - $made0, 2, 'warm page: the two subrequests\' fragments compressed for the page');
is(plain($gz), $identity{anna}, 'warm page: decodes to the page');

# Clients that must get identity: gzip refused, or switched off for them
# by the configuration (mod_deflate's no-gzip).  (A User-Agent that
# BrowserMatch reads is part of the keys: the fragments are other entries,
# hence the tokens are left out of the comparison.)
sub untokened { my ($s) = @_; $s =~ s/token=\w+//g; return $s }
for my $c (['gzip;q=0', 'Accept-Encoding' => 'gzip;q=0'],
           ['br only', 'Accept-Encoding' => 'br'],
           ['identity preferred', 'Accept-Encoding' => 'gzip;q=0.5, identity'],
           ['Cache-Control: no-transform', @GZ, 'Cache-Control' => 'no-transform'],
           ['no-gzip (BrowserMatch)', @GZ, 'User-Agent' => 'OldBrowser/1']) {
    my ($what, @h) = @$c;
    my $r = $ap->get($page, Cookie => 'sessionid=anna', @h);
    is(h($r, 'content-encoding'), '', "$what: no coding");
    is(untokened($r->{body}), untokened($identity{anna}), "$what: the identity page");
}

# What the cache stores of an ESI page: its parsed form as a host of the
# previous version reads it (form 1), the pieces in the entry (format 4,
# which such a host reads as a miss, never as a page it cannot decode).
my @shells = grep { /^SCE/ && /SCX/ } map { $mc->get_raw($_) // '' } $mc->keys;
ok(@shells >= 1, 'the shells are stored');
is(scalar(grep { substr($_, 3, 1) eq "\x04" } @shells), scalar @shells,
   'each shell is an entry of format 4 (with pieces)');
is(scalar(grep { /SCX\x01/ && !/SCX[^\x01]/ } @shells), scalar @shells,
   'each shell\'s parsed form is form 1');

# A fragment the application compresses itself for clients that take gzip
# (Django's GZipMiddleware): an include asks for it uncoded.
my $coded = esi_page('/app/page/coded', "<h1>coded</h1>\n$fill"
                     . esi_inc('/app/quick/z?gz=1&size=1500') . "\n"
                     . esi_inc('/app/sub/z?gz=1&size=1500') . "\n$fill");
for my $round (1 .. 3) {
    for my $c (['identity'], ['gzip', @GZ]) {
        my ($what, @h) = @$c;
        my $r = $ap->get($coded, @h);
        my $p = plain($r);
        unlike($p, qr/\x1f\x8b/, "coded fragments, $what client, visit $round: no gzip bytes in the page");
        like($p, qr/token=\w+\n[0-9a-f]{64}/, "coded fragments, $what client, visit $round: the fragments' text");
    }
}

# A page whose first visitor is a browser: the miss (the shell from the
# application, parsed for this request) is coded as well, and what was
# stored serves identity clients after it.
my $fresh = esi_page('/app/page/browser-first', $text);
my $miss = $ap->get($fresh, Cookie => 'sessionid=anna', @GZ);
cache_is($miss, 'MISS', 'browser first: a MISS');
is(h($miss, 'content-encoding'), 'gzip', 'browser first: the MISS is gzip-coded');
my $after = $ap->get($fresh, Cookie => 'sessionid=anna');
cache_is($after, 'HIT', 'browser first: then a HIT for an identity client');
is(plain($miss), $after->{body}, 'browser first: both are the same page');

# A page that fails (an include fails without onerror="continue"): the
# error is not labelled as gzip.
my $failing = esi_page('/app/page/failing', "<p>x</p>" x 40 . esi_inc('/app/sub/gone?status=500'));
for my $round (1 .. 2) {
    my $r = $ap->get($failing, @GZ);
    is($r->{status}, 502, "failing page, visit $round: 502");
    is(h($r, 'content-encoding'), '', "failing page, visit $round: not labelled gzip");
}

# HEAD for a gzip client: labelled like its GET, no body.
my $head = $ap->request('HEAD', $page, Cookie => 'sessionid=anna', @GZ);
is($head->{status}, 200, 'HEAD: 200');
is(h($head, 'content-encoding'), 'gzip', 'HEAD: Content-Encoding gzip, as its GET');
is($head->{body}, '', 'HEAD: no body');

# SharedCacheCompress Off: the module codes nothing; mod_deflate
# compresses the page as it always did.
my $off = esi_page('/app/off/g', $text);
$ap->get($off) for 1 .. 2;
my ($s0, $m0) = counters();
my $r = $ap->get($off, @GZ);
my ($s1, $m1) = counters();
is($s1 - $s0 + $m1 - $m0, 0, 'SharedCacheCompress Off: no piece');
is(h($r, 'content-encoding'), 'gzip', 'SharedCacheCompress Off: mod_deflate compresses the page');
like(plain($r), qr/<h1>shell<\/h1>/, 'SharedCacheCompress Off: it decodes to the page');

my @errors = grep { /sharedcache:(error|warn)|AH0\d+: .*deflate/i && !/SC0509/ } $ap->error_log;
is_deeply(\@errors, [], 'no error or warning logged');

$ap->stop(allow => [qr/SC0509/]);
done_testing;
