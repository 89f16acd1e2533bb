from .base import *  # noqa: F403

SECRET_KEY = "test-secret"
ALLOWED_HOSTS = ["*"]
DATABASES = {"default": database_from_env(":memory:")}  # noqa: F405
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    DATABASES["default"]["OPTIONS"]["init_command"] = "PRAGMA busy_timeout=5000;"
    DATABASES["default"]["TEST"] = {"NAME": ":memory:"}
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}  # noqa: F405
MEDIA_ROOT = VAR_DIR / "test-media"  # noqa: F405
WAGTAILADMIN_BASE_URL = "http://testserver"
STATIC_ROOT = None
WHITENOISE_USE_FINDERS = True
# Local disk whatever the shell says: a developer's BYLINE_MEDIA_BUCKET must not receive the suite's files.
STORAGES["default"] = {"BACKEND": "django.core.files.storage.FileSystemStorage"}  # noqa: F405
