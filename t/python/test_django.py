"""sharedcache.django: decorator, headers, middleware, model signals."""

import asyncio
import os
import sys
import unittest
from unittest import mock

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sc_support  # noqa: E402,F401  (puts python/ on sys.path)

import django  # noqa: E402
from django.conf import settings  # noqa: E402

if not settings.configured:
    settings.configure(
        DEBUG=False,
        SECRET_KEY="sharedcache-tests",
        ALLOWED_HOSTS=["testserver"],
        INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth"],
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3",
                               "NAME": ":memory:"}},
        DEFAULT_AUTO_FIELD="django.db.models.AutoField",
        USE_TZ=True,
    )
    django.setup()

from django.contrib.auth.models import Group, User  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import transaction  # noqa: E402
from django.http import HttpResponse  # noqa: E402
from django.test import RequestFactory, override_settings  # noqa: E402
from django.utils.decorators import method_decorator  # noqa: E402
from django.views import View  # noqa: E402

import sharedcache  # noqa: E402
from sharedcache import SharedCacheError  # noqa: E402
from sharedcache import django as scd  # noqa: E402


urlpatterns = []  # the 404 page's resolver (ErrorResponses)


def setUpModule():
    call_command("migrate", verbosity=0, interactive=False)


class Views(unittest.TestCase):
    def setUp(self):
        self.rf = RequestFactory()

    def test_static_tags(self):
        @scd.cache_tags("posts", "home")
        def view(request):
            return HttpResponse("x")

        self.assertEqual(view(self.rf.get("/"))["Surrogate-Key"], "posts home")

    def test_merges_with_the_view_header_without_duplicates(self):
        @scd.cache_tags("posts", ["home", "extra"])
        def view(request):
            response = HttpResponse("x")
            response["Surrogate-Key"] = "home  mine"
            return response

        self.assertEqual(view(self.rf.get("/"))["Surrogate-Key"],
                         "home mine posts extra")

    def test_callable_tags_get_the_view_arguments(self):
        seen = []

        def many(request, pk, **kw):
            seen.append((request.path, pk))
            return ["post-%s" % pk, "author-%s" % request.GET["a"]]

        @scd.cache_tags(lambda r, pk: f"post-{pk}", many, lambda r, pk: None,
                        "posts")
        def view(request, pk):
            return HttpResponse("post %s" % pk)

        response = view(self.rf.get("/post/5?a=9"), pk=5)
        self.assertEqual(response["Surrogate-Key"], "post-5 author-9 posts")
        self.assertEqual(seen, [("/post/5", 5)])

        @scd.cache_tags(lambda r, year, slug: f"{year}-{slug}")
        def positional(request, year, slug):
            return HttpResponse("")

        self.assertEqual(positional(self.rf.get("/"), 2024, "x")
                         ["Surrogate-Key"], "2024-x")

    def test_invalid_tags(self):
        with self.assertRaises(ValueError):
            scd.cache_tags("two words")

        @scd.cache_tags(lambda r, slug: slug)
        def view(request, slug):
            return HttpResponse("")

        self.assertEqual(view(self.rf.get("/"), slug="ok")["Surrogate-Key"],
                         "ok")
        with self.assertRaises(ValueError):
            view(self.rf.get("/"), slug="caf\u00e9")

    def test_no_tags_no_header(self):
        @scd.cache_tags(lambda r: None)
        def view(request):
            return HttpResponse("")

        self.assertFalse(view(self.rf.get("/")).has_header("Surrogate-Key"))

    def test_keeps_the_view_name(self):
        @scd.cache_tags("a")
        def my_view(request):
            """doc"""
            return HttpResponse("")

        self.assertEqual(my_view.__name__, "my_view")
        self.assertEqual(my_view.__doc__, "doc")

    def test_class_based_view(self):
        @method_decorator(scd.cache_tags("posts", lambda r, pk: f"post-{pk}"),
                          name="dispatch")
        class PostView(View):
            def get(self, request, pk):
                return HttpResponse("post")

        response = PostView.as_view()(self.rf.get("/post/3"), pk=3)
        self.assertEqual(response["Surrogate-Key"], "posts post-3")

    def test_async_view(self):
        @scd.cache_tags("async", lambda r, pk: f"post-{pk}")
        async def view(request, pk):
            return HttpResponse("a")

        self.assertTrue(asyncio.iscoroutinefunction(view))
        response = asyncio.run(view(self.rf.get("/"), pk=7))
        self.assertEqual(response["Surrogate-Key"], "async post-7")

    @override_settings(SHAREDCACHE_TAG_HEADER="Cache-Tag",
                       SHAREDCACHE_INVALIDATE_HEADER="X-Purge-Tags")
    def test_header_names_from_settings(self):
        @scd.cache_tags("a")
        def view(request):
            return scd.invalidate_in_response(HttpResponse(""), "b")

        response = view(self.rf.get("/"))
        self.assertEqual(response["Cache-Tag"], "a")
        self.assertEqual(response["X-Purge-Tags"], "b")
        self.assertFalse(response.has_header("Surrogate-Key"))

    def test_add_tags_and_invalidate_in_response(self):
        response = HttpResponse("")
        self.assertIs(scd.add_tags(response, "a", ["b", "a"]), response)
        self.assertEqual(response["Surrogate-Key"], "a b")
        self.assertIs(scd.invalidate_in_response(response, "post-5"),
                      response)
        scd.invalidate_in_response(response, ["post-5", "comments-5"])
        self.assertEqual(response["X-SharedCache-Invalidate"],
                         "post-5 comments-5")
        with self.assertRaises(ValueError):
            scd.invalidate_in_response(response, "bad tag")
        self.assertEqual(response["X-SharedCache-Invalidate"],
                         "post-5 comments-5")

    def test_middleware(self):
        def inner(request):
            scd.tag_request(request, "post-1")
            scd.tag_request(request, ["post-1", "posts"])
            scd.invalidate_after_request(request, "home")
            response = HttpResponse("")
            response["Surrogate-Key"] = "own"
            return response

        response = scd.SharedCacheMiddleware(inner)(self.rf.get("/"))
        self.assertEqual(response["Surrogate-Key"], "own post-1 posts")
        self.assertEqual(response["X-SharedCache-Invalidate"], "home")

        plain = scd.SharedCacheMiddleware(lambda r: HttpResponse(""))(
            self.rf.get("/"))
        self.assertFalse(plain.has_header("Surrogate-Key"))
        self.assertFalse(plain.has_header("X-SharedCache-Invalidate"))


