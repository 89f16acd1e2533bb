"""Settings shared by every environment. Environment variables override what differs between machines."""

import os
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(os.environ.get("BYLINE_VAR_DIR", BASE_DIR / "var"))


def env_list(name, default=""):
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


SECRET_KEY = os.environ.get("SECRET_KEY", "")
DEBUG = False
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "demo",
    "partners",
    "corrections",
    "accounts",
    "images",
    "jobs",
    "stories",
    "appeals",
    "republish",
    "tracking",
    "verify",
    "wire",
    "wagtail.contrib.forms",
    "wagtail.contrib.redirects",
    "wagtail.contrib.settings",
    "wagtail.contrib.sitemaps",
    "wagtail.embeds",
    "wagtail.sites",
    "wagtail.users",
    "wagtail.snippets",
    "wagtail.documents",
    "wagtail.images",
    "wagtail.search",
    "wagtail.admin",
    "wagtail",
    "modelcluster",
    "taggit",
    "django_tasks",
    "django_tasks_db",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.sitemaps",
    "csp",  # only for its system checks: the middleware is byline.csp's
]

MIDDLEWARE = [
    "byline.guards.NulPathGuard",
    "django.middleware.security.SecurityMiddleware",
    "byline.csp.PathCSPMiddleware",  # Content-Security-Policy: see CONTENT_SECURITY_POLICY
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "wagtail.contrib.redirects.middleware.RedirectMiddleware",
    "byline.guards.AdminAPIFindGuard",
]

ROOT_URLCONF = "byline.urls"
WSGI_APPLICATION = "byline.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "byline" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "wagtail.contrib.settings.context_processors.settings",
                "stories.context_processors.newsroom",
            ],
        },
    },
]


def database_from_env(default_sqlite_path):
    """DATABASE_URL picks PostgreSQL at scale; the embedded default is SQLite in WAL mode."""
    url = os.environ.get("DATABASE_URL")
    # Connections are kept between requests: opening one (and, for SQLite, its PRAGMAs) cost about
    # 2.5 ms a request, a sixth of an uncached story page.
    conn_max_age = int(os.environ.get("CONN_MAX_AGE", "60"))
    database = dj_database_url.parse(url, conn_max_age=conn_max_age) if url else {
        "ENGINE": "django.db.backends.sqlite3", "NAME": default_sqlite_path, "CONN_MAX_AGE": conn_max_age,
    }
    database["CONN_HEALTH_CHECKS"] = True
    if database["ENGINE"] == "django.db.backends.sqlite3":  # also when DATABASE_URL names an SQLite file
        database["OPTIONS"] = {
            # WAL lets readers go on while one writer commits; IMMEDIATE avoids "database is locked"
            # when a read transaction later tries to write.
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000;",
            "transaction_mode": "IMMEDIATE",
        }
    return database


