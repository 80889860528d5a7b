# SCTest::FakeMemcached: a scripted memcached (text protocol) for what a
# real one cannot do: hold a reply back.  It answers get/gets, set, add,
# delete, incr, version and quit from memory, and logs every command it
# reads, with the number of its connection, so a test can tell what
# arrived on which connection and when.
#
#   my $mc = SCTest::FakeMemcached->start(hold => qr/^sc:e:/);
#       # a set/add of a matching key is read and logged, never answered
#   $mc->commands;   # ({ conn => 3, cmd => 'set', key => 'sc:e:...',
#                    #    t => 1732560000.123 }, ...)
#
# Usable wherever SCTest::Memcached is (addr, port, stop).
package SCTest::FakeMemcached;

use strict;
use warnings;
use IO::Select;
use IO::Socket::INET;
use Time::HiRes qw(time);

sub start {
    my ($class, %o) = @_;
    my $dir = SCTest::workdir();
    my $listen = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
                                       LocalPort => 0, Listen => 64,
                                       ReuseAddr => 1) or die "listen: $!";
    my $self = bless { port => $listen->sockport, log => "$dir/fake.log",
                       hold => $o{hold} }, $class;
    my $pid = fork;
    die "fork: $!" unless defined $pid;
    if ($pid == 0) {
        setpgrp(0, 0);
        $self->_serve($listen);
        exit 0;
    }
    close $listen;
    $self->{pid} = $pid;
    return $self;
}

sub port { $_[0]{port} }
sub addr { "127.0.0.1:$_[0]{port}" }

sub stop {
    my ($self) = @_;
    SCTest::stop_pid(delete $self->{pid}, 'KILL') if $self->{pid};
}

sub DESTROY { $_[0]->stop }

sub commands {
    my ($self) = @_;
    open my $fh, '<', $self->{log} or return ();
    my @out;
    while (<$fh>) {
        chomp;
        my ($t, $conn, $cmd, $key) = split / /, $_, 4;
        push @out, { t => $t, conn => $conn, cmd => $cmd, key => $key };
    }
    return @out;
}

sub _serve {
    my ($self, $listen) = @_;
    open my $log, '>>', $self->{log} or die "$self->{log}: $!";
    $log->autoflush(1);
    my $sel = IO::Select->new($listen);
    my (%buf, %id, %data);
    my $next = 0;
    while (1) {
        for my $fh ($sel->can_read) {
            if ($fh == $listen) {
                my $c = $listen->accept or next;
                $sel->add($c);
                $id{$c} = ++$next;
                $buf{$c} = '';
                next;
            }
            my $n = sysread $fh, my $chunk, 65536;
            if (!$n) {
                $sel->remove($fh);
                close $fh;
                next;
            }
            $buf{$fh} .= $chunk;
            while ($buf{$fh} =~ /\A([^\r\n]*)\r\n/) {
                my $line = $1;
                my ($cmd, @a) = split / /, $line;
                my $body_len = 0;
                if ($cmd =~ /^(?:set|add|replace)$/) {
                    $body_len = $a[3] + 2;
                    last if length($buf{$fh}) < length($line) + 2 + $body_len;
                }
                substr($buf{$fh}, 0, length($line) + 2) = '';
                my $value = substr($buf{$fh}, 0, $body_len, '');
                printf $log "%.3f %d %s %s\n", time, $id{$fh}, $cmd,
                       join(' ', @a);
                my $reply = _answer(\%data, $cmd, \@a, $value,
                                    $self->{hold});
                syswrite $fh, $reply if defined $reply;
                if ($cmd eq 'quit') {
                    $sel->remove($fh);
                    close $fh;
                    last;
                }
            }
        }
    }
}

sub _answer {
    my ($data, $cmd, $a, $value, $hold) = @_;
    if ($cmd eq 'get' || $cmd eq 'gets') {
        my $out = '';
        for my $k (@$a) {
            next unless exists $data->{$k};
            my $v = $data->{$k};
            $out .= "VALUE $k $v->[0] " . length($v->[1])
                  . ($cmd eq 'gets' ? ' 1' : '') . "\r\n$v->[1]\r\n";
        }
        return "${out}END\r\n";
    }
    if ($cmd eq 'set' || $cmd eq 'add' || $cmd eq 'replace') {
        my ($k, $flags) = @$a;
        substr($value, -2) = '';
        return undef if $hold && $k =~ $hold;      # never answered
        return "NOT_STORED\r\n" if $cmd eq 'add' && exists $data->{$k};
        return "NOT_STORED\r\n" if $cmd eq 'replace' && !exists $data->{$k};
        $data->{$k} = [$flags, $value];
        return "STORED\r\n";
    }
    if ($cmd eq 'delete') {
        return delete $data->{ $a->[0] } ? "DELETED\r\n" : "NOT_FOUND\r\n";
    }
    if ($cmd eq 'incr') {
        my $v = $data->{ $a->[0] } or return "NOT_FOUND\r\n";
        $v->[1] += $a->[1];
        return "$v->[1]\r\n";
    }
    return "VERSION 1.6.fake\r\n" if $cmd eq 'version';
    return undef if $cmd eq 'quit';
    return "ERROR\r\n";
}

1;
