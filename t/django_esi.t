# ESI with a real Django site (sharedcache.django: the esi_include template
# tag, SharedCacheMiddleware's marking, esi_fragment): one page shell for
# every visitor, a greeting fragment per user (SharedCacheVaryByCookie
# sessionid on its location) and a "latest posts" fragment tagged posts.
# 1,000 interleaved requests of two logged-in users and anonymous
# visitors: nobody sees another's name, the shell renders once, each
# greeting once; saving a post renders only the latest-posts fragment
# again.
use strict;
use warnings;
use Test::More;
use SCTest;

my $settings = <<'PY';
INSTALLED_APPS = ["django.contrib.auth", "django.contrib.contenttypes",
                  "django.contrib.sessions", "django.contrib.messages",
                  "blog.apps.BlogConfig", "sharedcache"]
MIDDLEWARE = ["sharedcache.django.SharedCacheMiddleware",
              "django.contrib.sessions.middleware.SessionMiddleware",
              "django.middleware.common.CommonMiddleware",
              "django.middleware.csrf.CsrfViewMiddleware",
              "django.contrib.auth.middleware.AuthenticationMiddleware"]
PY
my $mc = SCTest::Memcached->start;
my $ap = SCTest::Apache->start(memcached => [$mc], django => 1,
                               django_settings => $settings,
                               conf => <<'CONF');
<Location /dj>
    SharedCache On
    SharedCacheTTL 600
    SharedCacheInvalidateOnUnsafe Off
</Location>
<Location /dj/esi>
    SharedCacheESI On
</Location>
<Location /dj/fragments/hello>
    SharedCacheVaryByCookie sessionid
</Location>
CONF

my %as = (anonymous => {});
for my $user (qw(alice bob)) {
    my $r = $ap->get("/dj/login?user=$user");
    my $sc = $r->{headers}{'set-cookie'};
    my ($sid) = (ref $sc ? "@$sc" : $sc // '') =~ /sessionid=([^;]+)/;
    ok($sid, "$user is logged in");
    $as{$user} = { Cookie => "sessionid=$sid" };
}

sub parts {
    my ($body) = @_;
    my ($shell) = $body =~ /<h1>shell (\w+)<\/h1>/;
    my ($who, $greeting) = $body =~ /Hello, (\w+) \(render (\w+)\)/;
    my ($latest) = $body =~ /<aside><ul>(.*?)<\/ul><\/aside>/s;
    return ($shell // '', $who // '', $greeting // '', $latest // '');
}

srand(12);
my @who = map { (qw(alice bob anonymous))[int rand 3] } 1 .. 1000;
my (%shells, %greetings, $wrong, $errors, $esi_left);
for my $user (@who) {
    my $r = $ap->get('/dj/esi', %{ $as{$user} });
    if ($r->{status} != 200) {
        $errors++;
        diag("$user: $r->{status} $r->{cache}: $r->{body}") if $errors < 3;
    }
    my ($shell, $name, $greeting, $latest) = parts($r->{body});
    $esi_left++ if $r->{body} =~ /esi:/;
    $wrong++ if $name ne $user;
    $shells{$shell}++;
    $greetings{$user}{$greeting}++;
}
is($errors // 0, 0, '1,000 requests: all answered 200');
is($wrong // 0, 0, 'nobody saw another visitor\'s name');
is($esi_left // 0, 0, 'no ESI markup reached a client');
is(scalar keys %shells, 1, 'one shell for everybody');
is($ap->renders('/esi'), 1, 'the shell rendered once');
for my $user (qw(alice bob anonymous)) {
    is(scalar keys %{ $greetings{$user} }, 1, "$user's greeting is one render");
}
is($ap->renders('/fragments/hello'), 3, 'each greeting rendered once');
is($ap->renders('/fragments/latest'), 1, 'the latest posts once');

# Saving a post: only the tagged fragment renders again.
my $post = $ap->{client}->post_form($ap->url('/dj/posts/1/edit'),
                                    { title => 'Fresh title' });
is($post->{status}, 302, 'post 1 saved');
my $after = $ap->get('/dj/esi', %{ $as{alice} });
my ($shell, $name, undef, $latest) = parts($after->{body});
like($latest, qr/Fresh title/, 'the page shows the new title at once');
is($name, 'alice', 'still alice\'s greeting');
is((keys %shells)[0], $shell, 'in the same shell');
is($ap->renders('/fragments/latest'), 2, 'the latest posts rendered again');
is($ap->renders('/esi'), 1, 'the shell did not');
is($ap->renders('/fragments/hello'), 3, 'nor the greetings');
cache_is($after, 'HIT', 'the shell is a hit');

my @bad = $ap->unexpected_errors;
is_deeply(\@bad, [], 'no unexpected error in the log');
done_testing;