class ErrorResponses(unittest.TestCase):
    """Tags reach the response Django builds from an exception (Http404
    from get_object_or_404, PermissionDenied): a cached 404 is then
    invalidated with the rest when the object is published."""

    def setUp(self):
        self.rf = RequestFactory()

    @override_settings(ROOT_URLCONF=__name__)
    def test_http404_is_tagged_through_the_middleware(self):
        from django.core.handlers.exception import (
            convert_exception_to_response)
        from django.http import Http404

        @scd.cache_tags("posts", lambda r, pk: f"post-{pk}")
        def detail(request, pk):
            raise Http404("draft")

        def urlconf_view(request):
            return detail(request, pk=7)

        # as Django runs it: the view's exception becomes the 404 page
        # inside the handler, the middleware sees that response
        handler = convert_exception_to_response(urlconf_view)
        response = scd.SharedCacheMiddleware(handler)(self.rf.get("/p/7"))
        self.assertEqual(response.status_code, 404)
        self.assertEqual(response["Surrogate-Key"], "posts post-7")

    def test_an_error_still_raises(self):
        @scd.cache_tags("x")
        def view(request):
            raise ValueError("boom")

        with self.assertRaises(ValueError):
            view(self.rf.get("/"))

    def test_async_http404(self):
        from django.http import Http404

        @scd.cache_tags("a")
        async def view(request):
            raise Http404()

        request = self.rf.get("/")
        with self.assertRaises(Http404):
            asyncio.run(view(request))
        self.assertEqual(request._sharedcache_tags, ["a"])


