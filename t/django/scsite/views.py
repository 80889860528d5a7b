"""Views that show who is asking: a cache that mixes users shows it."""
import uuid

from django.conf import settings
from django.contrib.auth import authenticate, login
from django.http import HttpResponse, HttpResponseForbidden
from django.shortcuts import render
from django.views.decorators.cache import never_cache


def record(request):
    with open(settings.RENDERS, "a") as f:
        f.write(request.path_info + "?" + request.META.get("QUERY_STRING", "")
                + "\n")


def name_of(request):
    user = request.user
    return user.username if user.is_authenticated else "anonymous"


def login_view(request):
    user = authenticate(request, username=request.GET.get("user"),
                        password="pw")
    if user is None:
        return HttpResponseForbidden("no such user")
    login(request, user)
    return HttpResponse("logged in as %s\n" % user.username)


def whoami(request):
    record(request)
    return render(request, "whoami.html",
                  {"name": name_of(request), "token": uuid.uuid4().hex})


def form(request):
    record(request)
    return render(request, "form.html",
                  {"name": name_of(request), "token": uuid.uuid4().hex})


def account(request, rest=""):
    """Anything under /account...: a logged-in page whatever it ends with
    (web cache deception: /account/x.css is not a stylesheet)."""
    record(request)
    return HttpResponse("<p>account of %s</p><p>render %s</p>\n"
                        % (name_of(request), uuid.uuid4().hex))


@never_cache
def contact(request):
    """A public form with a CSRF token, as the Django recipe says: the
    token is the visitor's own, so the page is never shared."""
    record(request)
    return render(request, "form.html",
                  {"name": name_of(request), "token": uuid.uuid4().hex})
