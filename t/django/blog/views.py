"""A list and detail pages tagged with the posts they show."""
import uuid

from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.views.decorators.csrf import csrf_exempt
from sharedcache.django import cache_tags

from scsite.views import record

from .models import Post


@cache_tags("posts")
def post_list(request):
    record(request)
    titles = "".join("<li>%s</li>" % p.title for p in Post.objects.all())
    return HttpResponse("<ul>%s</ul><p>render %s</p>\n"
                        % (titles, uuid.uuid4().hex))


@cache_tags(lambda request, pk: "post-%d" % pk)
def post_detail(request, pk):
    record(request)
    post = get_object_or_404(Post, pk=pk)
    return HttpResponse("<h1>%s</h1><p>render %s</p>\n"
                        % (post.title, uuid.uuid4().hex))


@csrf_exempt
def post_edit(request, pk):
    """POST title=...: saves, and the signal helper invalidates."""
    post = get_object_or_404(Post, pk=pk)
    post.title = request.POST["title"]
    post.save()
    return HttpResponseRedirect("/dj/posts/%d" % pk)
