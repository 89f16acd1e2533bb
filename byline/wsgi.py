"""WSGI entry point. The page cache answers repeat requests for cached pages before Django runs."""

import os

from django.conf import settings
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "byline.settings.production")

application = get_wsgi_application()
if settings.EDGE_CACHE:
    from byline.edge import PageCache

    application = PageCache(application)
