# Run: python3 t/unit/gen_vectors.py > t/unit/vectors.txt
#      python3 t/unit/gen_vectors.py deps > t/unit/dep_vectors.txt
#      python3 t/unit/gen_vectors.py place > t/unit/place_vectors.txt
# Independent computation of mod_sharedcache key vectors (from the spec in
# src/sc_key.h, not from the C code).
import fnmatch, hashlib, sys, urllib.parse

def query(q, ignore):
    if not q:
        return b""
    params = []
    plain = b";" not in q
    for i, p in enumerate(q.split(b"&")):
        if not p:
            continue
        # names compare as applications decode them; a ';' keeps a
        # parameter in the key whatever its name
        raw = p.split(b"=", 1)[0]
        name = urllib.parse.unquote_to_bytes(raw.replace(b"+", b" "))
        if b";" not in p and b"\0" not in name and any(
                fnmatch.fnmatchcase(name.decode('latin-1'), g.decode('latin-1')) for g in ignore):
            continue
        # sorted only when every parser reads the same names
        plain = plain and all(chr(c).isascii() and (chr(c).isalnum() or c in b"_-") for c in raw)
        params.append((name, i, p))
    if plain:
        params.sort(key=lambda t: (t[0], t[1]))
    return b"&".join(p for _, _, p in params)

def field(b):
    return str(len(b)).encode() + b":" + b + b"\n"

def canonical(scheme, host, port, path, q, ignore, variance):
    qq = query(q, ignore)
    origin = scheme + b"://" + host + b":" + str(port).encode()
    out = b"SCK2\n" + field(origin) + field(path) + field(qq)
    for kind, name, value in variance:
        if value is None:
            out += field(kind + b":" + name)
        else:
            value = hashlib.sha1(value).hexdigest().encode()
            out += field(kind + b":" + name + b"=" + value)
    return out

def esc(b):
    out = []
    for c in b:
        if c == 0x5c: out.append("\\\\")
        elif c == 9: out.append("\\t")
        elif c == 10: out.append("\\n")
        elif c == 13: out.append("\\r")
        elif 0x20 <= c < 0x7f: out.append(chr(c))
        else: out.append("\\x%02x" % c)
    return "".join(out)

vectors = [
    (b"sc", b"http", b"example.com", 80, b"/", None, [], []),
    (b"sc", b"https", b"shop.example.org", 443, b"/search",
     b"q=caf%C3%A9&utm_source=news&b=2&&a=1&b=1&utm_medium=mail&fbclid=XYZ&",
     [b"utm_*", b"fbclid"], [(b"c", b"sessionid", b"abc123"), (b"s", b"vhost", b"shop.example.org:443")]),
    (b"site-1", b"http", b"h", 8080, b"/a\nb/\xc3\xa9 x\\y", b"", [],
     [(b"h", b"accept-language", None), (b"h", b"x-empty", b""), (b"c", b"v", b"a=b\n3:c:x")]),
    (b"sc", b"http", b"example.com", 80, b"/p", b"a=1&b=2", [b"*"], []),
    (b"sc", b"http", b"example.com", 80, b"/p", None, [], []),
    (b"p" * 64, b"http", b"example.com", 8443, b"/1:2/3", b"z&y=&x=1&y=0", [],
     [(b"u", b"user", b"alice"), (b"u", b"user2", None)]),
    # names sort as applications decode them; a ';' keeps an ignored one
    (b"sc", b"http", b"example.com", 80, b"/q",
     b"status=2&%73tatus=1&a+b=3&a%20a=4&%75tm_id=5&utm_source=x;cb=1&utm_x=y",
     [b"utm_*"], []),
    (b"sc", b"http", b"example.com", 80, b"/q", b"page_id=7&page.id=1", [], []),
    (b"sc", b"http", b"example.com", 80, b"/q", b"b=2&a=1&utm_x=1", [b"utm_*"], []),
]

