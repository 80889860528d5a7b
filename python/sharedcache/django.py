"""Django helpers for mod_sharedcache: tag pages, invalidate them.

Settings (all optional)::

    SHAREDCACHE_SERVERS = "127.0.0.1:11211"    # as SharedCacheServers
    SHAREDCACHE_PREFIX = "sc"                  # as SharedCachePrefix
    SHAREDCACHE_TIMEOUT = 100                  # ms, as SharedCacheTimeout
    SHAREDCACHE_TAG_HEADER = "Surrogate-Key"
    SHAREDCACHE_INVALIDATE_HEADER = "X-SharedCache-Invalidate"

Tag the pages a view renders (tags may be computed from the view's
arguments)::

    from sharedcache.django import cache_tags

    @cache_tags("posts", lambda request, pk: f"post-{pk}")
    def post_detail(request, pk):
        ...                   # response gets "Surrogate-Key: posts post-5"

    # class-based views
    from django.utils.decorators import method_decorator

    @method_decorator(cache_tags("posts"), name="dispatch")
    class PostList(ListView):
        ...

Invalidate whenever a model changes, once the transaction has committed::

    # apps.py
    from sharedcache.django import invalidate_on_change

    class BlogConfig(AppConfig):
        def ready(self):
            from .models import Post, Comment
            invalidate_on_change(Post, "post-{pk}")
            invalidate_on_change(Comment, lambda c: [f"post-{c.post_id}",
                                                     "comments"])

Or let Apache do it: any response may carry the tags to invalidate, and
the module increments their counters when it sees it::

    from sharedcache.django import invalidate_in_response

    def edit_post(request, pk):
        ...
        return invalidate_in_response(redirect(post), f"post-{pk}")

Direct calls: ``invalidate("post-5")``, ``purge(url)``, ``flush(name)``.

Where the response is out of reach (templates, mixins), collect tags on
the request with ``tag_request(request, ...)`` or
``invalidate_after_request(request, ...)`` and add
``"sharedcache.django.SharedCacheMiddleware"`` to ``MIDDLEWARE``.
"""

import asyncio
import collections
import copy
import functools
import logging

from django.conf import settings
from django.db import transaction
from django.db.models.signals import post_delete, post_save

import sharedcache
from sharedcache import SharedCacheError, esi, flatten_tags, merge_tags

__all__ = [
    "cache_tags", "cache_for", "add_tags", "invalidate_in_response", "invalidate_on_change",
    "invalidate", "purge", "flush", "get_client", "tag_request",
    "invalidate_after_request", "SharedCacheMiddleware", "Receivers",
]

logger = logging.getLogger("sharedcache")

DEFAULT_TAG_HEADER = "Surrogate-Key"
DEFAULT_INVALIDATE_HEADER = "X-SharedCache-Invalidate"


def tag_header():
    """The response header listing a page's tags."""
    return getattr(settings, "SHAREDCACHE_TAG_HEADER", DEFAULT_TAG_HEADER)


def invalidate_header():
    """The response header asking the module to invalidate tags."""
    return getattr(settings, "SHAREDCACHE_INVALIDATE_HEADER",
                   DEFAULT_INVALIDATE_HEADER)


def get_client():
    """The client for these settings (sharedcache.default_client)."""
    return sharedcache.default_client()


def invalidate(*tags):
    """Invalidate every page tagged with any of tags now (returns how
    many counters existed).  Inside a transaction, prefer
    invalidate_on_change or transaction.on_commit: a page rendered before
    the commit would otherwise be cached again with the old data."""
    return get_client().invalidate(*tags)


def purge(url):
    """Invalidate every cached variant of an absolute URL."""
    return get_client().purge(url)


def flush(namespace=sharedcache.DEFAULT_NAMESPACE):
    """Invalidate a whole SharedCacheNamespace."""
    return get_client().flush(namespace)


# ---- responses ----------------------------------------------------------

def _merge(response, header, tags):
    tags = flatten_tags(tags)
    if tags:
        response[header] = merge_tags(response.get(header), tags)
    return response


def add_tags(response, *tags):
    """Add tags to the response's Surrogate-Key header (merged with the
    tags already there, without duplicates).  Returns the response::

        response = add_tags(HttpResponse("hi"), "post-5", ["comments-5"])
        response["Surrogate-Key"]        # 'post-5 comments-5'
    """
    return _merge(response, tag_header(), tags)


def invalidate_in_response(response, *tags):
    """Ask mod_sharedcache to invalidate tags when it sees this response
    (X-SharedCache-Invalidate: post-5): every cached page tagged post-5
    is then invalid on every host.  Returns the response::

        def publish(request, pk):
            Post.objects.filter(pk=pk).update(published=True)
            return invalidate_in_response(redirect("post", pk), f"post-{pk}")
    """
    return _merge(response, invalidate_header(), tags)


