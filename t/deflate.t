# Content encodings (THREATS 39): what is stored is the body the client
# needs, labelled as it really is.
#  (a) mod_deflate on a cached location and a small body (< 1 KB): clients
#      that send Accept-Encoding: gzip fill the cache (the decision must
#      not come after the capture ended: a static file reaches the capture
#      with its EOS in one brigade, and mod_deflate holds a small body back
#      until it sees the EOS), and identity clients still get a readable
#      page from that entry.
#  (b) mod_deflate's pre-compressed files recipe (mod_rewrite serves
#      x.css.gz to gzip clients, mod_headers labels it), as the manual
#      gives it in a <Directory>, and in server context: whatever order the
#      two kinds of clients come in, every response decodes, per its own
#      Content-Encoding, to the stylesheet; once the gzip variant is
#      stored, an identity response (without Vary) does not replace the
#      URL's Vary record.
use strict;
use warnings;
use IO::Compress::Gzip qw(gzip $GzipError);
use IO::Uncompress::Gunzip qw(gunzip $GunzipError);
use Test::More;
use SCTest;

my $css = join '', map { ".rule$_ { color: #" . sprintf('%06x', $_ * 4099)
                         . "; margin: ${_}px; }\n" } 1 .. 40;
my $gz;
gzip(\$css => \$gz) or die "gzip: $GzipError";
my %orders = (a => [0, 1, 0, 1], b => [1, 0, 1, 0], c => [1, 1, 0, 1, 1]);
my %files = map { ("$_.css" => $css, "$_.css.gz" => $gz,
                   "srv-$_.css" => $css, "srv-$_.css.gz" => $gz) }
            keys %orders;
my $small = "<html><body>\n" . join('', map { "<p>line $_ of a small page</p>\n" }
                                   1 .. 20) . "</body></html>\n";
$files{'small-set.html'} = $files{'small-type.html'} = $small;

my $mc = SCTest::Memcached->start;
my $ap = SCTest::Apache->start(memcached => [$mc], files => \%files,
                               modules => ['filter', 'deflate', 'rewrite'],
                               conf => <<'CONF');
<Location /app>
    SharedCache On
    SharedCacheTTL 60
</Location>
<Location /app/set>
    SetOutputFilter DEFLATE
</Location>
<Location /app/bytype>
    AddOutputFilterByType DEFLATE text/html text/plain
</Location>
<Location /small-set.html>
    SetOutputFilter DEFLATE
</Location>
<Location /small-type.html>
    AddOutputFilterByType DEFLATE text/html text/plain
</Location>
# mod_deflate's manual, "Serving pre-compressed content", in server
# context (REQUEST_FILENAME is not a file yet there) for /srv-*.css ...
RewriteEngine On
RewriteCond "%{HTTP:Accept-encoding}" "gzip"
RewriteCond "%{DOCUMENT_ROOT}%{REQUEST_URI}\.gz" -s
RewriteRule "^(/srv-.*)\.css" "$1\.css\.gz" [QSA]
RewriteRule "^/srv-.*\.css\.gz$" "-" [T=text/css,E=no-gzip:1]
# ... and as the manual gives it, per directory, for the others.
<Directory @DIR@/htdocs>
    RewriteEngine On
    RewriteCond "%{HTTP:Accept-encoding}" "gzip"
    RewriteCond "%{REQUEST_FILENAME}\.gz" -s
    RewriteRule "^(.*)\.css" "$1\.css\.gz" [QSA]
    RewriteRule "\.css\.gz$" "-" [T=text/css,E=no-gzip:1]
    <FilesMatch "\.css\.gz$">
        Header append Content-Encoding gzip
        Header append Vary Accept-Encoding
    </FilesMatch>
</Directory>
<Location />
    SharedCache On
    SharedCacheTTL 60
</Location>
CONF

my @GZ = ('Accept-Encoding' => 'gzip');

sub header {
    my ($r, $name) = @_;
    my $v = $r->{headers}{$name};
    return ref $v ? join(', ', @$v) : $v // '';
}

