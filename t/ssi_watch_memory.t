# The SSI watch passes what it has read on as it goes: a large SSI page
# (here 64 MB of text and one #include, read from its file 8000 bytes at
# a time with EnableMMAP Off) is not held in the child's memory before
# mod_include gets it.  Before, the watch read the whole brigade first, a
# file bucket's rest after each 8000 bytes, and a child held the whole
# page: as much as the page, for every such request at once, and without
# end for a CGI that never stops (found by the outside attack).  Control:
# the same page through a SharedCache Off location.
use strict;
use warnings;
use Test::More;
use IO::Socket::INET;
use SCTest;

my $MB = 64;
my $mc = SCTest::Memcached->start;

# The children's highest resident set (VmHWM), in KiB.
sub peak {
    my ($ap) = @_;
    my $max = 0;
    for my $st (glob '/proc/[0-9]*/stat') {
        open my $fh, '<', $st or next;
        my $s = <$fh>;
        close $fh;
        my ($pid, $ppid) = $s =~ /^(\d+) \(.*\) \S+ (\d+)/s or next;
        next unless $ppid == $ap->parent_pid;
        open $fh, '<', "/proc/$pid/status" or next;
        while (<$fh>) { $max = $1 if /^VmHWM:\s+(\d+)/ && $1 > $max }
        close $fh;
    }
    return $max;
}

sub served {
    my ($mode) = @_;
    my $ap = SCTest::Apache->start(memcached => [$mc], modules => ['include'],
                                   mpm => 'prefork', conf => <<"CONF");
EnableMMAP Off
StartServers 1
MinSpareServers 1
MaxSpareServers 1
<Location />
    SharedCache $mode
    SharedCacheTTL 60
</Location>
<Directory \@DIR\@/htdocs>
    Options +Includes
    AddOutputFilter INCLUDES .shtml
</Directory>
CONF
    open my $f, '>', $ap->dir . '/htdocs/big.shtml' or die $!;
    my $block = (('x' x 99) . "\n") x 10486;    # about 1 MB
    print $f $block for 1 .. $MB;
    print $f qq{<!--#include virtual="/app/frag" -->\n};
    close $f;
    my $before = peak($ap);
    my $s = IO::Socket::INET->new(PeerAddr => $ap->address, PeerPort => $ap->port)
        or die $!;
    print $s "GET /big.shtml HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
    my ($n, $buf, $total) = (0, '', 0);
    $total += $n while ($n = sysread($s, $buf, 1 << 20));
    close $s;
    my $after = peak($ap);
    $ap->stop;
    cmp_ok($total, '>', $MB << 20, "SharedCache $mode: the whole page was served");
    return $after - $before;
}

my $off = served('Off');
my $on = served('On');
diag(sprintf 'the child grew by %d MB with SharedCache Off, %d MB with On',
             $off >> 10, $on >> 10);
cmp_ok($on, '<', $off + 16 * 1024,
       'the watch does not hold the page in memory (16 MB more than Off at most)');
done_testing;
