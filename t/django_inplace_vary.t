# Django fragments rendered in place (the page's location has ESI off)
# with a real site under mod_wsgi: a page that narrows its Vary: Cookie
# (X-SharedCache-Vary: cookie=sessionid) holding a fragment that varies
# on every cookie, or on its own (cart), widens its narrowing; a fragment
# that raises (Http404 for a language it refuses) keeps the page's answer
# out of the cache.  Before, one visitor's cart fragment was served to
# everyone and one request could store a 404 for every visitor (outside
# attack round 105).  SC_OFF=1 runs the same with SharedCache Off.
use strict;
use warnings;
use Test::More;
use SCTest;

my $settings;
$settings = <<'PY';
import sys as _sys, pathlib as _pl
_h = str(_pl.Path(__file__).resolve().parent.parent / "inplace")
_sys.path.insert(0, _h)
(_pl.Path(_h) / "tpl").mkdir(parents=True, exist_ok=True)
for _n, _t in SC_FILES.items():
    _f = _pl.Path(_h) / _n
    if not _f.exists():
        _f.write_text(_t)
ROOT_URLCONF = "inplace_urls"
TEMPLATES = [{"BACKEND": "django.template.backends.django.DjangoTemplates",
              "DIRS": [_h + "/tpl"]}]
INSTALLED_APPS = ["django.contrib.auth", "django.contrib.contenttypes",
                  "django.contrib.sessions", "django.contrib.messages",
                  "blog.apps.BlogConfig", "sharedcache"]
