# SCTest::FakeMemcached: a scripted memcached (text protocol) for what a
# real one cannot do: hold a reply back, or answer wrongly on purpose.  It
# answers get/gets, set, add, delete, incr, version and quit from memory
# (with expiry times and noreply, as memcached does), and logs every
# command it reads, with the number of its connection, so a test can tell
# what arrived on which connection and when.
#
#   my $mc = SCTest::FakeMemcached->start(hold => qr/^sc:e:/);
#       # a set/add of a matching key is read and logged, never carried
#       # out or answered, and neither is anything after it on its
#       # connection (the module sends a store with noreply and reads
#       # the key back: that get waits for ever)
#   $mc->commands;   # ({ conn => 3, cmd => 'set', key => 'sc:e:...',
#                    #    t => 1732560000.123 }, ...)
#
# Chaos: for a fraction of the commands that are due a reply, a wrong one.
# Every command is still carried out: only what the client hears is wrong.
#
#   my $mc = SCTest::FakeMemcached->start(quiet => 1,
#                                         chaos => { rate => 0.02, seed => 7 });
#   $mc->chaos(1);          # on (start(chaos => ...) starts it off)
#   $mc->chaos_stats;       # { other => 512, 'other/extra' => 170, ... }
#
# The kinds (each counted, with its variant after a slash):
#   other   a get is answered with the VALUE block of another stored key:
#           instead of the reply (instead), as an extra block in it
#           (extra), or, for an entry's or counter's key, that key's data
#           under the asked key's name (renamed: what only a check of the
#           record itself can catch; never for a fill lease, whose value
#           holds nothing to check it by)
#   repeat  the reply sent before on the connection, instead of the one
#           due (instead) or before it (before: the connection is one
#           reply behind from then on)
#   stall   a get is answered with its VALUE line and part of the data,
#           then nothing more on that connection
#   close   the same, then the connection is closed
# The stats also count commands, the fill leases held (a set or add of a
# value starting "lease" under a key with ":l:"), and those that expired
# while held (leases_expired: nobody let go of them).  The log also has
# each wrong answer ("chaos:KIND/VARIANT" for the command, with the
# command's arguments) and each lease that expired ("expired" and its
# key); quiet => 1 logs only those (a long run).  The control commands "chaos on|off|stats" on a
# connection of their own are never answered wrongly.
#
# Usable wherever SCTest::Memcached is (addr, port, stop, command).
package SCTest::FakeMemcached;

use strict;
use warnings;
use IO::Select;
use IO::Socket::INET;
use Time::HiRes qw(time);

my @KINDS = qw(other repeat stall close);

sub start {
    my ($class, %o) = @_;
    my $dir = SCTest::workdir();
    my $listen = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
                                       LocalPort => 0, Listen => 256,
                                       ReuseAddr => 1) or die "listen: $!";
    my $self = bless { port => $listen->sockport, log => "$dir/fake.log",
                       hold => $o{hold}, quiet => $o{quiet},
                       chaos => $o{chaos} }, $class;
    my $pid = fork;
    die "fork: $!" unless defined $pid;
    if ($pid == 0) {
        setpgrp(0, 0);
        $SIG{PIPE} = 'IGNORE';    # a client that went away mid-reply
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

# One command on a connection of its own; its reply (STAT and VALUE
# blocks up to END, or one line).
sub command {
    my ($self, $text) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => $self->{port}, Timeout => 5)
        or die "connect: $!";
    print $s "$text\r\n";
    my $reply = '';
    while (my $line = <$s>) {
        $reply .= $line;
        if ($line =~ /^VALUE \S+ \d+ (\d+)/) {
            read($s, my $data, $1 + 2);
            $reply .= $data;
        }
        last unless $line =~ /^(?:STAT|VALUE) /;
    }
    close $s;
    return $reply;
}

# Chaos on (1) or off (0).
sub chaos {
    my ($self, $on) = @_;
    my $r = $self->command('chaos ' . ($on ? 'on' : 'off'));
    die "chaos: $r" unless $r =~ /^OK/;
}

sub chaos_stats {
    my ($self) = @_;
    my %st = map { /^STAT (\S+) (\S+)/ ? ($1 => $2) : () }
             split /\r\n/, $self->command('chaos stats');
    return \%st;
}

# --- the server (in its own process) ---

