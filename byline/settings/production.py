import os

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403


def env_flag(name, default):
    """A yes/no environment variable: "1", "true", "yes" or "on" (any case) is yes, "0", "false", "no",
    "off" or empty is no; anything else stops the start, so a typo never changes security silently."""
    value = os.environ.get(name, default).strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off", ""):
        return False
    raise ImproperlyConfigured(f"{name} must be 1 or 0, not {value!r}.")


def checked_secret_key(key):
    """The same rules as Django's security.W009, enforced: a weak key signs sessions, password-reset links
    and the pixel's signatures (republish/pixel.py) that anyone could then forge."""
    if not key:
        raise ImproperlyConfigured(
            "Set SECRET_KEY in the environment for production: 50 or more random characters, e.g. the output of "
            "python3 -c 'import secrets; print(secrets.token_urlsafe(50))'."
        )
    if len(key) < 50:
        raise ImproperlyConfigured(f"SECRET_KEY is {len(key)} characters long; production needs 50 or more.")
    if len(set(key)) < 5:
        raise ImproperlyConfigured("SECRET_KEY has fewer than 5 distinct characters; use a random key.")
    if key.startswith("django-insecure"):
        raise ImproperlyConfigured(
            "SECRET_KEY starts with 'django-insecure' (a key Django generated for development); use a new random key."
        )
    return key


SECRET_KEY = checked_secret_key(SECRET_KEY)  # noqa: F405

# BEHIND_TLS_PROXY=1: a front server (nginx, a load balancer) terminates HTTPS and tells us so with
# X-Forwarded-Proto. It must set that header itself on every request, replacing whatever the client sent.
BEHIND_TLS_PROXY = env_flag("BEHIND_TLS_PROXY", "0")
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if BEHIND_TLS_PROXY else None
if BEHIND_TLS_PROXY:
    SECURE_SSL_REDIRECT = True
    # Local health checks (the load balancer, a container's probe) call /healthz over plain HTTP.
    SECURE_REDIRECT_EXEMPT = [r"^healthz/?$"]
    # HSTS: browsers that saw it use HTTPS only, for this long. Start small (e.g. 300) on a new domain.
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", str(365 * 24 * 3600)))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_flag("SECURE_HSTS_INCLUDE_SUBDOMAINS", "1")
    # Preloading puts the domain into the browsers' built-in HTTPS-only list, which takes months to undo and
    # covers every subdomain: only the newsroom can make that commitment, so it is off unless asked for.
    SECURE_HSTS_PRELOAD = env_flag("SECURE_HSTS_PRELOAD", "0")
    if not SECURE_HSTS_PRELOAD:
        # security.W021 ("SECURE_HSTS_PRELOAD is not True") is that deliberate choice, not an oversight.
        SILENCED_SYSTEM_CHECKS = ["security.W021"]
SESSION_COOKIE_SECURE = BEHIND_TLS_PROXY or WAGTAILADMIN_BASE_URL.startswith("https://")  # noqa: F405
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
# Django's defaults, spelled out so that nobody loosens them unawares: what every page is sent with.
SECURE_CONTENT_TYPE_NOSNIFF = True
# Other sites are not told which story a reader came from (the pixel sets its own policy on its <img>).
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True

# Corrections reach partners by email: through this mail server (docs/operations.md).
EMAIL_BACKEND = os.environ.get("BYLINE_EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = os.environ.get("BYLINE_EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("BYLINE_EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("BYLINE_EMAIL_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("BYLINE_EMAIL_PASSWORD", "")
EMAIL_USE_TLS = env_flag("BYLINE_EMAIL_TLS", "0")
