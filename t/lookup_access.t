# A page made from lookups of other URLs or files (subrequests that only
# look: mod_autoindex lists the files a client may read, mod_dir picks the
# first DirectoryIndex name it may read, mod_negotiation the variants,
# SSI's #fsize and #flastmod) depends on who asks when such a lookup meets
# access rules of its own that an anonymous client does not pass: it is
# not stored.  Before, the listing made for an allowed client, naming a
# file others are refused, was stored for everyone (found by the outside
# attack).  Pages whose lookups meet no such rule are stored as before.
use strict;
use warnings;
use Test::More;
use SCTest;

my $mc = SCTest::Memcached->start;
my $ap = SCTest::Apache->start(memcached => [$mc],
    modules => [qw(autoindex dir include negotiation)], conf => <<'CONF');
AddType text/html .shtml
AddOutputFilter INCLUDES .shtml
<Directory @DIR@/htdocs>
    Options +Indexes +Includes +MultiViews
    Require all granted
    <Files "secret-*">
        Require ip 127.0.0.5
    </Files>
</Directory>
<Directory @DIR@/htdocs/idx>
    DirectoryIndex disabled
</Directory>
<Directory @DIR@/htdocs/open>
    DirectoryIndex disabled
</Directory>
<Directory @DIR@/htdocs/home>
    DirectoryIndex secret-index.html index.html
</Directory>
<Location />
    SharedCache On
    SharedCacheTTL 60
    SharedCacheRequireLength Off
</Location>
CONF
my $h = $ap->dir . '/htdocs';
my %files = (
    'idx/public.txt' => "x\n",
    'idx/secret-salaries-2025.txt' => "x\n",
    'open/public.txt' => "x\n",
    'home/secret-index.html' => "STAFF HOME\n",
    'home/index.html' => "PUBLIC HOME\n",
    'ssi/page.shtml' => "size: <!--#fsize file=\"secret-plan.txt\" -->\n",
    'ssi/secret-plan.txt' => "x" x 5000,
    'neg/secret-doc.html' => "STAFF DOC\n",
);
for my $dir (qw(idx open home ssi neg)) {
    mkdir "$h/$dir";
    chmod 0755, "$h/$dir";
}
for my $f (keys %files) {
    open my $fh, '>', "$h/$f" or die "$f: $!";
    print $fh $files{$f};
    close $fh;
    chmod 0644, "$h/$f";
}
sub from { my ($src, $t) = @_; $ap->raw(GET => $t, _from => $src) }

# the allowed client first, then another
my $staff = from('127.0.0.5', '/idx/');
like($staff->{body}, qr/secret-salaries/, 'autoindex: the allowed client sees the file');
my $other = from('127.0.0.1', '/idx/');
unlike($other->{body}, qr/secret-salaries/,
       "autoindex: another client never gets its name ($other->{cache})");
is(from('127.0.0.1', '/idx/secret-salaries-2025.txt')->{status}, 403,
   'the file itself is refused to it');

$staff = from('127.0.0.5', '/home/');
like($staff->{body}, qr/STAFF HOME/, 'DirectoryIndex: the allowed client gets the first name');
$other = from('127.0.0.1', '/home/');
like($other->{body}, qr/PUBLIC HOME/,
     "DirectoryIndex: another client gets the next one ($other->{cache})");

$staff = from('127.0.0.5', '/ssi/page.shtml');
like($staff->{body}, qr/size: 4\.9K/, 'SSI #fsize: the allowed client gets the size');
$other = from('127.0.0.1', '/ssi/page.shtml');
unlike($other->{body}, qr/size: 4\.9K/,
       "SSI #fsize: another client never gets it ($other->{cache})");

$staff = from('127.0.0.5', '/neg/secret-doc');
like($staff->{body}, qr/STAFF DOC/, 'MultiViews: the allowed client gets the variant');
$other = from('127.0.0.1', '/neg/secret-doc');
unlike($other->{body}, qr/STAFF DOC/,
       "MultiViews: another client never gets it ($other->{status} $other->{cache})");

# lookups that meet no rule of their own: stored as before
from('127.0.0.1', '/open/');
cache_is(from('127.0.0.5', '/open/'), 'HIT', 'a listing of public files is stored');
$ap->stop(allow => [qr/AH01630/, qr/AH01797/, qr/AH01276/, qr/AH00128/, qr/AH01664/, qr/AH02670/]);
done_testing;
