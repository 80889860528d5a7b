"""Invalidate mod_sharedcache entries from Python (Django, Flask, scripts).

mod_sharedcache (an Apache httpd module) caches whole pages in memcached.
Every tag, URL and namespace has a *generation counter* in memcached; an
entry records the counters it was stored under and is served only while
they are unchanged.  This package increments those counters, computing
their memcached keys exactly as the module does (``sharedcache.keys``)::

    import sharedcache

    sharedcache.invalidate("post-5")          # every page tagged post-5
    sharedcache.invalidate("post-5", "home")  # several tags at once
    sharedcache.purge("https://example.com/blog/")   # a URL, all queries
    sharedcache.flush("blog")                 # a SharedCacheNamespace

Pages get their tags from the ``Surrogate-Key`` response header
(``Surrogate-Key: post-5 comments-5``); ``sharedcache.django`` and
``sharedcache.flask`` add it for you.  Instead of calling
``invalidate()``, a response may also carry
``X-SharedCache-Invalidate: post-5``: the module increments the counters
itself (see ``invalidate_in_response`` in those modules).

The module-level functions use a default client configured, in this
order, from Django settings (``SHAREDCACHE_SERVERS``,
``SHAREDCACHE_PREFIX``, ``SHAREDCACHE_TIMEOUT``) when Django is in use,
else the environment variables of the same names, else the module's
defaults (``127.0.0.1:11211``, ``sc``, 100 ms).  They must match the
server's ``SharedCacheServers`` and ``SharedCachePrefix``: a URL's
counter is on the server that rendezvous hashing of the servers' names
picks for it (``keys.place``, as the module does), and tags' and
namespaces' counters have a copy on every server, so use the same names
("localhost" and "127.0.0.1" are different servers to it; the order does
not matter).  For anything else, make a client::

    client = sharedcache.Client("10.0.0.5:11211 10.0.0.6:11211",
                                prefix="site1", timeout_ms=200)
    client.invalidate("post-5")       # -> number of counters that existed

A counter that does not exist means no cached entry depends on it: there
is nothing to invalidate and nothing is created.  When a memcached server
that holds a copy cannot be reached, the other copies are still
invalidated and ``SharedCacheError`` is raised (after at most about the
timeout), naming the servers (its ``unreachable`` attribute lists them):
invalidation never fails silently.

Clients hold no connection between calls: they are safe to share between
threads and across ``fork()``.
"""

import contextlib
import os
import sys
import threading

from . import keys
from .keys import valid_tag

__all__ = [
    "Client", "SharedCacheError", "invalidate", "purge", "flush",
    "default_client", "set_default_client", "parse_servers", "valid_tag",
    "merge_tags", "flatten_tags", "keys",
]

DEFAULT_SERVERS = "127.0.0.1:11211"
DEFAULT_PREFIX = "sc"
DEFAULT_TIMEOUT_MS = 100
DEFAULT_NAMESPACE = "default"


class SharedCacheError(Exception):
    """memcached could not be reached or refused an operation.
    unreachable: the servers (as in Client.servers) that failed."""

    unreachable = ()


# ---- servers ----------------------------------------------------------

def parse_servers(servers):
    """Server specifications as ``SharedCacheServers`` takes them, in the
    pylibmc form, in order.

    servers: a string of specifications separated by spaces, tabs or
    commas, or a list of such strings.  Each is ``host``, ``host:port``,
    ``[ipv6]``, ``[ipv6]:port`` or ``/path/to/unix.sock``; the port
    defaults to 11211.

    >>> parse_servers("127.0.0.1, [::1]:11212 /run/memcached.sock")
    ['127.0.0.1:11211', '[::1]:11212', '/run/memcached.sock']
    """
    if isinstance(servers, (str, bytes)):
        servers = [servers]
    tokens = []
    for item in servers:
        if isinstance(item, bytes):
            item = item.decode("utf-8")
        tokens.extend(item.replace(",", " ").split())
    out = []
    for tok in tokens:
        if tok.startswith("/"):
            out.append(tok)
            continue
        host, port = tok, "11211"
        if tok.startswith("["):
            end = tok.find("]")
            if end < 0:
                raise ValueError("%r: bad address" % tok)
            host, rest = tok[1:end], tok[end + 1:]
            if rest:
                if not rest.startswith(":"):
                    raise ValueError("%r: bad address" % tok)
                port = rest[1:]
            if not host:
                raise ValueError("%r: missing host" % tok)
        elif ":" in tok:
            host, _, port = tok.partition(":")
            if ":" in port:
                raise ValueError("%r: write IPv6 addresses as [addr]:port"
                                 % tok)
        if not port.isdigit() or not 1 <= int(port) <= 65535:
            raise ValueError("%r: bad port" % tok)
        if not host:
            raise ValueError("%r: missing host" % tok)
        if ":" in host:
            out.append("[%s]:%d" % (host, int(port)))
        else:
            out.append("%s:%d" % (host, int(port)))
    if not out:
        raise ValueError("no memcached server given")
    return out


