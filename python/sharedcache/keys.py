"""Cache keys exactly as mod_sharedcache computes them (``src/sc_key.c``).

Everything here is pure and works on bytes; ``str`` arguments are encoded
as UTF-8.  The test vectors in ``t/unit/vectors.txt`` and
``t/unit/dep_vectors.txt`` are shared with the module's C unit tests, so
both sides provably compute the same keys.

Canonical key of a page (what the module stores in each entry and hashes
into its memcached key)::

    >>> from sharedcache import keys
    >>> k = keys.canonical_key("http", "example.com", 80, "/blog", "b=2&a=1")
    >>> k
    b'SCK2\\n21:http://example.com:80\\n5:/blog\\n7:a=1&b=2\\n'
    >>> keys.digest("sc", "e", k)
    'sc:e:20d7ff00006fdf1b3fd9dded1d0d49cd56b575db'

Generation counters (DESIGN.md section 6): every tag, URL and namespace
has a counter in memcached; incrementing it invalidates every entry
stored under it::

    >>> keys.tag_dep("post-5")
    b't:post-5'
    >>> keys.counter_key("sc", keys.tag_dep("post-5"))
    'sc:g:8a6932121088845fd224eaa66964f38b1f9be644'
    >>> keys.url_dep("HTTP://Example.COM/caf%C3%A9?page=2")
    b'u:http://example.com:80/caf\\xc3\\xa9'
"""

import hashlib
import urllib.parse

__all__ = [
    "SCK_MAGIC", "TAG_MAX", "PREFIX_MAX", "KIND_ENTRY", "KIND_CHUNK",
    "KIND_LOCK", "KIND_GEN", "fnmatch", "query_string", "canonical_key",
    "variance_field", "digest", "entry_key", "dep", "tag_dep",
    "namespace_dep", "url_dep", "normalize_path", "counter_key",
    "valid_tag", "valid_prefix",
]

SCK_MAGIC = b"SCK2\n"
TAG_MAX = 128          # SC_TAG_MAX
PREFIX_MAX = 64        # SC_PREFIX_MAX

KIND_ENTRY = "e"       # an entry (or a Vary record)
KIND_CHUNK = "c"       # one chunk of a large body
KIND_LOCK = "l"        # fill lock of an entry
KIND_GEN = "g"         # generation counter of a tag/URL/namespace

DEP_URL = "u"
DEP_NAMESPACE = "n"
DEP_TAG = "t"

DEFAULT_PORTS = {b"http": 80, b"https": 443}


def _b(value, what="value"):
    """bytes of a str (UTF-8) or bytes-like value; C strings hold no NUL."""
    if isinstance(value, str):
        value = value.encode("utf-8", "surrogateescape")
    elif isinstance(value, (bytes, bytearray, memoryview)):
        value = bytes(value)
    else:
        raise TypeError("%s must be str or bytes, not %s"
                        % (what, type(value).__name__))
    if b"\0" in value:
        raise ValueError("%s contains a NUL byte" % what)
    return value


def _kind(kind):
    k = _b(kind, "kind")
    if len(k) != 1:
        raise ValueError("kind must be a single character: %r" % (kind,))
    return k


def _sha1_hex(data):
    return hashlib.sha1(data).hexdigest().encode("ascii")


# ---- apr_fnmatch(pattern, string, 0) ----------------------------------
#
# A line-by-line port of APR's strings/apr_fnmatch.c for flags 0 (what
# sc_key_query uses): case-sensitive, '\\' escapes, no special meaning for
# '/' or a leading '.', '[!...]' and '[^...]' negate, a '[' that does not
# start a well-formed bracket expression is an ordinary character, and
# ranges compare bytes as (signed) C chars.  Python's fnmatch differs
# (no escapes, no '[^...]'), hence this port.

_NOMATCH = 1


def _signed(c):
    return c - 256 if c >= 128 else c


