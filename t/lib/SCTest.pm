package SCTest;

# Test harness of mod_sharedcache: starts a real memcached and a real
# Apache (with the built module, mod_wsgi and the test app) on free
# loopback ports, talks HTTP to them, and stops them by PID.
#
#   my $mc = SCTest::Memcached->start;
#   my $ap = SCTest::Apache->start(memcached => [$mc], conf => '...');
#   my $res = $ap->get('/app/page');     # { status, cache, body, ... }
#   $ap->renders('/app/page');           # how often the app really ran
#   $ap->stop;                           # also checks the error log
#
# The MPM comes from SC_MPM (prefork or event).  SC_KEEP=1 keeps the
# temporary directories for a look after a failure.

use strict;
use warnings;
use Cwd qw(abs_path);
use Digest::MD5 qw(md5_hex);
use File::Basename qw(dirname);
use File::Copy qw(copy);
use File::Temp qw(tempdir);
use HTTP::Tiny;
use IO::Socket::INET;
use IO::Socket::UNIX;
use POSIX qw(:sys_wait_h);
use Test::More;
use Time::HiRes qw(time sleep);

our $ROOT = abs_path(dirname(__FILE__) . '/../..');
our $MODULES = '/usr/lib/apache2/modules';
our $HTTPD = $ENV{SC_HTTPD} || '/usr/sbin/apache2';

sub mpm { $ENV{SC_MPM} || 'event' }

sub is_root { $> == 0 }

sub free_port {
    my $s = IO::Socket::INET->new(
        Listen => 1, LocalAddr => '127.0.0.1', LocalPort => 0,
        Proto => 'tcp', ReuseAddr => 1) or die "no free port: $!";
    my $port = $s->sockport;
    close $s;
    return $port;
}

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

