# Long-lived children stay flat (THREATS 30): misses on keep-alive
# connections that never close allocate nothing that outlives their
# request.  16,000 misses (each takes and releases the fill lease and
# stores an entry) over 4 connections kept open throughout: the Apache
# children's total RSS grows by less than 1 MB after a warm-up.
use strict;
use warnings;
use HTTP::Tiny;
use IO::Handle;
use POSIX ();
use Test::More;
use SCTest;

my $CONNS = 4;
my $WARMUP = 2000;
my $MISSES = 16000;
my $LIMIT_KB = 1024;

my $mc = SCTest::Memcached->start(mem => 128);
my $ap = SCTest::Apache->start(memcached => [$mc]);

# The Apache children of the parent (not mod_wsgi's daemon processes,
# which are its children too but run Python under their display-name).
sub children {
    my $parent = $ap->parent_pid;
    my @pids;
    for my $stat (glob '/proc/[0-9]*/stat') {
        open my $fh, '<', $stat or next;
        my $line = <$fh> // next;
        my ($pid, $ppid) = $line =~ /^(\d+) \(.*\) \S+ (\d+) / or next;
        next unless $ppid == $parent;
        open my $cmd, '<', "/proc/$pid/cmdline" or next;
        my $cmdline = <$cmd> // '';
        push @pids, $pid if $cmdline =~ m{apache2} && $cmdline !~ /wsgi/;
    }
    return sort { $a <=> $b } @pids;
}

sub rss_kb {
    my %rss;
    for my $pid (@_) {
        open my $fh, '<', "/proc/$pid/status" or next;
        while (<$fh>) {
            $rss{$pid} = $1 if /^VmRSS:\s+(\d+) kB/;
        }
    }
    return \%rss;
}

sub total { my $t = 0; $t += $_ for values %{ $_[0] }; $t }

# One client per connection: the warm-up, then (when told) the misses,
# all on one keep-alive connection that stays open until the end.
my @clients;
for my $c (0 .. $CONNS - 1) {
    pipe(my $from_child, my $to_parent) or die $!;
    pipe(my $from_parent, my $to_child) or die $!;
    my $pid = fork // die $!;
    if (!$pid) {
        close $from_child;
        close $to_child;
        $to_parent->autoflush(1);
        my $ua = HTTP::Tiny->new(timeout => 30, keep_alive => 1);
        my ($n, %seen) = (0);
        my $run = sub {
            my ($phase, $count) = @_;
            for my $i (1 .. $count) {
                my $r = $ua->get($ap->url("/app/ka/$phase?c=$c&i=$i"));
                $seen{ ($r->{status} // 0) . ' '
                       . ($r->{headers}{'x-sharedcache'} // '-') }++;
                $n++;
            }
        };
        $run->('warm', $WARMUP / $CONNS);
        print $to_parent "warm\n";
        <$from_parent>;
        $run->('miss', $MISSES / $CONNS);
        print $to_parent join(',', map { "$_=$seen{$_}" } sort keys %seen),
                         "\n";
        <$from_parent>;              # keep the connection open until told
        POSIX::_exit(0);
    }
    close $from_parent;
    close $to_parent;
    $to_child->autoflush(1);
    push @clients, { pid => $pid, in => $from_child, out => $to_child };
}

readline $_->{in} for @clients;
my @kids = children();
cmp_ok(scalar @kids, '>=', 1, 'Apache children found: ' . join(' ', @kids));
my $before = rss_kb(@kids);
print { $_->{out} } "go\n" for @clients;
my %seen;
for my $c (@clients) {
    my $line = readline $c->{in} // '';
    chomp $line;
    for (split /,/, $line) {
        my ($k, $v) = split /=/;
        $seen{$k} += $v;
    }
}
my $after = rss_kb(@kids);
print { $_->{out} } "done\n" for @clients;
waitpid $_->{pid}, 0 for @clients;

is($seen{'200 MISS'}, $WARMUP + $MISSES, 'every request was a MISS, 200')
    or diag(explain \%seen);
# Prefork may start spare children meanwhile; those measured must all
# still run (a child that went away would hide growth).
is(scalar(grep { exists $after->{$_} } @kids), scalar @kids,
   'the children measured before are still running');
my $growth = total($after) - total($before);
cmp_ok($growth, '<', $LIMIT_KB,
       sprintf('RSS of the children grew by %d kB over %d misses '
               . '(%d kB -> %d kB)', $growth, $MISSES, total($before),
               total($after)))
    or diag(join ' ', map { "$_:$before->{$_}->" . ($after->{$_} // '-') }
                      sort keys %$before);
ok($mc->stats->{curr_items} >= $MISSES, 'the misses were stored');

$ap->stop;
done_testing;
