package SCTest::Memcached;

# Owns the test memcached: starting one (TCP on a free port or a unix
# socket), stopping and restarting it, and talking to it directly (text
# commands, stats, the keys it holds, binary-safe get and set).
#
#   my $mc = SCTest::Memcached->start;          # or (socket => 1, mem => 256)
#   $mc->addr;                                  # for SharedCacheServers
#   $mc->stats->{bytes_written};
#   $mc->stop; $mc->restart;

use strict;
use warnings;
use IO::Socket::INET;
use IO::Socket::UNIX;
use Time::HiRes ();
use SCTest::Process qw(is_root free_port wait_port workdir spawn stop_pid);

sub start {
    my ($class, %o) = @_;
    my $self = bless { port => $o{port} || free_port(),
                       dir => workdir(), verbose => $o{verbose},
                       mem => $o{mem} || 64, socket => $o{socket},
                       args => $o{args} || [] }, $class;
    if ($o{socket}) {
        # memcached runs as nobody and creates the socket here.
        chmod 01777, $self->{dir};
        $self->{socket} = "$self->{dir}/memcached.sock";
    }
    $self->_run;
    # SC_EXTRA_MEMCACHED=N: every memcached a test starts is the first of
    # N + 1, and addr names them all (SharedCacheServers, sharedcachectl
    # --servers, the Python client): the whole suite against a cluster.
    # The object then stands for the cluster (see _members).  A test that
    # builds a cluster of its own keeps its topology (no_extra => 1).
    if ($ENV{SC_EXTRA_MEMCACHED} && !$o{socket} && !$o{no_extra}) {
        $self->{extra} = [map { $class->start(no_extra => 1,
                                              verbose => $o{verbose},
                                              mem => $o{mem},
                                              args => $o{args}) }
                          1 .. $ENV{SC_EXTRA_MEMCACHED}];
    }
    return $self;
}

sub _run {
    my ($self) = @_;
    my @listen = $self->{socket}
        ? ('-s', $self->{socket}, '-a', '0777')
        : ('-l', '127.0.0.1', '-p', $self->{port});
    my @cmd = ('memcached', @listen, '-U', '0', '-m', $self->{mem},
               '-t', '2', '-c', '1024', @{ $self->{args} });
    push @cmd, '-u', 'nobody' if is_root();
    push @cmd, '-vv' if $self->{verbose};
    $self->{log} = "$self->{dir}/memcached.log";
    $self->{pid} = spawn($self->{log}, @cmd);
    if ($self->{socket}) {
        for (1 .. 100) { last if -S $self->{socket}; Time::HiRes::sleep(0.05) }
        -S $self->{socket} or die "memcached did not start";
        return;
    }
    wait_port($self->{port}) or die "memcached did not start";
}

sub port { $_[0]{port} }
sub addr {
    my ($self) = @_;
    return join ' ', $self->{socket} || "127.0.0.1:$self->{port}",
                     map { $_->addr } @{ $self->{extra} || [] };
}
sub log_text {
    my ($self) = @_;
    return join '', map { $_->_log_text } $self->_members;
}

sub _log_text {
    my ($self) = @_;
    open my $fh, '<', $self->{log} or return '';
    local $/;
    return <$fh>;
}

# The pids of the server and its members (to SIGSTOP them all); the
# members themselves; the address of this one alone.
sub pids { map { $_->{pid} } $_[0]->_members }
sub members { $_[0]->_members }
sub addr1 { $_[0]{socket} || "127.0.0.1:$_[0]{port}" }
sub get_raw1 { $_[0]->_get_raw($_[1]) }

# With SC_EXTRA_MEMCACHED the object stands for its whole cluster: stop,
# restart, command, stats (summed), keys (all of them), get_raw (the one
# that has it) and set_raw (written on every server: only the server
# placement picks is ever read) act on each member.
sub _members { ($_[0], @{ $_[0]{extra} || [] }) }

# SIGKILL: memcached acts on SIGTERM only at its next clock tick (up to
# a second), and its data is throwaway here.
sub stop {
    my ($self) = @_;
    stop_pid(delete $self->{pid}, 'KILL');
    # (in global destruction a member may be gone before its cluster)
    $_->stop for grep { defined } @{ $self->{extra} || [] };
}

# Start again on the same port (after stop).
sub restart {
    my ($self) = @_;
    $self->stop if $self->{pid};
    $self->_run;
    $_->restart for @{ $self->{extra} || [] };
}