# A test PKI made with the openssl command: a CA (ca.crt), a server
# certificate for 127.0.0.1 (server.crt/.key) and client certificates with
# CN alice and bob (alice.crt/.key, bob.crt/.key).  Returns its directory.
sub test_pki {
    my $pki = workdir();
    # Run a command quietly (openssl chats on stderr); die if it fails.
    my $run = sub {
        open my $err, '>&', \*STDERR or die $!;
        open STDERR, '>', "$pki/openssl.log" or die $!;
        my $rc = system(@_);
        open STDERR, '>&', $err or die $!;
        $rc == 0 or die "failed (see $pki/openssl.log): @_";
    };
    my $ext_file = sub {
        my ($name, $text) = @_;
        open my $fh, '>', "$pki/$name.ext" or die $!;
        print $fh $text;
        close $fh;
        return "$pki/$name.ext";
    };
    my @ec = ('-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1',
              '-nodes');
    $run->(qw(openssl req -x509 -new -days 2 -subj /CN=sc-test-ca), @ec,
        '-keyout', "$pki/ca.key", '-out', "$pki/ca.crt");
    for ([server => '127.0.0.1', "subjectAltName=IP:127.0.0.1\n"
                                 . "extendedKeyUsage=serverAuth\n"],
         [alice => 'alice', "extendedKeyUsage=clientAuth\n"],
         [bob => 'bob', "extendedKeyUsage=clientAuth\n"]) {
        my ($name, $cn, $ext) = @$_;
        $run->(qw(openssl req -new), @ec, '-subj', "/CN=$cn",
            '-keyout', "$pki/$name.key", '-out', "$pki/$name.csr");
        $run->(qw(openssl x509 -req -days 2 -CAcreateserial),
            '-in', "$pki/$name.csr", '-CA', "$pki/ca.crt", '-CAkey',
            "$pki/ca.key", '-out', "$pki/$name.crt",
            '-extfile', $ext_file->($name, "basicConstraints=CA:FALSE\n$ext"));
    }
    chmod 0644, glob "$pki/*";
    return $pki;
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

# ---- memcached --------------------------------------------------------

package SCTest::Memcached;

sub start {
    my ($class, %o) = @_;
    my $self = bless { port => $o{port} || SCTest::free_port(),
                       dir => SCTest::workdir(), verbose => $o{verbose},
                       mem => $o{mem} || 64, socket => $o{socket} }, $class;
    if ($o{socket}) {
        # memcached runs as nobody and creates the socket here.
        chmod 01777, $self->{dir};
        $self->{socket} = "$self->{dir}/memcached.sock";
    }
    $self->_run;
    return $self;
}

sub _run {
    my ($self) = @_;
    my @listen = $self->{socket}
        ? ('-s', $self->{socket}, '-a', '0777')
        : ('-l', '127.0.0.1', '-p', $self->{port});
    my @cmd = ('memcached', @listen, '-U', '0', '-m', $self->{mem},
               '-t', '2', '-c', '1024');
    push @cmd, '-u', 'nobody' if SCTest::is_root();
    push @cmd, '-vv' if $self->{verbose};
    $self->{log} = "$self->{dir}/memcached.log";
    $self->{pid} = SCTest::spawn($self->{log}, @cmd);
    if ($self->{socket}) {
        for (1 .. 100) { last if -S $self->{socket}; Time::HiRes::sleep(0.05) }
        -S $self->{socket} or die "memcached did not start";
        return;
    }
    SCTest::wait_port($self->{port}) or die "memcached did not start";
}

sub port { $_[0]{port} }
sub addr { $_[0]{socket} || "127.0.0.1:$_[0]{port}" }
sub log_text {
    my ($self) = @_;
    open my $fh, '<', $self->{log} or return '';
    local $/;
    return <$fh>;
}

# SIGKILL: memcached acts on SIGTERM only at its next clock tick (up to
# a second), and its data is throwaway here.
sub stop {
    my ($self) = @_;
    SCTest::stop_pid(delete $self->{pid}, 'KILL');
}

# Start again on the same port (after stop).
sub restart {
    my ($self) = @_;
    $self->stop if $self->{pid};
    $self->_run;
}

# Send one text-protocol command, return the reply up to END/terminator.
sub command {
    my ($self, $cmd) = @_;
    my $s = eval { $self->_conn } or return;
    print $s "$cmd\r\n";
    my $out = '';
    while (my $line = <$s>) {
        $out .= $line;
        last if $line =~ /^(END|OK|ERROR|STORED|DELETED|NOT_FOUND|\d+)\r\n$/
                || $line =~ /^(CLIENT_|SERVER_)ERROR/;
    }
    close $s;
    return $out;
}

sub stats {
    my ($self) = @_;
    my %s = ($self->command('stats') // '') =~ /^STAT (\S+) (\S+)\r$/mg;
    return \%s;
}

# All keys memcached holds (memcached 1.5+: lru_crawler metadump).
sub keys {
    my ($self) = @_;
    my $out = $self->command('lru_crawler metadump all') // '';
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
    my $s = $self->_conn;
    binmode $s;
    printf $s "set %s 0 %d %d\r\n", $key, $exptime // 0, length $data;
    print $s $data, "\r\n";
    my $reply = <$s>;
    return $reply =~ /^STORED/;
}

sub DESTROY { $_[0]->stop if $_[0]{pid} }

# ---- Apache -----------------------------------------------------------

package SCTest::Apache;

use Digest::MD5 qw(md5_hex);
use IO::Socket::INET;
use Test::More;
use Time::HiRes qw(time sleep);

my $DEFAULT_CONF = <<'CONF';
<Location /app>
    SharedCache On
    SharedCacheTTL 60
</Location>
CONF

sub start {
    my ($class, %o) = @_;
    my $self = bless { %o }, $class;
    $self->{dir} = SCTest::workdir();
    $self->{port} = $o{port} || SCTest::free_port();
    # Another loopback address (127.0.0.2) with the same port: a second
    # host of a farm, as real farms run them (one port on every host).
    $self->{addr} = $o{addr} || '127.0.0.1';
    $self->{mpm} = $o{mpm} || SCTest::mpm();
    $self->_setup;
    $self->_write_conf($o{conf} // $DEFAULT_CONF);
    # Core dumps of crashed children land in the test directory.
    $self->{pid} = SCTest::spawn("$self->{dir}/stderr.log", '/bin/sh', '-c',
                                 'ulimit -c unlimited 2>/dev/null; exec "$@"',
                                 'sh', $SCTest::HTTPD,
                                 '-f', "$self->{dir}/httpd.conf",
                                 '-DFOREGROUND');
    unless (SCTest::wait_port($self->{port}, 20, $self->{pid},
                              $self->{addr})) {
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
    open my $fh, '>', "$d/app/renders.log" or die $!;
    close $fh;
    chmod 0666, "$d/app/renders.log";
    chmod 0755, "$d/app", "$d/htdocs", "$d/wsgi";
    $self->_setup_django if $self->{django};
    if ($self->{files}) {
        for my $name (keys %{ $self->{files} }) {
            open my $f, '>', "$d/htdocs/$name" or die "$name: $!";
            print $f $self->{files}{$name};
            close $f;
            chmod 0644, "$d/htdocs/$name";
        }
    }
}

# A copy of t/django with its sqlite database migrated and two users,
# alice and bob (password "pw"), writable by the unprivileged User.
sub _setup_django {
    my ($self) = @_;
    my $d = "$self->{dir}/django";
    system('cp', '-r', "$SCTest::ROOT/t/django", $d) == 0 or die "cp django";
    # The site uses the repository's Python package, and the test memcached.
    system('cp', '-r', "$SCTest::ROOT/python/sharedcache", $d) == 0
        or die "cp sharedcache";
    my $servers = join ' ', map { ref $_ ? $_->addr : $_ }
                            @{ $self->{memcached} || [] };
    open my $ls, '>', "$d/scsite/local_settings.py" or die $!;
    print $ls "SHAREDCACHE_SERVERS = '$servers'\n";
    close $ls;
    # Debian's python3, the one mod_wsgi embeds and python3-django serves.
    my $py = "cd $d && /usr/bin/python3 manage.py";
    system("$py migrate -v 0 >/dev/null") == 0 or die "django migrate";
    system("$py shell -c \"from django.contrib.auth.models import User;"
           . " [User.objects.create_user(n, password='pw')"
           . " for n in ('alice', 'bob')]\"") == 0 or die "django users";
    system('chmod', '-R', 'a+rX', $d);
    if (SCTest::is_root()) {
        # sqlite writes the database and a journal beside it.
        system('chown', '-R', 'www-data:www-data', $d);
    }
}

# Run a Django management command in the test site, as the User Apache's
# children run as (the sqlite database belongs to it).
sub django_manage {
    my ($self, @args) = @_;
    my @as = SCTest::is_root() ? ('runuser', '-u', 'www-data', '--') : ();
    my $pid = fork // die $!;
    if (!$pid) {
        chdir "$self->{dir}/django" or die $!;
        exec @as, '/usr/bin/python3', 'manage.py', @args;
        die "exec: $!";
    }
    waitpid $pid, 0;
    return $? >> 8;
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
    my $user = SCTest::is_root() ? "User www-data\nGroup www-data\n" : '';
    my $mpmconf = mpm_conf($mpm);
    my $extra_modules = join '', map {
        "LoadModule ${_}_module $mods/mod_$_.so\n"
    } @{ $self->{modules} || [] };
    my $wsgi_procs = $self->{wsgi_processes} || 2;
    my $wsgi_opts = $self->{wsgi_options} || '';
    # The Django site, mounted three times so tests can give each mount
    # its own cache settings.
    my $django = !$self->{django} ? '' : <<"DJANGO";
WSGIDaemonProcess djapp processes=2 threads=8 python-path=$d/django display-name=sc-django
<Directory $d/django/scsite>
    Require all granted
</Directory>
WSGIScriptAlias /dj $d/django/scsite/wsgi.py process-group=djapp application-group=%{GLOBAL}
WSGIScriptAlias /djv $d/django/scsite/wsgi.py process-group=djapp application-group=%{GLOBAL}
WSGIScriptAlias /djb $d/django/scsite/wsgi.py process-group=djapp application-group=%{GLOBAL}
DJANGO
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
# target, any header; _from => address to send it from), for what
# HTTP::Tiny will not send.  Returns the
# same summary as request().
sub raw {
    my ($self, $method, $target, %headers) = @_;
    my $body = delete $headers{_body} // '';
    # _from: the client's own address (127.0.0.5 ...), for rules on it
    my $from = delete $headers{_from};
    my $t0 = time;
    my $s = IO::Socket::INET->new(PeerAddr => $self->{addr},
                                  PeerPort => $self->{port}, Timeout => 30,
                                  $from ? (LocalAddr => $from) : ())
        or die "connect: $!";
    binmode $s;
    $headers{Host} //= "127.0.0.1:$self->{port}";
    $headers{Connection} = 'close';
    $headers{'Content-Length'} = length $body if length $body;
    my $req = "$method $target HTTP/1.1\r\n"
        . join('', map { "$_: $headers{$_}\r\n" } sort keys %headers)
        . "\r\n" . $body;
    print $s $req;
    my $resp = do { local $/; <$s> } // '';
    close $s;
    my ($head, $content) = split /\r\n\r\n/, $resp, 2;
    $content //= '';
    my ($status_line, @lines) = split /\r\n/, $head // '';
    my ($status) = ($status_line // '') =~ m{^HTTP/\S+ (\d{3})};
    my %h;
    for (@lines) {
        my ($n, $v) = /^([^:]+):\s*(.*)$/ or next;
        $n = lc $n;
        $h{$n} = exists $h{$n} ? (ref $h{$n} ? [@{ $h{$n} }, $v]
                                             : [$h{$n}, $v]) : $v;
    }
    if (($h{'transfer-encoding'} // '') =~ /chunked/i) {
        my $decoded = '';
        while ($content =~ s/^([0-9a-fA-F]+)[^\r\n]*\r\n//) {
            my $n = hex $1;
            last if $n == 0;
            $decoded .= substr($content, 0, $n, '');
            $content =~ s/^\r\n//;
        }
        $content = $decoded;
    }
    $content = '' if $method eq 'HEAD';
    return {
        status => $status // 0, cache => $h{'x-sharedcache'} // '',
        body => $content, md5 => md5_hex($content), headers => \%h,
        head => $head // '', ms => (time - $t0) * 1000,
    };
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
# each).  Returns, in order, { status, cache, md5, body, ms } where ms is
# from the start of the burst to the end of that response.
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
        print $s "GET $path HTTP/1.1\r\n"
            . join('', map { "$_: $h{$_}\r\n" } sort keys %h) . "\r\n";
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
                next;
            }
            $ms[$i] = (time - $t0) * 1000;
            $sel->remove($s);
            close $s;
        }
    }
    return map {
        my ($head, $body) = split /\r\n\r\n/, $raw[$_], 2;
        $body //= '';
        my ($status) = ($head // '') =~ m{^HTTP/\S+ (\d+)};
        my ($cache) = ($head // '') =~ /^X-SharedCache: (\S+)/mi;
        if (($head // '') =~ /^Transfer-Encoding: chunked/mi) {
            my $d = '';
            while ($body =~ s/^([0-9a-fA-F]+)[^\r\n]*\r\n//) {
                last unless hex $1;
                $d .= substr($body, 0, hex $1, '');
                $body =~ s/^\r\n//;
            }
            $body = $d;
        }
        { status => $status // 0, cache => $cache // '', body => $body,
          md5 => md5_hex($body), ms => $ms[$_] // 999999 }
    } 0 .. $#targets;
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

# Stop Apache, then check its error log (one test).
sub stop {
    my ($self, %o) = @_;
    return unless $self->{pid};
    SCTest::stop_pid(delete $self->{pid});
    my @bad = $self->unexpected_errors(@{ $o{allow} || [] });
    ok(!@bad, 'error log has no unexpected errors')
        or diag(join "\n", @bad[0 .. ($#bad > 20 ? 20 : $#bad)]);
}

sub DESTROY {
    my ($self) = @_;
    SCTest::stop_pid(delete $self->{pid}) if $self->{pid};
}

# Run "apache2 -t" on a configuration; returns (exit code, output).
sub configtest {
    my ($class, $conf, %o) = @_;
    my $self = bless { memcached => [], %o }, $class;
    $self->{dir} = SCTest::workdir();
    $self->{port} = SCTest::free_port();
    $self->{addr} = '127.0.0.1';
    $self->{mpm} = SCTest::mpm();
    $self->_setup;
    $self->_write_conf($conf);
    my $out = `$SCTest::HTTPD -t -f $self->{dir}/httpd.conf 2>&1`;
    return ($? >> 8, $out);
}

1;
