"""sharedcache.Client against real memcached servers."""

import os
import socket
import sys
import threading
import time
import unittest
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sc_support  # noqa: E402  (puts python/ on sys.path)

import pylibmc  # noqa: E402

import sharedcache  # noqa: E402
from sharedcache import keys  # noqa: E402


def unique(name):
    return "%s-%s" % (name, uuid.uuid4().hex[:12])


def tag_key(tag, prefix="sc"):
    return keys.counter_key(prefix, keys.tag_dep(tag))


class ClientTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.a = sc_support.Memcached()
        try:
            cls.b = sc_support.Memcached()
        except Exception:
            cls.a.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.a.stop()
        cls.b.stop()

    def client(self, **kw):
        return sharedcache.Client([self.a.address], **kw)

    # ---- one server ----------------------------------------------------

    def test_invalidate_increments_existing_counter(self):
        tag = unique("post")
        self.a.set(tag_key(tag), b"41")
        self.assertEqual(self.client().invalidate(tag), 1)
        self.assertEqual(self.a.get(tag_key(tag)), b"42")

    def test_missing_counter_stays_missing(self):
        tag = unique("nobody")
        self.assertEqual(self.client().invalidate(tag), 0)
        self.assertIsNone(self.a.get(tag_key(tag)))

    def test_counts_existing_counters_once(self):
        t1, t2, t3 = unique("a"), unique("b"), unique("c")
        self.a.set(tag_key(t1), b"7")
        self.a.set(tag_key(t3), b"18446744073709551615")   # wraps to 0
        client = self.client()
        self.assertEqual(client.invalidate(t1, [t2, t3], t1), 2)
        self.assertEqual(self.a.get(tag_key(t1)), b"8")
        self.assertIsNone(self.a.get(tag_key(t2)))
        # memcached pads a shrunk number with spaces in place
        self.assertEqual(self.a.get(tag_key(t3)), b"0" + b" " * 19)

    def test_invalid_tag_raises_before_anything(self):
        good = unique("good")
        self.a.set(tag_key(good), b"1")
        client = self.client()
        for bad in ["has space", "", "x" * 129, "caf\u00e9"]:
            with self.subTest(tag=bad):
                with self.assertRaises(ValueError):
                    client.invalidate(good, bad)
        with self.assertRaises(TypeError):
            client.invalidate(good, 5)
        self.assertEqual(self.a.get(tag_key(good)), b"1")

    def test_purge(self):
        path = "/" + unique("page")
        key = keys.counter_key("sc", "u:https://example.com:443" + path)
        client = self.client()
        self.assertFalse(client.purge("https://example.com" + path))
        self.assertIsNone(self.a.get(key))
        self.a.set(key, b"100")
        self.assertTrue(client.purge("https://EXAMPLE.com:443%s?x=1" % path))
        self.assertIsNone(self.a.get(key))     # hard: the counter is gone
        with self.assertRaises(ValueError):
            client.purge(path)

    def test_flush(self):
        ns = unique("ns")
        key = keys.counter_key("sc", keys.namespace_dep(ns))
        client = self.client()
        self.assertFalse(client.flush(ns))
        self.a.set(key, b"5")
        self.assertTrue(client.flush(ns))
        self.assertEqual(self.a.get(key), b"6")
        default = keys.counter_key("sc", b"n:default")
        self.assertEqual(default,
                         "sc:g:71ba13d182a27f1c0cfae04559f19366aa73485f")
        self.a.set(default, b"9")
        try:
            self.assertTrue(client.flush())
            self.assertEqual(self.a.get(default), b"10")
        finally:
            self.a.delete(default)

    def test_prefix(self):
        tag = unique("p")
        self.a.set(tag_key(tag, "site-1"), b"1")
        self.assertEqual(self.client().invalidate(tag), 0)
        self.assertEqual(self.client(prefix="site-1").invalidate(tag), 1)
        self.assertEqual(self.a.get(tag_key(tag, "site-1")), b"2")
        for bad in ["", "a b", "p" * 65]:
            with self.assertRaises(ValueError):
                self.client(prefix=bad)

    def test_non_numeric_counter_is_an_error(self):
        tag = unique("junk")
        self.a.set(tag_key(tag), b"abc")
        with self.assertRaises(sharedcache.SharedCacheError):
            self.client().invalidate(tag)
        # the client is usable afterwards
        tag2 = unique("after")
        self.a.set(tag_key(tag2), b"1")
        client = self.client()
        self.assertEqual(client.invalidate(tag2), 1)

    def test_threads(self):
        tag = unique("threads")
        self.a.set(tag_key(tag), b"1000")
        client = self.client()
        errors = []

        def work():
            try:
                for _ in range(50):
                    client.invalidate(tag)
            except Exception as e:      # pragma: no cover
                errors.append(e)

        threads = [threading.Thread(target=work) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(errors, [])
        self.assertEqual(self.a.get(tag_key(tag)), b"1400")

    def test_fork(self):
        tag = unique("fork")
        self.a.set(tag_key(tag), b"1")
        client = self.client()
        self.assertEqual(client.invalidate(tag), 1)      # parent connects
        pid = os.fork()
        if pid == 0:                                     # pragma: no cover
            code = 1
            try:
                code = 0 if client.invalidate(tag) == 1 else 2
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        self.assertEqual(os.waitstatus_to_exitcode(status), 0)
        self.assertEqual(client.invalidate(tag), 1)
        self.assertEqual(self.a.get(tag_key(tag)), b"4")

    # ---- server lists --------------------------------------------------

    def test_parse_servers(self):
        self.assertEqual(
            sharedcache.parse_servers("h1, h2:1234\t[::1]:5 [fe80::1] /s.sock"),
            ["h1:11211", "h2:1234", "[::1]:5", "[fe80::1]:11211", "/s.sock"])
        self.assertEqual(sharedcache.parse_servers(["a:1", "b:2 c:3"]),
                         ["a:1", "b:2", "c:3"])
        for bad in ["", " , ", "::1", "h:0", "h:70000", "h:x", "[::1", ":11211",
                    "[::1]x"]:
            with self.subTest(spec=bad):
                with self.assertRaises(ValueError):
                    sharedcache.parse_servers(bad)

    def test_string_server_list(self):
        tag = unique("str")
        self.a.set(tag_key(tag), b"1")
        client = sharedcache.Client("%s" % self.a.address)
        self.assertEqual(client.invalidate(tag), 1)

    def test_unix_socket(self):
        mc = sc_support.Memcached(unix=True)
        self.addCleanup(mc.stop)
        tag = unique("unix")
        mc.set(tag_key(tag), b"1")
        client = sharedcache.Client(mc.socket_path)
        self.assertEqual(client.servers, [mc.socket_path])
        self.assertEqual(client.invalidate(tag), 1)
        self.assertEqual(mc.get(tag_key(tag)), b"2")

    # ---- two servers: each counter copy is where the module looks -------

    def two(self):
        return [self.a, self.b]

    def holders(self, key):
        return [m for m in self.two() if m.get(key) is not None]

    def test_url_counter_on_the_server_of_the_urls_keys(self):
        client = sharedcache.Client([m.address for m in self.two()])
        used = set()
        for i in range(40):
            url = "http://example.com/page/%s" % unique("u%d" % i)
            key = client.counter_key(sharedcache.keys.url_dep(url))
            at = sharedcache.keys.place(client.servers, key)
            used.add(at)
            self.two()[at].set(key, b"7")
            self.assertEqual(client.servers_of(
                sharedcache.keys.url_dep(url)), [at])
            self.assertTrue(client.purge(url), url)
            self.assertEqual(self.holders(key), [], "deleted where it was")
        self.assertEqual(used, {0, 1}, "both servers hold some URLs")

    def test_tag_and_namespace_copies_on_every_server(self):
        client = sharedcache.Client([m.address for m in self.two()])
        tag = unique("copies")
        for m in self.two():
            m.set(tag_key(tag), b"1")
        self.assertEqual(client.invalidate(tag), 1)
        self.assertEqual([m.get(tag_key(tag)) for m in self.two()],
                         [b"2", b"2"])
        ns = unique("ns")
        key = client.counter_key(sharedcache.keys.namespace_dep(ns))
        self.a.set(key, b"5")
        self.assertTrue(client.flush(ns))
        self.assertEqual(self.a.get(key), b"6")
        self.assertIsNone(self.b.get(key), "a missing copy is not created")

    def test_server_order_does_not_matter(self):
        forward = sharedcache.Client([m.address for m in self.two()])
        backward = sharedcache.Client([m.address
                                       for m in reversed(self.two())])
        for i in range(40):
            url = "http://example.com/o/%s" % unique("o%d" % i)
            dep = sharedcache.keys.url_dep(url)
            self.assertEqual(
                forward.servers[forward.servers_of(dep)[0]],
                backward.servers[backward.servers_of(dep)[0]])

    # ---- failures ------------------------------------------------------

    def test_refused_server_raises_clearly(self):
        port = sc_support.free_port()              # nothing listens there
        client = sharedcache.Client("127.0.0.1:%d" % port)
        start = time.monotonic()
        with self.assertRaises(sharedcache.SharedCacheError) as cm:
            client.invalidate("post-5")
        self.assertLess(time.monotonic() - start, 1.0)
        self.assertIn("127.0.0.1:%d" % port, str(cm.exception))
        self.assertIn("t:post-5", str(cm.exception))
        with self.assertRaises(sharedcache.SharedCacheError):
            client.purge("http://example.com/")
        with self.assertRaises(sharedcache.SharedCacheError):
            client.flush()

    def test_silent_server_times_out(self):
        # accepts connections (the kernel does) but never answers
        with socket.socket() as silent:
            silent.bind(("127.0.0.1", 0))
            silent.listen(16)
            client = sharedcache.Client(
                "127.0.0.1:%d" % silent.getsockname()[1], timeout_ms=100)
            for _ in range(3):
                start = time.monotonic()
                with self.assertRaises(sharedcache.SharedCacheError):
                    client.invalidate("post-5")
                self.assertLess(time.monotonic() - start, 1.0)

    def test_one_server_down_does_not_move_keys(self):
        port = sc_support.free_port()
        down = "127.0.0.1:%d" % port
        client = sharedcache.Client([self.a.address, down])
        # a tag's copies: the live one is incremented, the call raises
        # naming the server that holds the other
        tag = unique("d")
        self.a.set(tag_key(tag), b"1")
        with self.assertRaises(sharedcache.SharedCacheError) as cm:
            client.invalidate(tag)
        self.assertEqual(cm.exception.unreachable, [down])
        self.assertIn(down, str(cm.exception))
        self.assertEqual(self.a.get(tag_key(tag)), b"2")
        # and the live server holds a fence mark for it, as sharedcachectl
        # leaves one (the module fences the server before reading it)
        mark = client.counter_key(b"m:" + down.encode())
        self.assertRegex(self.a.get(mark) or b"", rb"^[0-9a-f]{24}$")
        # a URL's counter: on its own server only, never moved
        failures = successes = 0
        for i in range(40):
            url = "http://example.com/d/%s" % unique("d%d" % i)
            key = client.counter_key(sharedcache.keys.url_dep(url))
            self.a.set(key, b"1")
            try:
                client.purge(url)
                successes += 1
                self.assertIsNone(self.a.get(key))
            except sharedcache.SharedCacheError:
                failures += 1
                # its server is the dead one: nothing rehashed onto a
                self.assertEqual(self.a.get(key), b"1")
        self.assertGreater(failures, 0)
        self.assertGreater(successes, 0)

    # ---- module-level functions ---------------------------------------

    def test_module_functions_use_the_environment(self):
        tag = unique("env")
        saved = {k: os.environ.get(k) for k in
                 ("SHAREDCACHE_SERVERS", "SHAREDCACHE_PREFIX")}
        os.environ["SHAREDCACHE_SERVERS"] = self.a.address
        os.environ["SHAREDCACHE_PREFIX"] = "envp"
        try:
            self.a.set(tag_key(tag, "envp"), b"1")
            self.assertEqual(sharedcache.invalidate(tag), 1)
            self.assertEqual(self.a.get(tag_key(tag, "envp")), b"2")
            self.assertEqual(sharedcache.default_client().servers,
                             [self.a.address])
            self.assertFalse(sharedcache.purge("http://example.com/"
                                               + unique("x")))
            self.assertFalse(sharedcache.flush(unique("ns")))
            explicit = sharedcache.Client([self.a.address], prefix="expl")
            sharedcache.set_default_client(explicit)
            try:
                self.assertIs(sharedcache.default_client(), explicit)
            finally:
                sharedcache.set_default_client(None)
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v


if __name__ == "__main__":
    unittest.main()