MIDDLEWARE = [
    "sharedcache.django.SharedCacheMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
PY
my %files = (
    'inplace_urls.py' => <<'PY',
import uuid
from django.http import HttpResponse, Http404, StreamingHttpResponse
from django.shortcuts import render
from django.template import loader
from django.urls import include, path
from django.views.decorators.cache import cache_control
from django.views.decorators.vary import vary_on_cookie, vary_on_headers

def narrowed(request):
    r = render(request, "cart.html", {"r": uuid.uuid4().hex})
    r["X-SharedCache-Vary"] = "cookie=sessionid"
    return r

def plain(request):
    return render(request, "cart.html", {"r": uuid.uuid4().hex})

@vary_on_cookie
def cart(request):
    r = HttpResponse("CART[%s]" % request.COOKIES.get("cart", "empty"))
    return r

@vary_on_cookie
def cart_narrow(request):
    r = HttpResponse("CART[%s]" % request.COOKIES.get("cart", "empty"))
    r["X-SharedCache-Vary"] = "cookie=cart"
    return r

def narrowed2(request):
    r = render(request, "cart2.html", {"r": uuid.uuid4().hex})
    r["X-SharedCache-Vary"] = "cookie=sessionid"
    return r

@vary_on_headers("Accept-Language")
def maybe_lang(request):
    lang = request.META.get("HTTP_ACCEPT_LANGUAGE", "en")
    if lang not in ("en", "de", "fr"):
        raise Http404("no such language")
    return HttpResponse("GREETING[%s]" % lang)

def raising_lang(request):
    return render(request, "raise2.html", {})

@cache_control(private=True)
def maybe(request):
    if request.META["REMOTE_ADDR"] == "127.0.0.5":
        raise Http404("not for you")
    return HttpResponse("OK[%s]" % request.META["REMOTE_ADDR"])

def raising(request):
    return render(request, "raise.html", {})

@cache_control(private=True)
def private(request):
    return HttpResponse("WHO[%s]" % request.META["REMOTE_ADDR"])

def stream(request):
    t = loader.get_template("stream.html")
    def gen():
        yield "<h1>stream</h1>"
        yield t.render({}, request)
    return StreamingHttpResponse(gen())

@vary_on_headers("Accept-Language")
def lang(request):
    return HttpResponse("LANG[%s]" % request.META.get("HTTP_ACCEPT_LANGUAGE"))

def langpage(request):
    return render(request, "lang.html", {})

def sess(request):
    return HttpResponse("SESS[%s]" % request.session.get("x", "none"))

def sesspage(request):
    return render(request, "sess.html", {})

urlpatterns = [
    path("xv/narrowed", narrowed),
    path("xv/narrowed2", narrowed2),
    path("xv/plain", plain),
    path("r/raise", raising),
    path("r/raise2", raising_lang),
    path("fragments/maybe2", maybe_lang),
    path("r/stream", stream),
    path("r/lang", langpage),
    path("r/sess", sesspage),
    path("fragments/cart", cart),
    path("fragments/cart2", cart_narrow),
    path("fragments/maybe", maybe),
    path("fragments/private", private),
    path("fragments/lang", lang),
    path("fragments/sess", sess),
    path("", include("scsite.urls")),
]
PY
    'tpl/cart.html' => qq{{% load sharedcache %}<h1>page {{ r }}</h1>\n<div>{% esi_include "/fragments/cart" %}</div>\n},
    'tpl/cart2.html' => qq{{% load sharedcache %}<h1>page {{ r }}</h1>\n<div>{% esi_include "/fragments/cart2" %}</div>\n},
    'tpl/raise.html' => qq{{% load sharedcache %}<h1>raise</h1>\n<div>{% esi_include "/fragments/maybe" %}</div>\n},
    'tpl/raise2.html' => qq{{% load sharedcache %}<h1>raise2</h1>\n<div>{% esi_include "/fragments/maybe2" %}</div>\n},
    'tpl/stream.html' => qq{{% load sharedcache %}<div>{% esi_include "/fragments/private" %}</div>\n},
    'tpl/lang.html' => qq{{% load sharedcache %}<div>{% esi_include "/fragments/lang" %}</div>\n},
    'tpl/sess.html' => qq{{% load sharedcache %}<div>{% esi_include "/fragments/sess" %}</div>\n},
);
{
    my $pyfiles = join '', map { my $t = $files{$_}; $t =~ s/\\/\\\\/g; $t =~ s/"""/\\"\\"\\"/g; "    \"$_\": \"\"\"$t\"\"\",\n" } sort keys %files;
    $settings = "SC_FILES = {\n$pyfiles}\n" . $settings;
}
my $mc = SCTest::Memcached->start;
my $sc = $ENV{SC_OFF} ? 'Off' : 'On';
my $ap = SCTest::Apache->start(memcached => [$mc], django => 1,
    django_mounts => 0, django_settings => $settings,
    conf => <<"CONF");
WSGIDaemonProcess djapp processes=2 threads=8 python-path=\@DIR\@/django display-name=sc-django
<Directory \@DIR\@/django/scsite>
    Require all granted
</Directory>
WSGIScriptAlias / \@DIR\@/django/scsite/wsgi.py process-group=djapp application-group=%{GLOBAL}
<Location />
    SharedCache $sc
    SharedCacheTTL 300
    SharedCacheBypassCookie sessionid messages
</Location>
<Location /r>
    SharedCacheVaryByCookie sessionid
</Location>
CONF
sub show { my ($r) = @_; join ' ', $r->{status}, ($r->{headers}{'x-sharedcache'} // '-'), 'vary=' . ($r->{headers}{vary} // '-'), 'cc=' . ($r->{headers}{'cache-control'} // '-') }

# H: X-SharedCache-Vary on the page narrows the fragment's Vary: Cookie away
for my $p ('/xv/plain', '/xv/narrowed', '/xv/narrowed2') {
    my $a = $ap->raw(GET => $p, Cookie => 'cart=ALICE-SECRET-ORDER', _from => '127.0.0.5');
    note("$p alice: " . show($a) . " " . ($a->{body} =~ /(CART\[[^\]]*\])/)[0]);
    for my $i (1 .. 2) {
        my $b = $ap->raw(GET => $p, Cookie => 'cart=BOB', _from => '127.0.0.6');
        note("$p bob: " . show($b) . " " . ($b->{body} =~ /(CART\[[^\]]*\])/)[0]);
        unlike($b->{body}, qr/ALICE/, "$p: bob does not get alice's cart ($i)");
        my $c = $ap->raw(GET => $p, _from => '127.0.0.7');
        note("$p carol: " . show($c) . " " . ($c->{body} =~ /(CART\[[^\]]*\])/)[0]);
        unlike($c->{body}, qr/ALICE/, "$p: carol (no cookie) does not get alice's cart ($i)");
    }
}

# fragment raising Http404 for one visitor
{
    my $a = $ap->raw(GET => '/r/raise', _from => '127.0.0.5');
    note("raise .5: " . show($a));
    for my $i (1 .. 2) {
        my $b = $ap->raw(GET => '/r/raise', _from => '127.0.0.6');
        note("raise .6: " . show($b) . " " . substr($b->{body}, 0, 80));
        is($b->{status}, 200, "raise: another visitor gets its page ($i)");
    }
}
# attacker-chosen Accept-Language makes the fragment raise Http404
{
    my $a = $ap->raw(GET => '/r/raise2', 'Accept-Language' => 'xx', _from => '127.0.0.5');
    note("raise2 attacker: " . show($a));
    for my $i (1 .. 2) {
        my $b = $ap->raw(GET => '/r/raise2', 'Accept-Language' => 'de', _from => '127.0.0.6');
        note("raise2 victim de: " . show($b) . " " . ($b->{body} =~ /(GREETING\[\w+\]|Not Found)/)[0]);
        is($b->{status}, 200, "raise2: a visitor whose language works gets the page ($i)");
    }
}
# streaming page with a private fragment
{
    my $a = $ap->raw(GET => '/r/stream', _from => '127.0.0.5');
    note("stream .5: " . show($a) . " $a->{body}");
    for my $i (1 .. 2) {
        my $b = $ap->raw(GET => '/r/stream', _from => '127.0.0.6');
        note("stream .6: " . show($b) . " $b->{body}");
        unlike($b->{body}, qr/127\.0\.0\.5/, "stream: .6 does not get .5's fragment ($i)");
    }
}
# Vary: Accept-Language
{
    my $a = $ap->raw(GET => '/r/lang', 'Accept-Language' => 'de', _from => '127.0.0.5');
    note("lang de: " . show($a) . " $a->{body}");
    for my $i (1 .. 2) {
        my $b = $ap->raw(GET => '/r/lang', 'Accept-Language' => 'fr', _from => '127.0.0.6');
        note("lang fr: " . show($b) . " $b->{body}");
        unlike($b->{body}, qr/LANG\[de\]/, "lang: fr does not get de ($i)");
    }
}
{
    my $a = $ap->raw(GET => '/r/sess', _from => '127.0.0.5');
    note("sess: " . show($a) . " $a->{body}");
}
$ap->stop;
done_testing;
