# A failed invalidation is tried again against the servers it was meant
# for, whichever virtual host's request comes next.  vhost a.test uses
# memcached A (behind a relay that drops traffic), b.test memcached B.  A
# POST on a.test cannot reach A and is kept (sc_pending).  Requests on
# b.test must not "retry" it on B (where the counter does not exist, which
# would count as done) and drop it: when A comes back with its old data,
# the pre-POST page must not be served.  (Found by an outside attack.)
# sc-test: alone (it measures time; make prove runs the others two at a time)
# sc-test: own-cluster (every memcached it starts is no_extra)
use strict;
use warnings;
use Test::More;
use Time::HiRes qw(time sleep);
use SCTest;
SCTest::skip_in_cluster_pass();
use SCTest::Cluster qw(:all);

my $mcA = SCTest::Memcached->start(no_extra => 1);
my $mcB = SCTest::Memcached->start(no_extra => 1);
my $pxA = SCTest::Cluster::Proxy->start($mcA);
my $vh = sub {
    my ($name, $servers) = @_;
    return <<"VH";
<VirtualHost 127.0.0.1:\@PORT\@>
    ServerName $name
    SharedCacheServers $servers
    WSGIScriptAlias /app \@DIR\@/app/app.py process-group=scapp application-group=%{GLOBAL}
    <Location /app>
        SharedCache On
        SharedCacheTTL 300
    </Location>
</VirtualHost>
VH
};
my $ap = SCTest::Apache->start(memcached => [$mcB], conf =>
    "SharedCacheTimeout 150\nSharedCacheRetryInterval 1\n"
    . $vh->('a.test', $pxA->addr) . $vh->('b.test', $mcB->addr));
my $port = $ap->port;
my $get = sub { my ($host, $p, %h) = @_; $ap->raw(GET => $p, Host => "$host:$port", %h) };

my $page = '/app/xv/post';
$get->('a.test', $page);
my $before = $get->('a.test', $page);
cache_is($before, 'HIT', 'a.test page cached');
$get->('b.test', "/app/xv/b-$_") for 1 .. 3;

$pxA->partition;
my $p = $ap->raw(POST => $page, Host => "a.test:$port", _body => 'x=1');
is($p->{status}, 200, 'POST answered during the partition');
# b.test traffic: each request runs sc_invalidate_retry with b's backend
$get->('b.test', '/app/xv/b-' . (1 + $_ % 3)) for 1 .. 20;
sleep 0.2;
$pxA->heal;
sleep 1.3;
# settle a.test connections (first use after heal may time out once)
my @after;
my $until = time + 5;
while (time < $until) {
    my $r = $get->('a.test', $page);
    push @after, $r;
    last if $r->{cache} ne 'ERROR' && @after > 4;
    sleep 0.1;
}
my @stale = grep { $_->{cache} eq 'HIT' && body_token($_->{body}) eq body_token($before->{body}) } @after;
diag(join ' ', map { $_->{cache} } @after);
is(scalar @stale, 0, 'the pre-POST page is never served as a HIT after the POST')
    or diag("stale body: $stale[0]{body}");
like($ap->error_log, qr/SC0404: invalidation of \S+ tried again: done/,
     'the invalidation went through once A answered (control)');
$ap->stop(allow => [qr/SC020[1-9]|SC040[0-9]/]);
done_testing;