class CacheFor(unittest.TestCase):
    def setUp(self):
        self.rf = RequestFactory()

    def test_sets_surrogate_control(self):
        @scd.cache_for(600)
        def view(request):
            return HttpResponse("x")

        self.assertEqual(view(self.rf.get("/"))["Surrogate-Control"],
                         "max-age=600")

    def test_keeps_the_views_own(self):
        @scd.cache_for(600)
        def view(request):
            response = HttpResponse("x")
            response["Surrogate-Control"] = "no-store"
            return response

        self.assertEqual(view(self.rf.get("/"))["Surrogate-Control"],
                         "no-store")

    def test_async_and_bad_values(self):
        @scd.cache_for(5)
        async def view(request):
            return HttpResponse("x")

        self.assertEqual(asyncio.run(view(self.rf.get("/")))
                         ["Surrogate-Control"], "max-age=5")
        for bad in (-1, "60", 1.5, True):
            with self.assertRaises((TypeError, ValueError)):
                scd.cache_for(bad)


class Esi(unittest.TestCase):
    """esi_include (and its template tag), the middleware's marking,
    esi_fragment."""

    def setUp(self):
        self.rf = RequestFactory()

    def esi_request(self, path="/"):
        return self.rf.get(path, HTTP_SURROGATE_CAPABILITY='h="ESI/1.0"')

    def test_tag_and_marking(self):
        request = self.esi_request()
        tag = scd.esi_include(request, "/frag/?a=1&b=<x>", alt="/alt/",
                              onerror_continue=True)
        self.assertEqual(tag, '<esi:include src="/frag/?a=1&amp;b=&lt;x&gt;" '
                              'alt="/alt/" onerror="continue"/>')
        middleware = scd.SharedCacheMiddleware(lambda r: HttpResponse("x"))
        response = middleware(request)
        self.assertEqual(response["Surrogate-Control"], 'content="ESI/1.0"')
        # a page without includes is not marked
        self.assertFalse(middleware(self.esi_request())
                         .has_header("Surrogate-Control"))

    def test_joined_with_cache_for(self):
        request = self.esi_request()

        @scd.cache_for(600)
        def view(req):
            scd.esi_include(req, "/frag/")
            return HttpResponse("x")

        response = scd.SharedCacheMiddleware(view)(request)
        self.assertEqual(response["Surrogate-Control"],
                         'max-age=600, content="ESI/1.0"')

    def test_only_local_paths(self):
        for bad in ("http://evil/x", "//evil/x", "frag", None):
            with self.assertRaises(ValueError):
                scd.esi_include(self.esi_request(), bad)

    def test_in_place_without_the_module(self):
        from django.urls import path

        def fragment(request):
            return HttpResponse("hello " + request.GET.get("who", "?"))

        urls = type("urls", (), {"urlpatterns": [path("frag/", fragment)]})
        with override_settings(ROOT_URLCONF=urls):
            out = scd.esi_include(self.rf.get("/"), "/frag/?who=you")
        self.assertEqual(out, "hello you")

    def test_in_place_fragment_marks_its_page(self):
        # A fragment rendered in place (its location has ESI off) is part
        # of the page: what it used of the request (the CSRF token, the
        # session) and what its response says (Vary, Cache-Control,
        # Set-Cookie, its tags, a shorter freshness) is the page's too.
        # Before, a CSRF form fragment's token was stored in a shared page
        # (outside attack round 103).
        from django.middleware.csrf import get_token
        from django.urls import path

        def fragment(request):
            response = HttpResponse("token " + get_token(request))
            response["Vary"] = "Cookie"
            response["Cache-Control"] = "private"
            response["Surrogate-Key"] = "forms"
            response["Surrogate-Control"] = "max-age=30"
            response.set_cookie("frag", "1")
            return response

        def page(request):
            out = scd.esi_include(request, "/frag/")
            response = HttpResponse("page " + out)
            response["Surrogate-Control"] = "max-age=600"
            return response

        urls = type("urls", (), {"urlpatterns": [path("frag/", fragment)]})
        request = self.rf.get("/")
        with override_settings(ROOT_URLCONF=urls):
            response = scd.SharedCacheMiddleware(page)(request)
        self.assertTrue(request.META.get("CSRF_COOKIE_USED"))
        self.assertIn("Cookie", response["Vary"])
        self.assertIn("private", response["Cache-Control"])
        self.assertIn("forms", response["Surrogate-Key"].split())
        self.assertEqual(response["Surrogate-Control"], "max-age=30")
        self.assertEqual(response.cookies["frag"].value, "1")

    def test_in_place_nested_and_every_refusal(self):
        # an include inside an in-place fragment marks the page too, with
        # its tags; a fragment's Surrogate-Control or CDN-Cache-Control
        # no-store or private keeps the page out as well (outside attack
        # round 104)
        from django.urls import path
        from django.views.decorators.cache import cache_control

        @cache_control(private=True)
        def inner(request):
            scd.tag_request(request, "inner-tag")
            return HttpResponse("inner")

        def outer(request):
            return HttpResponse("outer " + scd.esi_include(request, "/in/"))

        def cdn(request):
            response = HttpResponse("cdn")
            response["CDN-Cache-Control"] = "private"
            response["Surrogate-Control"] = "no-store"
            return response

        def page(request):
            return HttpResponse(scd.esi_include(request, "/out/")
                                + scd.esi_include(request, "/cdn/"))

        urls = type("urls", (), {"urlpatterns": [
            path("in/", inner), path("out/", outer), path("cdn/", cdn)]})
        request = self.rf.get("/")
        with override_settings(ROOT_URLCONF=urls):
            response = scd.SharedCacheMiddleware(page)(request)
        self.assertEqual(response.content, b"outer innercdn")
        self.assertIn("private", response["Cache-Control"])
        self.assertIn("inner-tag", response["Surrogate-Key"].split())
        self.assertIn("private", response["CDN-Cache-Control"])
        self.assertIn("no-store", response["Surrogate-Control"])

    def test_in_place_widens_a_narrowed_cookie_vary(self):
        # the page narrows Vary: Cookie to sessionid, its fragment varies
        # on every cookie (or on cart): the page's narrowing widens;
        # a fragment that failed keeps the page out of the cache
        # (outside attack round 105)
        from django.http import Http404
        from django.urls import path

        def everyone(request):
            response = HttpResponse("cart")
            response["Vary"] = "Cookie"
            return response

        def cart(request):
            response = HttpResponse("cart")
            response["Vary"] = "Cookie"
            response["X-SharedCache-Vary"] = "cookie=cart"
            return response

        def fails(request):
            raise Http404("no such language")

        def page_with(src):
            def page(request):
                response = HttpResponse(scd.esi_include(request, src))
                response["Vary"] = "Cookie"
                response["X-SharedCache-Vary"] = "cookie=sessionid"
                return response
            return page

        urls = type("urls", (), {"urlpatterns": [
            path("all/", everyone), path("cart/", cart),
            path("fails/", fails)]})
        with override_settings(ROOT_URLCONF=urls):
            wide = scd.SharedCacheMiddleware(page_with("/all/"))(
                self.rf.get("/"))
            both = scd.SharedCacheMiddleware(page_with("/cart/"))(
                self.rf.get("/"))
            request = self.rf.get("/")
            with self.assertRaises(Http404):
                page_with("/fails/")(request)
            failed = HttpResponse("not found", status=404)
            scd.SharedCacheMiddleware(lambda r: failed)(request)
        self.assertNotIn("X-SharedCache-Vary", wide)
        self.assertEqual(both["X-SharedCache-Vary"],
                         "cookie=sessionid, cookie=cart")
        self.assertIn("no-store", failed["Surrogate-Control"])

    def test_in_place_fragment_is_asked_unconditionally(self):
        # the page's conditional request is not its fragment's: a 304
        # from a fragment left an empty one in a stored page (outside
        # attack round 106); any answer but a 2xx fails the fragment
        from django.urls import path
        from django.views.decorators.http import etag

        @etag(lambda request: '"v1"')
        def fragment(request):
            return HttpResponse("full")

        def page(request):
            return HttpResponse("[" + scd.esi_include(request, "/frag/")
                                + "]")

        urls = type("urls", (), {"urlpatterns": [path("frag/", fragment)]})
        request = self.rf.get("/", HTTP_IF_NONE_MATCH="*",
                              HTTP_RANGE="bytes=0-1")
        with override_settings(ROOT_URLCONF=urls):
            response = scd.SharedCacheMiddleware(page)(request)
        self.assertEqual(response.content, b"[full]")

    def test_streamed_page_is_never_stored_where_fragments_render_in_place(
            self):
        # a streamed page sends its headers before a fragment in it is
        # rendered: where fragments render in place (no ESI), nothing
        # could mark it (outside attack round 106); under ESI it streams
        # as before
        from django.http import StreamingHttpResponse

        def page(request):
            return StreamingHttpResponse(iter([b"a", b"b"]))

        plain = scd.SharedCacheMiddleware(page)(self.rf.get("/"))
        esi_on = scd.SharedCacheMiddleware(page)(self.esi_request())
        self.assertIn("no-store", plain["Surrogate-Control"])
        self.assertNotIn("Surrogate-Control", esi_on)

    def test_in_place_under_a_script_prefix(self):
        from django.urls import path, set_script_prefix

        def fragment(request):
            return HttpResponse("hello")

        urls = type("urls", (), {"urlpatterns": [path("frag/", fragment)]})
        set_script_prefix("/dj/")
        try:
            with override_settings(ROOT_URLCONF=urls):
                out = scd.esi_include(self.rf.get("/"), "/dj/frag/")
        finally:
            set_script_prefix("/")
        self.assertEqual(out, "hello")

    def test_template_tag(self):
        from django.template import Context, Engine

        engine = Engine(libraries={
            "sharedcache": "sharedcache.templatetags.sharedcache"})
        t = engine.from_string('{% load sharedcache %}'
                               '[{% esi_include "/frag/" onerror="continue" %}]')
        request = self.esi_request()
        self.assertEqual(t.render(Context({"request": request})),
                         '[<esi:include src="/frag/" onerror="continue"/>]')
        self.assertTrue(request._sharedcache_esi)

    def test_fragment_decorator(self):
        @scd.esi_fragment("posts", seconds=60, vary_on_cookie=True)
        def view(request):
            return HttpResponse("x")

        response = view(self.rf.get("/"))
        self.assertEqual(response["Surrogate-Key"], "posts")
        self.assertEqual(response["Surrogate-Control"], "max-age=60")
        self.assertIn("Cookie", response["Vary"])