def _resolve(tags, request, args, kwargs):
    out = []
    for tag in tags:
        if callable(tag):
            tag = tag(request, *args, **kwargs)
            if tag is None:
                continue
        out.append(tag)
    return out


def cache_tags(*tags):
    """View decorator: add tags to the response's Surrogate-Key header.

    Each tag is a string, an iterable of strings, or a callable taking the
    view's arguments (request, *args, **kwargs) and returning a tag, an
    iterable of tags, or None::

        @cache_tags("posts", lambda request, pk: f"post-{pk}")
        def post_detail(request, pk): ...

    Works on sync and async views, and on class-based views through
    method_decorator.  Fixed tags are checked when the view is decorated,
    computed ones on each request (ValueError when invalid).

    The tags apply to whatever response the request gets: when the view
    raises (Http404 from get_object_or_404, PermissionDenied, an error),
    Django builds that response later, and SharedCacheMiddleware tags it
    (the tags are remembered with tag_request).  Without the middleware,
    such responses carry no tags: a cached 404 then outlives the
    publication of its object until its TTL.
    """
    flatten_tags(t for t in tags if not callable(t))   # fail early

    def decorator(view):
        if asyncio.iscoroutinefunction(view):
            @functools.wraps(view)
            async def async_wrapper(request, *args, **kwargs):
                resolved = _resolve(tags, request, args, kwargs)
                try:
                    response = await view(request, *args, **kwargs)
                except BaseException:
                    tag_request(request, *resolved)
                    raise
                return add_tags(response, *resolved)
            return async_wrapper

        @functools.wraps(view)
        def wrapper(request, *args, **kwargs):
            resolved = _resolve(tags, request, args, kwargs)
            try:
                response = view(request, *args, **kwargs)
            except BaseException:
                tag_request(request, *resolved)
                raise
            return add_tags(response, *resolved)
        return wrapper
    return decorator


# ---- ESI --------------------------------------------------------------

def esi_include(request, src, alt=None, onerror_continue=False):
    """The <esi:include/> of src (a local path) for this request's page,
    which SharedCacheMiddleware then marks Surrogate-Control:
    content="ESI/1.0".  Outside mod_sharedcache (no Surrogate-Capability
    with ESI/1.0: the development server, a test client) the fragment view
    is called in place and its content returned instead.  The template
    tag {% esi_include %} (templatetags/sharedcache.py) calls this."""
    if not esi.surrogate_can_esi(request.META.get("HTTP_SURROGATE_CAPABILITY")):
        return _render_in_place(request, src)
    tag = esi.include_tag(src, alt=alt, onerror_continue=onerror_continue)
    request._sharedcache_esi = True
    return tag


_PAGE_ONLY = ("HTTP_IF_MATCH", "HTTP_IF_NONE_MATCH", "HTTP_IF_MODIFIED_SINCE",
              "HTTP_IF_UNMODIFIED_SINCE", "HTTP_IF_RANGE", "HTTP_RANGE")


def _render_in_place(request, src):
    """The fragment's content, its view called for this request: it is
    part of the page, so what it used of the request (the CSRF token, in
    request.META) is the page's request's too, and its response is kept
    for SharedCacheMiddleware to mark the page with (_mark_in_place)."""
    from urllib.parse import urlsplit

    from django.http import QueryDict
    from django.urls import get_script_prefix, resolve

    esi.include_tag(src)  # the same checks
    parts = urlsplit(src)
    # src is a URL of the site: under a script prefix (WSGIScriptAlias
    # /dj), the view's path is what follows it
    path_info = parts.path
    prefix = get_script_prefix()
    if prefix != "/" and path_info.startswith(prefix):
        path_info = "/" + path_info[len(prefix):]
    match = resolve(path_info)
    sub = copy.copy(request)
    sub.path = parts.path
    sub.path_info = path_info
    sub.method = "GET"
    sub.GET = QueryDict(parts.query)
    own = {"PATH_INFO": path_info, "QUERY_STRING": parts.query,
           "REQUEST_METHOD": "GET"}
    # the page's conditions and range are not the fragment's: it is
    # asked for whole (a 304 would leave it empty in the page)
    sub.META = {key: value for key, value in request.META.items()
                if key not in _PAGE_ONLY}
    sub.META.update(own)
    # one list for the page and every fragment in it, nested ones too
    if not hasattr(request, "_sharedcache_in_place"):
        request._sharedcache_in_place = []
    sub._sharedcache_in_place = request._sharedcache_in_place
    try:
        response = match.func(sub, *match.args, **match.kwargs)
        if hasattr(response, "render") and not getattr(
                response, "is_rendered", True):
            response.render()
    except BaseException:
        # what the page answers now is no page for everyone
        from django.http import HttpResponseServerError
        request._sharedcache_in_place.append(HttpResponseServerError())
        raise
    finally:
        for key, value in sub.META.items():
            if key not in own and request.META.get(key) is not value:
                request.META[key] = value
        # tags the fragment gave its request (tag_request, cache_tags of
        # a view that raised, invalidate_after_request) are the page's
        for name in ("_sharedcache_tags", "_sharedcache_invalidate"):
            if getattr(sub, name, None) is not getattr(request, name, None):
                setattr(request, name, getattr(sub, name))
    request._sharedcache_in_place.append(response)
    if not 200 <= response.status_code < 300:
        return ""
    return response.content.decode(response.charset or "utf-8")


