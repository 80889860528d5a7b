# A1: the anonymous probe keeps the storing client's *connection*:
# %{CONN_REMOTE_ADDR} (the peer, e.g. an allowed load balancer / VPN
# gateway) is the storer's, so rules on it would pass for "anyone": such
# rules (<If> with Require, RewriteRule [F] on it) next to quick mode
# fail configtest (t/quick_denylist.t).
# A2: parity ignores Content-Type/Vary/ETag: a Location's `Header set
# Content-Type text/plain` (XSS guard for an upload area) or `Header set
# Vary` is applied on normal hits, dropped on quick hits.
# A3: conditional Header directives: checked only for the storing request.
use strict; use warnings;
use Test::More; use SCTest; use IO::Socket::INET;

my $mc = SCTest::Memcached->start;
my $ap = SCTest::Apache->start(memcached => [$mc],
    conf => <<'CONF');
LogLevel warn sharedcache:trace1
<Location /app/quick>
    SharedCache On
    SharedCacheTTL 60
    SharedCacheQuickHandler On
</Location>
<Location /app/quick/ct>
    Header set Content-Type "text/plain"
</Location>
<Location /app/quick/vary>
    Header set Vary "Origin"
</Location>
<Location /app/quick/cond>
    Header set X-Frame-Options DENY "expr=%{HTTP:Sec-Fetch-Dest} == 'iframe'"
</Location>
CONF

# From a client address of its own (rules on the address).
sub from {
    my ($src, $target, %h) = @_;
    return $ap->raw(GET => $target, _from => $src, %h);
}
sub qh { my @n = $ap->error_log =~ /served by the quick handler/g; scalar @n }

# A2
for my $p ('/app/quick/ct/x', '/app/quick/vary/x') {
    my @r; my @q; for (1..3) { my $b0 = qh(); push @r, from('127.0.0.1', $p); push @q, qh()-$b0 }
    diag("$p quick per request: @q");
    diag("$p: $_->{cache} " . join(' | ', grep { /^(Content-Type|Vary)/i } split /\r\n/, $_->{head})) for @r;
    my ($ct0) = $r[0]{head} =~ /^Content-Type: (.*)$/mi;
    my ($ct2) = $r[2]{head} =~ /^Content-Type: (.*)$/mi;
    my ($v0) = $r[0]{head} =~ /^Vary: (.*)$/mi; my ($v2) = $r[2]{head} =~ /^Vary: (.*)$/mi;
    is($ct2, $ct0, "$p: same Content-Type on hit");
    is($v2 // '', $v0 // '', "$p: same Vary on hit");
}
# A3
from('127.0.0.1', '/app/quick/cond/x');
my $b = qh();
my $r = from('127.0.0.1', '/app/quick/cond/x', 'Sec-Fetch-Dest' => 'iframe');
diag("cond: $r->{cache} quick+" . (qh()-$b));
like($r->{head}, qr/^X-Frame-Options: DENY/mi, 'cond: framed request gets XFO');
# (the conditional Header next to quick mode is said: SC0115)
$ap->stop(allow => [qr/AH01630/, qr/AH01797/, qr/forbidden/i, qr/SC0115/]);
done_testing;
