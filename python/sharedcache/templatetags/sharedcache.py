"""{% load sharedcache %} {% esi_include "/fragments/user-box/" %}

Add "sharedcache" to INSTALLED_APPS and
"sharedcache.django.SharedCacheMiddleware" first in MIDDLEWARE (it marks
the page for the module).  See sharedcache.django.esi_include.
"""

from django import template
from django.utils.safestring import mark_safe

from sharedcache import django as _scd

register = template.Library()


@register.simple_tag(takes_context=True)
def esi_include(context, src, alt=None, onerror=None):
    """An ESI include of src (a local path); onerror="continue" leaves it
    out when it fails.  Needs a template rendered with its request
    (render(request, ...), a RequestContext)."""
    request = getattr(context, "request", None) or context.get("request")
    if request is None:
        raise template.TemplateSyntaxError(
            "esi_include needs the request in the template context")
    return mark_safe(_scd.esi_include(request, src, alt=alt,
                                      onerror_continue=onerror == "continue"))
