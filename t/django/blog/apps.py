from django.apps import AppConfig


class BlogConfig(AppConfig):
    name = "blog"

    def ready(self):
        # Saving or deleting a post, from a view or any ORM script,
        # invalidates the pages tagged with it, on every Apache host.
        from sharedcache.django import invalidate_on_change

        from .models import Post
        invalidate_on_change(Post, lambda post: ["post-%d" % post.pk,
                                                 "posts"])
