package SCTest::Cluster;

# Helpers for the tests of a memcached cluster (t/cluster_*.t), on top of
# SCTest: which server holds a key, pausing a server with SIGSTOP (always
# resumed, also when a test dies), sharedcachectl with a bounded run time,
# and a load of many URLs over parallel keep-alive connections.
#
#   use SCTest::Cluster qw(:all);
#   my @mc = map { SCTest::Memcached->start } 1 .. 3;
#   my $i = holder(ns_key(), @mc);        # index of the server holding it
#   pause($mc[$i]); ... resume($mc[$i]);  # SIGSTOP / SIGCONT
#   my $r = ctl(servers => \@mc, args => ['invalidate', 'post-5']);
#   my @res = load($ap, \@paths, conns => 16, total => 300);
#
# A partition (SCTest::Cluster::Proxy) rather than a pause: SIGSTOP leaves
# every command sent meanwhile in the server's socket buffer, and memcached
# runs them on SIGCONT, so a stopped server never misses an invalidation.
# A host cut off by the network does.  The proxy relays one memcached
# server; partition() stops relaying, heal() drops every connection made
# before it together with whatever was sent through it unread, then relays
# again: the server comes back with its old data and without the commands
# sent while it was away.
#
#   my @px = map { SCTest::Cluster::Proxy->start($_) } @mc;
#   my $ap = SCTest::Apache->start(memcached => \@px, ...);
#   $px[1]->partition; ...; $px[1]->heal;

use strict;
use warnings;
use Digest::MD5 qw(md5_hex);
use Digest::SHA qw(sha1_hex);
use Exporter 'import';
use File::Temp qw(tempdir);
use HTTP::Tiny;
use POSIX qw(:sys_wait_h);
use Time::HiRes qw(time sleep);
use SCTest;

our @EXPORT_OK = qw(counter_key ns_key tag_key url_key holders holder
                    key_sets pause resume resume_all ctl entry_key entry_servers load
                    load_start load_wait
                    body_token pid_of);
our %EXPORT_TAGS = (all => \@EXPORT_OK);

my $CTL = "$SCTest::ROOT/tools/sharedcachectl";
my $OWNER = $$;

# ---- keys -------------------------------------------------------------

