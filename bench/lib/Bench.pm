package Bench;

use File::Basename ();
use lib File::Basename::dirname(__FILE__) . '/../../t/lib';
use SCTest ();

# Shared helpers of bench/run and bench/stampede: process bookkeeping
# (every process is started here and stopped by PID, also on failure or
# Ctrl-C), /proc readings, one memcached, and Apache instances (event MPM,
# one base configuration, the test app under mod_wsgi, a snapshot of the
# module) on free loopback ports.  Also the other caches a site might put
# in front of the same Apache instead (Varnish, nginx proxy_cache), when
# they are installed.
#
#   use lib "$dir/lib"; use Bench;
#   $workdir = tempdir(...);         # the scripts own and set it
#   copy($SO, "$workdir/mod_sharedcache.so");
#   mc_start();
#   my $ap = apache_start('name', "<Location /app>...</Location>",
#                         mpm => "ServerLimit 2\n...", wsgi => 'processes=2 threads=16');
#   get($ap, '/app/page'); renders($ap);
#   apache_stop($ap);                # cleanup() at exit does the rest
#   my $v = varnish_start('name', $backend_ap, $vcl);   # or nginx_start:
#   get($v, '/app/page'); renders($v);  # the backend's renders
#   apache_stop($v);                 # the proxy, then its backend

use strict;
use warnings;
use Cwd qw(abs_path);
use Exporter qw(import);
use File::Basename qw(dirname);
use File::Copy qw(copy);
# Before our END block: File::Temp's own END (removing temporary
# directories) then runs after ours has stopped every process.
use File::Temp ();
use HTTP::Tiny;
use IO::Socket::INET;
use POSIX qw(:sys_wait_h);
use Time::HiRes qw(time sleep);

our @EXPORT = qw(
    $ROOT $MODULES $HTTPD $SO $HZ $ncpu %started %seen %mc $workdir
    spawn stop_pid reap_orphans cleanup
    proc_stat apache_ticks system_busy self_child_ticks proc_ticks
    free_port wait_port slurp spew
    mc_start mc_start_extra mc_stats mc_ticks
    apache_conf apache_start apache_log apache_stop renders get
    find_tool varnish_start nginx_start proxy_log
);

our $ROOT = abs_path(dirname(__FILE__) . '/../..');
our $MODULES = '/usr/lib/apache2/modules';
our $HTTPD = $ENV{BENCH_HTTPD} || '/usr/sbin/apache2';
our $SO = "$ROOT/.libs/mod_sharedcache.so";

chomp(our $HZ = `getconf CLK_TCK`);
die "getconf CLK_TCK failed\n" unless $HZ && $HZ > 0;
our $ncpu = `nproc` + 0 || 1;

# ---- process bookkeeping and cleanup -------------------------------------

our %started;       # pid => name of every process we spawned
our %seen;          # Apache parent => { "pid starttime" => 1 } of the
                    # children seen
our $workdir;

sub spawn {
    my ($name, $log, @cmd) = @_;
    my $pid = fork;
    die "fork: $!" unless defined $pid;
    if ($pid == 0) {
        # Own process group: Ctrl-C reaches only us; we stop them by PID.
        setpgrp(0, 0);
        $SIG{$_} = 'DEFAULT' for qw(INT TERM HUP);
        open STDIN, '<', '/dev/null';
        open STDOUT, '>>', $log or die "$log: $!";
        open STDERR, '>&', \*STDOUT;
        exec @cmd or POSIX::_exit(127);
    }
    $started{$pid} = $name;
    return $pid;
}

sub stop_pid {
    my ($pid, $signal) = @_;
    return unless $pid && $started{$pid};
    kill $signal || 'TERM', $pid;
    my $until = time + 15;
    while (time < $until) {
        my $w = waitpid($pid, WNOHANG);
        if ($w == $pid || $w == -1) { delete $started{$pid}; return }
        sleep 0.05;
    }
    kill 'KILL', $pid;
    waitpid($pid, 0);
    delete $started{$pid};
}

# Apache children (and mod_wsgi daemons) left behind after their parent
# stopped: kill them by PID if they are still the same process.  Without
# a parent: those of every stopped parent.
sub reap_orphans {
    my ($parent) = @_;
    for my $pp (defined $parent ? ($parent) : keys %seen) {
        next if $started{$pp};          # still running: not orphans
        for my $k (keys %{ $seen{$pp} || {} }) {
            my ($pid, $start) = split ' ', $k;
            my $st = proc_stat($pid);
            kill 'KILL', $pid if $st && $st->{start} eq $start;
        }
        delete $seen{$pp};
    }
}