class Settings(unittest.TestCase):
    @override_settings(SHAREDCACHE_SERVERS="127.0.0.1:1, 127.0.0.1:2",
                       SHAREDCACHE_PREFIX="dj", SHAREDCACHE_TIMEOUT=250)
    def test_default_client_from_settings(self):
        client = scd.get_client()
        self.assertIs(client, sharedcache.default_client())
        self.assertEqual(client.servers, ["127.0.0.1:1", "127.0.0.1:2"])
        self.assertEqual(client.prefix, "dj")
        self.assertEqual(client.timeout_ms, 250)

    def test_settings_change_is_seen(self):
        with override_settings(SHAREDCACHE_PREFIX="one"):
            self.assertEqual(sharedcache.default_client().prefix, "one")
        with override_settings(SHAREDCACHE_PREFIX="two"):
            self.assertEqual(sharedcache.default_client().prefix, "two")

    def test_invalidate_uses_it(self):
        fake = mock.Mock()
        with mock.patch.object(scd, "get_client", return_value=fake):
            scd.invalidate("a", "b")
            scd.purge("http://h/")
            scd.flush("ns")
        fake.invalidate.assert_called_once_with("a", "b")
        fake.purge.assert_called_once_with("http://h/")
        fake.flush.assert_called_once_with("ns")