def _mark_in_place(response, fragment):
    """A page holding a fragment rendered in place is at least as
    personal and as short-lived as the fragment (esi.in_place_marks), and
    takes its cookies and its tags (an invalidation of the fragment
    reaches the page)."""
    marks = esi.in_place_marks(
        response.get, fragment.get,
        failed=not 200 <= fragment.status_code < 300)
    for header, value in marks.items():
        if value is None:
            del response[header]
        else:
            response[header] = value
    for name, morsel in fragment.cookies.items():
        if name not in response.cookies:
            response.cookies[name] = morsel
    for header in (tag_header(), invalidate_header()):
        if fragment.get(header):
            _merge(response, header, fragment[header].split())


def esi_fragment(*tags, seconds=None, vary_on_cookie=False):
    """View decorator for a fragment view: its tags (as cache_tags), how
    long the module keeps it (as cache_for) and, with vary_on_cookie, Vary:
    Cookie (one entry per visitor's cookies; SharedCacheVaryByCookie on
    the fragment's <Location> narrows it to the session)::

        @esi_fragment("posts", seconds=60)
        def latest_posts(request): ...
    """
    def decorator(view):
        wrapped = view
        if tags:
            wrapped = cache_tags(*tags)(wrapped)
        if seconds is not None:
            wrapped = cache_for(seconds)(wrapped)
        if vary_on_cookie:
            from django.views.decorators.vary import vary_on_cookie as voc
            wrapped = voc(wrapped)
        return functools.wraps(view)(wrapped)
    return decorator


def cache_for(seconds):
    """View decorator: how long mod_sharedcache keeps the response, as
    Surrogate-Control: max-age=seconds (read by the module, removed
    before the client sees the response; browsers and other caches keep
    following Cache-Control).  Django's habit (cache_page) for the
    shared cache::

        @cache_for(600)
        @cache_tags("posts")
        def post_list(request): ...

    A Surrogate-Control the view sets itself is kept (joined, when it
    only says content="ESI/1.0").
    """
    if (isinstance(seconds, bool) or not isinstance(seconds, int)
            or seconds < 0):
        raise ValueError("cache_for: seconds must be an int >= 0")
    value = f"max-age={seconds}"

    def decorator(view):
        if asyncio.iscoroutinefunction(view):
            @functools.wraps(view)
            async def async_wrapper(request, *args, **kwargs):
                response = await view(request, *args, **kwargs)
                return _surrogate_max_age(response, value)
            return async_wrapper

        @functools.wraps(view)
        def wrapper(request, *args, **kwargs):
            response = view(request, *args, **kwargs)
            return _surrogate_max_age(response, value)
        return wrapper
    return decorator


def _surrogate_max_age(response, value):
    """max-age= into Surrogate-Control, unless the view said something of
    its own there (max-age, no-store): only its content="ESI/1.0" is
    joined."""
    own = response.get("Surrogate-Control")
    if own and any(not d.strip().lower().startswith("content=")
                   for d in own.split(",") if d.strip()):
        return response
    response["Surrogate-Control"] = esi.surrogate_merge(own, value)
    return response


# ---- request-scoped tags and the middleware ----------------------------

def tag_request(request, *tags):
    """Remember tags for this request's response (SharedCacheMiddleware
    adds them to Surrogate-Key)."""
    tags = flatten_tags(tags)
    request._sharedcache_tags = getattr(request, "_sharedcache_tags", []) + tags


def invalidate_after_request(request, *tags):
    """Remember tags for this request's X-SharedCache-Invalidate
    (SharedCacheMiddleware adds them)."""
    tags = flatten_tags(tags)
    request._sharedcache_invalidate = (
        getattr(request, "_sharedcache_invalidate", []) + tags)


