from datetime import datetime
from zoneinfo import ZoneInfo

BROWSER = ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
           "Chrome/131.0.0.0 Safari/537.36")
NEW_YORK, JERUSALEM, UTC = ZoneInfo("America/New_York"), ZoneInfo("Asia/Jerusalem"), ZoneInfo("UTC")


def at(zone, *parts, fold=0):
    return datetime(*parts, tzinfo=zone, fold=fold)

