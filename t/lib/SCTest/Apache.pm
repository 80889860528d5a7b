package SCTest::Apache;

# Owns a test Apache: its directory and httpd.conf (the built module,
# mod_wsgi with the test app, the test's own configuration), starting it
# on a free port and stopping it by PID, its error log (stop() checks it),
# how often the app rendered a page, and the requests tests send it
# (request/get through HTTP::Tiny, raw, parallel_get, burst; raw and burst
# read the responses with SCTest::HTTP's parser).
#
#   my $ap = SCTest::Apache->start(memcached => [$mc], conf => '...');
#   my $res = $ap->get('/app/page');     # { status, cache, body, ... }
#   $ap->renders('/app/page');           # how often the app really ran
#   $ap->stop;                           # also checks the error log

use strict;
use warnings;
use Digest::MD5 qw(md5_hex);
use File::Copy ();
use File::Path ();
use HTTP::Tiny;
use IO::Socket::INET;
use POSIX ();
use Test::More;
use Time::HiRes qw(time sleep);
use SCTest::Django;
use SCTest::HTTP qw(request_text parse_response);
use SCTest::Process qw(is_root free_port wait_port workdir spawn stop_pid);

my $DEFAULT_CONF = <<'CONF';
<Location /app>
    SharedCache On
    SharedCacheTTL 60
</Location>
CONF

