"""Flask helpers for mod_sharedcache: tag pages, invalidate them.

Configuration (app.config, all optional; without SHAREDCACHE_SERVERS the
environment variables of sharedcache apply)::

    SHAREDCACHE_SERVERS = "127.0.0.1:11211"    # as SharedCacheServers
    SHAREDCACHE_PREFIX = "sc"                  # as SharedCachePrefix
    SHAREDCACHE_TIMEOUT = 100                  # ms, as SharedCacheTimeout
    SHAREDCACHE_TAG_HEADER = "Surrogate-Key"
    SHAREDCACHE_INVALIDATE_HEADER = "X-SharedCache-Invalidate"

Tag pages (computed tags get the view's keyword arguments)::

    from sharedcache.flask import cache_tags, invalidate_in_response

    @app.route("/post/<int:post_id>")
    @cache_tags("posts", lambda post_id: f"post-{post_id}")
    def post(post_id):
        return render_template("post.html", post=load(post_id))
        # response: "Surrogate-Key: posts post-5"

Invalidate them, either through the response (the module increments the
counters when it sees the header)::

    @app.post("/post/<int:post_id>/edit")
    def edit(post_id):
        save(post_id)
        return invalidate_in_response(redirect(f"/post/{post_id}"),
                                      f"post-{post_id}")

    # or from anywhere during a request:
    invalidate_after_request(f"post-{post_id}")

or directly: ``sharedcache.flask.invalidate("post-5")`` (after the
database transaction has committed).
"""

import functools
import threading

import flask

import sharedcache
from sharedcache import esi, flatten_tags, merge_tags

__all__ = [
    "esi_include",
    "cache_tags", "add_tags", "invalidate_in_response",
    "invalidate_after_request", "invalidate", "purge", "flush", "get_client",
]

DEFAULT_TAG_HEADER = "Surrogate-Key"
DEFAULT_INVALIDATE_HEADER = "X-SharedCache-Invalidate"

_clients = {}
_clients_lock = threading.Lock()


def _config(name, default):
    if flask.has_app_context():
        return flask.current_app.config.get(name, default)
    return default


def get_client():
    """The client for the current app's SHAREDCACHE_* configuration, or
    sharedcache.default_client() when it has no SHAREDCACHE_SERVERS."""
    servers = _config("SHAREDCACHE_SERVERS", None)
    if not servers:
        return sharedcache.default_client()
    key = (tuple(sharedcache.parse_servers(servers)),
           _config("SHAREDCACHE_PREFIX", sharedcache.DEFAULT_PREFIX),
           int(_config("SHAREDCACHE_TIMEOUT", sharedcache.DEFAULT_TIMEOUT_MS)))
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            client = _clients[key] = sharedcache.Client(
                list(key[0]), prefix=key[1], timeout_ms=key[2])
        return client


def invalidate(*tags):
    """Invalidate every page tagged with any of tags (returns how many
    counters existed)."""
    return get_client().invalidate(*tags)


def purge(url):
    """Invalidate every cached variant of an absolute URL."""
    return get_client().purge(url)


def flush(namespace=sharedcache.DEFAULT_NAMESPACE):
    """Invalidate a whole SharedCacheNamespace."""
    return get_client().flush(namespace)


def _merge(response, header, tags):
    tags = flatten_tags(tags)
    if tags:
        response.headers[header] = merge_tags(response.headers.get(header),
                                              tags)
    return response


def add_tags(response, *tags):
    """Add tags to the response's Surrogate-Key header (merged, without
    duplicates).  Returns the response."""
    return _merge(response,
                  _config("SHAREDCACHE_TAG_HEADER", DEFAULT_TAG_HEADER), tags)


def invalidate_in_response(response, *tags):
    """Ask mod_sharedcache to invalidate tags when it sees this response
    (X-SharedCache-Invalidate: post-5).  Returns the response."""
    return _merge(response,
                  _config("SHAREDCACHE_INVALIDATE_HEADER",
                          DEFAULT_INVALIDATE_HEADER), tags)


