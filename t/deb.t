# The Debian packages, as an administrator uses them: `make deb` builds
# libapache2-mod-sharedcache and python3-sharedcache; both install with
# apt-get from dist/; `a2enmod sharedcache` enables the module in Debian's
# layout, and an Apache that includes the enabled .load and .conf serves a
# page that becomes a HIT; an edited conffile survives an upgrade; purging
# both packages leaves no file behind.
#
# The packages are installed on this machine for the test's duration and
# purged at the end, also when it fails (END).  No service is started:
# while the test runs, a policy-rc.d (if none exists) forbids the
# maintainer scripts to start or restart the system's apache2, and the
# test's own Apache listens on a free loopback port.  It refuses to run
# where the packages or a `make install` copy are already in place (it
# would purge or shadow them).
# It measures no time: it runs beside another test (make prove, -j2).
use strict;
use warnings;
use Test::More;
use File::Path qw(make_path);
use HTTP::Tiny;
use Time::HiRes qw(time);
use SCTest;
use SCTest::Process qw(free_port wait_port workdir spawn stop_pid);

plan skip_all => 'installs and purges packages: run as root'
    unless SCTest::is_root();
# The packages do not depend on the MPM or on the number of memcached
# servers: built and installed once per `make test` (the event pass).
plan skip_all => 'the packages are tested once, in the event MPM pass'
    if SCTest::mpm() ne 'event' || $ENV{SC_EXTRA_MEMCACHED};

my $ROOT = $SCTest::ROOT;
my @PKGS = qw(libapache2-mod-sharedcache python3-sharedcache);
my $MODS = '/etc/apache2/mods-available';
my $ENABLED = '/etc/apache2/mods-enabled';
my $CONF = "$MODS/sharedcache.conf";
my $POLICY = '/usr/sbin/policy-rc.d';
my $dir = workdir();
my ($policy_ours, $apache_pid, $touched);

$ENV{DEBIAN_FRONTEND} = 'noninteractive';
delete @ENV{qw(PYTHONPATH SHAREDCACHE_SERVERS SHAREDCACHE_PREFIX)};

# Run a command with its output in $dir/$name.log; returns the exit code
# and shows the log's end when the code is not the expected one.
sub run_log {
    my ($name, $want, @cmd) = @_;
    my $log = "$dir/$name.log";
    my $pid = fork;
    die "fork: $!" unless defined $pid;
    if ($pid == 0) {
        open STDIN, '<', '/dev/null';
        open STDOUT, '>', $log or die "$log: $!";
        open STDERR, '>&', \*STDOUT;
        exec @cmd or die "exec $cmd[0]: $!";
    }
    waitpid($pid, 0);
    my $rc = $? >> 8;
    diag("@cmd: exit $rc\n" . tail($log, 30)) if defined $want && $rc != $want;
    return $rc;
}

sub slurp {
    my ($f) = @_;
    open my $fh, '<', $f or return '';
    local $/;
    return <$fh>;
}

