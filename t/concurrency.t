# 200 requests for one URL over 16 connections: one render, every body
# byte-identical, the first a MISS and the rest HITs (under the MPM of
# SC_MPM: make test runs the suite under prefork and event).
use strict;
use warnings;
use Test::More;
use SCTest;

my $mc = SCTest::Memcached->start;
my $ap = SCTest::Apache->start(memcached => [$mc]);
my $path = '/app/concurrent?size=16384';

my $first = $ap->get($path);
cache_is($first, 'MISS', 'the first response is a MISS');
# The second on the same keep-alive connection: it is read only after the
# first request finished, store included.
my @res = ($ap->get($path));
push @res, $ap->parallel_get($path, total => 198, conns => 16);

is(scalar @res, 199, '199 further responses');
is(scalar(grep { $_->{status} == 200 } @res), 199, 'all answered 200');
is(scalar(grep { $_->{cache} eq 'HIT' } @res), 199, 'all later ones HIT');
is(scalar(grep { $_->{md5} eq $first->{md5} } @res), 199,
   'every body is byte-identical to the first');
is($ap->renders('/app/concurrent'), 1, 'the app rendered once');

# The MPM really has 8 processes (prefork) or several threads (event).
if (SCTest::mpm() eq 'prefork') {
    my $pid = $ap->parent_pid;
    # (a process may end between the glob and the open)
    my @kids = grep {
        my $fh;
        open($fh, '<', $_) && ((split ' ', <$fh> // '')[3] // 0) == $pid;
    } glob '/proc/[0-9]*/stat';
    cmp_ok(scalar @kids, '>=', 8, 'prefork runs at least 8 children');
}

$ap->stop;
done_testing;
