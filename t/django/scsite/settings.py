"""Settings of the Django site the mod_sharedcache suite runs under mod_wsgi."""
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
# The harness copies this site to <testdir>/django; renders are logged
# beside the plain test app's, in <testdir>/app/renders.log.
RENDERS = BASE_DIR.parent / "app" / "renders.log"

SECRET_KEY = "test-only-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["*"]
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "blog.apps.BlogConfig",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    # As in every startproject: it also sets Content-Length.
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]
ROOT_URLCONF = "scsite.urls"
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3",
                         "NAME": BASE_DIR / "db.sqlite3"}}
TEMPLATES = [{"BACKEND": "django.template.backends.django.DjangoTemplates",
              "DIRS": [BASE_DIR / "templates"]}]
# Fast hashing: the suite logs users in many times.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
USE_TZ = True

# The harness writes local_settings.py with SHAREDCACHE_SERVERS (the test
# memcached) and puts the repository's python/ on the path.
try:
    from .local_settings import *  # noqa: F401,F403
except ImportError:
    pass