def _fnmatch_ch(p, pi, s, si):
    """fnmatch_ch(): match one pattern unit at p[pi] against s[si].
    Returns (result, pi, si) with result 0 on a match; p and s end with
    NUL padding, like C strings."""
    mismatch = pi
    result = _NOMATCH

    if p[pi] == 0x5B:                                   # '['
        pi += 1
        negate = 1 if p[pi] in (0x21, 0x5E) else 0      # '!' or '^'
        if negate:
            pi += 1
        leading_close = p[pi] == 0x5D                   # ']'
        while leading_close or p[pi]:
            if not leading_close:
                if p[pi] == 0x5D:
                    pi += 1
                    si += 1
                    return (result ^ negate, pi, si)
                if p[pi] == 0x5C:                       # '\\'
                    pi += 1
                    if not p[pi]:
                        break
            leading_close = False
            if p[pi + 1] == 0x2D and p[pi + 2] != 0x5D:  # "x-y" range
                startch = p[pi]
                pi += 3 if p[pi + 2] == 0x5C else 2
                if not p[pi]:
                    break
                if _signed(startch) <= _signed(s[si]) <= _signed(p[pi]):
                    result = 0
                pi += 1
                continue
            if s[si] == p[pi]:
                result = 0
            pi += 1
        # Not a properly balanced [expr]: test '[' as a literal.
        pi = mismatch
        result = _NOMATCH
    elif p[pi] == 0x3F:                                 # '?'
        if not s[si]:
            return (_NOMATCH, pi, si)
        return (0, pi + 1, si + 1)
    elif p[pi] == 0x5C and p[pi + 1]:
        pi += 1

    if s[si] == p[pi]:
        result = 0
    if not s[si] or not p[pi]:
        return (result, pi, si)
    return (result, pi + 1, si + 1)


def fnmatch(pattern, name):
    """True when name matches the glob like apr_fnmatch(pattern, name, 0).

    >>> fnmatch("utm_*", "utm_source"), fnmatch("utm_*", "UTM_source")
    (True, False)
    >>> fnmatch("[^a]b", "xb"), fnmatch("a\\\\*", "a*"), fnmatch("a\\\\*", "ab")
    (True, True, False)
    """
    p = _b(pattern, "pattern") + b"\0\0\0"
    s = _b(name, "name") + b"\0\0\0"
    pi = si = 0
    strendseg = s.index(0)
    strstartseg = mismatch = 0
    matchlen = 0

    while p[pi]:
        while p[pi] and (si < strendseg or (p[pi] == 0x2A and si == strendseg)):
            # Reduce groups of '*' and '?' to n '?' matches then one '*'.
            wild = False
            while p[pi] in (0x2A, 0x3F):
                if p[pi] == 0x2A:
                    wild = True
                elif si < strendseg:
                    si += 1
                else:
                    return False
                pi += 1

            if wild:
                strstartseg = si
                mismatch = pi
                # Count fixed (non-'*') units left in the pattern.
                matchptr = pi
                matchlen = 0
                while True:
                    if not p[matchptr]:
                        # Compare exactly this many trailing string chars.
                        if si + matchlen > strendseg:
                            return False
                        si = strendseg - matchlen
                        wild = False
                        break
                    if p[matchptr] == 0x2A:
                        if si + matchlen > strendseg:
                            return False
                        break
                    if p[matchptr] == 0x5C and p[matchptr + 1]:
                        matchptr += 2
                    elif p[matchptr] == 0x5B:
                        _, matchptr, _ = _fnmatch_ch(p, matchptr, b" \0\0\0", 0)
                    else:
                        matchptr += 1
                    matchlen += 1

            while p[pi] and si < strendseg:
                if p[pi] == 0x2A:
                    break
                result, pi, si = _fnmatch_ch(p, pi, s, si)
                if result == 0:
                    continue
                if wild:
                    strstartseg += 1
                    si = strstartseg
                    if si + matchlen > strendseg:
                        return False
                    pi = mismatch
                    continue
                return False

        if s[si]:
            return False
        if p[pi]:
            return False

    return not s[si]


# ---- canonical key ----------------------------------------------------

def _decoded_name(name):
    """A parameter name as form decoders read it: '+' a blank, %XX a byte
    (malformed escapes left as they are)."""
    return urllib.parse.unquote_to_bytes(name.replace(b"+", b" "))


_PLAIN_NAME = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                        b"0123456789_-")


def query_string(query, ignore=()):
    """The query as sc_key_query() keys it: empty parameters dropped,
    those whose name (as applications decode it: '+' a blank, %XX a byte)
    matches a glob of ignore removed ("*" drops them all) unless they hold
    a ';' (a separator to some applications); the rest stably sorted by
    name (bytes order) only when the query holds no ';' and every name is
    letters, digits, '_' and '-', else left in order.  The parameters stay
    raw.  None -> b"".

    >>> query_string("utm_source=x&b=2&a=1&b=1", ["utm_*"])
    b'a=1&b=2&b=1'
    >>> query_string("utm_source=x;cb=1&%61=2&b=1", ["utm_*"])
    b'utm_source=x;cb=1&%61=2&b=1'
    """
    if query is None:
        return b""
    q = _b(query, "query")
    if not q:
        return b""
    globs = [_b(g, "ignore glob") for g in ignore or ()]
    params = []
    plain = b";" not in q
    for order, param in enumerate(q.split(b"&")):
        if not param:
            continue
        raw_name = param.split(b"=", 1)[0]
        name = _decoded_name(raw_name)
        if (globs and b";" not in param and b"\0" not in name
                and any(fnmatch(g, name) for g in globs)):
            continue
        plain = plain and all(c in _PLAIN_NAME for c in raw_name)
        params.append((name, order, param))
    if plain:
        params.sort(key=lambda t: (t[0], t[1]))
    return b"&".join(t[2] for t in params)


