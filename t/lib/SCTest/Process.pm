package SCTest::Process;

# Owns the processes and places of a test run: free loopback ports,
# waiting for a port to answer, temporary directories, whether we run as
# root, and starting and stopping the servers' processes by PID.  SCTest
# imports every function here, so tests call them as SCTest::free_port(),
# SCTest::spawn(), ...

use strict;
use warnings;
use Exporter 'import';
use File::Temp qw(tempdir);
use IO::Socket::INET;
use Fcntl qw(O_CREAT O_EXCL O_WRONLY);
use POSIX qw(:sys_wait_h);
use Time::HiRes qw(time sleep);

our @EXPORT_OK = qw(is_root free_port wait_port workdir spawn stop_pid);

sub is_root { $> == 0 }

# A port handed out here is not handed out again to any test of the same
# run while the test that got it lives: make prove runs tests two at a time,
# and a test that stops a server and starts it again on its port must not
# find the other test's server there.  The claims are files, made with
# O_EXCL, in a directory shared by the run.
my $claims = ($ENV{SC_TMPDIR} || '/tmp') . '/sctest-ports';
my @claimed;

sub free_port {
    mkdir $claims;
    for (1 .. 50) {
        my $s = IO::Socket::INET->new(
            Listen => 1, LocalAddr => '127.0.0.1', LocalPort => 0,
            Proto => 'tcp', ReuseAddr => 1) or die "no free port: $!";
        my $port = $s->sockport;
        close $s;
        if (sysopen(my $fh, "$claims/$port", O_CREAT | O_EXCL | O_WRONLY)) {
            print $fh "$$\n";
            close $fh;
            push @claimed, $port;
            return $port;
        }
        # Claimed by a test that ended without cleaning up (killed): the
        # claim is stale when its process is gone.
        open(my $in, '<', "$claims/$port") or next;
        my $pid = <$in> // '';
        chomp $pid;
        unlink "$claims/$port" if $pid =~ /^\d+$/ && !kill(0, $pid);
    }
    die "no unclaimed free port";
}

# Only the process that claimed (a forked client exits through END too).
my $claimer = $$;
END { unlink map { "$claims/$_" } @claimed if @claimed && $$ == $claimer }

sub wait_port {
    my ($port, $seconds, $pid, $addr) = @_;
    my $until = time + ($seconds || 10);
    while (time < $until) {
        return 0 if $pid && waitpid($pid, WNOHANG) == $pid;
        my $s = IO::Socket::INET->new(PeerAddr => $addr || '127.0.0.1',
                                      PeerPort => $port, Proto => 'tcp');
        if ($s) { close $s; return 1 }
        sleep 0.05;
    }
    return 0;
}

sub workdir {
    # Under /tmp (not $TMPDIR): Apache's unprivileged User must reach it.
    my $dir = tempdir('sctest-XXXXXX', DIR => $ENV{SC_TMPDIR} || '/tmp',
                      CLEANUP => !$ENV{SC_KEEP});
    chmod 0755, $dir;
    return $dir;
}

sub spawn {
    my ($log, @cmd) = @_;
    my $pid = fork;
    die "fork: $!" unless defined $pid;
    if ($pid == 0) {
        setpgrp(0, 0);
        open STDIN, '<', '/dev/null';
        open STDOUT, '>>', $log or die "$log: $!";
        open STDERR, '>&', \*STDOUT;
        exec @cmd or die "exec $cmd[0]: $!";
    }
    return $pid;
}

sub stop_pid {
    my ($pid, $signal) = @_;
    return unless $pid;
    local $?;    # waitpid must not become the test's exit status
    kill $signal || 'TERM', $pid;
    my $until = time + 15;
    while (time < $until) {
        return if waitpid($pid, WNOHANG) == $pid;
        sleep 0.05;
    }
    kill 'KILL', $pid;
    waitpid($pid, 0);
}

1;