class SharedCacheMiddleware:
    """Adds the tags collected with tag_request() and
    invalidate_after_request() (and by cache_tags for a view that raised)
    to the response.  Put it first in MIDDLEWARE, so that it sees every
    response, also those other middleware return or build from an
    exception::

        MIDDLEWARE = ["sharedcache.django.SharedCacheMiddleware", ...]
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        tags = getattr(request, "_sharedcache_tags", None)
        if tags:
            add_tags(response, tags)
        tags = getattr(request, "_sharedcache_invalidate", None)
        if tags:
            invalidate_in_response(response, tags)
        if getattr(request, "_sharedcache_esi", False):
            esi.mark_esi(response)
        for fragment in getattr(request, "_sharedcache_in_place", ()):
            _mark_in_place(response, fragment)
        # a streamed page sends its headers before the fragments in it
        # are rendered: where they render in place, none could mark it
        if getattr(response, "streaming", False) and not esi.surrogate_can_esi(
                request.META.get("HTTP_SURROGATE_CAPABILITY")):
            response["Surrogate-Control"] = esi.surrogate_merge(
                response.get("Surrogate-Control"), "no-store")
        return response


# ---- models -------------------------------------------------------------

class _InstanceFields(dict):
    """format_map() mapping: {pk}, {field}, {instance.attr}."""

    def __init__(self, instance):
        super().__init__(instance=instance, pk=instance.pk)
        self.instance = instance

    def __missing__(self, key):
        return getattr(self.instance, key)


def _tag_function(tags):
    if callable(tags):
        return tags
    if isinstance(tags, (str, bytes)):
        tags = [tags]
    tags = list(tags)

    def compute(instance):
        out = []
        for tag in tags:
            if callable(tag):
                tag = tag(instance)
                if tag is not None:
                    out.append(tag)
            else:
                if isinstance(tag, bytes):
                    tag = tag.decode("ascii")
                out.append(tag.format_map(_InstanceFields(instance)))
        return out
    return compute


class Receivers(collections.namedtuple("Receivers",
                                       "model post_save post_delete")):
    """The signal receivers invalidate_on_change connected."""

    def disconnect(self):
        """Disconnect both receivers."""
        post_save.disconnect(self.post_save, sender=self.model)
        post_delete.disconnect(self.post_delete, sender=self.model)


def invalidate_on_change(model, tags, client=None, raise_errors=False):
    """Invalidate tags whenever an instance of model is saved or deleted.

    tags: a format string ("post-{pk}"; any field or attribute of the
    instance may be named, or "{instance.attr}"), a callable taking the
    instance and returning a tag or an iterable of tags, or a list of
    such format strings and callables.  The tags are computed when the
    signal fires (a deleted instance still has its pk then) and
    invalidated once the transaction commits (transaction.on_commit, on
    the database that saved it; at once outside a transaction): a request
    arriving between an earlier invalidation and the commit would render
    the old data and cache it again.  Nothing is invalidated when the
    transaction rolls back.

    When memcached fails, the error is logged (logger "sharedcache") and
    swallowed: the data is already committed and the request should not
    fail for it.  raise_errors=True raises SharedCacheError instead.
    client: a sharedcache.Client (default: the one from settings).

    Django sends no such signal for QuerySet.update(), bulk_create(),
    bulk_update() or many-to-many changes (m2m_changed): invalidate
    those yourself, e.g. transaction.on_commit(lambda: invalidate("posts")).

    Returns a Receivers tuple; receivers.disconnect() undoes this::

        receivers = invalidate_on_change(Post, ["post-{pk}", "posts"])
        ...
        receivers.disconnect()
    """
    compute = _tag_function(tags)

    def on_change(sender, instance, using=None, **kwargs):
        changed = flatten_tags([compute(instance)])
        if not changed:
            return

        def run():
            try:
                if client is not None:
                    client.invalidate(*changed)
                else:
                    invalidate(*changed)
            except SharedCacheError:
                logger.exception("sharedcache: could not invalidate %s",
                                 " ".join(changed))
                if raise_errors:
                    raise

        transaction.on_commit(run, using=using)

    def on_save(sender, instance, using=None, **kwargs):
        on_change(sender, instance, using=using, **kwargs)

    def on_delete(sender, instance, using=None, **kwargs):
        on_change(sender, instance, using=using, **kwargs)

    post_save.connect(on_save, sender=model, weak=False)
    post_delete.connect(on_delete, sender=model, weak=False)
    return Receivers(model, on_save, on_delete)