my $cleaning;
sub cleanup {
    return if $cleaning++;
    # wrk first, then the proxies, then Apache (stops its children), then
    # memcached.
    my @order = sort {
        my %rank = (wrk => 0, varnish => 1, nginx => 1, apache => 2,
                    memcached => 3);
        ($rank{(split /:/, $started{$a})[0]} // 0)
            <=> ($rank{(split /:/, $started{$b})[0]} // 0)
    } keys %started;
    for my $pid (@order) {
        # Note an Apache's (varnishd's, nginx's) children first, to find
        # any it leaves behind.
        eval { apache_ticks($pid) }
            if $started{$pid} =~ /^(?:apache|varnish|nginx):/;
        stop_pid($pid, $started{$pid} =~ /^wrk/ ? 'INT' : 'TERM');
    }
    reap_orphans();
    $cleaning = 0;
}

$SIG{$_} = sub { die "interrupted by SIG$_[0]\n" } for qw(INT TERM HUP);
END { my $rc = $?; cleanup(); $? = $rc; }

# ---- /proc ----------------------------------------------------------------

sub proc_stat {
    my ($pid) = @_;
    open my $fh, '<', "/proc/$pid/stat" or return;
    my $line = <$fh>;
    close $fh;
    return unless defined $line;
    # comm may contain spaces and parentheses: split after the last ')'.
    my $r = rindex($line, ')');
    my ($comm) = substr($line, 0, $r) =~ /\((.*)$/s;
    my @f = split ' ', substr($line, $r + 2);
    # @f[0] is field 3 (state): field N is $f[N - 3].
    return {
        pid => $pid, comm => $comm, ppid => $f[1],
        utime => $f[11], stime => $f[12], cutime => $f[13],
        cstime => $f[14], start => $f[19],
    };
}

# CPU ticks of an Apache instance: the parent (with its reaped children)
# and every live child, itself including its reaped children.  A child
# that exits during a run is counted through the parent's cutime/cstime.
# The same works for any server that forks its workers: varnishd's
# manager and its child, nginx's master and its workers.
sub apache_ticks {
    my ($parent) = @_;
    my $p = proc_stat($parent) or die "Apache parent $parent is gone\n";
    my %t = (total => $p->{utime} + $p->{stime} + $p->{cutime}
                      + $p->{cstime},
             wsgi => 0, children => 0);
    opendir my $dh, '/proc' or die "/proc: $!";
    for my $pid (grep { /^\d+$/ } readdir $dh) {
        my $s = proc_stat($pid) or next;
        next unless $s->{ppid} == $parent;
        $seen{$parent}{"$pid $s->{start}"} = 1;
        my $ticks = $s->{utime} + $s->{stime} + $s->{cutime} + $s->{cstime};
        $t{total} += $ticks;
        # mod_wsgi daemon processes carry their display-name in argv.
        if (slurp("/proc/$pid/cmdline") =~ /^sc-app/) { $t{wsgi} += $ticks }
        else { $t{children}++ }
    }
    closedir $dh;
    return \%t;
}

# Busy ticks of the whole machine (all CPUs): everything but idle/iowait.
sub system_busy {
    open my $fh, '<', '/proc/stat' or die "/proc/stat: $!";
    my $line = <$fh>;
    close $fh;
    my (undef, @f) = split ' ', $line;
    my $busy = 0;
    $busy += $f[$_] // 0 for 0, 1, 2, 5, 6, 7;   # user nice system irq softirq steal
    return $busy;
}

# CPU of our waited-for children (wrk) so far.
sub self_child_ticks {
    my $s = proc_stat($$) or return 0;
    return $s->{cutime} + $s->{cstime};
}

sub proc_ticks {
    my ($pid) = @_;
    my $s = proc_stat($pid) or die "process $pid is gone\n";
    return $s->{utime} + $s->{stime} + $s->{cutime} + $s->{cstime};
}

# ---- helpers ------------------------------------------------------------

# Free ports and readiness come from the test harness, shared by both.
sub free_port { SCTest::free_port() }
sub wait_port { SCTest::wait_port(@_) }

sub slurp {
    my ($f) = @_;
    open my $fh, '<', $f or return '';
    local $/;
    my $t = <$fh>;
    return $t // '';
}

sub spew {
    my ($f, $data, $mode) = @_;
    open my $fh, '>', $f or die "$f: $!";
    binmode $fh;
    print $fh $data;
    close $fh or die "$f: $!";
    chmod $mode // 0644, $f;
}

# ---- memcached ------------------------------------------------------------

our %mc;

sub mc_start {
    $mc{port} = free_port();
    my @cmd = ('memcached', '-l', '127.0.0.1', '-p', $mc{port}, '-U', '0',
               '-m', '64', '-t', '2', '-c', '1024');
    push @cmd, '-u', 'nobody' if $> == 0;
    $mc{pid} = spawn('memcached', "$workdir/memcached.log", @cmd);
    wait_port($mc{port}, 10, $mc{pid}) or die "memcached did not start:\n"
        . slurp("$workdir/memcached.log");
}

# More memcached servers (for a configuration that uses several):
# $mc{extra} = [{ port, pid }, ...].
sub mc_start_extra {
    my ($n) = @_;
    for my $i (1 .. $n) {
        my %m = (port => free_port());
        my @cmd = ('memcached', '-l', '127.0.0.1', '-p', $m{port}, '-U', '0',
                   '-m', '64', '-t', '2', '-c', '1024');
        push @cmd, '-u', 'nobody' if $> == 0;
        $m{pid} = spawn('memcached', "$workdir/memcached-$i.log", @cmd);
        wait_port($m{port}, 10, $m{pid}) or die "memcached did not start\n";
        push @{ $mc{extra} }, \%m;
    }
}

# Statistics summed over every memcached started.
sub mc_stats {
    my %st;
    for my $port ($mc{port}, map { $_->{port} } @{ $mc{extra} || [] }) {
        my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                      PeerPort => $port, Timeout => 5)
            or die "memcached: $!";
        print $s "stats\r\n";
        while (my $line = <$s>) {
            last if $line =~ /^END/;
            next unless $line =~ /^STAT (\S+) (\S+)/;
            my ($k, $v) = ($1, $2);
            $st{$k} = $v =~ /^\d+$/ ? ($st{$k} // 0) + $v : $v;
        }
        close $s;
    }
    return \%st;
}

# CPU ticks of every memcached started.
sub mc_ticks {
    my $t = 0;
    $t += proc_ticks($_) for $mc{pid}, map { $_->{pid} } @{ $mc{extra} || [] };
    return $t;
}

# ---- Apache ---------------------------------------------------------------

# Modules loaded by every configuration, so they differ only in the few
# lines of their own block.
my @MODS = qw(authz_core authz_host mime setenvif headers alias wsgi
              cache cache_socache socache_memcache filter deflate);

# The configuration of one instance.  Options: mpm (the MPM settings,
# with any comment above them; required), mpm_module (event, the default,
# prefork or worker: the MPM those settings are for), wsgi
# (WSGIDaemonProcess options), htaccess (true: leave AllowOverride unset,
# so .htaccess is probed).  In block, @PORT@ and @DIR@ stand for the
# instance's port and directory.
sub apache_conf {
    my ($dir, $port, $block, %o) = @_;
    $block =~ s/\@PORT\@/$port/g;
    $block =~ s/\@DIR\@/$dir/g;
    my $mpm = $o{mpm} // die "apache_conf: no MPM settings\n";
    chomp $mpm;
    my $mpm_module = $o{mpm_module} || 'event';
    $mpm_module =~ /^(?:event|prefork|worker)$/
        or die "apache_conf: unknown MPM '$mpm_module'\n";
    my $wsgi = $o{wsgi} // 'processes=2 threads=16';
    my $htaccess = $o{htaccess} ? '# AllowOverride: not set'
        : "<Directory />\n    AllowOverride None\n</Directory>";
    my $user = $> == 0 ? "User www-data\nGroup www-data\n" : '';
    my $mods = join '', map { "LoadModule ${_}_module $MODULES/mod_$_.so\n" }
                        @MODS;
    return <<"CONF";
ServerRoot $dir
ServerName 127.0.0.1
Listen 127.0.0.1:$port
PidFile $dir/logs/httpd.pid
DefaultRuntimeDir $dir/logs
ErrorLog $dir/logs/error_log
LogLevel warn
$user
LoadModule mpm_${mpm_module}_module $MODULES/mod_mpm_$mpm_module.so
$mods
LoadModule sharedcache_module $dir/mod_sharedcache.so

$mpm

TypesConfig /etc/mime.types
# As in every stock httpd.conf: no .htaccess probing (BENCH_HTACCESS=1
# leaves AllowOverride unset, as the test harness does).
$htaccess
DocumentRoot $dir/htdocs
<Directory $dir/htdocs>
    Require all granted
</Directory>
<Directory $dir/app>
    Require all granted
</Directory>
KeepAlive On
MaxKeepAliveRequests 0
WSGISocketPrefix $dir/wsgi/sock
WSGIRestrictEmbedded On
WSGIDaemonProcess scapp $wsgi display-name=sc-app
WSGIScriptAlias /app $dir/app/app.py process-group=scapp application-group=%{GLOBAL}
SharedCacheServers 127.0.0.1:$mc{port}
SharedCacheTimeout 100
SharedCacheRetryInterval 1

# ---- this configuration ----
$block
CONF
}

# Start an instance named name in $workdir/name and wait until the app
# answers.  Options: those of apache_conf, and files ({ name => content }
# written into its DocumentRoot).  Returns { name dir port pid } (with a
# port method, for SCTest::Apache->burst).
sub apache_start {
    my ($name, $block, %o) = @_;
    my $dir = "$workdir/$name";
    mkdir $dir or die "$dir: $!";
    mkdir "$dir/$_" or die "$dir/$_: $!" for qw(app htdocs wsgi logs);
    chmod 0755, $dir, map { "$dir/$_" } qw(app htdocs wsgi logs);
    copy("$ROOT/t/app/app.py", "$dir/app/app.py") or die "copy app: $!";
    chmod 0644, "$dir/app/app.py";
    copy("$workdir/mod_sharedcache.so", "$dir/mod_sharedcache.so")
        or die "copy module: $!";
    chmod 0755, "$dir/mod_sharedcache.so";
    spew("$dir/app/renders.log", '', 0666);
    my $files = $o{files} || {};
    spew("$dir/htdocs/$_", $files->{$_}) for sort keys %$files;
    my $port = free_port();
    spew("$dir/httpd.conf", apache_conf($dir, $port, $block, %o));
    my $pid = spawn("apache:$name", "$dir/logs/stderr.log", $HTTPD,
                    '-f', "$dir/httpd.conf", '-DFOREGROUND');
    my $ap = bless { name => $name, dir => $dir, port => $port,
                     pid => $pid }, 'Bench::Apache';
    unless (wait_port($port, 20, $pid)) {
        delete $started{$pid};
        die "Apache ($name) did not start:\n" . apache_log($ap);
    }
    my $until = time + 20;
    while (1) {
        my $r = HTTP::Tiny->new(timeout => 5)
            ->get("http://127.0.0.1:$port/app/__ready__");
        last if $r->{status} < 500;
        die "Apache ($name): the app did not answer:\n" . apache_log($ap)
            if time > $until;
        sleep 0.1;
    }
    return $ap;
}

sub apache_log {
    my ($ap) = @_;
    return slurp("$ap->{dir}/logs/error_log")
         . slurp("$ap->{dir}/logs/stderr.log");
}

# Stops an instance; for a proxy (varnish_start, nginx_start), the proxy
# and then its backend Apache.
sub apache_stop {
    my ($ap) = @_;
    eval { apache_ticks($ap->{pid}) };     # note its children
    stop_pid($ap->{pid});
    reap_orphans($ap->{pid});
    apache_stop($ap->{backend}) if $ap->{backend};
}

# How often the app rendered: lines of its renders.log (only those that
# contain $what, if given).
sub renders {
    my ($ap, $what) = @_;
    my $log = slurp("$ap->{dir}/app/renders.log");
    return scalar(() = $log =~ /\n/g) unless defined $what;
    return scalar grep { index($_, $what) >= 0 } split /\n/, $log;
}

sub get {
    my ($ap, $path, %headers) = @_;
    my $r = HTTP::Tiny->new(timeout => 30, max_redirect => 0)
        ->get("http://127.0.0.1:$ap->{port}$path", { headers => \%headers });
    return $r;
}

# ---- other caches in front of an Apache -----------------------------------

# A program in PATH or in the usual sbin directories (varnishd and nginx
# live there, outside a normal user's PATH): its path, or undef.
sub find_tool {
    my ($tool) = @_;
    return -x $tool ? $tool : undef if $tool =~ m{/};
    for my $d ((split /:/, $ENV{PATH} // ''), '/usr/local/sbin', '/usr/sbin',
               '/sbin') {
        return "$d/$tool" if length $d && -f "$d/$tool" && -x _;
    }
    return undef;
}

# The object of a proxy in front of $backend: port and pid are the
# proxy's (wrk and get talk to it, apache_ticks counts its processes);
# dir is the backend's (renders, apache_log); logs are the proxy's own
# (proxy_log).
sub proxy_object {
    my ($name, $kind, $pdir, $port, $pid, $backend, @logs) = @_;
    return bless { name => $name, proxy => $kind, pdir => $pdir,
                   dir => $backend->{dir}, port => $port, pid => $pid,
                   backend => $backend, logs => \@logs }, 'Bench::Apache';
}

# The proxy's own log lines (varnishd's output, nginx's error log).
sub proxy_log {
    my ($ap) = @_;
    return join '', map { slurp($_) } @{ $ap->{logs} || [] };
}

# Varnish in front of the Apache $backend: `varnishd -F` (foreground, so
# it is stopped by PID) on a free loopback port, no management interface
# (-T none), the cache in memory (-s malloc,64m), its working directory
# (-n) in $workdir/name.  $vcl is the VCL; @BACKEND_PORT@ in it stands for
# the backend's port.  @params: more -p name=value.  Returns the proxy
# object (see proxy_object); the proxy dies with a message in its log
# when it cannot start.
sub varnish_start {
    my ($name, $backend, $vcl, @params) = @_;
    my $varnishd = find_tool($ENV{BENCH_VARNISHD} || 'varnishd')
        or die "varnishd not found\n";
    my $dir = "$workdir/$name";
    mkdir $dir or die "$dir: $!";
    chmod 0755, $dir;
    $vcl =~ s/\@BACKEND_PORT\@/$backend->{port}/g;
    spew("$dir/bench.vcl", $vcl);
    my $port = free_port();
    my $log = "$dir/varnishd.log";
    my $pid = spawn("varnish:$name", $log, $varnishd, '-F',
                    '-a', "127.0.0.1:$port", '-T', 'none',
                    '-n', "$dir/varnishd", '-f', "$dir/bench.vcl",
                    '-s', 'malloc,64m', map { ('-p', $_) } @params);
    my $v = proxy_object($name, 'varnish', $dir, $port, $pid, $backend, $log);
    unless (wait_port($port, 30, $pid)) {
        eval { stop_pid($pid) };
        delete $started{$pid};
        die "varnishd ($name) did not start:\n" . slurp($log);
    }
    # The manager listens before its child (the cache) has started:
    # wait for the child to answer.
    my $until = time + 30;
    while (1) {
        my $r = HTTP::Tiny->new(timeout => 5)
            ->request('OPTIONS', "http://127.0.0.1:$port/");
        last if $r->{status} < 599;
        if (time > $until || waitpid($pid, WNOHANG) == $pid) {
            stop_pid($pid);
            die "varnishd ($name) does not answer:\n" . slurp($log);
        }
        sleep 0.1;
    }
    return $v;
}

# nginx in front of the Apache $backend: `nginx -c CONF -g 'daemon off;'`
# (stopped by PID) with prefix, error log and pid file in $workdir/name.
# $conf is the whole nginx.conf but the daemon directive; in it @PORT@
# stands for a free loopback port, @DIR@ for its directory,
# @BACKEND_PORT@ for the backend's port, and @USER@ for "user www-data;"
# when run as root (the workers' user, as Apache's children), else
# nothing.  Returns the proxy object (see proxy_object).
sub nginx_start {
    my ($name, $backend, $conf) = @_;
    my $nginx = find_tool($ENV{BENCH_NGINX} || 'nginx')
        or die "nginx not found\n";
    my $dir = "$workdir/$name";
    mkdir $dir or die "$dir: $!";
    mkdir "$dir/$_" or die "$dir/$_: $!" for qw(logs tmp cache);
    chmod 0755, $dir, "$dir/logs";
    my $port = free_port();
    $conf =~ s/\@PORT\@/$port/g;
    $conf =~ s/\@DIR\@/$dir/g;
    $conf =~ s/\@BACKEND_PORT\@/$backend->{port}/g;
    my $user = $> == 0 ? 'user www-data;' : '';
    $conf =~ s/\@USER\@/$user/g;
    spew("$dir/nginx.conf", $conf);
    my $log = "$dir/logs/stderr.log";
    my $pid = spawn("nginx:$name", $log, $nginx, '-p', "$dir/",
                    '-e', "$dir/logs/error.log", '-c', "$dir/nginx.conf",
                    '-g', 'daemon off;');
    my $n = proxy_object($name, 'nginx', $dir, $port, $pid, $backend, $log,
                         "$dir/logs/error.log");
    unless (wait_port($port, 20, $pid)) {
        eval { stop_pid($pid) };
        delete $started{$pid};
        die "nginx ($name) did not start:\n" . proxy_log($n);
    }
    return $n;
}

package Bench::Apache;

sub port { $_[0]{port} }

1;