def entry_vectors():
    print("# mod_sharedcache canonical key test vectors, shared by t/unit/test_key.c")
    print("# and the Python helper.  Computed independently of the C code (python3")
    print("# hashlib/fnmatch from the rules in src/sc_key.h).")
    print("#")
    print("# Lines starting with '#' and empty lines are ignored.  A vector is one line")
    print("# of TAB-separated fields, at least 9:")
    print("#   1 prefix      2 scheme    3 host    4 port (decimal)")
    print("#   5 path        6 query: '-' = absent (NULL); a literal '-' is written \\x2d")
    print("#   7 ignore: globs separated by ',' (empty field = none)")
    print("#   8 canonical key: the exact bytes of sc_key_bytes()")
    print("#   9 digest: sc_key_digest(prefix, 'e', canonical key)")
    print("#   10... variance fields in order, 'K:name=value', or 'K:name' when the")
    print("#         value is absent (NULL); K is one letter, name holds no '='.")
    print("#         The key holds 'K:name=' + sha1 hex of the value.")
    print("# Every field is escaped: \\\\ \\t \\n \\r \\xHH (lowercase hex); the file is")
    print("# ASCII, any other byte is written \\xHH.  Split on TAB (and the ignore field")
    print("# on ',') first, then unescape; in Python:")
    print("#   codecs.escape_decode(field.encode('ascii'))[0]")
    for (pre, sch, host, port, path, q, ign, var) in vectors:
        c = canonical(sch, host, port, path, q, ign, var)
        d = pre + b":e:" + hashlib.sha1(c).hexdigest().encode()
        cols = [esc(pre), esc(sch), esc(host), str(port), esc(path),
                "-" if q is None else esc(q), ",".join(esc(g) for g in ign),
                esc(c), esc(d)]
        for k, n, v in var:
            cols.append(esc(k + b":" + n) if v is None else esc(k + b":" + n + b"=" + v))
        print("\t".join(cols))


# ---- dependency (generation counter) vectors: t/unit/dep_vectors.txt ----
def dep_vectors():
    """Lines: prefix, dependency name (escaped), memcached key of its
    counter.  URL dependencies: u:<scheme>://<host>:<port><path>."""
    deps = [
        (b"sc", b"t:post-5"),
        (b"sc", b"t:comments-5"),
        (b"sc", b"n:default"),
        (b"site-1", b"n:blog"),
        (b"sc", b"u:http://example.com:80/blog/post/5"),
        (b"sc", b"u:https://shop.example.org:443/caf\xc3\xa9 menu"),
    ]
    out = ["# mod_sharedcache generation counter vectors (see gen_vectors.py):",
           "# prefix TAB dependency TAB memcached key; escaped as vectors.txt"]
    for pre, dep in deps:
        key = pre + b":g:" + hashlib.sha1(dep).hexdigest().encode()
        out.append("\t".join([esc(pre), esc(dep), esc(key)]))
    return "\n".join(out) + "\n"


# ---- placement vectors: t/unit/place_vectors.txt ----
def place(servers, group):
    """Rendezvous hashing as src/sc_place.h states it."""
    best, at = -1, 0
    for i, name in enumerate(servers):
        s = int.from_bytes(hashlib.sha1(name + b"\n" + group).digest()[:8],
                           "big")
        if s > best:
            best, at = s, i
    return at


def place_vectors():
    """Lines: servers (space separated), group, index of its server."""
    sets = [
        [b"127.0.0.1:11211"],
        [b"127.0.0.1:11211", b"127.0.0.1:11212"],
        [b"127.0.0.1:11211", b"127.0.0.1:11212", b"127.0.0.1:11213"],
        [b"mc1.example:11211", b"mc2.example:11211", b"/run/memcached.sock",
         b"[::1]:11211"],
    ]
    out = ["# mod_sharedcache placement vectors (see gen_vectors.py and",
           "# src/sc_place.h): servers (space separated) TAB group TAB index",
           "# of the server that holds the group's keys"]
    for servers in sets:
        for n in range(12):
            dep = b"u:http://example.com:80/page/%d" % n
            group = b"sc:g:" + hashlib.sha1(dep).hexdigest().encode()
            out.append("\t".join([" ".join(s.decode() for s in servers),
                                  group.decode(),
                                  str(place(servers, group))]))
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    if sys.argv[1:] == ["deps"]:
        sys.stdout.write(dep_vectors())
    elif sys.argv[1:] == ["place"]:
        sys.stdout.write(place_vectors())
    else:
        entry_vectors()
