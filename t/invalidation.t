# Invalidation is shared by every process and host: two Apache instances
# serving the same site from one memcached.  A tag invalidated through one
# (response header, sharedcachectl, Python) is a MISS on the other; PURGE
# drops every variant; unsafe methods invalidate their URL; an evicted
# counter never lets an old entry be served; the invalidate header works
# where SharedCache is Off too.
use strict;
use warnings;
use Digest::SHA qw(sha1_hex);
use Test::More;
use SCTest;

my $mc = SCTest::Memcached->start;
my $servers = $mc->addr;
my $site = <<'CONF';
<VirtualHost *:@PORT@>
    ServerName www.test:80
    <Location /app>
        SharedCache On
        SharedCacheTTL 60
        SharedCachePurge On
        <Limit PURGE>
            Require ip 127.0.0.1
        </Limit>
    </Location>
    <Location /app/v>
        SharedCacheVaryByCookie lang
    </Location>
    <Location /app/locked>
        <Limit PURGE>
            Require all denied
        </Limit>
    </Location>
    <Location /app/nopurge>
        SharedCachePurge Off
    </Location>
    <Location /app/admin>
        SharedCache Off
    </Location>
</VirtualHost>
CONF
# Two hosts of a farm: the same port on two addresses.
my @ap = (SCTest::Apache->start(memcached => [$mc], conf => $site));
push @ap, SCTest::Apache->start(memcached => [$mc], conf => $site,
                                addr => '127.0.0.2', port => $ap[0]->port);
my ($a, $b) = @ap;
sub on { my ($ap, $path, %h) = @_; $ap->raw(GET => $path, Host => 'www.test', %h) }

# The farm shares entries.
my $s1 = on($a, '/app/shared');
my $s2 = on($b, '/app/shared');
cache_is($s2, 'HIT', 'stored through one Apache, a HIT on the other');
is($s2->{body}, $s1->{body}, 'the same page');

# Tags, invalidated three ways.
my %how = (
    header => sub { on($a, "/app/save?cc=no-store&inv=$_[0]") },
    sharedcachectl => sub {
        system("$SCTest::ROOT/tools/sharedcachectl", '--servers', $servers,
               'invalidate', $_[0]) == 0 or die "sharedcachectl failed";
    },
    python => sub {
        system('/usr/bin/python3', '-c',
               "import sys; sys.path.insert(0, '$SCTest::ROOT/python');"
               . " import sharedcache;"
               . " sharedcache.Client('$servers').invalidate('$_[0]')") == 0
            or die "python failed";
    },
);
for my $way (sort keys %how) {
    my $tag = "post-$way";
    my $page = "/app/tagged-$way?sk=$tag%20list";
    on($a, $page);
    on($a, "/app/untouched-$way?sk=other");
    cache_is(on($b, $page), 'HIT', "$way: the tagged page is a HIT on B");
    ok(!exists on($b, $page)->{headers}{'surrogate-key'},
       "$way: Surrogate-Key never reaches the client");
    $how{$way}->($tag);
    cache_is(on($b, $page), 'MISS',
             "$way: invalidated through A, a MISS on B");
    cache_is(on($b, $page), 'HIT', "$way: then stored again");
    cache_is(on($b, "/app/untouched-$way?sk=other"), 'HIT',
             "$way: a page with other tags stays a HIT");
}
my $inv = on($a, '/app/save?cc=no-store&inv=x');
ok(!exists $inv->{headers}{'x-sharedcache-invalidate'},
   'the invalidate header never reaches the client');

# PURGE drops every variant (cookie and Vary) of a URL, on every host.
my $v = '/app/v/page?vary=Accept-Language';
my @variants = ([Cookie => 'lang=de'], [Cookie => 'lang=fr'],
                ['Accept-Language' => 'en'], ['Accept-Language' => 'it']);
on($a, $v, @$_) for @variants;
is(scalar(grep { on($b, $v, @$_)->{cache} eq 'HIT' } @variants), 4,
   'four variants cached');
my $purge = $a->raw(PURGE => $v, Host => 'www.test');
is($purge->{status}, 200, 'PURGE: 200');
is(scalar(grep { on($b, $v, @$_)->{cache} eq 'MISS' } @variants), 4,
   'every variant is a MISS afterwards, on the other host too');
on($a, '/app/v/other?x=1');
cache_is(on($a, '/app/v/other?x=1'), 'HIT', 'other URLs untouched');
is($a->raw(PURGE => '/app/never-cached', Host => 'www.test')->{status}, 404,
   'PURGE of a URL never cached: 404');
on($a, '/app/locked/p');
is($a->raw(PURGE => '/app/locked/p', Host => 'www.test')->{status}, 403,
   'PURGE without permission: 403');
cache_is(on($b, '/app/locked/p'), 'HIT', 'and nothing was purged');
on($a, '/app/nopurge/p');
# The module leaves PURGE alone there: it reaches the application.
isnt($a->raw(PURGE => '/app/nopurge/p', Host => 'www.test')->{body},
     "purged\n", 'PURGE where SharedCachePurge is Off: not acted on');
cache_is(on($b, '/app/nopurge/p'), 'HIT', 'and nothing was purged');

# A POST invalidates the cached GET of its URL (not the Location it
# redirects to: post/redirect/get).
on($a, '/app/form');
on($a, '/app/target');
cache_is(on($b, '/app/form'), 'HIT', 'GET /app/form cached');
my $post = $a->raw(POST => '/app/form?cc=no-store&status=303&loc=/app/target',
                   Host => 'www.test', _body => 'x=1',
                   'Content-Type' => 'application/x-www-form-urlencoded');
is($post->{status}, 303, 'POST answered');
cache_is(on($b, '/app/form'), 'MISS', 'the GET of the same URL is a MISS');
cache_is(on($b, '/app/target'), 'HIT', 'not its Location target');
my $failed = $a->raw(POST => '/app/form2?status=500', Host => 'www.test',
                     _body => 'x=1');
on($a, '/app/form2');
on($a, '/app/form2');
$a->raw(POST => '/app/form2?status=500', Host => 'www.test', _body => 'x=1');
cache_is(on($b, '/app/form2'), 'HIT', 'a failed POST invalidates nothing');

# An evicted tag counter can only cause misses.
my $page = '/app/evict?sk=post-9';
on($a, $page);
cache_is(on($b, $page), 'HIT', 'tagged page cached');
my $counter = 'sc:g:' . sha1_hex('t:post-9');
like($mc->command("delete $counter"), qr/^DELETED/,
     'its tag counter is evicted (deleted)');
cache_is(on($b, $page), 'MISS', 'the old entry is never served');
cache_is(on($b, $page), 'HIT', 'a fresh counter, a fresh entry');

# The invalidate header works where SharedCache is Off, and never
# reaches the client.
{
    my $tagged = '/app/tagged?sk=post-5';
    $a->get($tagged);
    cache_is($a->get($tagged), 'HIT', 'tagged page cached');
    my $post = $a->raw(POST => '/app/admin/save?inv=post-5&cc=no-store',
                       _body => 'x=1');
    ok(!exists $post->{headers}{'x-sharedcache-invalidate'},
       'the invalidate header is removed where SharedCache is Off');
    cache_is($a->get($tagged), 'MISS', 'and it invalidated the tag');
}

$_->stop(allow => [qr/AH01630: client denied/]) for @ap;
done_testing;