# ---- tags ---------------------------------------------------------------

def flatten_tags(tags):
    """Tags as a list of str: each item of tags is a tag (str or bytes) or
    an iterable of tags; duplicates are dropped, order kept.  Raises
    ValueError for an invalid tag (see keys.valid_tag).

    >>> flatten_tags(["post-5", ("comments-5", "post-5")])
    ['post-5', 'comments-5']
    """
    out = []
    seen = set()
    for item in tags:
        if isinstance(item, (str, bytes)):
            group = [item]
        elif hasattr(item, "__iter__"):
            group = item
        else:
            raise TypeError("a tag must be a str, not %s"
                            % type(item).__name__)
        for tag in group:
            if isinstance(tag, bytes):
                tag = tag.decode("ascii", "surrogateescape")
            if not isinstance(tag, str):
                raise TypeError("a tag must be a str, not %s"
                                % type(tag).__name__)
            if not valid_tag(tag):
                raise ValueError(
                    "invalid tag %r: 1 to %d printable ASCII characters, "
                    "no spaces" % (tag, keys.TAG_MAX))
            if tag not in seen:
                seen.add(tag)
                out.append(tag)
    return out


def merge_tags(existing, tags):
    """A header value holding the space-separated tags of existing (a
    header value or None) followed by the new tags, without duplicates.

    >>> merge_tags("post-5 home", ["home", "comments-5"])
    'post-5 home comments-5'
    """
    words = existing.split() if existing else []
    seen = set(words)
    for tag in flatten_tags(tags):
        if tag not in seen:
            seen.add(tag)
            words.append(tag)
    return " ".join(words)


# ---- client -------------------------------------------------------------

def _pylibmc():
    # Imported when first needed: the key functions work without it.
    import pylibmc
    return pylibmc


