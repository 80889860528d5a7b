# A header that is not in the reflected list: "SCRIPT_NAME".  gunicorn
# (Debian bookworm's 20.1.0) sets environ['SCRIPT_NAME'] from a request
# header of that exact name and cuts it out of PATH_INFO; mod_proxy_http
# forwards it.  The key holds /gx/victim/page, the app routes /page: an
# attacker replaces one page by another for everybody (and every link the
# app builds from SCRIPT_NAME).  Needs Debian's gunicorn.
use strict;
use warnings;
use Test::More;
use SCTest;
plan skip_all => 'no gunicorn' unless -x '/usr/bin/gunicorn';

my $gport = SCTest::free_port();
my $mc = SCTest::Memcached->start;
my $ap = SCTest::Apache->start(memcached => [$mc], modules => [qw(proxy proxy_http)],
    conf => <<"CONF");
ProxyPass /gx/ http://127.0.0.1:$gport/
<Location /gx>
    SharedCache On
    SharedCacheTTL 60
</Location>
CONF
my $g = SCTest::spawn($ap->dir . '/gunicorn.log', '/usr/bin/gunicorn', '--chdir',
    $ap->dir . '/app', '-b', "127.0.0.1:$gport", '-w', '1', 'app:application');
SCTest::wait_port($gport, 20, $g) or die 'gunicorn';
END { SCTest::stop_pid($g) if $g }

my $ctl = $ap->raw(GET => '/gx/victim/page2');
like($ctl->{body}, qr{path=/victim/page2}, 'control: the app sees /victim/page2');
my $evil = $ap->raw(GET => '/gx/victim/page', 'SCRIPT_NAME' => '/victim');
diag("attacker: $evil->{cache} $evil->{body}");
my $v = $ap->raw(GET => '/gx/victim/page');
diag("victim: $v->{cache} $v->{body}");
like($v->{body}, qr{path=/victim/page}, 'POISON if failing: the victim gets the page the attacker routed to');
$ap->stop;
done_testing;
