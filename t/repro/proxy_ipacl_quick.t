# F1 as access control: a backend that allows only 127.0.0.1 by the
# X-Forwarded-For mod_proxy adds (Vary: X-Forwarded-For); normal and quick mode.
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
<VirtualHost 127.0.0.1:\@PORT\@>
    ServerName n.test
    ProxyPass /r/ http://127.0.0.1:$bport/r/
    <Location />
        SharedCache On
    </Location>
</VirtualHost>
<VirtualHost 127.0.0.1:\@PORT\@>
    ServerName q.test
    ProxyPass /r/ http://127.0.0.1:$bport/r/
    <Location />
        SharedCache On
        SharedCacheQuickHandler On
    </Location>
</VirtualHost>
<VirtualHost 127.0.0.1:\@PORT\@>
    ServerName off.test
    ProxyPass /r/ http://127.0.0.1:$bport/r/
    <Location />
        SharedCache Off
    </Location>
</VirtualHost>
CONF
for my $host (qw(n.test q.test off.test)) {
    my $out0 = $ap->raw(GET => '/r/report', Host => $host, _from => '127.0.0.5');
    my $in   = $ap->raw(GET => '/r/report', Host => $host, _from => '127.0.0.1');
    my $out  = $ap->raw(GET => '/r/report', Host => $host, _from => '127.0.0.5');
    my $cs = sub { ($_[0]{headers}{'x-sharedcache'} // '-') . ' ' . ($_[0]{headers}{'cache-status'} // '') };
    diag("$host outsider first: $out0->{status} ".$cs->($out0));
    diag("$host insider:        $in->{status} ".$cs->($in));
    diag("$host outsider after: $out->{status} ".$cs->($out)." body=$out->{body}");
    is($out->{status}, 403, "$host: the outsider is refused after the insider's visit");
}
$ap->stop;
stop_pid($bpid);
done_testing;
