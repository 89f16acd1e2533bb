"""The application servers load: WSGI, and RSGI through the same object (byline/server.py).

    Server (byline/server.py)        hands /pixel/... to the pixel (tracking/pixel.py), the rest to:
      -> PageCache (byline/edge.py)  answers repeat requests for cached pages
        -> Django
"""

import gc
import os

from django.conf import settings
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "byline.settings.production")

application = get_wsgi_application()
if settings.EDGE_CACHE:
    from byline.edge import PageCache

    application = PageCache(application)

from byline.server import Server  # noqa: E402
from tracking.pixel import Pixel  # noqa: E402

application = Server(application, Pixel())

# Everything loaded so far (Django, Wagtail, the URL maps, the templates) lives as long as the process. Left
# in the collector's sight, each full collection walked it all and paused every request in flight for 50-90 ms
# (the pixel's p99); frozen, it is never walked, and forked workers share its pages.
gc.freeze()
