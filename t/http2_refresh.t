# A refresh after the response (stale-while-revalidate) started by an
# HTTP/2 client is stored: by the time it runs, mod_http2 has marked the
# stream's connection aborted, which says nothing of the refresh's body
# (outside-attack round 47 F1).  HTTP/1.1 clients are the control;
# proxied (Vary: Via, X-Forwarded-For, none) and the application directly.
use strict;
use warnings;
use Test::More;
use Time::HiRes qw(sleep);
use SCTest;

plan skip_all => 'mod_http2 is inactive under prefork' if SCTest::mpm() eq 'prefork';
my $curl = `curl --version 2>/dev/null` // '';
plan skip_all => 'needs curl with HTTP/2' unless $curl =~ /\bHTTP2\b/;
my $mc = SCTest::Memcached->start;
sub tok { ($_[0] =~ /token=(\w+)/)[0] // '' }

my $ap = SCTest::Apache->start(memcached => [$mc], modules => [qw(proxy proxy_http http2)], conf => <<'CONF');
Protocols h2c http/1.1
<Location /app/raw>
    SharedCache Off
</Location>
<Location /app/direct>
    SharedCache On
    SharedCacheTTL 60
</Location>
ProxyPass /px/ http://127.0.0.1:@PORT@/app/raw/
<Location /px>
    SharedCache On
    SharedCacheTTL 60
</Location>
CONF
my $port = $ap->port;
sub curl {
    my ($mode, $url) = @_;
    my @a = ('curl', '-s', '-i', '--max-time', '20');
    push @a, '--http2-prior-knowledge' if $mode eq 'h2';
    push @a, "http://127.0.0.1:$port$url";
    open my $fh, '-|', @a or die $!;
    local $/; my $out = <$fh>; close $fh;
    my ($cs) = $out =~ /^x-sharedcache:\s*(\S+)/mi;
    return { body => $out, cs => $cs // '-' };
}
my $n = 0;
for my $mode ('1.1', 'h2') {
    for my $path ('/px/p', '/app/direct/p') {
        for my $vary ('', '&vary=Via', '&vary=X-Forwarded-For') {
            $n++;
            my $q = "$path$n?cc=max-age%3D2,%20stale-while-revalidate%3D60$vary";
            my $first = curl($mode, $q);
            sleep 2.3;
            my $stale = curl($mode, $q);
            sleep 1.0;
            my $after = curl($mode, $q);
            isnt(tok($after->{body}), tok($first->{body}),
                 "$mode $path vary '$vary': refreshed after the stale hit ($first->{cs} $stale->{cs} $after->{cs})");
        }
    }
}
$ap->stop;
done_testing;
