"""sharedcache.flask on a Flask test app."""

import os
import sys
import unittest
from unittest import mock

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sc_support  # noqa: E402  (puts python/ on sys.path)

import flask  # noqa: E402

import sharedcache  # noqa: E402
from sharedcache import flask as scf  # noqa: E402


def make_app(**config):
    app = flask.Flask("sharedcache_test")
    app.config.update(config)

    @app.route("/posts")
    @scf.cache_tags("posts", ["home"])
    def posts():
        return "all posts"

    @app.route("/post/<int:post_id>")
    @scf.cache_tags("posts", lambda post_id: f"post-{post_id}",
                    lambda post_id: None)
    def post(post_id):
        return "post %d" % post_id

    @app.route("/user/<name>/<int:n>")
    @scf.cache_tags(lambda name, n: [f"user-{name}", f"n-{n}"])
    def user(name, n):
        return "user"

    @app.route("/own")
    @scf.cache_tags("posts", "extra")
    def own():
        return "own", 201, {"Surrogate-Key": "mine posts"}

    @app.route("/response")
    @scf.cache_tags("r")
    def response():
        return flask.Response("resp", mimetype="text/plain")

    @app.route("/json")
    @scf.cache_tags("j")
    def json():
        return {"a": 1}

    @app.route("/bad/<slug>")
    @scf.cache_tags(lambda slug: slug)
    def bad(slug):
        return "bad"

    @app.route("/edit/<int:post_id>", methods=["POST"])
    def edit(post_id):
        return scf.invalidate_in_response(flask.redirect(f"/post/{post_id}"),
                                          f"post-{post_id}", "posts")

    @app.route("/later/<int:post_id>", methods=["POST"])
    def later(post_id):
        scf.invalidate_after_request(f"post-{post_id}")
        scf.invalidate_after_request("home", f"post-{post_id}")
        return "saved"

    return app


class FlaskViews(unittest.TestCase):
    def setUp(self):
        self.app = make_app()
        self.client = self.app.test_client()

    def test_static_tags(self):
        r = self.client.get("/posts")
        self.assertEqual(r.status_code, 200)
        self.assertEqual(r.get_data(as_text=True), "all posts")
        self.assertEqual(r.headers["Surrogate-Key"], "posts home")

    def test_callable_tags_get_view_kwargs(self):
        r = self.client.get("/post/5")
        self.assertEqual(r.headers["Surrogate-Key"], "posts post-5")
        r = self.client.get("/user/ann/3")
        self.assertEqual(r.headers["Surrogate-Key"], "user-ann n-3")

    def test_merges_with_view_headers(self):
        r = self.client.get("/own")
        self.assertEqual(r.status_code, 201)
        self.assertEqual(r.headers["Surrogate-Key"], "mine posts extra")
        self.assertEqual(len(r.headers.getlist("Surrogate-Key")), 1)

    def test_any_return_value(self):
        r = self.client.get("/response")
        self.assertEqual(r.headers["Surrogate-Key"], "r")
        self.assertEqual(r.mimetype, "text/plain")
        r = self.client.get("/json")
        self.assertEqual(r.headers["Surrogate-Key"], "j")
        self.assertEqual(r.get_json(), {"a": 1})

    def test_invalid_tags(self):
        self.assertEqual(self.client.get("/bad/ok").headers["Surrogate-Key"],
                         "ok")
        self.app.testing = True       # let the exception through
        with self.assertRaises(ValueError):
            self.client.get("/bad/caf%C3%A9")
        with self.assertRaises(ValueError):
            scf.cache_tags("two words")

    def test_keeps_the_view_name(self):
        self.assertIn("post", self.app.view_functions)
        self.assertEqual(self.app.view_functions["post"].__name__, "post")

    def test_invalidate_in_response(self):
        r = self.client.post("/edit/5")
        self.assertEqual(r.status_code, 302)
        self.assertEqual(r.headers["X-SharedCache-Invalidate"], "post-5 posts")
        self.assertNotIn("Surrogate-Key", r.headers)

    def test_invalidate_after_request(self):
        r = self.client.post("/later/7")
        self.assertEqual(r.get_data(as_text=True), "saved")
        self.assertEqual(r.headers["X-SharedCache-Invalidate"], "post-7 home")

    def test_header_names_from_config(self):
        app = make_app(SHAREDCACHE_TAG_HEADER="Cache-Tag",
                       SHAREDCACHE_INVALIDATE_HEADER="X-Purge")
        c = app.test_client()
        self.assertEqual(c.get("/post/1").headers["Cache-Tag"], "posts post-1")
        self.assertEqual(c.post("/edit/1").headers["X-Purge"], "post-1 posts")

    def test_client_from_config(self):
        app = make_app(SHAREDCACHE_SERVERS="127.0.0.1:1 127.0.0.1:2",
                       SHAREDCACHE_PREFIX="fl", SHAREDCACHE_TIMEOUT=300)
        with app.app_context():
            client = scf.get_client()
            self.assertIs(client, scf.get_client())
            self.assertEqual(client.servers, ["127.0.0.1:1", "127.0.0.1:2"])
            self.assertEqual(client.prefix, "fl")
            self.assertEqual(client.timeout_ms, 300)
        with self.app.app_context():
            self.assertIs(scf.get_client(), sharedcache.default_client())
        self.assertIs(scf.get_client(), sharedcache.default_client())

    def test_invalidate_functions(self):
        fake = mock.Mock()
        with mock.patch.object(scf, "get_client", return_value=fake):
            scf.invalidate("a")
            scf.purge("http://h/")
            scf.flush()
        fake.invalidate.assert_called_once_with("a")
        fake.purge.assert_called_once_with("http://h/")
        fake.flush.assert_called_once_with("default")

    def test_real_memcached(self):
        mc = sc_support.Memcached()
        self.addCleanup(mc.stop)
        app = make_app(SHAREDCACHE_SERVERS=mc.address)
        key = sharedcache.keys.counter_key("sc", b"t:flask-post-1")
        mc.set(key, b"3")
        with app.app_context():
            self.assertEqual(scf.invalidate("flask-post-1", "flask-none"), 1)
        self.assertEqual(mc.get(key), b"4")


