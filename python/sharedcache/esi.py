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

__all__ = ["include_tag", "surrogate_can_esi", "mark_esi", "surrogate_merge"]

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
