"""sharedcache.keys reproduces the module's keys (shared vectors)."""

import codecs
import ctypes
import ctypes.util
import hashlib
import os
import random
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sc_support  # noqa: E402  (puts python/ on sys.path)

from sharedcache import keys  # noqa: E402

VECTORS = os.path.join(sc_support.ROOT, "t", "unit", "vectors.txt")
DEP_VECTORS = os.path.join(sc_support.ROOT, "t", "unit", "dep_vectors.txt")
PLACE_VECTORS = os.path.join(sc_support.ROOT, "t", "unit",
                             "place_vectors.txt")


def unescape(field):
    return codecs.escape_decode(field.encode("ascii"))[0]


def read_vectors(path):
    with open(path, encoding="ascii") as f:
        for number, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            yield number, line.split("\t")


def parse_variance(raw):
    kind, _, rest = raw.partition(b":")
    if b"=" in rest:
        name, _, value = rest.partition(b"=")
    else:
        name, value = rest, None
    return kind, name, value


class EntryVectors(unittest.TestCase):
    def test_every_vector(self):
        count = 0
        for number, cols in read_vectors(VECTORS):
            with self.subTest(line=number):
                self.assertGreaterEqual(len(cols), 9)
                prefix, scheme, host = (unescape(c) for c in cols[0:3])
                port = int(cols[3])
                path = unescape(cols[4])
                query = None if cols[5] == "-" else unescape(cols[5])
                ignore = ([unescape(g) for g in cols[6].split(",")]
                          if cols[6] else [])
                canonical = unescape(cols[7])
                digest = unescape(cols[8]).decode("ascii")
                variance = [parse_variance(unescape(c)) for c in cols[9:]]

                got = keys.canonical_key(scheme, host, port, path, query,
                                         ignore, variance)
                self.assertEqual(got, canonical)
                self.assertEqual(keys.entry_key(prefix, got), digest)
                self.assertEqual(keys.digest(prefix, "e", canonical), digest)
                count += 1
        self.assertGreaterEqual(count, 6, "too few vectors in vectors.txt")

    def test_str_arguments_are_utf8(self):
        a = keys.canonical_key("http", "h", 80, "/caf\u00e9", "q=\u00e9")
        b = keys.canonical_key(b"http", b"h", 80, b"/caf\xc3\xa9",
                               b"q=\xc3\xa9")
        self.assertEqual(a, b)

    def test_absent_and_empty_differ(self):
        absent = keys.canonical_key("http", "h", 80, "/", None, (),
                                    [("c", "s", None)])
        empty = keys.canonical_key("http", "h", 80, "/", None, (),
                                   [("c", "s", "")])
        self.assertNotEqual(absent, empty)
        self.assertTrue(absent.endswith(b"3:c:s\n"))
        self.assertTrue(empty.endswith(
            b"44:c:s=" + hashlib.sha1(b"").hexdigest().encode() + b"\n"))

    def test_nul_is_refused(self):
        with self.assertRaises(ValueError):
            keys.canonical_key("http", "h", 80, "/a\0b")
        with self.assertRaises(ValueError):
            keys.digest("sc", "e", b"x\0")

    def test_kind_is_one_character(self):
        with self.assertRaises(ValueError):
            keys.digest("sc", "ee", b"x")


class Query(unittest.TestCase):
    def test_sorted_stably_by_name(self):
        self.assertEqual(keys.query_string("b=2&a=1&b=1&a"), b"a=1&a&b=2&b=1")

    def test_bytes_order_and_prefix_names(self):
        # memcmp order, shorter name first when one is a prefix
        self.assertEqual(keys.query_string("ab=1&a=2&B=3&a-=4"),
                         b"B=3&a=2&a-=4&ab=1")

    def test_unsorted_unless_every_parser_reads_the_same_names(self):
        # ';' anywhere, or a name other than letters, digits, '_', '-'
        self.assertEqual(keys.query_string("b=1&a=2;v=e"), b"b=1&a=2;v=e")
        self.assertEqual(keys.query_string("page_id=7&page.id=1"),
                         b"page_id=7&page.id=1")
        self.assertEqual(keys.query_string("b=1&a%20=4"), b"b=1&a%20=4")

    def test_ignored_by_decoded_name_unless_it_holds_a_semicolon(self):
        self.assertEqual(keys.query_string("%75tm_id=1&b=2&a=1", ["utm_*"]),
                         b"a=1&b=2")
        self.assertEqual(keys.query_string("utm_id=1;cb=x&a=1", ["utm_*"]),
                         b"utm_id=1;cb=x&a=1")

    def test_empty_parameters_dropped(self):
        self.assertEqual(keys.query_string("&&a=1&&"), b"a=1")
        self.assertEqual(keys.query_string(""), b"")
        self.assertEqual(keys.query_string(None), b"")

    def test_ignore_globs(self):
        q = "utm_source=1&x=2&fbclid=3&UTM_x=4&=5"
        self.assertEqual(keys.query_string(q, ["utm_*", "fbclid"]),
                         b"=5&UTM_x=4&x=2")
        self.assertEqual(keys.query_string(q, ["*"]), b"")
        self.assertEqual(keys.query_string("a=1&b=2", ["[ab]"]), b"")
        self.assertEqual(keys.query_string("a=1&b=2", ["[!a]"]), b"a=1")
        self.assertEqual(keys.query_string("a=1&b=2", ["[^a]"]), b"a=1")
        self.assertEqual(keys.query_string("a*=1&ab=2", ["a\\*"]), b"ab=2")


