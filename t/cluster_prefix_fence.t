# Two virtual hosts with different SharedCachePrefix on the same servers:
# each prefix has its own backend and so its own fence state; a fence mark
# left under one prefix is applied before that prefix's pages are read
# from the server that missed the invalidation, whatever the other
# prefix's requests did meanwhile.
# sc-test: alone (it measures time; make prove runs the others two at a time)
# sc-test: own-cluster (every memcached it starts is no_extra)
use strict;
use warnings;
use Test::More;
use Time::HiRes qw(time sleep);
use SCTest;
SCTest::skip_in_cluster_pass();
use SCTest::Cluster qw(:all);

my @mc = map { SCTest::Memcached->start(no_extra => 1) } 1 .. 3;
my @px = map { SCTest::Cluster::Proxy->start($_) } @mc;
my $vh = sub {
    my ($name, $prefix) = @_;
    return <<"VH";
<VirtualHost 127.0.0.1:\@PORT\@>
    ServerName $name
    SharedCachePrefix $prefix
    WSGIScriptAlias /app \@DIR\@/app/app.py process-group=scapp application-group=%{GLOBAL}
    <Location /app>
        SharedCache On
        SharedCacheTTL 300
    </Location>
</VirtualHost>
VH
};
my $ap = SCTest::Apache->start(memcached => \@px, conf =>
    "SharedCacheTimeout 200\nSharedCacheRetryInterval 1\n"
    . $vh->('v1.test', 'p1') . $vh->('v2.test', 'p2'));
my $port = $ap->port;
my $get = sub { my ($host, $p) = @_; $ap->raw(GET => $p, Host => "$host:$port") };

my @pages = map { "/app/vh/p-$_?sk=vt" } 1 .. 15;
$get->('v2.test', $_) for @pages;
my %tok;
for my $p (@pages) {
    my $r = $get->('v2.test', $p);
    $tok{$p} = body_token($r->{body}) if $r->{cache} eq 'HIT';
}
is(scalar keys %tok, scalar @pages, 'v2 pages cached');
$get->('v1.test', "/app/vh/one-$_") for 1 .. 5;

$px[2]->partition;
my $r = ctl(servers => \@px, prefix => 'p2', timeout => 300,
            args => ['--prefix', 'p2', 'invalidate', 'vt']);
diag("ctl --prefix p2 invalidate vt: rc $r->{rc} $r->{err}");
# which v2 pages live on the cut-off server: those answered ERROR now
my @onC = grep { $get->('v2.test', $_)->{cache} eq 'ERROR' } @pages;
diag(scalar(@onC) . ' v2 pages on the cut-off server');
$px[2]->heal;

my @stale;
my $until = time + 4;
while (time < $until) {
    sleep 1.1;      # a reconcile is due in every child
    # the p1 site's traffic runs it (both children: parallel connections)
    SCTest::Apache->burst(map { [$ap, "/app/vh/one-$_", Host => "v1.test:$port"] } 1 .. 5, 1 .. 5);
    for my $p (@onC) {
        my $x = $get->('v2.test', $p);
        push @stale, $p if $x->{cache} eq 'HIT' && body_token($x->{body}) eq $tok{$p};
    }
}
is(scalar @stale, 0, 'no v2 page invalidated while C was away is served '
   . 'from its old entry') or diag(scalar(@stale) . " stale: @stale[0..2]");
$ap->stop(allow => [qr/SC020[19]/]);
$_->stop for @px, @mc;
done_testing;
