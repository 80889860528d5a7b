# A Django model whose pages are tagged (sharedcache.django.cache_tags) and
# whose saves invalidate those tags (invalidate_on_change): a save through
# a POST view, or through the ORM in a separate script, refreshes exactly
# the pages tagged with it; untouched pages stay HITs.
use strict;
use warnings;
use Test::More;
use SCTest;

my $mc = SCTest::Memcached->start;
my $ap = SCTest::Apache->start(memcached => [$mc], django => 1,
                               conf => <<'CONF');
<Location /dj>
    SharedCache On
    SharedCacheTTL 600
    # Only the tags invalidate here (not the POST's own URL).
    SharedCacheInvalidateOnUnsafe Off
</Location>
CONF

my @pages = ('/dj/posts', '/dj/posts/1', '/dj/posts/2', '/dj/posts/3');
sub warm {
    $ap->get($_) for @pages;
    return scalar grep { $ap->get($_)->{cache} eq 'HIT' } @pages;
}
sub states { map { $ap->get($_)->{cache} } @pages }

is(warm(), 4, 'the list and three detail pages are cached');

# Saving post 1 through a POST view.
my $post = $ap->{client}->post_form($ap->url('/dj/posts/1/edit'),
                                 { title => 'Edited through the view' });
is($post->{status}, 302, 'the POST view saved post 1');
my @after = states();
is_deeply(\@after, [qw(MISS MISS HIT HIT)],
          'list and post 1 refreshed; posts 2 and 3 still HITs');
like($ap->get('/dj/posts/1')->{body}, qr/Edited through the view/,
     'post 1 shows the new title');
like($ap->get('/dj/posts')->{body}, qr/Edited through the view/,
     'so does the list');

# Saving post 2 through the ORM in a separate process (the signal helper
# runs there too).
is(warm(), 4, 'all cached again');
is($ap->django_manage('shell', '-c',
       'from blog.models import Post; p = Post.objects.get(pk=2);'
       . ' p.title = "Edited by a script"; p.save()'), 0,
   'a script saved post 2 through the ORM');
is_deeply([states()], [qw(MISS HIT MISS HIT)],
          'list and post 2 refreshed; posts 1 and 3 still HITs');
like($ap->get('/dj/posts/2')->{body}, qr/Edited by a script/,
     'post 2 shows the new title');

# Deleting post 3 invalidates too.
is(warm(), 4, 'all cached again');
is($ap->django_manage('shell', '-c',
       'from blog.models import Post; Post.objects.get(pk=3).delete()'), 0,
   'a script deleted post 3');
my @gone = states();
is($gone[0], 'MISS', 'the list is refreshed');
is($ap->get('/dj/posts/3')->{status}, 404, 'post 3 is gone');
is($gone[1], 'HIT', 'post 1 untouched');

$ap->stop;
done_testing;