sub tail {
    my ($f, $n) = @_;
    my @l = split /\n/, slurp($f);
    return join "\n", @l[($#l > $n ? $#l - $n : 0) .. $#l];
}

sub status_of {
    my ($pkg) = @_;
    my $s = `dpkg-query -W -f='\${db:Status-Abbrev}' $pkg 2>/dev/null`;
    return $s =~ /^.([a-z])/ ? $1 : 'n';    # i installed, c config-files
}

sub apt { ('apt-get', '-y', '-q', '-o', 'DPkg::Lock::Timeout=120', @_) }

# What the test found is left alone: it purges what it installed.
my @present = grep { status_of($_) ne 'n' } @PKGS;
my @copies = grep { -e || -l } "/usr/lib/apache2/modules/mod_sharedcache.so",
    glob("$MODS/sharedcache* $ENABLED/sharedcache*");
if (@present || @copies) {
    fail('the machine has no mod_sharedcache installed');
    diag("already here: @present @copies; this test installs and purges "
         . "the packages: apt-get purge @PKGS, or make uninstall, first");
    done_testing;
    exit;
}

# Interrupted: END still purges.
$SIG{$_} = sub { exit 1 } for qw(INT TERM HUP);

END {
    my $rc = $?;
    stop_pid($apache_pid, 'TERM') if $apache_pid;
    if ($touched && grep { status_of($_) ne 'n' } @PKGS) {
        system(join(' ', apt('purge', @PKGS)) . " >$dir/end-purge.log 2>&1");
    }
    unlink $POLICY if $policy_ours;
    $? = $rc;
}

# The maintainer scripts restart apache2 when they enable or disable a
# module (apache2-maintscript-helper); nothing may start it here.
unless (-e $POLICY) {
    open my $fh, '>', $POLICY or die "$POLICY: $!";
    print $fh "#!/bin/sh\n# t/deb.t: no service starts while it runs\n"
        . "exit 101\n";
    close $fh;
    chmod 0755, $POLICY;
    $policy_ours = 1;
}

# -- build ---------------------------------------------------------------

my $t0 = time;
is(run_log('make-deb', 0, 'make', '-C', $ROOT, '--no-print-directory',
           'deb'), 0, 'make deb builds');
note(sprintf 'make deb: %.0f s', time - $t0);

chomp(my $version = `cd $ROOT && dpkg-parsechangelog -S Version 2>/dev/null`);
chomp(my $arch = `dpkg-architecture -qDEB_HOST_ARCH 2>/dev/null`);
my $mod_deb = "$ROOT/dist/libapache2-mod-sharedcache_${version}_$arch.deb";
my $py_deb = "$ROOT/dist/python3-sharedcache_${version}_all.deb";
ok(-f $mod_deb, "dist/ has libapache2-mod-sharedcache $version");
ok(-f $py_deb, "dist/ has python3-sharedcache $version");
unless (-f $mod_deb && -f $py_deb) {
    done_testing;
    exit;
}

# lintian: nothing to say, but the overrides (debian/*.lintian-overrides,
# each with its reason).
my $changes = "$ROOT/build/deb/mod-sharedcache_${version}_$arch.changes";
is(run_log('lintian', 0, 'lintian', '-I', '-E', '--pedantic', $changes), 0,
   'lintian runs');
my @tags = grep { /^[A-Z]: / } split /\n/, slurp("$dir/lintian.log");
is_deeply(\@tags, [], 'lintian -I -E --pedantic: no tag') or diag("@tags");

# What the packages hold and depend on, before installing them.
my $contents = `dpkg-deb -c $mod_deb`;
for my $f ('./usr/lib/apache2/modules/mod_sharedcache.so',
           "./etc/apache2/mods-available/sharedcache.load",
           "./etc/apache2/mods-available/sharedcache.conf",
           './usr/bin/sharedcachectl',
           './usr/share/man/man1/sharedcachectl.1.gz') {
    like($contents, qr/ \Q$f\E$/m, "the module package has $f");
}
unlike($contents, qr/\.la$/m, 'and no libtool .la file');
is(`dpkg-deb -f $mod_deb Architecture`, "$arch\n", 'built for this arch');
my $conffiles = `dpkg-deb --ctrl-tarfile $mod_deb | tar -xOf - ./conffiles`;
is_deeply([sort split /\n/, $conffiles],
          ["$MODS/sharedcache.conf", "$MODS/sharedcache.load"],
          'sharedcache.load and .conf are its conffiles');
my $depends = `dpkg-deb -f $mod_deb Depends`;
like($depends, qr/\b$_\b/, "the module depends on $_")
    for qw(libmemcached11 apache2-api-20120211 libapr1 libc6);
like(`dpkg-deb -c $py_deb`,
     qr{ \./usr/lib/python3/dist-packages/sharedcache/keys\.py$}m,
     'the Python package is in dist-packages');
like(`dpkg-deb -f $py_deb Depends`, qr/\bpython3-pylibmc\b/,
     'it depends on python3-pylibmc');

# -- install ---------------------------------------------------------------

$touched = 1;
$t0 = time;
is(run_log('install', 0, apt('install', $mod_deb, $py_deb)), 0,
   'apt-get install ./dist/*.deb');
is(status_of($_), 'i', "$_ is installed") for @PKGS;
ok(!-e "$ENABLED/sharedcache.load", 'the package does not enable it');
is(run_log('ctl-help', 0, '/usr/bin/sharedcachectl', '--help'), 0,
   'sharedcachectl --help runs from /usr/bin');
my $py = `cd / && /usr/bin/python3 -c 'import sharedcache, sharedcache.keys; print(sharedcache.__file__)' 2>&1`;
like($py, qr{^/usr/lib/python3/dist-packages/sharedcache/__init__\.py$},
     'python3 imports sharedcache from the package');

is(run_log('a2enmod', 0, 'a2enmod', 'sharedcache'), 0,
   'a2enmod sharedcache');
is(readlink("$ENABLED/sharedcache.$_"), "../mods-available/sharedcache.$_",
   "mods-enabled/sharedcache.$_ links to mods-available") for qw(load conf);

# -- a HIT through Debian's layout -------------------------------------

my $mc = SCTest::Memcached->start;
my $port = free_port();

# The administrator's edit: the conffile names the test's memcached.
sub edit_conf {
    my $text = slurp($CONF);
    my $n = $text =~ s/^SharedCacheServers 127\.0\.0\.1:11211$/
        "# edited by t\/deb.t\nSharedCacheServers " . $mc->addr/me;
    open my $fh, '>', $CONF or die "$CONF: $!";
    print $fh $text;
    close $fh;
    return $n;
}
is(edit_conf(), 1, 'sharedcache.conf sets SharedCacheServers once: edited');

make_path("$dir/htdocs/cached");
open my $page, '>', "$dir/htdocs/cached/page.html" or die $!;
print $page "<p>a page from the Debian package's module</p>\n";
close $page;
chmod 0755, "$dir/htdocs", "$dir/htdocs/cached";
chmod 0644, "$dir/htdocs/cached/page.html";

my $mpm = SCTest::mpm();
my $mods = $SCTest::MODULES;
open my $hc, '>', "$dir/httpd.conf" or die $!;
print $hc <<"CONF";
ServerRoot $dir
ServerName 127.0.0.1
Listen 127.0.0.1:$port
PidFile $dir/httpd.pid
DefaultRuntimeDir $dir
ErrorLog $dir/error_log
LogLevel warn sharedcache:debug
User www-data
Group www-data
LoadModule mpm_${mpm}_module $mods/mod_mpm_$mpm.so
LoadModule authz_core_module $mods/mod_authz_core.so
LoadModule mime_module $mods/mod_mime.so
@{[ SCTest::Apache::mpm_conf($mpm) ]}
# The module as Debian's layout has it once a2enmod sharedcache ran.
Include $ENABLED/sharedcache.load
Include $ENABLED/sharedcache.conf
TypesConfig /etc/mime.types
DocumentRoot $dir/htdocs
<Directory $dir/htdocs>
    Require all granted
</Directory>
<Location /cached>
    SharedCache On
    SharedCacheTTL 60
</Location>
CONF
close $hc;

sub start_apache {
    $apache_pid = spawn("$dir/stderr.log", $SCTest::HTTPD, '-f',
                        "$dir/httpd.conf", '-DFOREGROUND');
    return 1 if wait_port($port, 20, $apache_pid);
    diag(slurp("$dir/stderr.log") . tail("$dir/error_log", 20));
    undef $apache_pid;
    return 0;
}

# Stopped gracefully (as the harness does), then its error log is checked.
sub stop_apache {
    stop_pid($apache_pid, 'WINCH');
    undef $apache_pid;
    my @bad = grep { /\[(?:\w+:)?(?:error|crit|alert|emerg)\]|sharedcache:warn/ }
              split /\n/, slurp("$dir/error_log");
    ok(!@bad, 'error log has no unexpected errors') or diag(join "\n", @bad);
}

sub fetch {
    my $r = HTTP::Tiny->new(timeout => 10)
        ->get("http://127.0.0.1:$port/cached/page.html");
    return { status => $r->{status}, body => $r->{content} // '',
             cache => $r->{headers}{'x-sharedcache'} // '' };
}

ok(start_apache(), "apache2 with mods-enabled/sharedcache.* starts ($mpm)");
my $first = fetch();
is($first->{status}, 200, 'the page: 200');
cache_is($first, 'MISS', 'first a MISS');
my $second = fetch();
cache_is($second, 'HIT', 'then a HIT');
is($second->{body}, $first->{body}, 'the HIT is the page');
# (memcached's LRU crawler may be busy with an earlier dump: ask again)
my @entries;
for (1 .. 20) {
    last if @entries = grep { /^sc:e:/ } $mc->keys;
    select(undef, undef, undef, 0.1);
}
ok(scalar @entries, 'the entry is in the test memcached');
stop_apache();

# -- an upgrade keeps the edited conffile -------------------------------

# The same package with a higher version: what dpkg does on an upgrade
# whose conffiles did not change.
my $new = "$version+t1";
run_log('repack-x', 0, 'dpkg-deb', '-R', $mod_deb, "$dir/repack");
my $control = slurp("$dir/repack/DEBIAN/control");
$control =~ s/^Version: .*$/Version: $new/m;
open my $cf, '>', "$dir/repack/DEBIAN/control" or die $!;
print $cf $control;
close $cf;
run_log('repack-b', 0, 'dpkg-deb', '--root-owner-group', '-b',
        "$dir/repack", "$dir/upgrade.deb");
is(run_log('upgrade', 0, 'dpkg', '-i', "$dir/upgrade.deb"), 0,
   "dpkg -i upgrades to $new without a question");
is(`dpkg-query -W -f='\${Version}' libapache2-mod-sharedcache`, $new,
   'the upgrade is installed');
like(slurp($CONF), qr/^# edited by t\/deb\.t\nSharedCacheServers 127/m,
     'the edited sharedcache.conf survived the upgrade');
is_deeply([glob("$MODS/sharedcache*")],
          ["$MODS/sharedcache.conf", "$MODS/sharedcache.load"],
          'no .dpkg-dist or .dpkg-new beside it');
ok(-l "$ENABLED/sharedcache.load", 'the module is still enabled');
ok(start_apache(), 'apache2 starts again after the upgrade');
cache_is(fetch(), 'HIT', 'the page is still a HIT (same memcached)');
stop_apache();

# -- removed, then installed again ------------------------------------

is(run_log('remove', 0, apt('remove', 'libapache2-mod-sharedcache')), 0,
   'apt-get remove the module package');
is(status_of('libapache2-mod-sharedcache'), 'c', 'its conffiles stay');
ok(!-e "$ENABLED/sharedcache.load", 'removing it disabled the module');
like(slurp($CONF), qr/^# edited by t\/deb\.t$/m, 'the edit is still there');
is(run_log('reinstall', 0, 'dpkg', '-i', "$dir/upgrade.deb"), 0,
   'installing it again');
ok(-l "$ENABLED/sharedcache.load",
   'enables it again: the removal, not the administrator, disabled it');

# -- purge leaves nothing --------------------------------------------------

my @files = grep { $_ ne '/.' } map { split /\n/, `dpkg -L $_` } @PKGS;
ok(scalar(@files) > 10, 'dpkg -L lists the packages\' files');
is(run_log('purge', 0, apt('purge', @PKGS)), 0, 'apt-get purge both');
is(status_of($_), 'n', "$_ is gone, configuration included") for @PKGS;
# Directories other packages own (/usr/bin, /etc/apache2, ...) stay.
my @left = grep { -e || -l } @files;
my @dirs = grep { -d && !-l } @left;
my %owned = map { /^.*: (\/.*)$/ ? ($1 => 1) : () }
            split /\n/, @dirs ? `dpkg -S @dirs 2>/dev/null` : '';
@left = grep { !$owned{$_} } @left;
is_deeply(\@left, [], 'nothing dpkg -L listed is left') or diag("@left");
is_deeply([glob('/etc/apache2/mods-*/sharedcache*'),
           glob('/var/lib/apache2/module/*/sharedcache')], [],
          'no sharedcache* in mods-available, mods-enabled or a2enmod state');
ok(!-e '/usr/lib/python3/dist-packages/sharedcache',
   'no sharedcache in dist-packages (nor its __pycache__)');
note(sprintf 'install, Apache, upgrade, purge: %.0f s', time - $t0);

$mc->stop;
done_testing;
