# make install and make uninstall, into temporary directories (the same
# recipes as into /usr/lib/apache2/modules, /etc/apache2/mods-available and
# /usr/local): no libtool .la, an edited .conf is never overwritten (this
# version's goes beside it as .dist) nor removed, and uninstall removes the
# rest, but not while the module is enabled.
use strict;
use warnings;
use Test::More;
use File::Path qw(make_path);
use SCTest;
use SCTest::Process qw(workdir);

my $ROOT = $SCTest::ROOT;
my $d = workdir();
my %dir = (MODULES_DIR => "$d/modules", BINDIR => "$d/bin",
           MANDIR => "$d/man", MODS_AVAILABLE => "$d/apache2/mods-available",
           MODS_ENABLED => "$d/apache2/mods-enabled");
make_path($dir{MODS_ENABLED});
my $conf = "$dir{MODS_AVAILABLE}/sharedcache.conf";

# make TARGET with the directories above; returns (exit code, output).
sub make {
    my ($target) = @_;
    my @vars = map { "$_=$dir{$_}" } sort keys %dir;
    my $out = `make -C $ROOT --no-print-directory @vars $target 2>&1`;
    return ($? >> 8, $out);
}

sub slurp {
    open my $fh, '<', $_[0] or return '';
    local $/;
    return <$fh>;
}

# A .la an earlier make install (apxs -i) left behind.
make_path($dir{MODULES_DIR});
open my $la, '>', "$dir{MODULES_DIR}/mod_sharedcache.la" or die $!;
close $la;

my ($rc, $out) = make('install');
is($rc, 0, 'make install') or diag($out);
my @installed = ("$dir{MODULES_DIR}/mod_sharedcache.so",
                 "$dir{BINDIR}/sharedcachectl",
                 "$dir{MANDIR}/man1/sharedcachectl.1",
                 "$dir{MODS_AVAILABLE}/sharedcache.load", $conf);
ok(-f $_, "installs $_") for @installed;
ok(-x "$dir{BINDIR}/sharedcachectl", 'sharedcachectl is executable');
is([glob "$dir{MODULES_DIR}/*"]->[0], "$dir{MODULES_DIR}/mod_sharedcache.so",
   'the module alone, no .la (an old one is gone)');
is(scalar(() = glob "$dir{MODULES_DIR}/*"), 1, 'one file in the module dir');
is(slurp($conf), slurp("$ROOT/conf/sharedcache.conf"), 'the .conf as shipped');

# The administrator's edit survives the next make install.
open my $fh, '>>', $conf or die $!;
print $fh "# edited\n";
close $fh;
($rc, $out) = make('install');
is($rc, 0, 'make install again');
like(slurp($conf), qr/^# edited$/m, 'the edited .conf is kept');
like($out, qr/kept \Q$conf\E.*\Q$conf.dist\E/s, 'and make install says so');
is(slurp("$conf.dist"), slurp("$ROOT/conf/sharedcache.conf"),
   "this version's is beside it as .dist");
ok(!-e "$dir{MODS_AVAILABLE}/sharedcache.load.dist",
   'the unedited .load is simply installed');

# Not while Apache may load the module.
symlink '../mods-available/sharedcache.load',
    "$dir{MODS_ENABLED}/sharedcache.load" or die $!;
($rc, $out) = make('uninstall');
isnt($rc, 0, 'make uninstall refuses while the module is enabled');
like($out, qr/a2dismod sharedcache/, 'and says what to do');
ok(-f "$dir{MODULES_DIR}/mod_sharedcache.so", 'the module is still there');
unlink "$dir{MODS_ENABLED}/sharedcache.load";

($rc, $out) = make('uninstall');
is($rc, 0, 'make uninstall') or diag($out);
ok(!-e $_, "removes $_") for grep { $_ ne $conf } @installed;
ok(!-e "$conf.dist", 'and the .dist');
like(slurp($conf), qr/^# edited$/m, 'but keeps the edited .conf');
like($out, qr/kept \Q$conf\E/, 'and says so');

done_testing;
