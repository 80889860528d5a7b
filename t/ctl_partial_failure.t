# sharedcachectl invalidate T1 T2 / purge U1 U2 with one server down: every
# argument is applied on every server that answers (not only those before
# the first failure), the unreachable server gets fence marks, and the
# tool exits 3 naming it.
# sc-test: alone (it measures time; make prove runs the others two at a time)
# sc-test: own-cluster (every memcached it starts is no_extra)
use strict;
use warnings;
use Test::More;
use Time::HiRes qw(time sleep);
use SCTest;
SCTest::skip_in_cluster_pass();
use SCTest::Cluster qw(:all);

my @mc = map { SCTest::Memcached->start(no_extra => 1) } 1 .. 2;
my $ap = SCTest::Apache->start(memcached => \@mc, conf => <<'CONF');
SharedCacheTimeout 200
SharedCacheRetryInterval 1
<Location /app>
    SharedCache On
    SharedCacheTTL 300
</Location>
CONF
my $base = 'http://127.0.0.1:' . $ap->port;
my @two = map { "/app/multi/two-$_?sk=two" } 1 .. 10;
my @urls = map { "/app/multi/u-$_" } 1 .. 20;
$ap->get($_) for @two, @urls;
my %tok = map { my $r = $ap->get($_); ($_ => body_token($r->{body})) } @two, @urls;
my $where = entry_servers($ap, \@mc, @two, @urls);
my @two0 = grep { ($where->{$_} // -1) == 0 } @two;
my ($u_down) = grep { ($where->{$_} // -1) == 1 } @urls;
my ($u_up) = grep { ($where->{$_} // -1) == 0 } @urls;
ok(@two0 && $u_down && $u_up, 'pages placed on both servers');

$mc[1]->stop;
my $r = ctl(servers => \@mc, timeout => 300, args => ['invalidate', 'one', 'two']);
diag("invalidate one two: rc $r->{rc}\n$r->{out}$r->{err}");
$r = ctl(servers => \@mc, timeout => 300,
         args => ['purge', "$base$u_down", "$base$u_up"]);
diag("purge $u_down $u_up: rc $r->{rc}\n$r->{out}$r->{err}");

my @stale = grep { my $x = $ap->get($_);
                   $x->{cache} eq 'HIT' && body_token($x->{body}) eq $tok{$_} }
            @two0, $u_up;
is(scalar @stale, 0, 'tag "two" and the second URL, on the server that '
   . 'answered, are invalidated') or diag("stale: @stale");
$ap->stop(allow => [qr/SC020[19]/]);
done_testing;
