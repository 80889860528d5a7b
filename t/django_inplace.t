# {% esi_include %} where the page's location has ESI off (the module
# removes Surrogate-Capability there) renders the fragment in place, in
# the page.  The fragment is then the page's: what it used of the request
# (a CSRF form fragment's token) and what its response says (Vary,
# Set-Cookie, private) mark the page.  Before, the in-place view ran on a
# copy of request.META: Django never learnt the token was used, the page
# had no Set-Cookie and no Vary: Cookie, and one visitor's CSRF secret
# was stored and served to everyone (outside attack round 103).  The
# README's Django recipe with ESI on for /blog only, as its ESI example.
# With a real ESI include (/blog/) the fragment is a subrequest and the
# page is never stored with it.  An include inside an in-place fragment
# marks the page too (round 104).
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
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import include, path
from django.views.decorators.cache import cache_control
from sharedcache.django import esi_fragment

def page(request):
    return render(request, "page.html", {"r": uuid.uuid4().hex})

@esi_fragment(seconds=60)
def form_frag(request):
    return render(request, "formfrag.html", {})

def outer(request):
    return render(request, "outer.html", {})

@cache_control(private=True)
def private(request):
    return HttpResponse("WHO[%s]" % request.META["REMOTE_ADDR"])

def nested(request):
    return render(request, "nested.html", {})

urlpatterns = [
    path("about", page),
    path("blog/", page),
    path("fragments/form", form_frag),
    path("fragments/outer", outer),
    path("fragments/private", private),
    path("nested", nested),
    path("", include("scsite.urls")),
]
PY
    'tpl/page.html' => qq{{% load sharedcache %}<h1>page {{ r }}</h1>\n<div>{% esi_include "/fragments/form" %}</div>\n},
    'tpl/outer.html' => qq{{% load sharedcache %}<p>{% esi_include "/fragments/private" %}</p>},
    'tpl/nested.html' => qq{{% load sharedcache %}<h1>nested</h1>{% esi_include "/fragments/outer" %}\n},
    'tpl/formfrag.html' => qq{<form method="post">{% csrf_token %}<input name="q"></form>},
);
{
    my $pyfiles = join '', map { my $t = $files{$_}; $t =~ s/\\/\\\\/g; $t =~ s/"""/\\"\\"\\"/g; "    \"$_\": \"\"\"$t\"\"\",\n" } sort keys %files;
    $settings = "SC_FILES = {\n$pyfiles}\n" . $settings;
}
my $mc = SCTest::Memcached->start;
my $sc = 'On';
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
    SharedCacheIgnoreQuery utm_* fbclid gclid
</Location>
<Location /blog>
    SharedCacheESI On
</Location>
<Location /fragments/form>
    SharedCacheVaryByCookie csrftoken
</Location>
CONF

my @c = ('a'..'z', 'A'..'Z', '0'..'9');
my %ix; @ix{@c} = 0 .. $#c;
sub unmask {   # Django 3.2 _unmask_cipher_token
    my ($t) = @_;
    return '' unless defined $t && length $t == 64;
    my ($m, $x) = (substr($t, 0, 32), substr($t, 32));
    return join '', map { $c[($ix{substr($x,$_,1)} - $ix{substr($m,$_,1)}) % 62] } 0 .. 31;
}
sub tok { my ($b) = @_; $b =~ /name="csrfmiddlewaretoken" value="([^"]+)"/ ? $1 : '' }

# the victim: an anonymous visitor who already has a CSRF cookie (any form)
my $victim_cookie = join '', map { $c[int rand 62] } 1 .. 64;
my $victim_secret = unmask($victim_cookie);

for my $page ('/about', '/blog/') {
    my $v = $ap->get($page, Cookie => "csrftoken=$victim_cookie; _ga=GA1.2.3");
    note("$page victim: $v->{status} $v->{cache} vary=" . ($v->{headers}{vary} // '-'));
    is(unmask(tok($v->{body})), $victim_secret, "$page: victim's form carries the victim's secret");
    for my $i (1 .. 2) {
        my $a = $ap->raw(GET => $page, _from => '127.0.0.5');
        note("$page attacker: $a->{status} " . ($a->{headers}{'x-sharedcache'} // ''));
        isnt(unmask(tok($a->{body})), $victim_secret,
             "$page: an anonymous attacker does not get the victim's CSRF secret ($i)");
    }
}

# an include inside a fragment rendered in place marks the page too: a
# private fragment two levels down keeps the page out (outside attack
# round 104)
my $first = $ap->raw(GET => '/nested', _from => '127.0.0.5');
like($first->{body}, qr/WHO\[127\.0\.0\.5\]/, 'nested: the first visitor gets its fragment');
for my $i (1 .. 2) {
    my $r = $ap->raw(GET => '/nested', _from => '127.0.0.6');
    like($r->{body}, qr/WHO\[127\.0\.0\.6\]/,
         "nested: another visitor gets its own ($i, " . ($r->{headers}{'x-sharedcache'} // '') . ")");
}
$ap->stop;
done_testing;
