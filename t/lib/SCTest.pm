package SCTest;

# Test harness of mod_sharedcache: starts a real memcached and a real
# Apache (with the built module, mod_wsgi and the test app) on free
# loopback ports, talks HTTP to them, and stops them by PID.
#
# This file owns the harness's settings (the repository root, Apache's
# binary and modules, the MPM) and loads its parts, one concern each:
#
#   SCTest/Process.pm    ports, temporary directories, processes
#   SCTest/Memcached.pm  SCTest::Memcached, the test memcached
#   SCTest/Apache.pm     SCTest::Apache, a test Apache and requests to it
#   SCTest/HTTP.pm       requests and responses on the wire: the one parser
#                        and cache_is (exported: use SCTest; cache_is(...))
#   SCTest/Django.pm     the Django test site an Apache can serve
#   SCTest/PKI.pm        SCTest::test_pki(), certificates for TLS tests
#
#   my $mc = SCTest::Memcached->start;
#   my $ap = SCTest::Apache->start(memcached => [$mc], conf => '...');
#   my $res = $ap->get('/app/page');     # { status, cache, body, ... }
#   $ap->renders('/app/page');           # how often the app really ran
#   cache_is($res, 'MISS', 'first a MISS');  # the decision header
#   $ap->stop;                           # also checks the error log
#
# The MPM comes from SC_MPM (prefork or event).  SC_KEEP=1 keeps the
# temporary directories for a look after a failure.

use strict;
use warnings;
use Cwd qw(abs_path);
use Exporter 'import';
use File::Basename qw(dirname);

our $ROOT = abs_path(dirname(__FILE__) . '/../..');
our $MODULES = '/usr/lib/apache2/modules';
our $HTTPD = $ENV{SC_HTTPD} || '/usr/sbin/apache2';

sub mpm { $ENV{SC_MPM} || 'event' }

# SCTest::free_port(), SCTest::spawn(), SCTest::test_pki(), ...
use SCTest::Process qw(is_root free_port wait_port workdir spawn stop_pid);
use SCTest::PKI qw(test_pki);
use SCTest::Memcached;
use SCTest::Apache;
use SCTest::HTTP qw(cache_is);

# cache_is($res, 'HIT', 'name'): the X-SharedCache decision (SCTest/HTTP.pm).
# esi_page($path, $text, $extra): a page of the test app whose body is
# $text, marked Surrogate-Control: content="ESI/1.0" ($extra: more query).
# esi_inc($src, $attrs): <esi:include src="$src"$attrs/>.
our @EXPORT = qw(cache_is esi_page esi_inc);

sub esi_page {
    my ($path, $text, $extra) = @_;
    require URI::Escape;
    return "$path?text=" . URI::Escape::uri_escape($text)
           . '&sc=' . URI::Escape::uri_escape('content="ESI/1.0"')
           . ($extra // '');
}

sub esi_inc {
    my ($src, $attrs) = @_;
    return qq{<esi:include src="$src"} . ($attrs // '') . '/>';
}

# A test that starts every memcached it uses itself (no_extra => 1) runs
# in the cluster pass (SC_EXTRA_MEMCACHED) exactly as in the event pass:
# it is not run twice.
sub skip_in_cluster_pass {
    return unless $ENV{SC_EXTRA_MEMCACHED};
    require Test::More;
    Test::More::plan(skip_all => 'starts its own memcached servers: the same '
                                 . 'run as in the event pass');
}

# A test of what does not depend on the MPM (placement, fences, counters
# of a cluster of its own) runs under event only: the suite's time budget.
sub event_only {
    return if mpm() eq 'event';
    require Test::More;
    Test::More::plan(skip_all => 'independent of the MPM: runs under event');
}

# The <Directory> block that has mod_include process *.shtml in htdocs.
our $SSI_DIR = <<'CONF';
<Directory @DIR@/htdocs>
    Options +Includes
    AddOutputFilter INCLUDES .shtml
</Directory>
CONF

# A whole SSI site: every URL cached for 60 s, .shtml pages of htdocs
# processed by mod_include, and an application fragment at /nav (the
# test's own htdocs/frag.py, a WSGI script).  extra: more lines for the
# <Directory> of the pages.
sub ssi_site {
    my ($extra) = @_;
    $extra = $extra ? "    $extra\n" : '';
    return <<"CONF";
<Location />
    SharedCache On
    SharedCacheTTL 60
</Location>
WSGIScriptAlias /nav \@DIR\@/htdocs/frag.py process-group=scapp application-group=%{GLOBAL}
<Directory \@DIR\@/htdocs>
    Options +Includes
    AddType text/html .shtml
    AddOutputFilter INCLUDES .shtml
$extra</Directory>
CONF
}

1;
