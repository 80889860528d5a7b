# The Apache parent never holds a memcached socket (a socket opened before
# fork would be shared by every child: THREATS 6); the children do.
use strict;
use warnings;
use Test::More;
use SCTest;

plan skip_all => 'reading another process\'s fds needs root'
    unless SCTest::is_root();

my $mc = SCTest::Memcached->start;
my $ap = SCTest::Apache->start(memcached => [$mc]);
$ap->get('/app/fork') for 1 .. 3;
$ap->parallel_get('/app/fork', total => 40, conns => 8);

# Inodes of TCP sockets connected to memcached's port.
sub memcached_inodes {
    my %inodes;
    for my $table ('/proc/net/tcp', '/proc/net/tcp6') {
        open my $fh, '<', $table or next;
        while (<$fh>) {
            my @f = split;
            next unless $f[2] && $f[2] =~ /:([0-9A-F]{4})$/;
            $inodes{ $f[9] } = 1 if hex($1) == $mc->port;
        }
    }
    return \%inodes;
}

sub sockets_of {
    my ($pid, $inodes) = @_;
    my $n = 0;
    for my $fd (glob "/proc/$pid/fd/*") {
        my $l = readlink $fd or next;
        $n++ if $l =~ /^socket:\[(\d+)\]$/ && $inodes->{$1};
    }
    return $n;
}

my $inodes = memcached_inodes();
my $parent = $ap->parent_pid;
# (a process may end between the glob and the open)
my @children = grep {
    my $fh;
    open($fh, '<', "/proc/$_/stat")
        && ((split ' ', scalar(<$fh>) // '')[3] // 0) == $parent;
} map { m{/proc/(\d+)$} ? $1 : () } glob '/proc/[0-9]*';

is(sockets_of($parent, $inodes), 0, 'the parent holds no memcached socket');
my $child_sockets = 0;
$child_sockets += sockets_of($_, $inodes) for @children;
cmp_ok($child_sockets, '>', 0, 'the children do (the check can see them)');

$ap->stop;
done_testing;