class FnmatchLikeApr(unittest.TestCase):
    """keys.fnmatch against APR's own apr_fnmatch(pattern, string, 0)."""

    @classmethod
    def setUpClass(cls):
        name = ctypes.util.find_library("apr-1") or "libapr-1.so.0"
        try:
            apr = ctypes.CDLL(name)
        except OSError:
            raise unittest.SkipTest("libapr-1 not loadable")
        apr.apr_fnmatch.argtypes = [ctypes.c_char_p, ctypes.c_char_p,
                                    ctypes.c_int]
        apr.apr_fnmatch.restype = ctypes.c_int
        cls.apr = apr

    def check(self, pattern, string):
        expected = self.apr.apr_fnmatch(pattern, string, 0) == 0
        self.assertEqual(keys.fnmatch(pattern, string), expected,
                         "pattern %r string %r" % (pattern, string))

    def test_chosen_cases(self):
        cases = [
            (b"utm_*", b"utm_source"), (b"utm_*", b"utm_"), (b"utm_*", b"UTM_a"),
            (b"*", b""), (b"?", b""), (b"?", b"a"), (b"a*b*c", b"aXbYc"),
            (b"a*b*c", b"abcbc"), (b"*.x", b".x"), (b"[a-c]x", b"bx"),
            (b"[!a-c]x", b"bx"), (b"[^a-c]x", b"dx"), (b"[]a]", b"]"),
            (b"[a-]", b"-"), (b"[", b"["), (b"[a", b"[a"), (b"a\\", b"a\\"),
            (b"\\*", b"*"), (b"\\*", b"a"), (b"[\\]]", b"]"),
            (b"[a-m-z]", b"-"), (b"[a-m-z]", b"z"), (b"[a-m-z]", b"q"),
            (b"[\x80-\xff]", b"\x90"), (b"[a-\xff]", b"b"), (b"/a*", b"/a/b"),
            (b".*", b".hidden"), (b"*", b"/"),
        ]
        for pattern, string in cases:
            self.check(pattern, string)

    def test_random(self):
        rnd = random.Random(20240607)
        alphabet = b"ab*?[]!^-\\/.\x80\xff"
        for _ in range(20000):
            pattern = bytes(rnd.choice(alphabet)
                            for _ in range(rnd.randint(0, 7)))
            string = bytes(rnd.choice(alphabet)
                           for _ in range(rnd.randint(0, 6)))
            self.check(pattern, string)


class PlacementVectors(unittest.TestCase):
    """The server of a URL's keys, as the module and sharedcachectl
    compute it (t/unit/test_place.c checks the same file)."""

    def test_every_vector(self):
        count = 0
        for number, cols in read_vectors(PLACE_VECTORS):
            with self.subTest(line=number):
                servers, group, index = cols
                self.assertEqual(keys.place(servers.split(" "), group),
                                 int(index))
                count += 1
        self.assertGreaterEqual(count, 40, "too few vectors")


class DependencyVectors(unittest.TestCase):
    def test_every_vector(self):
        count = 0
        for number, cols in read_vectors(DEP_VECTORS):
            with self.subTest(line=number):
                prefix, dep, key = (unescape(c) for c in cols)
                key = key.decode("ascii")
                self.assertEqual(keys.counter_key(prefix, dep), key)
                kind, _, name = dep.partition(b":")
                if kind == b"t":
                    self.assertEqual(keys.tag_dep(name), dep)
                elif kind == b"n":
                    self.assertEqual(keys.namespace_dep(name), dep)
                count += 1
        self.assertGreaterEqual(count, 6, "too few vectors")

    def test_urls_of_the_vectors(self):
        self.assertEqual(keys.url_dep("http://example.com/blog/post/5"),
                         b"u:http://example.com:80/blog/post/5")
        self.assertEqual(
            keys.counter_key("sc", keys.url_dep(
                "https://shop.example.org/caf%C3%A9%20menu")),
            "sc:g:781e2a135763056e3dcd9e05296d29c7e22d99a4")
        self.assertEqual(keys.counter_key("sc", keys.tag_dep("post-5")),
                         "sc:g:8a6932121088845fd224eaa66964f38b1f9be644")


