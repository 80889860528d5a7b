# The local tier at its edges (found by an outside attack on it):
# - a graceful restart that turns it on, while a child of the old
#   generation (no tier of its own) still purges: the purge applies at once;
# - an ESI page whose fragment the tier does not keep, next to one it
#   does: memcached's bytes are never taken for the tier's (a corrupt
#   gzip coding is caught by its CRC);
# - a host whose location says SharedCacheLocalTTL 0 never serves that
#   location from its tier, whatever the host that stored the entry said.
use strict;
use warnings;
use Compress::Raw::Zlib;
use IO::Socket::INET;
use Test::More;
use Time::HiRes qw(sleep);
use SCTest;
use SCTest::HTTP qw(parse_response);

sub local_hit { ($_[0]{headers}{'cache-status'} // '') =~ /detail=local/ }

my $mc = SCTest::Memcached->start;

# --- a graceful restart that turns the tier on ------------------------------
{
    my $base = <<'CONF';
<Location /app>
    SharedCache On
    SharedCacheTTL 60
    SharedCachePurge On
    SharedCacheLocalTTL 30
</Location>
CONF
    my $a = SCTest::Apache->start(memcached => [$mc], conf => $base);
    my $first = $a->get('/app/restart');
    $a->get('/app/restart');
    # a PURGE whose headers are not complete yet: an old child holds it
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $a->port)
        or die "connect: $!";
    print $s "PURGE /app/restart HTTP/1.1\r\nHost: 127.0.0.1:" . $a->port
           . "\r\nConnection: close\r\n";
    $s->flush;
    sleep 0.5;
    $a->_write_conf("SharedCacheLocal 1M\n$base");
    kill 'USR1', $a->parent_pid;
    my $kept;
    for (1 .. 50) {
        sleep 0.2;
        last if $kept = local_hit($a->get('/app/restart'));
    }
    ok($kept, 'after the restart, new children serve the page from their tier');
    print $s "\r\n";
    my $p = parse_response(do { local $/; <$s> });
    is($p->{status}, 200, 'the PURGE, finished by a child of the old generation');
    my $after = $a->get('/app/restart');
    ok(!local_hit($after) && $after->{body} ne $first->{body},
       'applies at once to the new generation\'s tier');
    $a->stop;
}

# --- ESI: one fragment kept, one not; a corrupt coding is never served -------
{
    my $a = SCTest::Apache->start(memcached => [$mc], conf => <<'CONF');
SharedCacheLocal 1M
<Location /app>
    SharedCache On
    SharedCacheTTL 60
    SharedCacheLocalTTL 30
    SharedCacheESI On
</Location>
<Location /app/nl>
    SharedCacheLocalTTL 0
</Location>
CONF
    my $ep = esi_page('/app/esi', '<' . esi_inc('/app/nl/f1?text=one')
                      . esi_inc('/app/f2?size=20000') . '>');
    $a->get('/app/f2?size=20000') for 1 .. 2;
    my $first = $a->get($ep);
    (my $f2 = $first->{body}) =~ s/^<one(.*)>$/$1/s;
    is(length $f2, 20000, 'the page is assembled');
    $a->get($ep) for 1 .. 3;
    # f2's gzip coding flipped where it still inflates to 20,000 other
    # bytes: only its CRC tells
    # (memcached's crawler may miss an item it is moving between LRU
    # queues, more so on a loaded machine: look a few times)
    my $key;
    for (1 .. 10) {
        ($key) = grep { my $v = $mc->get_raw($_) // '';
                        $v =~ m{/app/f2} && $v !~ /esi/
                        && index($v, "\x1f\x8b\x08") >= 0 }
                 grep { /:e:/ } $mc->keys;
        last if $key;
        Time::HiRes::sleep(0.2);
    }
    ok($key, "f2's record is in memcached");
    my $rec = $mc->get_raw($key);
    my $at = index($rec, "\x1f\x8b\x08") + 10;
    my $inflate = sub {
        my ($i) = Compress::Raw::Zlib::Inflate->new(-WindowBits => -MAX_WBITS);
        my ($in, $out) = ($_[0], undef);
        return $i->inflate($in, $out) == Z_STREAM_END ? $out : undef;
    };
    my $orig = $inflate->(substr($rec, $at));
    my ($bad, $wrong);
    FLIP: for my $off (40 .. 400) {
        for my $bit (0 .. 7) {
            my $t = $rec;
            substr($t, $at + $off, 1) ^= chr(1 << $bit);
            my $o = $inflate->(substr($t, $at));
            if (defined $o && length $o == 20000 && $o ne $orig) {
                ($bad, $wrong) = ($t, $o);
                last FLIP;
            }
        }
    }
    ok($bad, 'a flip that inflates to other bytes of the same length');
    # Written behind the host's back: its tier still keeps f2 as it was;
    # memcached's copy, read along for f1, must not pass for the tier's.
    $mc->set_raw($key, $bad, 0);
    my $p = $a->get($ep);
    (my $got = $p->{body}) =~ s/^<one(.*)>$/$1/s;
    isnt($got, $wrong, 'the page never carries a fragment whose CRC fails');
    $a->stop(allow => [qr/SC0214|corrupt/]);
}

# --- a reader's SharedCacheLocalTTL 0 ----------------------------------------
{
    my $conf = sub { <<"CONF" };
SharedCacheLocal 1M
<Location /app>
    SharedCache On
    SharedCacheTTL 60
    SharedCacheLocalTTL $_[0]
</Location>
CONF
    my $a = SCTest::Apache->start(memcached => [$mc], conf => $conf->(30));
    my $b = SCTest::Apache->start(memcached => [$mc], conf => $conf->(0),
                                  addr => '127.0.0.2', port => $a->port);
    $a->raw(GET => '/app/ttl0', Host => 'www.test') for 1 .. 3;
    my @r = map { $b->raw(GET => '/app/ttl0', Host => 'www.test') } 1 .. 4;
    is(scalar(grep { $_->{cache} eq 'HIT' } @r), 4, 'B hits the entry A stored');
    ok(!grep({ local_hit($_) } @r), '... never from its tier: its location says 0');
    ok(local_hit($a->raw(GET => '/app/ttl0', Host => 'www.test')),
       'A (30) serves it from its own');
    $a->stop;
    $b->stop;
}
done_testing;
