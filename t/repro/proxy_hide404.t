# F1, the other way round: a backend that hides a resource from outsiders
# with a 404 (cacheable by default) and Vary: X-Forwarded-For; one
# outsider's request makes it a 404 for the insider.
use strict;
use warnings;
use Test::More;
use SCTest;
use SCTest::Process qw(free_port wait_port spawn stop_pid workdir);

my $bport = free_port();
my $bdir = workdir();
my $bpid = spawn("$bdir/backend.log", 'python3', 't/repro/ipacl_backend.py', $bport);
wait_port($bport, 10, $bpid, '127.0.0.1') or die "backend did not start";
my $mc = SCTest::Memcached->start;
my $ap = SCTest::Apache->start(memcached => [$mc],
                               modules => [qw(proxy proxy_http)],
                               conf => <<"CONF");
ProxyPass /hide/ http://127.0.0.1:$bport/hide/
<Location /hide>
    SharedCache On
</Location>
CONF
my $out = $ap->raw(GET => '/hide/report', _from => '127.0.0.5');
my $in  = $ap->raw(GET => '/hide/report', _from => '127.0.0.1');
diag("outsider: $out->{status} ".($out->{headers}{'cache-status'}//''));
diag("insider:  $in->{status} ".($in->{headers}{'cache-status'}//'')." body=$in->{body}");
is($in->{status}, 200, 'the insider gets its 200 after an outsider asked first');
$ap->stop;
stop_pid($bpid);
done_testing;