class UrlDep(unittest.TestCase):
    def test_default_ports(self):
        self.assertEqual(keys.url_dep("http://a.example/x"),
                         b"u:http://a.example:80/x")
        self.assertEqual(keys.url_dep("https://a.example/x"),
                         b"u:https://a.example:443/x")
        self.assertEqual(keys.url_dep("http://a.example:80/x"),
                         keys.url_dep("http://a.example/x"))
        self.assertEqual(keys.url_dep("https://a.example:8443/x"),
                         b"u:https://a.example:8443/x")
        self.assertEqual(keys.url_dep("http://a.example:443/x"),
                         b"u:http://a.example:443/x")

    def test_case(self):
        self.assertEqual(keys.url_dep("HTTP://WWW.Example.COM/Path/X"),
                         b"u:http://www.example.com:80/Path/X")

    def test_percent_encoded_utf8(self):
        want = b"u:http://h:80/caf\xc3\xa9/\xe6\x97\xa5 x+y"
        self.assertEqual(keys.url_dep("http://h/caf%C3%A9/%E6%97%A5%20x+y"),
                         want)
        self.assertEqual(keys.url_dep("http://h/caf%c3%a9/%e6%97%a5%20x+y"),
                         want)
        self.assertEqual(keys.url_dep("http://h/caf\u00e9/\u65e5 x+y"), want)
        self.assertEqual(keys.url_dep(b"http://h/caf\xc3\xa9/%E6%97%A5 x+y"),
                         want)

    def test_query_and_fragment_dropped(self):
        self.assertEqual(keys.url_dep("http://h/p?a=1&b=2#frag"),
                         b"u:http://h:80/p")
        self.assertEqual(keys.url_dep("http://h/p?"), b"u:http://h:80/p")
        self.assertEqual(keys.url_dep("http://h/p%3Fx"), b"u:http://h:80/p?x")

    def test_empty_path_is_root(self):
        self.assertEqual(keys.url_dep("http://h"), b"u:http://h:80/")
        self.assertEqual(keys.url_dep("http://h?x=1"), b"u:http://h:80/")

    def test_host_forms(self):
        self.assertEqual(keys.url_dep("http://user:pw@H.example:81/"),
                         b"u:http://h.example:81/")
        self.assertEqual(keys.url_dep("http://h.example./"),
                         b"u:http://h.example:80/")
        self.assertEqual(keys.url_dep("http://[2001:DB8::1]:8080/x"),
                         b"u:http://2001:db8::1:8080/x")
        self.assertEqual(keys.url_dep("https://[::1]/"),
                         b"u:https://::1:443/")

    def test_path_normalised_like_httpd(self):
        self.assertEqual(keys.url_dep("http://h/a//b/./c/../d"),
                         b"u:http://h:80/a/b/d")
        self.assertEqual(keys.url_dep("http://h/a/%2e%2E/b"),
                         b"u:http://h:80/b")
        self.assertEqual(keys.url_dep("http://h/a/b/.."), b"u:http://h:80/a/")
        self.assertEqual(keys.url_dep("http://h/../../x"), b"u:http://h:80/x")
        self.assertEqual(keys.url_dep("http://h/a/"), b"u:http://h:80/a/")
        # an encoded slash is data, not a separator, until decoded
        self.assertEqual(keys.url_dep("http://h/a%2F..%2Fb"),
                         b"u:http://h:80/a/../b")

    def test_bad_urls(self):
        for url in ["/relative", "example.com/x", "http:///x", "ftp://h/x",
                    "http://h:0/", "http://h:99999/", "http://h:x/",
                    "http://a:b:c/", "http://[::1/", "http://h/%00"]:
            with self.subTest(url=url):
                with self.assertRaises(ValueError):
                    keys.url_dep(url)
        self.assertEqual(keys.url_dep("ftp://h:21/x"), b"u:ftp://h:21/x")


class Tags(unittest.TestCase):
    def test_valid(self):
        for tag in ["post-5", "a", "x" * 128, "!~", "a:b/c?d=e&f",
                    b"bytes-tag", "".join(chr(c) for c in range(0x21, 0x7F))[:128]]:
            with self.subTest(tag=tag):
                self.assertTrue(keys.valid_tag(tag))

    def test_invalid(self):
        for tag in ["", "x" * 129, "post 5", "a\tb", "a\nb", "a\x7f",
                    "caf\u00e9", b"\x80", "\x00", None, 5]:
            with self.subTest(tag=tag):
                self.assertFalse(keys.valid_tag(tag))
                if isinstance(tag, (str, bytes)):
                    with self.assertRaises(ValueError):
                        keys.tag_dep(tag)

    def test_deps(self):
        self.assertEqual(keys.tag_dep("post-5"), b"t:post-5")
        self.assertEqual(keys.namespace_dep("blog"), b"n:blog")
        self.assertEqual(keys.counter_key("site-1", keys.namespace_dep("blog")),
                         "site-1:g:e4b9d0bf83a942d8ceed014d29c82659287ec2f7")

    def test_prefix(self):
        self.assertTrue(keys.valid_prefix("sc"))
        self.assertTrue(keys.valid_prefix("p" * 64))
        self.assertFalse(keys.valid_prefix("p" * 65))
        self.assertFalse(keys.valid_prefix("a b"))
        self.assertFalse(keys.valid_prefix(""))


class Doctests(unittest.TestCase):
    def test_docstring_examples(self):
        import doctest
        import sharedcache
        for module in (keys, sharedcache):
            result = doctest.testmod(module)
            self.assertEqual(result.failed, 0, module.__name__)


if __name__ == "__main__":
    unittest.main()