def _field(data):
    return str(len(data)).encode("ascii") + b":" + data + b"\n"


def variance_field(kind, name, value):
    """One variance field: b"<kind>:<name>=<sha1 hex of value>", or
    b"<kind>:<name>" when value is None (absent, distinct from "")."""
    head = _kind(kind) + b":" + _b(name, "variance name")
    if value is None:
        return head
    return head + b"=" + _sha1_hex(_b(value, "variance value"))


def canonical_key(scheme, host, port, path, query=None, ignore=(),
                  variance=()):
    """The canonical key as sc_key_init() and sc_key_add() build it.

    scheme, host: as httpd has them (host lower case, no port); port: an
    int; path: decoded, as the handler sees it; query: raw query string or
    None; ignore: SharedCacheIgnoreQuery globs; variance: (kind, name,
    value) tuples in the module's order, value None when absent.

    >>> canonical_key("https", "h", 443, "/", None, (), [("c", "sid", None)])
    b'SCK2\\n13:https://h:443\\n1:/\\n0:\\n5:c:sid\\n'
    """
    port = int(port)
    if not 0 <= port <= 0xFFFFFFFF:
        raise ValueError("bad port %r" % (port,))
    origin = (_b(scheme, "scheme") + b"://" + _b(host, "host") + b":"
              + str(port).encode("ascii"))
    out = [SCK_MAGIC, _field(origin), _field(_b(path, "path")),
           _field(query_string(query, ignore))]
    for kind, name, value in variance:
        out.append(_field(variance_field(kind, name, value)))
    return b"".join(out)


def digest(prefix, kind, data):
    """sc_key_digest(): "<prefix>:<kind>:<sha1 hex of data>" (a str).

    >>> digest("sc", "g", b"t:post-5")
    'sc:g:8a6932121088845fd224eaa66964f38b1f9be644'
    """
    return (_b(prefix, "prefix") + b":" + _kind(kind) + b":"
            + _sha1_hex(_b(data, "data"))).decode("ascii", "surrogateescape")


def entry_key(prefix, canonical):
    """The memcached key of an entry: digest(prefix, "e", canonical)."""
    return digest(prefix, KIND_ENTRY, canonical)


# ---- dependencies (generation counters) ------------------------------

def dep(kind, name):
    """sc_key_dep(): b"<kind>:<name>"."""
    return _kind(kind) + b":" + _b(name, "name")


def valid_tag(tag):
    """sc_key_tag_ok(): 1..128 bytes of printable ASCII, no space
    (0x21-0x7e).  str tags are encoded as UTF-8 first, so any non-ASCII
    character makes a tag invalid.

    >>> valid_tag("post-5"), valid_tag("post 5"), valid_tag(""), valid_tag("é")
    (True, False, False, False)
    """
    if isinstance(tag, str):
        tag = tag.encode("utf-8", "surrogateescape")
    elif not isinstance(tag, (bytes, bytearray)):
        return False
    return 1 <= len(tag) <= TAG_MAX and all(0x21 <= c <= 0x7E for c in tag)


def valid_prefix(prefix):
    """sc_key_prefix_ok(): 1..64 printable ASCII bytes, no whitespace."""
    if isinstance(prefix, str):
        prefix = prefix.encode("utf-8", "surrogateescape")
    elif not isinstance(prefix, (bytes, bytearray)):
        return False
    return (1 <= len(prefix) <= PREFIX_MAX
            and all(0x21 <= c <= 0x7E for c in prefix))


def tag_dep(tag):
    """b"t:<tag>"; ValueError unless valid_tag(tag)."""
    if not valid_tag(tag):
        raise ValueError("invalid tag %r: 1 to %d printable ASCII characters,"
                         " no spaces" % (tag, TAG_MAX))
    return dep(DEP_TAG, tag)


def namespace_dep(name):
    """b"n:<name>" (names follow the rules of tags)."""
    if not valid_tag(name):
        raise ValueError("invalid namespace %r: 1 to %d printable ASCII "
                         "characters, no spaces" % (name, TAG_MAX))
    return dep(DEP_NAMESPACE, name)


_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                        b"0123456789-._~")
_HEX = b"0123456789abcdefABCDEF"


def _decode_unreserved(path):
    out = bytearray()
    i = 0
    while i < len(path):
        if (path[i] == 0x25 and i + 2 < len(path)
                and path[i + 1] in _HEX and path[i + 2] in _HEX):
            c = int(path[i + 1:i + 3], 16)
            if c in _UNRESERVED:
                out.append(c)
                i += 3
                continue
        out.append(path[i])
        i += 1
    return bytes(out)