# Send one text-protocol command, return the reply up to END/terminator
# (with members: each gets it; the reply of one that had the key wins,
# else the first's).
sub command {
    my ($self, $cmd) = @_;
    return $self->_command($cmd) unless $self->{extra};
    my @r = map { $_->_command($cmd) } $self->_members;
    my ($found) = grep { defined && !/^(?:NOT_FOUND|END)\r\n$/ } @r;
    return $found // $r[0];
}

sub _command {
    my ($self, $cmd) = @_;
    my $s = eval { $self->_conn } or return;
    print $s "$cmd\r\n";
    my $out = '';
    while (my $line = <$s>) {
        $out .= $line;
        last if $line =~ /^(END|OK|ERROR|STORED|DELETED|NOT_FOUND|\d+)\r\n$/
                || $line =~ /^(CLIENT_|SERVER_)ERROR|^BUSY/;
    }
    close $s;
    return $out;
}

sub stats {
    my ($self) = @_;
    my %sum;
    for my $m ($self->_members) {
        my %s = ($m->_command('stats') // '') =~ /^STAT (\S+) (\S+)\r$/mg;
        for (CORE::keys %s) {
            $sum{$_} = exists $sum{$_} && $s{$_} =~ /^\d+$/ ? $sum{$_} + $s{$_}
                     : exists $sum{$_} ? $sum{$_} : $s{$_};
        }
    }
    return \%sum;
}

# All keys memcached holds (memcached 1.5+: lru_crawler metadump).
sub keys {
    my ($self) = @_;
    return map { $_->_keys } $self->_members;
}

sub _keys {
    my ($self) = @_;
    # A crawl right after a burst of sets and gets misses items that
    # memcached is still moving between its LRU queues (seen: 1 of 3 keys
    # of one server, all 3 a moment later): dump until two dumps agree.
    my @prev = sort $self->_dump_keys;
    for (1 .. 20) {
        Time::HiRes::sleep(0.05);
        my @now = sort $self->_dump_keys;
        return @now if "@now" eq "@prev";
        @prev = @now;
    }
    return @prev;
}

sub _dump_keys {
    my ($self) = @_;
    my $out = '';
    # "BUSY": memcached's own LRU crawler is running; ask again (a dump
    # taken then would miss every key, and a test would see them "new")
    for (1 .. 100) {
        $out = $self->_command('lru_crawler metadump all') // '';
        last unless $out =~ /^BUSY/;
        Time::HiRes::sleep(0.02);
    }
    my @keys = map { /^key=(\S+)/ ? $1 : () } split /\n/, $out;
    s/%([0-9A-Fa-f]{2})/chr hex $1/ge for @keys;    # it URL-encodes them
    return @keys;
}

sub _conn {
    my ($self) = @_;
    my $s = $self->{socket}
        ? IO::Socket::UNIX->new(Peer => $self->{socket})
        : IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                PeerPort => $self->{port});
    die "connect memcached: $!" unless $s;
    return $s;
}

# Binary-safe get and set.
sub get_raw {
    my ($self, $key) = @_;
    for my $m (@{ $self->{extra} || [] }) {
        my $v = $m->get_raw($key);
        return $v if defined $v;
    }
    return $self->_get_raw($key);
}

sub _get_raw {
    my ($self, $key) = @_;
    my $s = $self->_conn;
    binmode $s;
    print $s "get $key\r\n";
    my $head = <$s>;
    return undef unless $head =~ /^VALUE \S+ \d+ (\d+)/;
    my $len = $1;
    my $data = '';
    while (length $data < $len + 2) {
        read($s, $data, $len + 2 - length $data, length $data) or last;
    }
    return substr($data, 0, $len);
}

sub set_raw {
    my ($self, $key, $data, $exptime) = @_;
    my $ok = 1;
    $_->set_raw($key, $data, $exptime) or $ok = 0 for @{ $self->{extra} || [] };
    return $self->_set_raw($key, $data, $exptime) && $ok;
}

sub _set_raw {
    my ($self, $key, $data, $exptime) = @_;
    my $s = $self->_conn;
    binmode $s;
    printf $s "set %s 0 %d %d\r\n", $key, $exptime // 0, length $data;
    print $s $data, "\r\n";
    my $reply = <$s>;
    return $reply =~ /^STORED/;
}

sub DESTROY { $_[0]->stop if $_[0]{pid} }

1;