sub start {
    my ($class, %o) = @_;
    my $self = bless { %o }, $class;
    $self->{dir} = workdir();
    $self->{port} = $o{port} || free_port();
    # Another loopback address (127.0.0.2) with the same port: a second
    # host of a farm, as real farms run them (one port on every host).
    $self->{addr} = $o{addr} || '127.0.0.1';
    $self->{mpm} = $o{mpm} || SCTest::mpm();
    $self->_setup;
    $self->_write_conf($o{conf} // $DEFAULT_CONF);
    # Core dumps of crashed children land in the test directory.
    $self->{pid} = spawn("$self->{dir}/stderr.log", '/bin/sh', '-c',
                         'ulimit -c unlimited 2>/dev/null; exec "$@"',
                         'sh', $SCTest::HTTPD,
                         '-f', "$self->{dir}/httpd.conf", '-DFOREGROUND');
    unless (wait_port($self->{port}, 20, $self->{pid}, $self->{addr})) {
        delete $self->{pid};
        diag($self->error_log);
        die "Apache did not start";
    }
    $self->_wait_children;
    return $self;
}

sub _setup {
    my ($self) = @_;
    my $d = $self->{dir};
    mkdir "$d/$_" for qw(app htdocs wsgi logs cores);
    chmod 01777, "$d/cores";
    File::Copy::copy("$SCTest::ROOT/t/app/app.py", "$d/app/app.py")
        or die "copy app: $!";
    # The app runs as the unprivileged User and must append to this.
    for my $log (qw(renders.log not-modified.log)) {
        open my $fh, '>', "$d/app/$log" or die $!;
        close $fh;
        chmod 0666, "$d/app/$log";
    }
    chmod 0755, "$d/app", "$d/htdocs", "$d/wsgi";
    SCTest::Django::setup($self) if $self->{django};
    if ($self->{files}) {
        for my $name (keys %{ $self->{files} }) {
            # a file in a directory of its own: the directory too
            File::Path::make_path("$d/htdocs/$1", { mode => 0755 })
                if $name =~ m{^(.+)/[^/]+$};
            open my $f, '>', "$d/htdocs/$name" or die "$name: $!";
            print $f $self->{files}{$name};
            close $f;
            chmod 0644, "$d/htdocs/$name";
        }
    }
}

# Run a Django management command in the test site (django => 1), as the
# User Apache's children run as; returns its exit code.
sub django_manage {
    my ($self, @args) = @_;
    return SCTest::Django::manage($self, @args);
}

sub mpm_conf {
    my ($mpm) = @_;
    return <<"PREFORK" if $mpm eq 'prefork';
StartServers 8
MinSpareServers 8
MaxSpareServers 16
MaxRequestWorkers 32
PREFORK
    return <<"THREADED";
ServerLimit 4
StartServers 2
ThreadsPerChild 16
MinSpareThreads 16
MaxSpareThreads 64
MaxRequestWorkers 64
THREADED
}

sub _write_conf {
    my ($self, $conf) = @_;
    my $d = $self->{dir};
    my $mods = $SCTest::MODULES;
    my $mpm = $self->{mpm};
    my $servers = join ' ', map { ref $_ ? $_->addr : $_ }
                            @{ $self->{memcached} || [] };
    $servers = "SharedCacheServers $servers" if $servers;
    my $user = is_root() ? "User www-data\nGroup www-data\n" : '';
    my $mpmconf = mpm_conf($mpm);
    my $extra_modules = join '', map {
        "LoadModule ${_}_module $mods/mod_$_.so\n"
    } @{ $self->{modules} || [] };
    my $wsgi_procs = $self->{wsgi_processes} || 2;
    my $wsgi_opts = $self->{wsgi_options} || '';
    # django_mounts => 0: the site is set up, the test's conf mounts it.
    my $django = $self->{django} && ($self->{django_mounts} // 1)
               ? SCTest::Django::conf($d) : '';
    $conf =~ s/\@DIR\@/$d/g;
    $conf =~ s/\@PORT\@/$self->{port}/g;
    open my $fh, '>', "$d/httpd.conf" or die $!;
    print $fh <<"CONF";
ServerRoot $d
ServerName 127.0.0.1
Listen $self->{addr}:$self->{port}
PidFile $d/httpd.pid
ErrorLog $d/error_log
CoreDumpDirectory $d/cores
LogLevel warn sharedcache:debug
$user
LoadModule mpm_${mpm}_module $mods/mod_mpm_$mpm.so
LoadModule authz_core_module $mods/mod_authz_core.so
LoadModule authz_host_module $mods/mod_authz_host.so
LoadModule mime_module $mods/mod_mime.so
LoadModule setenvif_module $mods/mod_setenvif.so
LoadModule headers_module $mods/mod_headers.so
LoadModule alias_module $mods/mod_alias.so
LoadModule wsgi_module $mods/mod_wsgi.so
$extra_modules
LoadModule sharedcache_module $SCTest::ROOT/.libs/mod_sharedcache.so
$mpmconf
TypesConfig /etc/mime.types
DocumentRoot $d/htdocs
<Directory $d/htdocs>
    Require all granted
</Directory>
<Directory $d/app>
    Require all granted
</Directory>
KeepAlive On
MaxKeepAliveRequests 0
GracefulShutdownTimeout 3
LogFormat "%h \\"%r\\" %>s %b %{sharedcache-status}e %D" sharedcache
CustomLog $d/access_log sharedcache
WSGISocketPrefix $d/wsgi/sock
# Daemon mode only: no Python in the Apache children themselves.
WSGIRestrictEmbedded On
WSGIDaemonProcess scapp processes=$wsgi_procs threads=16 display-name=sc-app $wsgi_opts
WSGIScriptAlias /app $d/app/app.py process-group=scapp application-group=%{GLOBAL}
$django
$servers
SharedCacheTimeout 500
SharedCacheRetryInterval 1

$conf
CONF
    close $fh;
}

sub _wait_children {
    my ($self) = @_;
    # The app must answer before a test measures anything.
    my $until = time + 20;
    while (time < $until) {
        my $r = HTTP::Tiny->new(timeout => 5)
            ->get("http://$self->{addr}:$self->{port}/app/__ready__?cc=no-store");
        return if $r->{status} < 500 && $r->{status} != 599;
        sleep 0.1;
    }
    diag($self->error_log);
    die "the test app did not answer";
}

sub port { $_[0]{port} }
sub dir { $_[0]{dir} }
sub url { "http://$_[0]{addr}:$_[0]{port}$_[1]" }
sub address { $_[0]{addr} }
sub parent_pid { $_[0]{pid} }

sub _client {
    my ($self) = @_;
    return $self->{client} ||= HTTP::Tiny->new(timeout => 30,
                                               max_redirect => 0);
}

# GET (or another method) a path; returns a summary hash.
sub request {
    my ($self, $method, $path, %headers) = @_;
    my $t0 = time;
    my $r = $self->_client->request($method, $self->url($path),
                                    { headers => \%headers });
    my $h = $r->{headers};
    return {
        status => $r->{status},
        cache => $h->{'x-sharedcache'} // '',
        body => $r->{content} // '',
        md5 => md5_hex($r->{content} // ''),
        headers => $h,
        ms => (time - $t0) * 1000,
        raw => $r,
    };
}

sub get { my ($self, $path, %h) = @_; $self->request('GET', $path, %h) }

# A request written byte for byte on its own connection (any Host, any
# target, any header; _from => address to send it from; _to_addr,
# _to_port => another address or port of this server to send it to;
# _body => a body; _proto => 'HTTP/1.0' for another protocol version),
# for what HTTP::Tiny will not send.  Returns the
# summary of SCTest::HTTP::parse_response (as request() does, with head)
# and ms.
sub raw {
    my ($self, $method, $target, %headers) = @_;
    my $body = delete $headers{_body} // '';
    # _from: the client's own address (127.0.0.5 ...), for rules on it
    my $from = delete $headers{_from};
    my $proto = delete $headers{_proto};
    my $to_addr = delete $headers{_to_addr} // $self->{addr};
    my $to_port = delete $headers{_to_port} // $self->{port};
    my $t0 = time;
    my $s = IO::Socket::INET->new(PeerAddr => $to_addr,
                                  PeerPort => $to_port, Timeout => 30,
                                  $from ? (LocalAddr => $from) : ())
        or die "connect: $!";
    binmode $s;
    $headers{Host} //= "127.0.0.1:$self->{port}";
    $headers{Connection} //= 'close'; # a test's own must still close
    $headers{'Content-Length'} = length $body if length $body;
    my $text = request_text($method, $target, \%headers, $body);
    $text =~ s{ HTTP/1\.1\r\n}{ $proto\r\n} if $proto;
    print $s $text;
    my $resp = do { local $/; <$s> } // '';
    close $s;
    my $r = parse_response($resp, method => $method);
    $r->{ms} = (time - $t0) * 1000;
    return $r;
}

# How often the app rendered path (optionally with query): counts lines of
# renders.log that start with it.
sub renders {
    my ($self, $what) = @_;
    open my $fh, '<', "$self->{dir}/app/renders.log" or return 0;
    my $n = 0;
    while (my $line = <$fh>) {
        chomp $line;
        $line =~ s/^\/app//;   # WSGI sees PATH_INFO below the mount
        $n++ if !defined $what || index("/app$line", $what) == 0
                || index($line, $what) == 0;
    }
    return $n;
}

# Fetch path total times over conns parallel keep-alive connections.
# Returns a list of { status, cache, md5, ms }.
sub parallel_get {
    my ($self, $path, %o) = @_;
    my $total = $o{total} || 100;
    my $conns = $o{conns} || 10;
    my @pipes;
    for my $c (0 .. $conns - 1) {
        my $n = int($total / $conns) + ($c < $total % $conns ? 1 : 0);
        next unless $n;
        pipe(my $rd, my $wr) or die "pipe: $!";
        my $pid = fork;
        die "fork: $!" unless defined $pid;
        if ($pid == 0) {
            close $rd;
            my $ua = HTTP::Tiny->new(timeout => 60, keep_alive => 1);
            for (1 .. $n) {
                my $t0 = time;
                my $r = $ua->get($self->url($path),
                                 { headers => $o{headers} || {} });
                printf $wr "%d %s %s %.3f\n", $r->{status},
                    $r->{headers}{'x-sharedcache'} || '-',
                    md5_hex($r->{content} // ''), (time - $t0) * 1000;
            }
            close $wr;
            POSIX::_exit(0);
        }
        close $wr;
        push @pipes, [$pid, $rd];
    }
    my @out;
    for my $p (@pipes) {
        my $fh = $p->[1];
        while (my $line = <$fh>) {
            my ($status, $cache, $md5, $ms) = split ' ', $line;
            push @out, { status => $status, cache => $cache, md5 => $md5,
                         ms => $ms };
        }
        waitpid($p->[0], 0);
    }
    return @out;
}

# N simultaneous requests: all sockets are opened and written first, then
# read together.  targets: [[$apache, $path, %headers], ...] (one request
# each).  Returns, in order, the summaries of SCTest::HTTP::parse_response
# ({ status, cache, body, md5, headers, head }) with ms, from the start of
# the burst to the end of that response (its Content-Length read, else the
# connection's close: a worker may go on after the response, as a refresh
# after the response does).
sub burst {
    my ($class, @targets) = @_;
    require IO::Select;
    my $t0 = time;
    my (@socks, %slot);
    for my $i (0 .. $#targets) {
        my ($ap, $path, %h) = @{ $targets[$i] };
        my $s = IO::Socket::INET->new(PeerAddr => $ap->address,
                                      PeerPort => $ap->port, Timeout => 30)
            or die "connect: $!";
        $h{Host} //= "127.0.0.1:" . $ap->port;
        $h{Connection} = 'close';
        print $s request_text('GET', $path, \%h);
        push @socks, $s;
        $slot{fileno $s} = $i;
    }
    my $sel = IO::Select->new(@socks);
    my @raw = ('') x @targets;
    my @ms;
    my $until = time + 120;
    while ($sel->count && time < $until) {
        for my $s ($sel->can_read(1)) {
            my $i = $slot{fileno $s};
            my $n = sysread($s, my $buf, 65536);
            if ($n) {
                $raw[$i] .= $buf;
                $ms[$i] //= (time - $t0) * 1000 if _whole($raw[$i]);
                next;
            }
            $ms[$i] //= (time - $t0) * 1000;
            $sel->remove($s);
            close $s;
        }
    }
    return map {
        my $r = parse_response($raw[$_]);
        $r->{ms} = $ms[$_] // 999999;
        $r;
    } 0 .. $#targets;
}

# Has raw, a response read so far, all of its Content-Length?
sub _whole {
    my ($raw) = @_;
    my $end = index($raw, "\r\n\r\n");
    return 0 if $end < 0;
    my ($len) = substr($raw, 0, $end) =~ /^Content-Length:\s*(\d+)\s*$/mi;
    return defined $len && length($raw) - $end - 4 >= $len;
}

# The pid of the Apache child serving the other end of the client socket
# $sock (reading /proc: needs root), or undef.
sub child_serving {
    my ($self, $sock) = @_;
    my ($inode, @pids);
    open my $tcp, '<', '/proc/net/tcp' or return;
    while (<$tcp>) {
        my @f = split;
        next unless ($f[1] // '') =~ /:([0-9A-F]{4})$/
                    && hex($1) == $self->{port};
        next unless $f[2] =~ /:([0-9A-F]{4})$/
                    && hex($1) == $sock->sockport;
        $inode = $f[9];
    }
    return unless $inode;
    for my $stat (glob '/proc/[0-9]*/stat') {
        open my $fh, '<', $stat or next;
        my ($pid, $ppid) = (<$fh> // '') =~ /^(\d+) \(.*\) \S+ (\d+) /
            or next;
        next unless $ppid == $self->{pid};
        for my $fd (glob "/proc/$pid/fd/*") {
            my $l = readlink $fd // next;
            push @pids, $pid if $l eq "socket:[$inode]";
        }
    }
    return @pids == 1 ? $pids[0] : undef;
}

sub error_log {
    my ($self) = @_;
    my $text = '';
    for my $f ("$self->{dir}/error_log", "$self->{dir}/stderr.log") {
        open my $fh, '<', $f or next;
        local $/;
        $text .= <$fh>;
    }
    return $text;
}

# Error-log lines that no test expected: errors, crashes, or warnings of
# our own module other than those listed in allow (regexps).
sub unexpected_errors {
    my ($self, @allow) = @_;
    my @bad;
    for my $line (split /\n/, $self->error_log) {
        next unless $line =~ /\[(?:\w+:)?(?:error|crit|alert|emerg)\]/
                 || $line =~ /exit signal|Segmentation fault|AddressSanit/
                 || $line =~ /\[sharedcache:warn\]/;
        next if grep { $line =~ $_ } @allow;
        push @bad, $line;
    }
    return @bad;
}

# Apache is stopped gracefully (SIGWINCH, then SIGTERM if it lingers).  An
# immediate stop (SIGTERM) of the event MPM races with its own workers: the
# main thread closes the sockets of connections a worker may just have
# finished and freed (close_worker_sockets, a core of it crashing in
# apr_os_sock_get with only mod_mpm_event frames).  That is httpd's, not
# the module's, and it must not fail a test at random.
sub _halt {
    my ($pid) = @_;
    return unless $pid;
    local $?;    # waitpid must not become the test's exit status
    kill 'WINCH', $pid;
    my $until = time + 10;
    while (time < $until) {
        return if waitpid($pid, POSIX::WNOHANG()) == $pid;
        sleep 0.05;
    }
    stop_pid($pid);
}

# Stop Apache, then check its error log (one test).
sub stop {
    my ($self, %o) = @_;
    return unless $self->{pid};
    delete $self->{client};    # a kept-alive connection holds up the stop
    _halt(delete $self->{pid});
    my @bad = $self->unexpected_errors(@{ $o{allow} || [] });
    ok(!@bad, 'error log has no unexpected errors')
        or diag(join "\n", @bad[0 .. ($#bad > 20 ? 20 : $#bad)]);
}

sub DESTROY {
    my ($self) = @_;
    delete $self->{client};
    _halt(delete $self->{pid}) if $self->{pid};
}

# Run "apache2 -t" on a configuration; returns (exit code, output).
sub configtest {
    my ($class, $conf, %o) = @_;
    my $self = bless { memcached => [], %o }, $class;
    $self->{dir} = workdir();
    $self->{port} = free_port();
    $self->{addr} = '127.0.0.1';
    $self->{mpm} = SCTest::mpm();
    $self->_setup;
    $self->_write_conf($conf);
    my $out = `$SCTest::HTTPD -t -f $self->{dir}/httpd.conf 2>&1`;
    return ($? >> 8, $out);
}

1;
