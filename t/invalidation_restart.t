# A failed invalidation survives a graceful restart (apachectl graceful,
# what logrotate does): the table lives with the process pool.  With one
# memcached server there is no fence mark to fall back on; after the cut
# the page is not its old entry.  (Control: no restart.)
# sc-test: alone (it measures time; make prove runs the others two at a time)
use strict;
use warnings;
use Test::More;
use Time::HiRes qw(time sleep);
use HTTP::Tiny;
use SCTest;
use SCTest::Cluster qw(:all);

sub scenario {
    my ($restart) = @_;
    my $mc = SCTest::Memcached->start;
    my $px = SCTest::Cluster::Proxy->start($mc);
    my $ap = SCTest::Apache->start(memcached => [$px], conf => <<'CONF');
SharedCacheTimeout 200
SharedCacheRetryInterval 1
<Location /app>
    SharedCache On
    SharedCacheTTL 300
</Location>
CONF
    my $p = '/app/graceful/page?sk=gr';
    $ap->get($p);
    my $h = $ap->get($p);
    my $tok = body_token($h->{body});
    $px->partition;
    my $inv = $ap->get('/app/graceful/save?cc=no-store&inv=gr');
    diag("invalidation during the cut: $inv->{status} $inv->{cache}");
    if ($restart) {
        kill 'USR1', $ap->parent_pid;
        sleep 2;
    }
    $px->heal;
    my @seen;
    my $until = time + 4;
    while (time < $until) {
        my $r = $ap->get($p);
        push @seen, $r->{cache} eq 'HIT' && body_token($r->{body}) eq $tok
                    ? 'STALE-HIT' : $r->{cache};
        last if $r->{cache} eq 'HIT' || $r->{cache} eq 'MISS';
        sleep 0.3;
    }
    ok(!grep({ $_ eq 'STALE-HIT' } @seen), ($restart ? 'graceful restart'
       : 'no restart') . ": after the cut the page is not its old entry")
        or diag("@seen");
    $ap->stop(allow => [qr/SC020[19]|Unable to connect to WSGI daemon/]);
}
subtest 'control, no restart' => sub { scenario(0) };
subtest 'graceful restart during the cut' => sub { scenario(1) };
done_testing;