class Client:
    """Increments mod_sharedcache's generation counters in memcached.

    >>> client = Client(["127.0.0.1:11211"], prefix="sc")    # doctest: +SKIP
    >>> client.invalidate("post-5", "comments-5")            # doctest: +SKIP
    1

    servers: as SharedCacheServers (string or list, see parse_servers);
    None means 127.0.0.1:11211.  prefix: SharedCachePrefix.  timeout_ms:
    connect and I/O timeout, like SharedCacheTimeout.

    memcached is reached with pylibmc (libmemcached, the library the
    module uses) configured as the module configures it (text protocol),
    one server at a time: a URL's counter on the server keys.place picks
    for it, a tag's or namespace's copy on every server, where the module
    looks for them, provided the servers are written as in
    SharedCacheServers.  A failed server is never replaced by another
    (keys are not rehashed): the call raises SharedCacheError instead.
    """

    def __init__(self, servers=None, prefix=DEFAULT_PREFIX,
                 timeout_ms=DEFAULT_TIMEOUT_MS):
        _pylibmc()                       # fail early when it is missing
        self.servers = parse_servers(servers if servers is not None
                                     else DEFAULT_SERVERS)
        if not keys.valid_prefix(prefix):
            raise ValueError("invalid prefix %r: 1 to %d printable ASCII "
                             "characters, no spaces"
                             % (prefix, keys.PREFIX_MAX))
        self.prefix = prefix if isinstance(prefix, str) else prefix.decode()
        timeout_ms = int(timeout_ms)
        if not 1 <= timeout_ms <= 60000:
            raise ValueError("timeout_ms must be 1 to 60000")
        self.timeout_ms = timeout_ms
        self.behaviors = {
            "tcp_nodelay": True,
            "no_block": True,
            "verify_keys": True,
            "connect_timeout": timeout_ms,             # milliseconds
            "_poll_timeout": timeout_ms,               # milliseconds
            "send_timeout": timeout_ms * 1000,         # microseconds
            "receive_timeout": timeout_ms * 1000,      # microseconds
            "remove_failed": 0,
            "auto_eject": False,
        }

    def __repr__(self):
        return "Client(%r, prefix=%r, timeout_ms=%r)" % (
            self.servers, self.prefix, self.timeout_ms)

    @contextlib.contextmanager
    def _connection(self, server):
        # A connection per call (about 60 us on loopback): invalidation is
        # rare, and nothing is then shared between threads or with a
        # forked child, and no late reply can be read as the answer to a
        # later command after an error.
        pylibmc = _pylibmc()
        try:
            mc = pylibmc.Client([self.servers[server]], binary=False,
                                behaviors=self.behaviors)
        except pylibmc.Error as e:
            raise SharedCacheError("cannot use memcached %s: %s: %s" % (
                self.servers[server], type(e).__name__, e)) from e
        try:
            yield mc
        finally:
            try:
                mc.disconnect_all()
            except Exception:
                pass

    def counter_key(self, dependency):
        """The memcached key of a dependency's counter (bytes or str,
        e.g. keys.tag_dep("post-5"))."""
        return keys.counter_key(self.prefix, dependency)

    def servers_of(self, dependency):
        """The indexes in self.servers of the servers that hold a copy of
        a dependency's counter: a URL's on the server of the URL's keys,
        a tag's or namespace's on every server."""
        dependency = keys._b(dependency, "dependency")
        if dependency.startswith(keys.DEP_URL.encode("ascii") + b":"):
            return [keys.place(self.servers, self.counter_key(dependency))]
        return list(range(len(self.servers)))

    def _apply(self, dependency, command):
        """Run command ("incr" or "delete") on every copy of a
        dependency's counter.  Returns (existed, failures)."""
        pylibmc = _pylibmc()
        key = self.counter_key(dependency)
        existed, failures = False, []
        for server in self.servers_of(dependency):
            try:
                with self._connection(server) as mc:
                    if command == "incr":
                        mc.incr(key, 1)
                        existed = True
                    else:
                        existed = bool(mc.delete(key)) or existed
            except pylibmc.NotFound:
                pass
            except (pylibmc.Error, SharedCacheError) as e:
                failures.append((self.servers[server], e))
        return existed, failures

    def _run(self, command, dependencies):
        count, failures = 0, []
        for d in dependencies:
            existed, failed = self._apply(d, command)
            count += existed
            failures += [(d, server, e) for server, e in failed]
        if failures:
            unreachable = sorted({server for _, server, _ in failures})
            self._fence_marks(unreachable)
            d, server, e = failures[0]
            if isinstance(d, bytes):
                d = d.decode("utf-8", "backslashreplace")
            error = SharedCacheError(
                "cannot %s the counter of %s (%s) on memcached %s "
                "(unreachable: %s): %s: %s"
                % ("increment" if command == "incr" else "delete", d,
                   self.counter_key(d), server, " ".join(unreachable),
                   type(e).__name__, e))
            error.unreachable = unreachable
            raise error
        return count

    def _fence_marks(self, unreachable):
        """Leave a fence mark for each unreachable server on every other
        server (as sharedcachectl and the module do): before the module
        reads such a server again it drops every entry stored there before
        (README, "A server that comes back")."""
        pylibmc = _pylibmc()
        token = os.urandom(12).hex()
        for i, name in enumerate(self.servers):
            if name in unreachable:
                continue
            try:
                with self._connection(i) as mc:
                    for down in unreachable:
                        mc.set(self.counter_key(b"m:" + down.encode()), token)
            except (pylibmc.Error, SharedCacheError):
                pass

    def bump(self, *dependencies):
        """Increment dependencies' counters (bytes such as
        keys.tag_dep("post-5")), every copy of each.  Returns how many
        existed (a missing counter means nothing depends on it; it is not
        created).  Raises SharedCacheError, naming the servers, when a
        server that holds a copy fails; the copies on the others are
        incremented all the same."""
        return self._run("incr", dependencies)

    def invalidate(self, *tags):
        """Invalidate every entry tagged with any of tags (each a tag or
        an iterable of tags).  Returns how many of the tags' counters
        existed.  Raises ValueError, before touching memcached, when a tag
        is invalid (1 to 128 printable ASCII characters, no spaces).

        >>> client.invalidate("post-5")                 # doctest: +SKIP
        1
        >>> client.invalidate(["post-5", "post-6"])     # doctest: +SKIP
        2
        """
        return self.bump(*[keys.tag_dep(tag) for tag in flatten_tags(tags)])

    def purge(self, url):
        """Invalidate every entry of a URL: all its queries and variants
        (keys.url_dep tells which part of the URL counts).  Hard, as the
        PURGE method: the URL's counter is deleted, so its entries are
        misses, never served STALE.  Returns True when the counter
        existed.  The port is the one httpd reports for the URL: behind
        a TLS-terminating proxy (ServerName https://HOST, no
        UseCanonicalName On) the port Apache listens on.

        >>> client.purge("https://example.com/blog/post/5")  # doctest: +SKIP
        True
        """
        return self._run("delete", [keys.url_dep(url)]) == 1

    def flush(self, namespace=DEFAULT_NAMESPACE):
        """Invalidate every entry of a namespace (SharedCacheNamespace;
        "default" unless configured): its counter's copy on every server.
        Returns True when a copy existed."""
        return self.bump(keys.namespace_dep(namespace)) == 1