DATABASES = {"default": database_from_env(VAR_DIR / "byline.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]


def cache_from_env():
    url = os.environ.get("CACHE_URL") or os.environ.get("REDIS_URL")
    if url and url.startswith(("redis://", "rediss://")):
        # A Redis host that stops answering (rather than refusing) would hold each page and /healthz for the
        # system's TCP timeout: two seconds, then the page cache passes the request on to Django.
        return {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": url, "KEY_PREFIX": "byline",
                "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 2, "SOCKET_TIMEOUT": 2}}
    # The file cache is shared by every process on the machine, so a purge from the admin reaches
    # the web workers without any extra service.
    return {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache", "LOCATION": str(VAR_DIR / "cache")}


CACHES = {"default": cache_from_env()}

LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("TIME_ZONE", "America/New_York")
USE_I18N = True
USE_TZ = True
# Our date formats (byline/formats/en/formats.py) in place of Django's "Dec. 6, 2026".
FORMAT_MODULE_PATH = ["byline.formats"]

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "byline" / "static"]


def media_storage_from_env():
    """Where uploads, image renditions and documents go. Local disk (MEDIA_ROOT) suits one host; with
    BYLINE_MEDIA_BUCKET every host reads and writes one S3-compatible bucket, so a picture uploaded through one
    host, or a rendition one host made on first request, is there for all of them."""
    bucket = os.environ.get("BYLINE_MEDIA_BUCKET")
    if not bucket:
        return {"BACKEND": "django.core.files.storage.FileSystemStorage"}
    options = {
        "bucket_name": bucket,
        "location": os.environ.get("BYLINE_MEDIA_LOCATION", "").strip("/"),
        # A newsroom's pictures are public, so by default their URLs are the bucket's plain ones. Signed URLs
        # differ at every rendering and expire (after an hour): a page kept by the page cache or a CDN would
        # soon show broken images, and browsers could never reuse a picture they already have.
        "querystring_auth": os.environ.get("BYLINE_MEDIA_QUERYSTRING_AUTH", "0") == "1",
        # boto3 would sign URLs the old way (SigV2) in most regions, which R2, Garage and newer AWS buckets refuse.
        "signature_version": "s3v4",
        # S3Storage overwrites by default: a second upload named "photo.jpg" would replace the first one's file.
        "file_overwrite": False,
    }
    if endpoint := os.environ.get("BYLINE_MEDIA_ENDPOINT_URL"):
        # MinIO, Ceph, Garage and R2 all answer path-style URLs; bucket subdomains need DNS set up for them.
        options.update(endpoint_url=endpoint, addressing_style="path")
    if domain := os.environ.get("BYLINE_MEDIA_CUSTOM_DOMAIN"):
        scheme, _, host = domain.rpartition("://")  # "cdn.example.org" or "http://127.0.0.1:9000/media"
        options.update(custom_domain=host.strip("/"), url_protocol=f"{scheme or 'https'}:")
    # What is unset is left to django-storages and boto3: the AWS_* variables, then the instance's role.
    for option, variable in [
        ("region_name", "BYLINE_MEDIA_REGION"),
        ("access_key", "BYLINE_MEDIA_ACCESS_KEY_ID"),
        ("secret_key", "BYLINE_MEDIA_SECRET_ACCESS_KEY"),
    ]:
        if os.environ.get(variable):
            options[option] = os.environ[variable]
    return {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": options}


STORAGES = {
    "default": media_storage_from_env(),
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
# Local disk only: with a bucket, media URLs are built by the storage (its endpoint or custom domain).
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))
# Byline serves uploads on local disk unless a front server takes them over; a bucket serves its own.
SERVE_MEDIA = os.environ.get("BYLINE_SERVE_MEDIA", "0" if os.environ.get("BYLINE_MEDIA_BUCKET") else "1") == "1"

# Content-Security-Policy (django-csp; byline/csp.py sends it). Public pages run only our own static scripts:
# no inline script, so no nonce, and one header fit for every reader that the page cache (byline/edge.py) keeps
# with the page. JSON-LD (<script type="application/ld+json">) is data the browser never runs: CSP ignores it.
# Story bodies may embed these oEmbed providers only, and frame only the players they answer with.
from wagtail.embeds import oembed_providers  # noqa: E402

EMBED_PROVIDERS = {
    "youtube": ["https://www.youtube.com"],
    "vimeo": ["https://player.vimeo.com"],
    "soundcloud": ["https://w.soundcloud.com"],
    "spotify": ["https://open.spotify.com"],
}
WAGTAILEMBEDS_FINDERS = [{"class": "wagtail.embeds.finders.oembed",
                          "providers": [getattr(oembed_providers, name) for name in EMBED_PROVIDERS]}]
EMBED_FRAME_SOURCES = [host for hosts in EMBED_PROVIDERS.values() for host in hosts]


def csp_media_sources(storage):
    """Where pictures come from besides this site: the origin of the URLs the media storage builds (see
    media_storage_from_env), read from the same options."""
    if storage["BACKEND"] != "storages.backends.s3.S3Storage":
        return []  # local disk: /media/ on this site, 'self'
    options = storage["OPTIONS"]
    if options.get("custom_domain"):
        return [f"{options['url_protocol']}//{options['custom_domain'].split('/')[0]}"]
    if options.get("endpoint_url"):
        scheme, _, rest = options["endpoint_url"].partition("://")
        return [f"{scheme}://{rest.split('/')[0]}"]
    bucket = options["bucket_name"]
    if "." in bucket:  # boto3 addresses a dotted bucket path-style on the regional endpoint
        region = options.get("region_name")
        return [f"https://s3.{region}.amazonaws.com" if region else "https://s3.amazonaws.com"]
    return [f"https://{bucket}.s3.amazonaws.com"]


CSP_MEDIA_SOURCES = csp_media_sources(STORAGES["default"])
CONTENT_SECURITY_POLICY = {"DIRECTIVES": {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    # One style="" only: the handout pixel's (republish.handout.PIXEL_STYLE), which Chromium parses in our page
    # when the republish dialog copies the handout as text/html. byline/tests/test_csp.py checks the hash.
    "style-src-attr": ["'unsafe-hashes'", "'sha256-AWS+Hn9pGWFhdIGlWipE7XzRcYOg9DISfoQP7Z+ngNA='"],
    "img-src": ["'self'", "data:", *CSP_MEDIA_SOURCES],
    "frame-src": EMBED_FRAME_SOURCES,
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "form-action": ["'self'"],  # appeals link to the donation page (a redirect, not a form): nothing else
    "frame-ancestors": ["'none'"],  # no page is framed; Wagtail's previews are under /admin/
}}
# Wagtail's admin (and Django's) write inline <script> and style="" throughout and need 'unsafe-inline' for
# both; they are never cached. Previews frame the admin itself ('self'); the embed chooser shows the players;
# avatars come from Gravatar; the dashboard asks releases.wagtail.org for the latest version.
CSP_ADMIN_URL_PREFIXES = ["/admin/", "/django-admin/"]
CONTENT_SECURITY_POLICY_ADMIN = {"DIRECTIVES": {
    "default-src": ["'self'"],
    "script-src": ["'self'", "'unsafe-inline'"],
    "style-src": ["'self'", "'unsafe-inline'"],
    "img-src": ["'self'", "data:", "blob:", *CSP_MEDIA_SOURCES],
    "frame-src": ["'self'", *EMBED_FRAME_SOURCES],
    "connect-src": ["'self'", "https://releases.wagtail.org"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'self'"],
}}

WAGTAIL_SITE_NAME = os.environ.get("BYLINE_SITE_NAME", "Byline")
# The public address of the site: canonical links, feeds and handouts are built from it.
BYLINE_SITE_URL = os.environ.get("BYLINE_SITE_URL", "http://127.0.0.1:8000").rstrip("/")
WAGTAILADMIN_BASE_URL = os.environ.get("BYLINE_SITE_URL", "http://127.0.0.1:8000").rstrip("/")
# Avatars are the admin's initials: an avatar service would learn who works in the admin, and when.
WAGTAIL_GRAVATAR_PROVIDER_URL = None
WAGTAILIMAGES_IMAGE_MODEL = "images.BylineImage"
WAGTAILSEARCH_BACKENDS = {"default": {"BACKEND": "wagtail.search.backends.database"}}
WAGTAILDOCS_EXTENSIONS = ["csv", "docx", "key", "odt", "pdf", "pptx", "rtf", "txt", "xlsx", "zip"]
WAGTAIL_I18N_ENABLED = False

# Story pages: seconds a shared cache (our page cache, a CDN) may keep a rendered page.
STORY_CACHE_SECONDS = int(os.environ.get("BYLINE_STORY_CACHE_SECONDS", "300"))
# Seconds each web worker keeps its own copy before asking the shared cache again.
# Three: a page published in one process reaches readers of every other within 5 s (byline/tests/test_rehearsal.py).
EDGE_LOCAL_SECONDS = float(os.environ.get("BYLINE_EDGE_LOCAL_SECONDS", "3"))

def logging_from_env():
    """Plain lines on standard error by default; LOG_FORMAT=json sends every record (ours, Django's request
    and server logs, granian's in its workers) to standard output as one JSON object per line:
    {"time", "level", "logger", "message", "exception" when there is one, and any `extra` fields}."""
    log_format = os.environ.get("LOG_FORMAT", "plain").strip().lower() or "plain"
    if log_format not in ("plain", "json"):
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured(f"LOG_FORMAT must be 'plain' or 'json', not {log_format!r}.")
    config = {
        "version": 1,
        "disable_existing_loggers": False,
        "handlers": {"console": {"class": "logging.StreamHandler"}},
        "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
    }
    if log_format == "json":
        config["formatters"] = {"json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(levelname)s %(name)s %(message)s",
            "timestamp": "time",  # ISO 8601, UTC
            "rename_fields": {"levelname": "level", "name": "logger", "exc_info": "exception"},
        }}
        config["handlers"]["console"].update(formatter="json", stream="ext://sys.stdout")
        # Loggers that come with handlers of their own (Django's plain runserver lines and mail to admins,
        # granian's) hand their records to the root's JSON handler instead; their levels stay as they were.
        config["loggers"] = {
            name: {"handlers": [], "propagate": True}
            for name in ("django", "django.server", "_granian", "granian.access")
        }
    return config


LOGGING = logging_from_env()
# The page cache in front of Django (byline/edge.py); off in development so template edits show at once.
EDGE_CACHE = os.environ.get("BYLINE_EDGE_CACHE", "1") == "1"

# Counting readers (tracking/). Proxies whose X-Forwarded-For we believe: a comma list of addresses or networks.
TRUSTED_PROXIES = env_list("BYLINE_TRUSTED_PROXIES")
# Days raw pixel hits are kept after they have been counted; the hourly rollups are kept for good.
RAW_HIT_RETENTION_DAYS = int(os.environ.get("BYLINE_RAW_HIT_RETENTION_DAYS", "30"))
# Counted hits per visitor per minute before the rest are filtered as a reload loop or script.
PIXEL_RATE_CAP = int(os.environ.get("BYLINE_PIXEL_RATE_CAP", "30"))
# New copies (pages) of one story a day from one reader, and from one address block (/24, /48), before the
# rest are filtered as a copy flood (tracking.filters.CopyCap); 0 turns a limit off.
PIXEL_COPIES_PER_READER = int(os.environ.get("BYLINE_PIXEL_COPIES_PER_READER", "20"))
PIXEL_COPIES_PER_BLOCK = int(os.environ.get("BYLINE_PIXEL_COPIES_PER_BLOCK", "200"))
# Where the pixel journals each hit before answering (tracking.journal): a local disk, shared by every
# worker process on the host.
PIXEL_JOURNAL_DIR = Path(os.environ.get("BYLINE_PIXEL_JOURNAL_DIR", VAR_DIR / "pixel-journal"))
# Where nginx writes the pixel log it answers from, in the shape of deploy/nginx/pixel-log.conf
# (tracking.nginx_log; read by `manage.py ingest_pixel_log`).
PIXEL_LOG_DIR = Path(os.environ.get("BYLINE_PIXEL_LOG_DIR", VAR_DIR / "pixel-log"))
# /healthz fails when the log's reader has stored nothing nginx logged in this many seconds.
PIXEL_LOG_LAG_LIMIT = float(os.environ.get("BYLINE_PIXEL_LOG_LAG_LIMIT", "30"))
# ... and when the pixel log's disk has less room than this.
PIXEL_LOG_MIN_FREE_MB = int(os.environ.get("BYLINE_PIXEL_LOG_MIN_FREE_MB", "1024"))
# The name this host's journals carry (several pixel servers on one database tell their journals apart by it).
PIXEL_HOST_NAME = os.environ.get("BYLINE_PIXEL_HOST_NAME", "")
# Counting hits in the order they were received (tracking/counting.py): hits younger than this many seconds
# wait for the next run (a writer without a journal may still be committing some; hosts' clocks may differ);
# a pixel server silent for longer than the wait is no longer waited for.
COUNT_SETTLE_SECONDS = float(os.environ.get("BYLINE_COUNT_SETTLE_SECONDS", "10"))
COUNT_WAIT_SECONDS = float(os.environ.get("BYLINE_COUNT_WAIT_SECONDS", "120"))
# The one HTTP client for other people's servers (byline/fetch.py): private hosts it may fetch from anyway,
# e.g. "127.0.0.1" in tests or an intranet's picture server. The older names are read too.
FETCH_ALLOW_HOSTS = [*env_list("BYLINE_FETCH_ALLOW_HOSTS"), *env_list("BYLINE_VERIFY_ALLOW_HOSTS"),
                     *env_list("BYLINE_WIRE_ALLOW_HOSTS")]
# Checking republished copies (verify/).
VERIFY_INTERVAL_HOURS = float(os.environ.get("BYLINE_VERIFY_INTERVAL_HOURS", "24"))
VERIFY_HOST_INTERVAL = float(os.environ.get("BYLINE_VERIFY_HOST_INTERVAL", "2"))
VERIFY_CONNECT_TIMEOUT = float(os.environ.get("BYLINE_VERIFY_CONNECT_TIMEOUT", "5"))
VERIFY_TOTAL_TIMEOUT = float(os.environ.get("BYLINE_VERIFY_TOTAL_TIMEOUT", "15"))
VERIFY_MAX_BYTES = int(os.environ.get("BYLINE_VERIFY_MAX_BYTES", str(3 * 1024 * 1024)))
VERIFY_EVIDENCE_DAYS = float(os.environ.get("BYLINE_VERIFY_EVIDENCE_DAYS", "90"))
DISCOVER_INTERVAL_HOURS = float(os.environ.get("BYLINE_DISCOVER_INTERVAL_HOURS", "6"))
# Corrections reaching republished copies (corrections/): the outbox's lease on a message being sent (keep it
# well above the webhook timeout and EMAIL_TIMEOUT), how long a message is retried, the webhook's deadline,
# and when copies are checked again.
NOTICE_LEASE_SECONDS = float(os.environ.get("BYLINE_NOTICE_LEASE_SECONDS", "300"))
NOTICE_RETRY_HOURS = float(os.environ.get("BYLINE_NOTICE_RETRY_HOURS", "24"))
NOTICE_WEBHOOK_TIMEOUT = float(os.environ.get("BYLINE_NOTICE_WEBHOOK_TIMEOUT", "15"))
CORRECTION_CHECK_AFTER_HOURS = float(os.environ.get("BYLINE_CORRECTION_CHECK_AFTER_HOURS", "24"))
EMAIL_TIMEOUT = float(os.environ.get("BYLINE_EMAIL_TIMEOUT", "30"))  # Django waits forever on a silent server
# Outgoing mail (corrections to partners): printed to the console unless a mail server is named. Production
# settings send through SMTP (EMAIL_HOST and friends).
EMAIL_BACKEND = os.environ.get("BYLINE_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = os.environ.get("BYLINE_FROM_EMAIL", "byline@localhost")
# The wire desk (wire/): fetching pictures named in ninjs items, and the push endpoint's size limit.
WIRE_FETCH_CONNECT_TIMEOUT = float(os.environ.get("BYLINE_WIRE_FETCH_CONNECT_TIMEOUT", "5"))
WIRE_FETCH_TOTAL_TIMEOUT = float(os.environ.get("BYLINE_WIRE_FETCH_TOTAL_TIMEOUT", "20"))
WIRE_IMAGE_MAX_BYTES = int(os.environ.get("BYLINE_WIRE_IMAGE_MAX_BYTES", str(15 * 1024 * 1024)))
WIRE_PUSH_MAX_BYTES = int(os.environ.get("BYLINE_WIRE_PUSH_MAX_BYTES", str(5 * 1024 * 1024)))

# Tasks (django-tasks). "default" runs a task at once in the process that asks for it: Wagtail's own tasks
# (reference index, focal points, file deletion) and the admin's "Check now" on a copy. "jobs" is the queue in
# the database that `manage.py run_jobs` works (jobs/): the periodic jobs, quick and slow.
TASKS = {
    "default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"},
    "jobs": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["quick", "slow"]},
}
# Seconds between runs of a job instead of the period it registered, e.g. BYLINE_JOBS_EVERY="count_hits=15".
JOBS_EVERY = {name.strip(): int(seconds) for name, _, seconds in
              (item.partition("=") for item in env_list("BYLINE_JOBS_EVERY"))}
# A failing run is tried this many times in all, JOBS_RETRY_DELAY seconds apart, doubling each time.
JOBS_ATTEMPTS = int(os.environ.get("BYLINE_JOBS_ATTEMPTS", "3"))
JOBS_RETRY_DELAY = float(os.environ.get("BYLINE_JOBS_RETRY_DELAY", "30"))
# A runner not heard from for this many seconds is taken for dead: the jobs it was running run again elsewhere.
JOBS_RUNNER_TIMEOUT = float(os.environ.get("BYLINE_JOBS_RUNNER_TIMEOUT", "60"))
# Days finished runs (and their tracebacks) stay in the admin.
JOBS_KEEP_DAYS = float(os.environ.get("BYLINE_JOBS_KEEP_DAYS", "14"))