# Generation counters as sc_key.h names them (the names sharedcachectl and
# the Python package compute, t/unit/dep_vectors.txt).
sub counter_key { my ($dep, $prefix) = @_; ($prefix // 'sc') . ':g:' . sha1_hex($dep) }
sub ns_key { counter_key('n:' . ($_[0] // 'default')) }
sub tag_key { counter_key("t:$_[0]") }

# The URL counter of a path of the harness's main server (the query is no
# part of it: a purge covers every query).
sub url_key {
    my ($ap, $path) = @_;
    (my $p = $path) =~ s/\?.*//s;
    return counter_key("u:http://127.0.0.1:" . $ap->port . $p);
}

# One hash of keys per server, in the order of @mc.
sub key_sets {
    my (@mc) = @_;
    return map { my %k = map { $_ => 1 } $_->keys; \%k } @mc;
}

# Indices of the servers holding key.
sub holders {
    my ($key, @mc) = @_;
    my @sets = key_sets(@mc);
    return grep { $sets[$_]{$key} } 0 .. $#mc;
}

# The index of the first server holding key, undef when none does.
sub holder { my @h = holders(@_); return $h[0] }

# The pid of a harness memcached (SCTest::Memcached keeps it in {pid}).
sub pid_of { $_[0]{pid} or die "memcached is not running" }

# ---- pause / resume ---------------------------------------------------

my %paused;    # pid => 1

sub pause {
    my ($mc) = @_;
    my $pid = pid_of($mc);
    $paused{$pid} = 1;
    kill 'STOP', $pid or die "SIGSTOP $pid: $!";
    # Wait until the kernel says it is stopped (state T), at most 2 s.
    my $until = time + 2;
    while (time < $until) {
        open my $fh, '<', "/proc/$pid/stat" or last;
        my $stat = <$fh> // '';
        last if $stat =~ /^\d+ \(.*\) [Tt] /;
        sleep 0.01;
    }
    return $pid;
}

sub resume {
    my ($mc) = @_;
    my $pid = $mc->{pid} or return;
    kill 'CONT', $pid;
    delete $paused{$pid};
}

sub resume_all {
    kill 'CONT', $_ for keys %paused;
    %paused = ();
}

# A paused server is always resumed: at the end, on die, on a signal.
END { resume_all() if $$ == $OWNER }
for my $sig (qw(INT TERM HUP)) {
    $SIG{$sig} = sub { resume_all(); exit 1 };
}

# ---- sharedcachectl ---------------------------------------------------

# Run tools/sharedcachectl with a bounded run time (killed after
# limit seconds, 15 by default).  servers: memcached objects or addresses.
# Returns { rc, out, err, secs, killed }.
sub ctl {
    my (%o) = @_;
    my @servers = map { ref $_ ? $_->addr : $_ } @{ $o{servers} || [] };
    my @args = (@servers ? ('--servers', join(' ', @servers)) : (),
                defined $o{timeout} ? ('--timeout', $o{timeout}) : (),
                @{ $o{args} });
    my $dir = tempdir(CLEANUP => 1);
    my $t0 = time;
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        delete @ENV{qw(SHAREDCACHE_SERVERS SHAREDCACHE_PREFIX)};
        open STDIN, '<', '/dev/null';
        open STDOUT, '>', "$dir/out" or die $!;
        open STDERR, '>', "$dir/err" or die $!;
        exec $CTL, @args or POSIX::_exit(127);
    }
    my $limit = $o{limit} // 15;
    my ($done, $killed) = (0, 0);
    while (!$done) {
        $done = waitpid($pid, WNOHANG) == $pid;
        last if $done;
        if (time - $t0 > $limit) {
            kill 'KILL', $pid;
            waitpid($pid, 0);
            $killed = 1;
            last;
        }
        sleep 0.02;
    }
    my %r = (rc => $killed ? -1 : $? >> 8, secs => time - $t0,
             killed => $killed, cmd => "sharedcachectl @args");
    for my $f (qw(out err)) {
        open my $fh, '<', "$dir/$f" or next;
        local $/;
        $r{$f} = <$fh> // '';
    }
    return \%r;
}

# The memcached key of the entry (or Vary record) of a path of the main
# server, as sharedcachectl inspect computes it (no server needs to hold
# it).  headers: ['Name: value', ...] for a variant.
sub entry_key {
    my ($ap, $path, $mc, @headers) = @_;
    my $r = ctl(servers => $mc, timeout => 500, args => [
        'inspect', 'http://127.0.0.1:' . $ap->port . $path,
        map { ('-H', $_) } @headers]);
    my @rec = $r->{out} =~ /^record:\s+(?:entry |vary )?(\S+)/mg;
    return wantarray ? @rec : $rec[-1];
}

# For each path of the main server: the index of the server holding its
# entry (undef when none does), as { path => index }.
sub entry_servers {
    my ($ap, $mc, @paths) = @_;
    my @sets = key_sets(@$mc);
    my %where;
    for my $p (@paths) {
        my $k = entry_key($ap, $p, $mc);
        ($where{$p}) = grep { $k && $sets[$_]{$k} } 0 .. $#sets;
    }
    return \%where;
}

# The render token the test app writes into every body.
sub body_token { ($_[0] // '') =~ /token=([0-9a-f]{32})/ ? $1 : '' }

# ---- load -------------------------------------------------------------

# GET total requests spread over paths (round robin) from conns parallel
# keep-alive clients.  Returns a list of { path, status, cache, token, ms }.
# With duration => seconds each client sends requests until that time is
# over instead (total is then ignored), pausing pace_ms between them.
# Each client gives up after deadline seconds (default 60): no load
# outlives a hung server.  load_start forks the clients and returns at
# once (the test may pause a server meanwhile); load_wait collects them.
sub load { load_wait(load_start(@_)) }

sub load_start {
    my ($ap, $paths, %o) = @_;
    my $total = $o{total} || 300;
    my $conns = $o{conns} || 16;
    my $deadline = time + ($o{deadline} || 60);
    my $end = $o{duration} ? time + $o{duration} : undef;
    my @kids;
    for my $c (0 .. $conns - 1) {
        my $n = $end ? 1e9
              : int($total / $conns) + ($c < $total % $conns ? 1 : 0);
        next unless $n;
        pipe(my $rd, my $wr) or die "pipe: $!";
        my $pid = fork // die "fork: $!";
        if ($pid == 0) {
            close $rd;
            my $ua = HTTP::Tiny->new(timeout => 20, keep_alive => 1);
            for my $i (0 .. $n - 1) {
                last if time > $deadline || ($end && time > $end);
                sleep $o{pace_ms} / 1000 if $o{pace_ms} && $i;
                my $path = $paths->[($c + $i * $conns) % @$paths];
                my $t0 = time;
                my $r = $ua->get($ap->url($path),
                                 { headers => $o{headers} || {} });
                printf $wr "%s %d %s %s %.3f %.3f\n", $path, $r->{status},
                    $r->{headers}{'x-sharedcache'} || '-',
                    body_token($r->{content}) || '-', (time - $t0) * 1000,
                    $t0;
            }
            close $wr;
            POSIX::_exit(0);
        }
        close $wr;
        push @kids, [$pid, $rd];
    }
    return \@kids;
}

sub load_wait {
    my ($kids) = @_;
    my @out;
    for my $k (@$kids) {
        my $fh = $k->[1];
        while (my $line = <$fh>) {
            my ($path, $status, $cache, $token, $ms, $t0) = split ' ', $line;
            push @out, { path => $path, status => $status, cache => $cache,
                         token => $token, ms => $ms, start => $t0 };
        }
        waitpid($k->[0], 0);
    }
    return @out;
}

# ---- a partitionable relay in front of one memcached -------------------

package SCTest::Cluster::Proxy;

use IO::Select;
use IO::Socket::INET;
use Socket qw(AF_UNIX SOCK_STREAM PF_UNSPEC);

sub start {
    my ($class, $mc) = @_;
    my $listen = IO::Socket::INET->new(
        Listen => 1024, LocalAddr => '127.0.0.1', LocalPort => 0,
        Proto => 'tcp', ReuseAddr => 1) or die "proxy listen: $!";
    socketpair(my $ctl, my $child, AF_UNIX, SOCK_STREAM, PF_UNSPEC)
        or die "socketpair: $!";
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        close $ctl;
        $child->autoflush(1);
        $SIG{$_} = 'DEFAULT' for qw(INT TERM HUP);
        eval { _relay($listen, $child, $mc->port) };
        POSIX::_exit(0);
    }
    close $child;
    $ctl->autoflush(1);
    return bless { pid => $pid, ctl => $ctl, port => $listen->sockport,
                   mc => $mc }, $class;
}

sub addr { "127.0.0.1:$_[0]{port}" }
sub port { $_[0]{port} }
sub mc { $_[0]{mc} }

sub _command {
    my ($self, $cmd) = @_;
    my $ctl = $self->{ctl};
    print $ctl "$cmd\n";
    IO::Select->new($ctl)->can_read(10) or die "proxy: no answer to $cmd";
    my $ok = <$ctl> // '';
    $ok eq "ok\n" or die "proxy: no answer to $cmd";
}

sub partition { $_[0]->_command('partition') }
sub heal { $_[0]->_command('heal') }

sub stop {
    my ($self) = @_;
    my $pid = delete $self->{pid} or return;
    close $self->{ctl};
    SCTest::stop_pid($pid, 'KILL');
}

sub DESTROY { $_[0]->stop }

sub _relay {
    my ($listen, $ctl, $port) = @_;
    my $sel = IO::Select->new($listen, $ctl);
    my (%peer, $cut);
    my $drop = sub {
        my ($fh) = @_;
        my $other = delete $peer{$fh};
        for my $s (grep { defined } $fh, $other) {
            delete $peer{$s};
            $sel->remove($s);
            close $s;
        }
    };
    while (1) {
        my @ready = $sel->can_read(0.5);
        for my $fh (@ready) {
            if ($fh == $ctl) {
                my $line = <$ctl>;
                return unless defined $line;    # the test is gone
                if ($line eq "partition\n") {
                    # Nothing is read any more: clients and their new
                    # connections (the kernel still accepts them) wait.
                    $cut = 1;
                    $sel = IO::Select->new($ctl);
                }
                elsif ($line eq "heal\n") {
                    # Everything sent while cut off is lost with its
                    # connection, also on connections still in the backlog.
                    my %all = map { ("$_" => $_) } values %peer;
                    close $_ for values %all;
                    %peer = ();
                    $listen->blocking(0);
                    while (my $c = $listen->accept) { close $c }
                    $listen->blocking(1);
                    $cut = 0;
                    $sel = IO::Select->new($listen, $ctl);
                }
                print $ctl "ok\n";
                last;
            }
            if ($fh == $listen) {
                my $c = $listen->accept or next;
                my $u = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                              PeerPort => $port,
                                              Proto => 'tcp');
                unless ($u) { close $c; next }
                setsockopt($_, Socket::IPPROTO_TCP(), Socket::TCP_NODELAY(), 1)
                    for $c, $u;
                @peer{$c, $u} = ($u, $c);
                $sel->add($c, $u);
                next;
            }
            next unless $peer{$fh};
            my $n = sysread($fh, my $buf, 262144);
            if (!$n) {
                $drop->($fh);
                next;
            }
            my $to = $peer{$fh};
            my $off = 0;
            while ($off < length $buf) {
                my $w = syswrite($to, $buf, length($buf) - $off, $off);
                if (!defined $w) {
                    $drop->($fh);
                    last;
                }
                $off += $w;
            }
        }
    }
}

1;
