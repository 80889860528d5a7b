"""The home page, a list and detail pages tagged with the posts they show
(drafts are a 404 until published), and a view that edits a post."""
import uuid

from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from sharedcache.django import cache_tags, esi_fragment

from scsite.views import name_of, record

from .models import Post


def _titles():
    return "".join("<li>%s</li>" % p.title
                   for p in Post.objects.filter(published=True))


@cache_tags("posts")
def home(request):
    """Lists the posts and greets the visitor (reads the session: Django
    answers Vary: Cookie)."""
    record(request)
    return HttpResponse("<p>Hello, %s</p><ul>%s</ul><p>render %s</p>\n"
                        % (name_of(request), _titles(), uuid.uuid4().hex))


@cache_tags("posts")
def post_list(request):
    record(request)
    return HttpResponse("<ul>%s</ul><p>render %s</p>\n"
                        % (_titles(), uuid.uuid4().hex))


@cache_tags(lambda request, pk: "post-%d" % pk)
def post_detail(request, pk):
    record(request)
    post = get_object_or_404(Post, pk=pk, published=True)
    return HttpResponse("<h1>%s</h1><p>render %s</p>\n"
                        % (post.title, uuid.uuid4().hex))


@csrf_exempt
def post_edit(request, pk):
    """POST title=... (and published=1): saves, and the signal helper
    invalidates; redirects to the post (post/redirect/get)."""
    post = get_object_or_404(Post, pk=pk)
    post.title = request.POST.get("title", post.title)
    if "published" in request.POST:
        post.published = request.POST["published"] == "1"
    post.save()
    return HttpResponseRedirect(reverse("post", args=[pk]))


# ---- ESI: one shell for everybody, a greeting per user, the latest posts

def esi_home(request):
    """The shell: reads no session (no Vary: Cookie); its parts are
    includes (the sharedcache template tag)."""
    record(request)
    return render(request, "esi_home.html", {"token": uuid.uuid4().hex})


@esi_fragment(seconds=300, vary_on_cookie=True)
def fragment_hello(request):
    record(request)
    return HttpResponse("Hello, %s (render %s)" % (name_of(request),
                                                   uuid.uuid4().hex))


@esi_fragment("posts", seconds=600)
def fragment_latest(request):
    record(request)
    return HttpResponse("<ul>%s</ul>" % _titles())
