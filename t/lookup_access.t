# A page made from lookups of other URLs or files (subrequests that only
# look: mod_autoindex lists the files a client may read, mod_dir picks the
# first DirectoryIndex name it may read, mod_negotiation the variants,
# SSI's #fsize and #flastmod) depends on who asks when such a lookup meets
# access rules of its own that an anonymous client does not pass: it is
# not stored.  Before, the listing made for an allowed client, naming a
# file others are refused, was stored for everyone (found by the outside
# attack).  Pages whose lookups meet no such rule are stored as before.
# Where the configuration denies some clients by what they send or are
# (Require not ip ...), an anonymous client passes a denial of others, so
# any rules of their own keep the page out, a fragment's too.
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
write_files($h, %files);
# Files under htdocs (name => content), their directories made first.
sub write_files {
    my ($root, %f) = @_;
    for my $f (sort keys %f) {
        (my $dir = $f) =~ s{/[^/]*$}{};
        if ($dir ne $f && !-d "$root/$dir") {
            mkdir "$root/$dir" or die "$dir: $!";
            chmod 0755, "$root/$dir";
        }
        open my $fh, '>', "$root/$f" or die "$f: $!";
        print $fh $f{$f};
        close $fh;
        chmod 0644, "$root/$f";
    }
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

# A denial of some clients: the anonymous client passes it.
$ap = SCTest::Apache->start(memcached => [$mc],
    modules => [qw(autoindex dir include)], conf => <<'CONF');
AddType text/html .shtml
AddOutputFilter INCLUDES .shtml
<Directory @DIR@/htdocs>
    Options +Indexes +Includes
    DirectoryIndex disabled
    Require all granted
    <Files "secret-*">
        <RequireAll>
            Require all granted
            Require not ip 127.0.0.2
        </RequireAll>
    </Files>
</Directory>
<Location /denied>
    <RequireAll>
        Require all granted
        Require not ip 127.0.0.2
    </RequireAll>
</Location>
<Location />
    SharedCache On
    SharedCacheTTL 60
    SharedCacheRequireLength Off
    SharedCacheNamespace denylist
</Location>
CONF
$h = $ap->dir . '/htdocs';
%files = ('idx/public.txt' => "x\n", 'idx/secret-salaries-2025.txt' => "x\n",
          'open/public.txt' => "x\n",
          'page.shtml' => "page <!--#include virtual=\"/denied/frag.html\" -->\n",
          'denied/frag.html' => "MEMBERS ONLY\n");
write_files($h, %files);
is(from('127.0.0.2', '/idx/secret-salaries-2025.txt')->{status}, 403,
   'denial: the file is refused to 127.0.0.2');
$staff = from('127.0.0.1', '/idx/');
like($staff->{body}, qr/secret-salaries/, 'denial: another client sees the file');
$other = from('127.0.0.2', '/idx/');
unlike($other->{body}, qr/secret-salaries/,
       "denial: the denied client never gets its name ($other->{cache})");
$staff = from('127.0.0.1', '/page.shtml');
like($staff->{body}, qr/MEMBERS ONLY/, 'denial: an SSI page includes the fragment');
$other = from('127.0.0.2', '/page.shtml');
unlike($other->{body}, qr/MEMBERS ONLY/,
       "denial: the denied client never gets the fragment ($other->{cache})");
# (where rules deny some clients, any lookup whose configuration is not
# its page's keeps the page out: httpd merges a <Location> anew for each
# URL, so that is every lookup of another URL)
from('127.0.0.1', '/open/');
isnt(from('127.0.0.2', '/open/')->{cache}, 'HIT',
     'denial: a listing is not stored, even of public files');
# but not the lookup of PATH_TRANSLATED that every WSGI (CGI, FastCGI)
# request with a PATH_INFO makes: the application's pages are stored
from('127.0.0.1', '/app/page');
cache_is(from('127.0.0.2', '/app/page'), 'HIT',
         'denial: an application page (PATH_INFO) is stored');
$ap->stop(allow => [qr/AH01630/, qr/AH01797/, qr/AH01276/, qr/AH01664/,
                    qr/unable to include "\/denied/]);

# A condition on the client in an <If> that refuses a file (a Redirect
# with a status, a RewriteRule [F]): whether a lookup passes it is not
# known at start-up (found by the outside attack).
$ap = SCTest::Apache->start(memcached => [$mc],
    modules => [qw(autoindex dir rewrite)], conf => <<'CONF');
<Directory @DIR@/htdocs>
    Options +Indexes
    DirectoryIndex disabled
    Require all granted
    <Files "secret-*">
        <If "-R '127.0.0.2'">
            Redirect 403
        </If>
    </Files>
    <Files "hidden-*">
        <If "-R '127.0.0.2'">
            RewriteEngine On
            RewriteRule ^ - [F]
        </If>
    </Files>
</Directory>
<Location />
    SharedCache On
    SharedCacheTTL 60
    SharedCacheRequireLength Off
    SharedCacheNamespace iflist
</Location>
CONF
$h = $ap->dir . '/htdocs';
write_files($h, map { ("idx/$_" => "x\n") }
                   'public.txt', 'secret-salaries.txt', 'hidden-plan.txt');
is(from('127.0.0.2', '/idx/secret-salaries.txt')->{status}, 403, '<If>: the file is refused to 127.0.0.2');
$staff = from('127.0.0.1', '/idx/');
like($staff->{body}, qr/secret-salaries.*hidden-plan|hidden-plan.*secret-salaries/s, '<If>: another client sees both files');
$other = from('127.0.0.2', '/idx/');
unlike($other->{body}, qr/secret-salaries|hidden-plan/,
       "<If>: the refused client never gets their names ($other->{cache})");
$ap->stop(allow => [qr/AH01630/, qr/AH01797/, qr/AH01276/]);
done_testing;
