# The README's Django recipe, as written: its Apache block and its
# settings are extracted from README.md (between the recipe:django marker
# comments), only the paths and the port changed, and run against the
# suite's Django site (t/django) at the root of a virtual host.
#   - anonymous visitors get HITs, with analytics cookies too;
#   - logged-in users are never served a cached page (not another user's,
#     not the anonymous one);
#   - a draft's cached 404 shows the post at once when it is published;
#   - a login (POST answering 302 Location: /) does not invalidate /;
#   - editing one post refreshes its page and the lists, not the others;
#   - the CSRF token page, the admin and static files are never stored.
use strict;
use warnings;
use Test::More;
use SCTest;

sub recipe_block {
    my ($name, $lang) = @_;
    open my $fh, '<', "$SCTest::ROOT/README.md" or die "README.md: $!";
    my $text = do { local $/; <$fh> };
    my $begin = "<!-- recipe:$name:begin -->";
    my $end = "<!-- recipe:$name:end -->";
    my ($block) = $text =~ m{\Q$begin\E\s*```\Q$lang\E\n(.*?)```\s*\Q$end\E}s
        or BAIL_OUT("README.md has no $lang block between the"
                    . " recipe:$name markers");
    return $block;
}

# Only what the harness needs changes; each substitution must apply, so a
# recipe edited out of this test's reach fails here, not silently.
sub substitute {
    my ($text, @pairs) = @_;
    while (my ($from, $to) = splice @pairs, 0, 2) {
        my $n = () = $text =~ /\Q$from\E/g;
        BAIL_OUT("the recipe no longer contains '$from'") unless $n;
        $text =~ s/\Q$from\E/$to/g;
    }
    return $text;
}

my $mc = SCTest::Memcached->start;
my $apache = substitute(recipe_block('django', 'apache'),
                        '<VirtualHost *:80>' => '<VirtualHost 127.0.0.1:@PORT@>',
                        '/srv/blog/mysite' => '@DIR@/django/scsite',
                        '/srv/blog' => '@DIR@/django');
my $settings = substitute(recipe_block('django-settings', 'python'),
                          '127.0.0.1:11211' => $mc->addr);
my $ap = SCTest::Apache->start(memcached => [$mc], django => 1,
                               django_mounts => 0,
                               django_settings => $settings,
                               conf => $apache);
# The static files of the recipe's Alias.
my $static = $ap->dir . '/django/static';
mkdir $static or die "$static: $!";
open my $fh, '>', "$static/site.css" or die $!;
print $fh "body { color: black }\n";
close $fh;
chmod 0755, $static;
chmod 0644, "$static/site.css";

sub cookie_of {
    my ($res, $name) = @_;
    my $sc = $res->{headers}{'set-cookie'} // '';
    for my $c (ref $sc ? @$sc : ($sc)) {
        return $1 if $c =~ /^\Q$name\E=([^;]*)/;
    }
    return undef;
}

sub name_in { $_[0] =~ /Hello, (\w+)/ ? $1 : '' }

sub form_post {
    my ($path, $cookie, %fields) = @_;
    my $body = join '&', map { "$_=$fields{$_}" } sort keys %fields;
    return $ap->raw(POST => $path, _body => $body, Cookie => $cookie,
                    'Content-Type' => 'application/x-www-form-urlencoded');
}

# Anonymous visitors share one entry, analytics cookies or not.
my $first = $ap->get('/');
is($first->{status}, 200, 'the home page answers');
is(name_in($first->{body}), 'anonymous', 'greeting an anonymous visitor');
my $hit = $ap->get('/', Cookie => '_ga=GA1.2.1111.2222; _gid=GA1.2.33');
cache_is($hit, 'HIT', 'another anonymous visitor with analytics cookies: HIT');
is($hit->{body}, $first->{body}, 'the same page');
cache_is($ap->get('/?utm_source=news', Cookie => '_ga=GA1.2.4444.5555'),
         'HIT', 'with a tracking parameter too');