def normalize_path(path):
    """The path part of a URL as httpd turns it into r->uri with its
    default settings: percent-encoded unreserved characters decoded, "."
    and ".." segments resolved (never above the root), runs of slashes
    merged (MergeSlashes On), then every %XX decoded.  b"" becomes b"/".

    >>> normalize_path(b"/a//b/./c/%2e%2e/caf%C3%A9%20x")
    b'/a/b/caf\\xc3\\xa9 x'
    """
    path = _b(path, "path")
    if not path.startswith(b"/"):
        path = b"/" + path
    path = _decode_unreserved(path)
    segments = path.split(b"/")[1:]
    out = []
    for i, seg in enumerate(segments):
        last = i == len(segments) - 1
        if seg == b"." or seg == b"..":
            if seg == b".." and out:
                out.pop()
            if last:
                out.append(b"")        # "/a/." and "/a/b/.." end with '/'
        elif seg == b"" and not last:
            continue                   # merge slashes
        else:
            out.append(seg)
    path = b"/" + b"/".join(out)
    decoded = urllib.parse.unquote_to_bytes(path)
    if b"\0" in decoded:
        raise ValueError("path contains %00")
    return decoded


def _split_host_port(netloc):
    hostport = netloc.rpartition(b"@")[2]
    if hostport.startswith(b"["):
        end = hostport.find(b"]")
        if end < 0:
            raise ValueError("bad IPv6 address in %r" % (netloc,))
        host, rest = hostport[1:end], hostport[end + 1:]
        if rest and not rest.startswith(b":"):
            raise ValueError("bad host %r" % (netloc,))
        port = rest[1:] if rest else b""
    else:
        host, _, port = hostport.partition(b":")
        if b":" in port:
            raise ValueError("bad host %r (write IPv6 as [addr])" % (netloc,))
    return host, port


def url_dep(url):
    """The URL dependency purged by PURGE and purge():
    b"u:<scheme>://<host>:<port><path>" with the scheme and host in lower
    case (one trailing dot dropped, IPv6 without brackets, as httpd
    normalises the Host), the port explicit or the scheme's default (80,
    443), the path normalised and percent-decoded (normalize_path) and
    the query and fragment left out: purging a page purges all its
    queries and variants.

    >>> url_dep("https://Shop.Example.org:443/caf%C3%A9%20menu?x=1#top")
    b'u:https://shop.example.org:443/caf\\xc3\\xa9 menu'
    >>> url_dep("http://[::1]:8080")
    b'u:http://::1:8080/'
    """
    if isinstance(url, str):
        raw = url.encode("utf-8", "surrogateescape")
    else:
        raw = _b(url, "url")
    # latin-1 maps bytes to code points one to one: urlsplit sees bytes.
    parts = urllib.parse.urlsplit(raw.decode("latin-1"))
    scheme = parts.scheme.lower().encode("latin-1")
    netloc = parts.netloc.encode("latin-1")
    if not scheme or not netloc:
        raise ValueError("not an absolute URL: %r" % (url,))
    host, port = _split_host_port(netloc)
    host = host.lower()
    if host.endswith(b".") and b":" not in host:
        host = host[:-1]
    if not host:
        raise ValueError("no host in %r" % (url,))
    if port:
        if not port.isdigit() or not 1 <= int(port) <= 65535:
            raise ValueError("bad port in %r" % (url,))
        port = int(port)
    elif scheme in DEFAULT_PORTS:
        port = DEFAULT_PORTS[scheme]
    else:
        raise ValueError("no port in %r and no default port for %r"
                         % (url, scheme.decode("ascii", "replace")))
    return (DEP_URL.encode("ascii") + b":" + scheme + b"://" + host + b":"
            + str(port).encode("ascii")
            + normalize_path(parts.path.encode("latin-1")))


def counter_key(prefix, dependency):
    """The memcached key of a dependency's generation counter:
    digest(prefix, "g", dependency)."""
    return digest(prefix, KIND_GEN, dependency)


def place(servers, group):
    """The index in servers of the memcached server that holds the keys of
    group (the memcached key of a URL's counter): rendezvous hashing, as
    src/sc_place.h states it.  servers: names as written in
    SharedCacheServers ("host:port", or a socket path)."""
    group = _b(group, "group")
    best, at = -1, 0
    for i, name in enumerate(servers):
        score = int.from_bytes(
            hashlib.sha1(_b(name, "server") + b"\n" + group).digest()[:8],
            "big")
        if score > best:
            best, at = score, i
    return at