# The body as the response's own Content-Encoding says to read it, or
# undef (with the reason) when it does not decode.
sub decoded {
    my ($r) = @_;
    my $body = $r->{body};
    for my $coding (reverse grep { length } split /\s*,\s*/,
                    lc header($r, 'content-encoding')) {
        next if $coding eq 'identity';
        return (undef, "unknown coding $coding")
            unless $coding eq 'gzip' || $coding eq 'x-gzip';
        my $out;
        # Transparent => 0: bytes that are not gzip are an error, not
        # copied through.
        gunzip(\$body => \$out, Transparent => 0)
            or return (undef, "gunzip: $GunzipError");
        $body = $out;
    }
    return ($body, '');
}

sub describe {
    my ($r) = @_;
    return sprintf '%s %s, Content-Encoding "%s", Vary "%s", %d bytes',
        $r->{status}, $r->{cache} || '-', header($r, 'content-encoding'),
        header($r, 'vary'), length $r->{body};
}

# (a) a small page behind mod_deflate, gzip clients first: a static file
# with SetOutputFilter and with AddOutputFilterByType, and the same from
# the WSGI app (which passes its body before its EOS) as a control.
for my $case (['/small-set.html', $small], ['/small-type.html', $small],
              ['/app/set/small?size=600'], ['/app/bytype/small?size=600']) {
    my ($path, $want) = @$case;
    my $g1 = $ap->get($path, @GZ);
    my $g2 = $ap->get($path, @GZ);
    my $id = $ap->get($path);
    note("$path: " . describe($_)) for $g1, $g2, $id;
    my ($page) = decoded($g1);
    $want //= $page if defined $page && $page =~ /\Atoken=\w+\n/;
    is(header($g1, 'content-encoding'), 'gzip',
       "$path: the first gzip client gets it compressed");
    ok(defined $page && defined $want && $page eq $want
       && length $page < 1024, "$path: and it decodes to the small page");
    cache_is($g1, 'MISS', "$path: the first gzip client is a MISS");
    cache_is($g2, 'HIT', "$path: the second gzip client is a HIT")
        or diag(describe($g2));
    my ($page2, $why2) = decoded($g2);
    is($page2, $want, "$path: the HIT decodes to the same page $why2");
    like($id->{cache}, qr/^(HIT|MISS)$/,
         "$path: an identity client after them: $id->{cache}");
    is(header($id, 'content-encoding'), '',
       "$path: not compressed for the identity client");
    is($id->{body}, $want, "$path: it reads the same page");
}

# (b) pre-compressed stylesheets: each order on its own file, per
# directory (x.css) and in server context (srv-x.css).
for my $file (map { ($_, "srv-$_") } sort keys %orders) {
    my @seq = @{ $orders{ $file =~ s/^srv-//r } };
    my ($i, $gz_seen) = (0, 0);
    for my $gzip (@seq) {
        $i++;
        my $who = "/$file.css, request $i (" . ($gzip ? 'gzip' : 'identity')
                  . ' client)';
        my $r = $ap->get("/$file.css", $gzip ? @GZ : ());
        note("$who: " . describe($r));
        is($r->{status}, 200, "$who: 200");
        like($r->{cache}, qr/^(MISS|HIT|UNCACHEABLE)$/,
             "$who: X-SharedCache $r->{cache}");
        my ($body, $why) = decoded($r);
        ok(defined $body && $body eq $css,
           "$who: decodes per its Content-Encoding to the stylesheet")
            or diag(describe($r) . ($why ? ": $why" : ': other bytes'));
        if ($gzip && $gz_seen) {
            ok(header($r, 'content-encoding') eq 'gzip' && $r->{body} eq $gz,
               "$who: still the pre-compressed file (Vary record kept)")
                or diag(describe($r));
        }
        $gz_seen ||= $gzip && header($r, 'content-encoding') eq 'gzip'
                     && $r->{body} eq $gz;
        next if $gzip;
        is(header($r, 'content-encoding'), '',
           "$who: no Content-Encoding for a client that asked for none");
        is($r->{body}, $css, "$who: the plain stylesheet");
    }
}

$ap->stop;
done_testing;
