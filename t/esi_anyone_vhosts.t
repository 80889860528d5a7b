# What httpd answers an anonymous client for an ESI include's URL is
# remembered per child for 10 s (it makes the page private to the client
# when it is no): per virtual host, also where two share a ServerName on
# other addresses, with other access rules.
use strict;
use warnings;
use Test::More;
use SCTest;

my $mc = SCTest::Memcached->start;
my $ap = SCTest::Apache->start(memcached => [$mc], conf => <<'CONF');
Listen 127.0.0.2:@PORT@
<VirtualHost 127.0.0.1:@PORT@>
    ServerName www.example.test
    <Location /app/secret>
        Require ip 127.0.0.5
    </Location>
</VirtualHost>
<VirtualHost 127.0.0.2:@PORT@>
    ServerName www.example.test
</VirtualHost>
<Location /app>
    SharedCache On
    SharedCacheTTL 60
</Location>
<Location /app/esi>
    SharedCacheESI On
</Location>
CONF
my $cc = '&cc=' . 'max-age%3D600';
sub page {
    my ($n, $frag) = @_;
    return esi_page("/app/esi/$n", 'P[' . esi_inc("$frag?cc=max-age%3D300") . ']', $cc);
}
sub on {
    my ($addr, $t, %h) = @_;
    local $ap->{addr} = $addr;
    return $ap->raw(GET => $t, Host => 'www.example.test', %h);
}

my $r = on('127.0.0.1', page('ctl', '/app/secret/one'), _from => '127.0.0.5');
like($r->{body}, qr{secret/one}, 'the intranet client gets the protected fragment');
like($r->{headers}{'cache-control'} // '', qr/private/, 'the page is private to it');

# The public host (same ServerName, no rule) answers "anyone may" for
# the same URL, in every child.
on('127.0.0.2', page('pub', '/app/secret/two'), _from => '127.0.0.1') for 1 .. 40;
$r = on('127.0.0.1', page('intra', '/app/secret/two'), _from => '127.0.0.5');
like($r->{body}, qr{secret/two}, 'the intranet client gets the protected fragment');
like($r->{headers}{'cache-control'} // '', qr/private/,
     "the page stays private: the public host's answer is not the intranet's");
$ap->stop(allow => [qr/AH01630/, qr/SC0502/]);
done_testing;
