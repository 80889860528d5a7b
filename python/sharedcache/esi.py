"""ESI includes for mod_sharedcache (SharedCacheESI On).

A page asks the module to assemble it by answering
``Surrogate-Control: content="ESI/1.0"``; where it wants a fragment it
writes ``<esi:include src="/fragments/user-box/"/>``.  The module fetches
each include as a subrequest, cached under its own <Location> rules
(per-user, tagged, its own TTL).  ``sharedcache.django`` (a template tag
and the middleware) and ``sharedcache.flask`` (``esi_include``) do both.

Requests that pass through the module carry
``Surrogate-Capability: <name>="ESI/1.0"``; without it (the development
server, a test client) nobody would assemble the page, and the helpers
render the fragment in place instead.
"""

import html

__all__ = ["include_tag", "surrogate_can_esi", "mark_esi", "surrogate_merge",
           "in_place_marks"]

ESI_CONTENT = 'content="ESI/1.0"'


def include_tag(src, alt=None, onerror_continue=False):
    """The <esi:include/> element for src: a local path of this site
    ("/fragments/x/?a=1"; the module refuses anything else)."""
    for name, value in (("src", src), ("alt", alt)):
        if value is None and name == "alt":
            continue
        if (not isinstance(value, str) or not value.startswith("/")
                or value.startswith("//")):
            raise ValueError(f"esi include {name}={value!r}: a local path "
                             "starting with one '/' is needed")
    out = f'<esi:include src="{html.escape(src, quote=True)}"'
    if alt:
        out += f' alt="{html.escape(alt, quote=True)}"'
    if onerror_continue:
        out += ' onerror="continue"'
    return out + "/>"


def surrogate_can_esi(capability):
    """Does a Surrogate-Capability header value offer ESI/1.0?"""
    return bool(capability) and "ESI/1.0" in capability


def surrogate_merge(existing, directive):
    """Surrogate-Control with directive added (once)."""
    if not existing:
        return directive
    names = [d.strip().split("=", 1)[0].lower() for d in existing.split(",")]
    if directive.split("=", 1)[0].lower() in names:
        return existing
    return f"{existing}, {directive}"


def mark_esi(headers):
    """Add content="ESI/1.0" to a response's Surrogate-Control (headers: a
    mapping with get and item assignment)."""
    headers["Surrogate-Control"] = surrogate_merge(
        headers.get("Surrogate-Control"), ESI_CONTENT)


NARROW_HEADER = "X-SharedCache-Vary"


def _directives(value):
    """A cache-control header's directives: {name: value or None}."""
    return {d.strip().split("=", 1)[0].strip().lower():
            (d.split("=", 1)[1].strip() if "=" in d else None)
            for d in (value or "").split(",") if d.strip()}


def _joined(value, name):
    return ", ".join(filter(None, [value, name]))


def _narrowed(get):
    """The cookies X-SharedCache-Vary narrows a Vary: Cookie to, or None
    (every cookie: absent, or not only cookie=NAME items)."""
    value = get(NARROW_HEADER)
    if not value:
        return None
    names = set()
    for item in value.split(","):
        kind, _, name = item.strip().partition("=")
        if kind.strip().lower() != "cookie" or not name.strip():
            return None
        names.add(name.strip())
    return names


def _cookie_narrowing(page, fragment):
    """The page's X-SharedCache-Vary once the fragment's Vary: Cookie
    joins it: the union of both narrowings, None where either varies on
    every cookie (a page that varied on no cookie takes the fragment's)."""
    if "cookie" not in _directives(fragment("Vary")):
        return page(NARROW_HEADER)
    theirs = _narrowed(fragment)
    if "cookie" not in _directives(page("Vary")):
        return ", ".join("cookie=" + n for n in sorted(theirs)) \
            if theirs else None
    mine = _narrowed(page)
    if mine is None or theirs is None:
        return None
    extra = sorted(theirs - mine)
    return ", ".join(filter(None, [page(NARROW_HEADER)]
                            + ["cookie=" + n for n in extra]))


def in_place_marks(page, fragment, failed=False):
    """What a page holding a fragment rendered in place takes of it:
    {header: new value, or None to remove it} for the page, from two
    header getters (name -> value or None).  The fragment's Vary names
    (a narrowing of Vary: Cookie, X-SharedCache-Vary, widens to hold
    the fragment's); its private, no-store and no-cache in Cache-Control,
    Surrogate-Control and CDN-Cache-Control; a shorter Surrogate-Control
    max-age where the page has one.  A fragment that failed (raised, or
    answered an error) keeps the page out of the cache: what it would
    have said is unknown, and another visitor may get it whole."""
    out = {}
    narrowing = _cookie_narrowing(page, fragment)
    if narrowing != page(NARROW_HEADER):
        out[NARROW_HEADER] = narrowing
    names = [v.strip() for v in (fragment("Vary") or "").split(",")
             if v.strip()]
    vary = page("Vary")
    for name in names:
        if name.lower() not in _directives(vary):
            vary = _joined(vary, name)
    if vary != page("Vary"):
        out["Vary"] = vary
    for header in ("Cache-Control", "Surrogate-Control", "CDN-Cache-Control"):
        value = page(header)
        for name in ("private", "no-store", "no-cache"):
            if name in _directives(fragment(header)) \
                    and name not in _directives(value):
                value = _joined(value, name)
        if value != page(header):
            out[header] = value
    if failed and "no-store" not in _directives(
            out.get("Surrogate-Control", page("Surrogate-Control"))):
        out["Surrogate-Control"] = _joined(
            out.get("Surrogate-Control", page("Surrogate-Control")),
            "no-store")
    surrogate = out.get("Surrogate-Control", page("Surrogate-Control"))
    mine = _directives(surrogate).get("max-age")
    theirs = _directives(fragment("Surrogate-Control")).get("max-age")
    if mine and theirs and mine.isdigit() and theirs.isdigit() \
            and int(theirs) < int(mine):
        out["Surrogate-Control"] = ", ".join(
            "max-age=" + theirs if d.strip().lower().startswith("max-age")
            else d.strip() for d in surrogate.split(","))
    return out