class Esi(unittest.TestCase):
    def setUp(self):
        self.app = flask.Flask("sharedcache_esi_test")

        @self.app.route("/page")
        def page():
            return flask.render_template_string(
                "[{{ esi_include('/frag?x=1', onerror_continue=True) }}]")

        @self.app.route("/frag")
        def frag():
            return "fragment " + flask.request.args.get("x", "")

        self.app.jinja_env.globals["esi_include"] = scf.esi_include

    def test_tag_and_marking(self):
        r = self.app.test_client().get(
            "/page", headers={"Surrogate-Capability": 'h="ESI/1.0"'})
        self.assertEqual(r.get_data(as_text=True),
                         '[<esi:include src="/frag?x=1" onerror="continue"/>]')
        self.assertEqual(r.headers["Surrogate-Control"], 'content="ESI/1.0"')

    def test_in_place_without_the_module(self):
        r = self.app.test_client().get("/page")
        self.assertEqual(r.get_data(as_text=True), "[fragment 1]")
        self.assertNotIn("Surrogate-Control", r.headers)

    def test_in_place_fragment_marks_its_page(self):
        # rendered in place, the fragment is the page's: its Vary,
        # private, cookies and tags mark the page (outside attack round
        # 103, the Django side)
        @self.app.route("/mine")
        def mine():
            r = flask.make_response("hello " + flask.request.cookies.get(
                "who", "?"))
            r.headers["Vary"] = "Cookie"
            r.headers["Cache-Control"] = "private"
            r.headers["Surrogate-Key"] = "boxes"
            r.set_cookie("seen", "1")
            return r

        @self.app.route("/shell")
        def shell():
            return flask.render_template_string("[{{ esi_include('/mine') }}]")

        client = self.app.test_client(use_cookies=False)
        r = client.get("/shell", headers={"Cookie": "who=alice"})
        self.assertEqual(r.get_data(as_text=True), "[hello alice]")
        self.assertIn("Cookie", r.headers.get("Vary", ""))
        self.assertIn("private", r.headers.get("Cache-Control", ""))
        self.assertIn("boxes", r.headers.get("Surrogate-Key", "").split())
        self.assertTrue(any(c.startswith("seen=1")
                            for c in r.headers.getlist("Set-Cookie")))

    def test_in_place_refusals_and_script_root(self):
        @self.app.route("/cdn")
        def cdn():
            r = flask.make_response("cdn")
            r.headers["CDN-Cache-Control"] = "private"
            r.headers["Surrogate-Control"] = "no-store"
            return r

        @self.app.route("/p")
        def p():
            return flask.render_template_string(
                "[{{ esi_include('/fl/cdn') }}]")

        r = self.app.test_client().get("/p", base_url="http://localhost/fl")
        self.assertEqual(r.get_data(as_text=True), "[cdn]")
        self.assertIn("private", r.headers.get("CDN-Cache-Control", ""))
        self.assertIn("no-store", r.headers.get("Surrogate-Control", ""))

    def test_in_place_narrowing_and_failure(self):
        @self.app.route("/cart")
        def cart():
            r = flask.make_response("cart")
            r.headers["Vary"] = "Cookie"
            return r

        @self.app.route("/gone")
        def gone():
            flask.abort(404)

        @self.app.route("/narrow/<frag>")
        def narrow(frag):
            r = flask.make_response(flask.render_template_string(
                "[{{ esi_include(src) }}]", src="/" + frag))
            r.headers["Vary"] = "Cookie"
            r.headers["X-SharedCache-Vary"] = "cookie=session"
            return r

        client = self.app.test_client()
        wide = client.get("/narrow/cart")
        self.assertNotIn("X-SharedCache-Vary", wide.headers)
        failed = client.get("/narrow/gone")
        self.assertIn("no-store", failed.headers.get("Surrogate-Control", ""))

    def test_only_local_paths(self):
        with self.app.test_request_context(
                "/", headers={"Surrogate-Capability": 'h="ESI/1.0"'}):
            for bad in ("http://evil/x", "//evil/x", "frag"):
                with self.assertRaises(ValueError):
                    scf.esi_include(bad)


if __name__ == "__main__":
    unittest.main()