sub _serve {
    my ($self, $listen) = @_;
    open my $log, '>>', $self->{log} or die "$self->{log}: $!";
    $log->autoflush(1);
    my $sel = IO::Select->new($listen);
    my %st = (data => {}, held => {}, recent => [], count => {},
              on => 0, sel => $sel, log => $log);
    my $chaos = $self->{chaos};
    srand($chaos->{seed} // 1) if $chaos;
    my (%conn, $swept);
    my $next = 0;
    while (1) {
        my @ready = $sel->can_read(0.2);
        if (time - ($swept // 0) > 0.2) {
            _sweep(\%st);
            $swept = time;
        }
        for my $fh (@ready) {
            if ($fh == $listen) {
                my $c = $listen->accept or next;
                $sel->add($c);
                $conn{$c} = { id => ++$next, buf => '', fh => $c };
                next;
            }
            my $cn = $conn{$fh};
            my $n = sysread $fh, my $chunk, 65536;
            if (!$n) {
                _drop(\%st, \%conn, $fh);
                next;
            }
            $cn->{buf} .= $chunk;
            while ($cn->{buf} =~ /\A([^\r\n]*)\r\n/) {
                my $line = $1;
                my ($cmd, @a) = split / /, $line;
                $cmd //= '';
                my $body_len = 0;
                if ($cmd =~ /^(?:set|add|replace)$/) {
                    $body_len = ($a[3] // 0) + 2;
                    last if length($cn->{buf}) < length($line) + 2 + $body_len;
                }
                substr($cn->{buf}, 0, length($line) + 2) = '';
                my $value = substr($cn->{buf}, 0, $body_len, '');
                printf $log "%.3f %d %s %s\n", time, $cn->{id}, $cmd,
                       join(' ', @a) unless $self->{quiet};
                next if $cn->{stalled};    # read, never answered
                if ($cmd eq 'chaos') {
                    syswrite $fh, _control(\%st, $a[0] // '');
                    next;
                }
                $st{count}{commands}++;
                if ($self->{hold} && $cmd =~ /^(?:set|add|replace)$/
                    && $a[0] =~ $self->{hold}) {
                    $cn->{stalled} = 1;
                    next;
                }
                my ($reply, $found) = _answer(\%st, $cmd, \@a, $value);
                if ($cmd eq 'quit') {
                    _drop(\%st, \%conn, $fh);
                    last;
                }
                next unless defined $reply;
                if ($st{on} && rand() < $chaos->{rate}) {
                    my $done = _chaos(\%st, $cn, $cmd, \@a, $reply, $found);
                    if ($done eq 'close') {
                        _drop(\%st, \%conn, $fh);
                        last;
                    }
                    next if $done;    # sent, or stalled
                }
                syswrite $fh, $reply;
                $cn->{last} = $reply;
            }
        }
    }
}

sub _drop {
    my ($st, $conn, $fh) = @_;
    $st->{sel}->remove($fh);
    delete $conn->{$fh};
    close $fh;
}

sub _control {
    my ($st, $what) = @_;
    if ($what eq 'on' || $what eq 'off') {
        $st->{on} = $what eq 'on';
        return "OK\r\n";
    }
    if ($what eq 'stats') {
        _sweep($st);
        my %c = (%{ $st->{count} },
                 leases_held => scalar keys %{ $st->{held} });
        $c{$_} //= 0 for @KINDS, qw(commands leases_expired);
        return join('', map { "STAT $_ $c{$_}\r\n" } sort keys %c)
             . "END\r\n";
    }
    return "ERROR\r\n";
}

# Expiry as memcached reads it: 0 never, up to 30 days relative, else an
# absolute time; negative: already expired.
sub _expiry {
    my ($exp) = @_;
    return 0 if !$exp;
    return time - 1 if $exp < 0;
    return $exp > 2592000 ? $exp : time + $exp;
}

# The live value of a key, or undef (an expired one is removed).
sub _live {
    my ($st, $k) = @_;
    my $v = $st->{data}{$k} or return undef;
    return $v if !$v->[2] || $v->[2] > time;
    _gone($st, $k, 1);
    return undef;
}

sub _gone {
    my ($st, $k, $expired) = @_;
    delete $st->{data}{$k};
    if (delete $st->{held}{$k} and $expired) {
        $st->{count}{leases_expired}++;
        printf { $st->{log} } "%.3f 0 expired %s\n", time, $k;
    }
}

# Leases that expire while held were never let go of: count them even if
# nobody asks for their key again.
sub _sweep {
    my ($st) = @_;
    _live($st, $_) for keys %{ $st->{held} };
}

sub _answer {
    my ($st, $cmd, $a, $value) = @_;
    my $data = $st->{data};
    if ($cmd eq 'get' || $cmd eq 'gets') {
        my $out = '';
        my @found;
        for my $k (@$a) {
            my $v = _live($st, $k) or next;
            push @found, $k;
            $out .= _value_block($cmd, $k, $v);
        }
        return ("${out}END\r\n", \@found);
    }
    my $noreply = @$a && $a->[-1] eq 'noreply';
    if ($cmd eq 'set' || $cmd eq 'add' || $cmd eq 'replace') {
        my ($k, $flags, $exp) = @$a;
        substr($value, -2) = '';
        my $reply;
        if ($cmd eq 'add' && _live($st, $k)) {
            $reply = "NOT_STORED\r\n";
        }
        elsif ($cmd eq 'replace' && !_live($st, $k)) {
            $reply = "NOT_STORED\r\n";
        }
        else {
            $data->{$k} = [$flags, $value, _expiry($exp)];
            delete $st->{held}{$k};
            if ($k =~ /:l:/ && $value =~ /^lease/) {
                $st->{held}{$k} = 1;
                $st->{count}{leases_taken}++;
            }
            push @{ $st->{recent} }, $k;
            shift @{ $st->{recent} } if @{ $st->{recent} } > 512;
            $reply = "STORED\r\n";
        }
        return $noreply ? undef : $reply;
    }
    if ($cmd eq 'delete') {
        my $reply = _live($st, $a->[0]) ? "DELETED\r\n" : "NOT_FOUND\r\n";
        _gone($st, $a->[0], 0);
        return $noreply ? undef : $reply;
    }
    if ($cmd eq 'incr') {
        my $v = _live($st, $a->[0]);
        my $reply = "NOT_FOUND\r\n";
        if ($v) {
            $v->[1] =~ s/ +$//;
            $v->[1] += $a->[1];
            $reply = "$v->[1]\r\n";
        }
        return $noreply ? undef : $reply;
    }
    return "VERSION 1.6.99\r\n" if $cmd eq 'version';
    return undef if $cmd eq 'quit';
    return "ERROR\r\n";
}

sub _value_block {
    my ($cmd, $k, $v) = @_;
    return "VALUE $k $v->[0] " . length($v->[1])
         . ($cmd eq 'gets' ? ' 1' : '') . "\r\n$v->[1]\r\n";
}

# Answer wrongly if a kind applies to this command: 'sent' (a reply was
# written instead of $reply), 'stall', 'close', or '' (answer as usual).
sub _chaos {
    my ($st, $cn, $cmd, $a, $reply, $found) = @_;
    my $get = $cmd eq 'get' || $cmd eq 'gets';
    my %asked = map { $_ => 1 } ($get ? @$a : ());
    my $other;
    if ($get) {
        # a live key not asked for, among those stored lately
        my $recent = $st->{recent};
        for (1 .. 8) {
            my $k = $recent->[int rand @$recent] // last;
            next if $asked{$k} || !_live($st, $k);
            $other = $k;
            last;
        }
    }
    my @kinds;
    push @kinds, 'other' if $other;
    push @kinds, 'repeat' if defined $cn->{last} && $cn->{last} ne $reply;
    push @kinds, 'stall', 'close' if $get && @$found;
    return '' unless @kinds;
    my $kind = $kinds[int rand @kinds];
    my ($out, $variant);
    if ($kind eq 'other') {
        my $block = _value_block($cmd, $other, $st->{data}{$other});
        my @renamable = grep { /:[eg]:/ } @$found;
        my @variants = ('instead', 'extra', @renamable ? 'renamed' : ());
        $variant = $variants[int rand @variants];
        if ($variant eq 'instead') {
            $out = "${block}END\r\n";
        }
        elsif ($variant eq 'extra') {
            # among the asked keys' blocks, at a random place
            my @blocks = map { _value_block($cmd, $_, $st->{data}{$_}) }
                         @$found;
            splice @blocks, int rand(@blocks + 1), 0, $block;
            $out = join('', @blocks) . "END\r\n";
        }
        else {
            my $k = $renamable[int rand @renamable];
            my $wrong = $st->{data}{$other};
            $out = join('', map {
                _value_block($cmd, $_, $_ eq $k ? $wrong : $st->{data}{$_})
            } @$found) . "END\r\n";
        }
    }
    elsif ($kind eq 'repeat') {
        $variant = rand() < 0.5 ? 'instead' : 'before';
        $out = $variant eq 'instead' ? $cn->{last} : $cn->{last} . $reply;
    }
    else {
        # the first value's line and part of its data
        my $k = $found->[0];
        my $v = $st->{data}{$k};
        my $block = _value_block($cmd, $k, $v);
        my $head = index($block, "\r\n") + 2;
        $out = substr($block, 0, $head + int rand(length($v->[1]) + 2));
    }
    $st->{count}{$kind}++;
    $st->{count}{"$kind/$variant"}++ if $variant;
    printf { $st->{log} } "%.3f %d chaos:%s %s %s\n", time, $cn->{id},
           $kind . ($variant ? "/$variant" : ''), $cmd, join(' ', @$a);
    syswrite $cn->{fh}, $out;
    $cn->{last} = $out;
    $cn->{stalled} = 1 if $kind eq 'stall';
    return $kind eq 'stall' || $kind eq 'close' ? $kind : 'sent';
}

1;