class Signals(unittest.TestCase):
    def setUp(self):
        self.calls = []
        patcher = mock.patch.object(
            scd, "invalidate", side_effect=lambda *t: self.calls.append(t))
        patcher.start()
        self.addCleanup(patcher.stop)

    def connect(self, model, tags, **kw):
        receivers = scd.invalidate_on_change(model, tags, **kw)
        self.addCleanup(receivers.disconnect)
        return receivers

    def test_after_commit_only(self):
        self.connect(User, "user-{pk}")
        with transaction.atomic():
            user = User.objects.create(username="alice")
            self.assertEqual(self.calls, [])
            user.first_name = "Alice"
            user.save()
            self.assertEqual(self.calls, [])
        self.assertEqual(self.calls, [("user-%d" % user.pk,),
                                      ("user-%d" % user.pk,)])

    def test_rollback_invalidates_nothing(self):
        self.connect(User, "user-{pk}")
        try:
            with transaction.atomic():
                User.objects.create(username="bob")
                raise RuntimeError("roll back")
        except RuntimeError:
            pass
        self.assertEqual(self.calls, [])

    def test_autocommit_invalidates_at_once(self):
        self.connect(User, "user-{pk}")
        user = User.objects.create(username="carol")
        self.assertEqual(self.calls, [("user-%d" % user.pk,)])

    def test_delete_uses_the_pk_it_had(self):
        user = User.objects.create(username="dave")
        pk = user.pk
        self.connect(User, ["user-{pk}", "name-{username}",
                            "{instance.username}-x"])
        with transaction.atomic():
            user.delete()
            self.assertEqual(self.calls, [])
        self.assertIsNone(user.pk)
        self.assertEqual(self.calls,
                         [("user-%d" % pk, "name-dave", "dave-x")])

    def test_callable_tags(self):
        self.connect(Group, lambda g: [f"group-{g.pk}", "groups", "groups"])
        self.connect(User, [lambda u: None, "users"])
        group = Group.objects.create(name="staff")
        User.objects.create(username="erin")
        self.assertEqual(self.calls, [("group-%d" % group.pk, "groups"),
                                      ("users",)])

    def test_other_models_are_ignored(self):
        self.connect(Group, "group-{pk}")
        User.objects.create(username="frank")
        self.assertEqual(self.calls, [])

    def test_disconnect(self):
        receivers = scd.invalidate_on_change(User, "users")
        receivers.disconnect()
        User.objects.create(username="gina")
        self.assertEqual(self.calls, [])
        self.assertIs(receivers.model, User)
        self.assertTrue(callable(receivers.post_save))
        self.assertTrue(callable(receivers.post_delete))

    def test_invalid_computed_tag_raises_in_save(self):
        self.connect(User, "user {pk}")
        with self.assertRaises(ValueError):
            User.objects.create(username="hal")

    def test_explicit_client(self):
        client = mock.Mock()
        self.connect(User, "users", client=client)
        User.objects.create(username="ivy")
        client.invalidate.assert_called_once_with("users")
        self.assertEqual(self.calls, [])

    def test_memcached_errors_are_logged_not_raised(self):
        client = mock.Mock()
        client.invalidate.side_effect = SharedCacheError("down")
        self.connect(User, "users", client=client)
        with self.assertLogs("sharedcache", "ERROR") as logs:
            User.objects.create(username="jack")
        self.assertIn("could not invalidate users", logs.output[0])

    def test_raise_errors(self):
        client = mock.Mock()
        client.invalidate.side_effect = SharedCacheError("down")
        self.connect(User, "users", client=client, raise_errors=True)
        with self.assertLogs("sharedcache", "ERROR"):
            with self.assertRaises(SharedCacheError):
                User.objects.create(username="kim")

    def test_real_client_end_to_end(self):
        mc = sc_support.Memcached()
        self.addCleanup(mc.stop)
        client = sharedcache.Client([mc.address])
        user = User.objects.create(username="lee")
        tag = "user-%d" % user.pk
        key = sharedcache.keys.counter_key("sc", sharedcache.keys.tag_dep(tag))
        mc.set(key, b"10")
        self.connect(User, "user-{pk}", client=client)
        with transaction.atomic():
            user.save()
            self.assertEqual(mc.get(key), b"10")
        self.assertEqual(mc.get(key), b"11")


if __name__ == "__main__":
    unittest.main()
