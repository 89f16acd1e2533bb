"""What other apps may use of tracking: reading and filtering readers' requests, the cookieless visitor key,
recording rows in group commits, counting them the way hits are counted, and the figures editors read.

Appeals count their views and clicks with these parts (appeals/recording.py, appeals/counting.py); the
verifier and discovery name copies as tracking does (verify/). Everything else in tracking is its own
business and may change; tests/test_architecture.py holds other apps to this module.
"""

from .charts import bar_chart
from .copies import host_of, is_partner_preview, normalize, our_host
from .counting import BATCH, VIEW_GAP, add_counts, drain, hour_of
from .dashboard import neutralise, period_from
from .filters import (
    BOT,
    MALFORMED,
    NO_USER_AGENT,
    PREFETCH,
    RATE_LIMIT,
    REASONS,
    UNKNOWN_STORY,
    RateCap,
    not_a_reader,
)
from .journal import FILE_BYTES as JOURNAL_FILE_BYTES
from .models import Copy, Cursor, Rollup
from .nginx_log import stored_lag as pixel_log_lag
from .pixel import GIF, GIF_HEADERS_WITH_LENGTH
from .recorder import GroupCommitRecorder
from .reports import copies_report, most_popular, site_overview
from .visitors import client_ip, visitor_key

__all__ = [
    "BATCH", "BOT", "GIF", "GIF_HEADERS_WITH_LENGTH", "JOURNAL_FILE_BYTES", "MALFORMED", "NO_USER_AGENT", "PREFETCH",
    "RATE_LIMIT", "REASONS", "UNKNOWN_STORY", "VIEW_GAP", "Copy", "Cursor", "GroupCommitRecorder", "RateCap", "Rollup",
    "add_counts", "bar_chart", "client_ip", "copies_report", "drain", "host_of", "hour_of", "is_partner_preview",
    "most_popular", "neutralise", "normalize", "not_a_reader", "our_host", "period_from", "pixel_log_lag",
    "site_overview", "visitor_key",
]
