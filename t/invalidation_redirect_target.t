# Which URLs a successful unsafe request invalidates (RFC 9111 4.4: the
# target URI must be, Location and Content-Location may be).  The target
# URI always; a same-origin Content-Location, which names the resource the
# response describes; the Location of a 201, the resource just created (a
# cached 404 of it would outlive the creation).  Not the Location of a
# redirect: post/redirect/get (a login or comment form POST answering
# "302 Location: /") must not empty the page it sends the browser to.
use strict;
use warnings;
use Test::More;
use SCTest;

my $mc = SCTest::Memcached->start;
my $ap = SCTest::Apache->start(memcached => [$mc]);
my $port = $ap->port;

sub cached {
    my ($path) = @_;
    $ap->get($path);
    return $ap->get($path)->{cache};
}

sub post {
    my ($target) = @_;
    return $ap->raw(POST => $target, _body => 'x=1',
                    'Content-Type' => 'application/x-www-form-urlencoded');
}

# Post/redirect/get: the redirect's target stays cached.
for my $status (301, 302, 303, 307, 308) {
    my $home = "/app/prg$status/home";
    my $form = "/app/prg$status/login";
    is(cached($home), 'HIT', "$status: the page redirected to is cached");
    is(cached($form), 'HIT', "$status: the form's own URL too");
    my $r = post("$form?cc=no-store&status=$status&loc=$home");
    is($r->{status}, $status, "the POST answers $status Location: $home");
    cache_is($ap->get($home), 'HIT',
             "$status: the redirect's target is not invalidated");
    cache_is($ap->get($form), 'MISS', "$status: the POST's own URL is");
}

# An absolute Location of this very host is a redirect like any other.
{
    my $home = '/app/prg-abs/home';
    is(cached($home), 'HIT', 'absolute Location: the target is cached');
    my $r = post("/app/prg-abs/login?cc=no-store&status=303"
                 . "&loc=http://127.0.0.1:$port$home");
    is($r->{status}, 303, 'the POST answers 303 with an absolute Location');
    cache_is($ap->get($home), 'HIT', 'and its target stays cached');
}

# Content-Location names the resource the response describes.
{
    my $item = '/app/cl/item';
    is(cached($item), 'HIT', 'Content-Location: the resource is cached');
    my $r = post("/app/cl/edit?cc=no-store&cloc=$item");
    is($r->{status}, 200, 'the POST answers 200 with Content-Location');
    cache_is($ap->get($item), 'MISS', 'the resource it names is invalidated');

    is(cached($item), 'HIT', 'cached again');
    $r = post("/app/cl/edit?cc=no-store&cloc=item");
    cache_is($ap->get($item), 'MISS', 'a relative Content-Location too');

    is(cached($item), 'HIT', 'cached again');
    $r = post("/app/cl/edit?cc=no-store&cloc=http://elsewhere.test$item");
    cache_is($ap->get($item), 'HIT',
             'a Content-Location of another origin is not');
}

# 201 Created: its Location is the new resource.
{
    my $new = '/app/created/7';
    my $gone = "$new?status=404";
    is(cached($gone), 'HIT', 'a 404 of the resource to be created is cached');
    my $r = post("/app/created?cc=no-store&status=201&loc=$gone");
    is($r->{status}, 201, 'the POST answers 201 Created');
    cache_is($ap->get($gone), 'MISS',
             'the created resource (Location of a 201) is invalidated');
}

$ap->stop;
done_testing;