# Logging in through Django's LoginView (CSRF token, POST, 302 to /).
my %cookie;
for my $user (qw(alice bob)) {
    my $form = $ap->get('/accounts/login/', Cookie => "_ga=GA1.$user");
    is($form->{status}, 200, "$user: the login page answers");
    isnt($form->{cache}, 'HIT', "$user: the login page (a CSRF token) is"
                                . " not from the cache");
    my $csrf = cookie_of($form, 'csrftoken');
    my ($token) = $form->{body}
        =~ /name="csrfmiddlewaretoken" value="([^"]+)"/;
    ok($csrf && $token, "$user: a CSRF cookie and token");
    my $renders = $ap->renders('/');
    my $login = form_post('/accounts/login/',
                          "_ga=GA1.$user; csrftoken=$csrf",
                          username => $user, password => 'pw',
                          csrfmiddlewaretoken => $token);
    is($login->{status}, 302, "$user logs in: 302");
    like($login->{headers}{location} // '', qr{^(?:http://[^/]+)?/$},
         "$user: redirected to /");
    $cookie{$user} = "_ga=GA1.$user; csrftoken=$csrf; sessionid="
                     . (cookie_of($login, 'sessionid') // '');
    ok(cookie_of($login, 'sessionid'), "$user has a session");
    my $anon = $ap->get('/');
    cache_is($anon, 'HIT', "after the login of $user, / is still a HIT");
    is($ap->renders('/'), $renders, 'the login did not render / again');
}

# Logged-in users: never from the cache, never stored.
for my $round (1 .. 2) {
    for my $user (qw(alice bob)) {
        for my $path ('/', '/posts', '/posts/1') {
            my $r = $ap->get($path, Cookie => $cookie{$user});
            cache_is($r, 'BYPASS', "$user $path ($round): BYPASS");
            is(name_in($r->{body}), $user, "$user sees $user on /")
                if $path eq '/';
        }
    }
}
my $anon = $ap->get('/');
cache_is($anon, 'HIT', 'anonymous still gets the cached page');
is(name_in($anon->{body}), 'anonymous', 'greeting anonymous');
cache_is($ap->get('/', Cookie => 'messages=abc'), 'BYPASS',
         'a visitor with a flash message is sent the page that shows it');

# A draft: a cached 404, until it is published.
my $draft = $ap->get('/posts/4');
is($draft->{status}, 404, 'the draft post 4 is a 404');
$draft = $ap->get('/posts/4');
cache_is($draft, 'HIT', 'and that 404 is cached');
unlike($ap->get('/')->{body}, qr/Draft 4/, 'the home page does not list it');
my $pub = form_post('/posts/4/edit', $cookie{alice}, published => 1,
                    title => 'Published+4');
is($pub->{status}, 302, 'alice publishes post 4');
my $shown = $ap->get('/posts/4');
is($shown->{status}, 200, 'post 4 shows at once');
like($shown->{body}, qr/Published 4/, 'with its title');
cache_is($shown, 'MISS', 'rendered anew');
like($ap->get('/')->{body}, qr/Published 4/, 'the home page lists it');

# Editing one post: its page and the lists, not the other posts.
my @pages = ('/', '/posts', '/posts/1', '/posts/2', '/posts/3');
$ap->get($_) for @pages;
is(scalar(grep { $ap->get($_)->{cache} eq 'HIT' } @pages), 5,
   'the lists and three posts are cached');
my $edit = form_post('/posts/1/edit', $cookie{bob}, title => 'Edited+1');
is($edit->{status}, 302, 'bob edits post 1');
is_deeply([map { $ap->get($_)->{cache} } @pages],
          [qw(MISS MISS MISS HIT HIT)],
          'the lists and post 1 are refreshed, posts 2 and 3 still HITs');
like($ap->get('/posts/1')->{body}, qr/Edited 1/, 'post 1 shows the edit');

# The CSRF token page of a public form is never shared.
my %seen;
for my $visitor (1 .. 3) {
    my $r = $ap->get('/contact', Cookie => "_ga=v$visitor");
    isnt($r->{cache}, 'HIT', "visitor $visitor: /contact not from the cache");
    my ($t) = $r->{body} =~ /name="csrfmiddlewaretoken" value="([^"]+)"/;
    $seen{$t // ''}++;
}
is(scalar(keys %seen), 3, 'each visitor got a token of its own');

# Static files and the admin are left alone.
my $css = $ap->get('/static/site.css');
is($css->{status}, 200, 'a static file is served');
is($css->{cache}, '', 'SharedCache Off there: no cache decision');
$ap->get('/admin/');
is($ap->get('/admin/')->{cache}, '', '/admin: no cache decision either');

$ap->stop;
done_testing;