def invalidate_after_request(*tags):
    """During a request: add tags to this request's response's
    X-SharedCache-Invalidate header, whatever the view returns."""
    tags = flatten_tags(tags)

    @flask.after_this_request
    def _add(response):
        return invalidate_in_response(response, tags)


def cache_tags(*tags):
    """View decorator: add tags to the response's Surrogate-Key header.

    Each tag is a string, an iterable of strings, or a callable taking the
    view's keyword arguments (the URL variables) and returning a tag, an
    iterable of tags, or None.  Put it below @app.route.  Whatever the view
    returns (a string, a tuple, a Response) is made into a Response.
    """
    flatten_tags(t for t in tags if not callable(t))   # fail early

    def decorator(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            response = flask.make_response(view(*args, **kwargs))
            computed = []
            for tag in tags:
                if callable(tag):
                    tag = tag(**kwargs)
                    if tag is None:
                        continue
                computed.append(tag)
            return add_tags(response, *computed)
        return wrapper
    return decorator


# ---- ESI --------------------------------------------------------------

def esi_include(src, alt=None, onerror_continue=False):
    """During a request: the <esi:include/> of src (a local path), as
    Markup for a template, and this request's response marked
    Surrogate-Control: content="ESI/1.0" so that mod_sharedcache
    (SharedCacheESI On) assembles it.  Make it a template global::

        app.jinja_env.globals["esi_include"] = sharedcache.flask.esi_include

        {{ esi_include("/fragments/user-box/") }}

    Outside mod_sharedcache (no Surrogate-Capability with ESI/1.0) the
    fragment is fetched from the application itself (a test client
    request with the same cookies) and its body returned in place."""
    import markupsafe

    if not esi.surrogate_can_esi(
            flask.request.headers.get("Surrogate-Capability")):
        return markupsafe.Markup(_render_in_place(src))
    tag = esi.include_tag(src, alt=alt, onerror_continue=onerror_continue)
    if not flask.g.get("_sharedcache_esi"):
        flask.g._sharedcache_esi = True

        @flask.after_this_request
        def _mark(response):
            esi.mark_esi(response.headers)
            return response
    return markupsafe.Markup(tag)


def _render_in_place(src):
    esi.include_tag(src)  # the same checks
    # without a cookie jar of its own: the request's Cookie header goes
    # as it is (a jar would replace it)
    client = flask.current_app.test_client(use_cookies=False)
    cookie = flask.request.headers.get("Cookie")
    # src is a URL of the site: under a script root (WSGIScriptAlias /fl)
    # the application's path is what follows it
    root = flask.request.script_root
    path = src[len(root):] if root and src.startswith(root + "/") else src
    response = client.get(path, headers={"Cookie": cookie} if cookie else {},
                          base_url=flask.request.host_url.rstrip("/") + root)

    @flask.after_this_request
    def _mark(page):
        _mark_in_place(page, response)
        return page

    if not 200 <= response.status_code < 300:
        return ""
    return response.get_data(as_text=True)


def _mark_in_place(page, fragment):
    """A page holding a fragment rendered in place is at least as
    personal and as short-lived as the fragment (esi.in_place_marks), and
    takes its cookies and its tags (an invalidation of the fragment
    reaches the page)."""
    marks = esi.in_place_marks(
        page.headers.get, fragment.headers.get,
        failed=not 200 <= fragment.status_code < 300)
    for header, value in marks.items():
        if value is None:
            page.headers.pop(header, None)
        else:
            page.headers[header] = value
    for cookie in fragment.headers.getlist("Set-Cookie"):
        page.headers.add("Set-Cookie", cookie)
    for header, default in (("SHAREDCACHE_TAG_HEADER", DEFAULT_TAG_HEADER),
                            ("SHAREDCACHE_INVALIDATE_HEADER",
                             DEFAULT_INVALIDATE_HEADER)):
        name = _config(header, default)
        if fragment.headers.get(name):
            _merge(page, name, fragment.headers[name].split())
