# Django fragments rendered in place (the page's location has ESI off)
# with a real site under mod_wsgi: a fragment is asked for whole, never
# with the page's conditions (an If-None-Match: * made an @etag fragment
# answer 304 and an empty fragment was stored in the page for everyone);
# a streamed page, whose headers leave before the fragments in it are
# rendered, is never stored where fragments render in place (a private
# fragment in it was stored with SharedCacheRequireLength Off).  Outside
# attack round 106.  SC_OFF=1 runs the same with SharedCache Off.
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
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.template import loader
from django.urls import include, path
from django.views.decorators.cache import cache_control
from django.views.decorators.http import etag, last_modified
import datetime

@etag(lambda request: '"v1"')
def latest(request):
    return HttpResponse("LATEST[post-1 post-2]")

@last_modified(lambda request: datetime.datetime(2020, 1, 1))
def latest_lm(request):
    return HttpResponse("LATESTLM[post-1 post-2]")

def condpage(request):
    return render(request, "cond.html", {"r": uuid.uuid4().hex})

def condpage_lm(request):
    return render(request, "condlm.html", {"r": uuid.uuid4().hex})

@cache_control(private=True)
def private(request):
    return HttpResponse("WHO[%s]" % request.META["REMOTE_ADDR"])

def stream(request):
    t = loader.get_template("stream.html")
    def gen():
        yield "<h1>stream</h1>"
        yield t.render({}, request)
    return StreamingHttpResponse(gen())

urlpatterns = [
    path("r/cond", condpage),
    path("r/condlm", condpage_lm),
    path("s/stream", stream),
    path("fragments/latest", latest),
    path("fragments/latest_lm", latest_lm),
    path("fragments/private", private),
    path("", include("scsite.urls")),
]
PY
    'tpl/cond.html' => qq{{% load sharedcache %}<h1>page</h1>\n<div>{% esi_include "/fragments/latest" %}</div>\n},
    'tpl/condlm.html' => qq{{% load sharedcache %}<h1>page</h1>\n<div>{% esi_include "/fragments/latest_lm" %}</div>\n},
    'tpl/stream.html' => qq{{% load sharedcache %}<div>{% esi_include "/fragments/private" %}</div>\n},
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
    SharedCacheVaryByCookie sessionid
</Location>
<Location /s>
    SharedCacheRequireLength Off
</Location>
CONF
sub show { my ($r) = @_; join ' ', $r->{status}, ($r->{headers}{'x-sharedcache'} // '-'), 'vary=' . ($r->{headers}{vary} // '-'), 'cc=' . ($r->{headers}{'cache-control'} // '-') }

# A: a conditional request makes the in-place fragment answer 304: the page
# keeps an empty fragment, stored for everyone
for my $c (['/r/cond', 'If-None-Match' => '*', qr/LATEST\[/],
           ['/r/condlm', 'If-Modified-Since' => 'Fri, 01 Jan 2038 00:00:00 GMT', qr/LATESTLM\[/]) {
    my ($p, $h, $v, $re) = @$c;
    my $a = $ap->raw(GET => $p, $h => $v, _from => '127.0.0.5');
    note("$p attacker: " . show($a) . " " . $a->{body});
    for my $i (1 .. 2) {
        my $b = $ap->raw(GET => $p, _from => '127.0.0.6');
        note("$p victim: " . show($b) . " " . $b->{body});
        like($b->{body}, $re, "$p: a plain visitor gets the fragment ($i)");
    }
}
# B: streaming page (SharedCacheRequireLength Off) with a private fragment
{
    my $a = $ap->raw(GET => '/s/stream', _from => '127.0.0.5');
    note("stream .5: " . show($a) . " $a->{body}");
    for my $i (1 .. 2) {
        my $b = $ap->raw(GET => '/s/stream', _from => '127.0.0.6');
        note("stream .6: " . show($b) . " $b->{body}");
        unlike($b->{body}, qr/127\.0\.0\.5/, "stream: .6 does not get .5's private fragment ($i)");
    }
}
$ap->stop;
done_testing;