# ---- default client -----------------------------------------------------

_default_lock = threading.Lock()
_default = {"explicit": None, "config": None, "client": None}


def _django_settings():
    mod = sys.modules.get("django.conf")
    if mod is None:
        return None
    settings = mod.settings
    try:
        if settings.configured or os.environ.get("DJANGO_SETTINGS_MODULE"):
            return settings
    except Exception:
        return None
    return None


def _config():
    settings = _django_settings()

    def get(name):
        if settings is not None:
            value = getattr(settings, name, None)
            if value is not None:
                return value
        value = os.environ.get(name)
        return value if value not in (None, "") else None

    servers = get("SHAREDCACHE_SERVERS") or DEFAULT_SERVERS
    prefix = get("SHAREDCACHE_PREFIX") or DEFAULT_PREFIX
    timeout = get("SHAREDCACHE_TIMEOUT") or DEFAULT_TIMEOUT_MS
    return (tuple(parse_servers(servers)), prefix, int(timeout))


def default_client():
    """The client the module-level functions use: the one given to
    set_default_client(), else one configured from Django settings or
    the environment (re-read at each call, so override_settings works)."""
    explicit = _default["explicit"]
    if explicit is not None:
        return explicit
    config = _config()
    with _default_lock:
        if _default["config"] != config:
            _default["client"] = Client(list(config[0]), prefix=config[1],
                                        timeout_ms=config[2])
            _default["config"] = config
        return _default["client"]


def set_default_client(client):
    """Use client (a Client, or None to go back to the configuration)
    for invalidate(), purge() and flush()."""
    _default["explicit"] = client


def invalidate(*tags):
    """Invalidate every entry tagged with any of tags; see
    Client.invalidate.

    >>> import sharedcache
    >>> sharedcache.invalidate("post-5", "comments-5")  # doctest: +SKIP
    2
    """
    return default_client().invalidate(*tags)


def purge(url):
    """Invalidate every entry of a URL; see Client.purge.

    >>> sharedcache.purge("http://example.com/blog/")   # doctest: +SKIP
    True
    """
    return default_client().purge(url)


def flush(namespace=DEFAULT_NAMESPACE):
    """Invalidate a whole namespace; see Client.flush.

    >>> sharedcache.flush()                              # doctest: +SKIP
    False
    """
    return default_client().flush(namespace)
