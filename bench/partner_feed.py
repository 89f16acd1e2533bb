#!/usr/bin/env python3
"""A partner's keyed feeds over 500 eligible stories: how long the Atom and ninjs feeds take to build (uncached)
and to answer from the cache.

    .venv/bin/python bench/partner_feed.py                 # SQLite
    .venv/bin/python bench/partner_feed.py --postgres      # SQLite, then PostgreSQL

What it does, in a throwaway directory (and a scratch PostgreSQL database bench_partner_feed, created and
dropped):
1. builds a site: migrate, load_demo --no-admin, then --stories (500) of our own stories published over the
   last four weeks (12 paragraphs with links each, one in ten with a correction) and a partner with a key;
2. in one process, with Django's test Client (the whole Django stack: middleware, URL routing, the key's
   database look-up, the rate limit and the fetch count, but not the page cache in front of Django, which never
   keeps these answers), times GET /partners/<key>/atom/, /ninjs/ and /ninjs/?since=<the last poll>, after
   which --changed (10) stories got a correction:
   - uncached: the feeds' token deleted and this process's copy forgotten before each request, so that every
     request builds the feeds again (eligibility, handouts, FeedEntry check) as the first request after a
     purge does;
   - cached, shared: this process's copy forgotten before each request, so that each reads the build from the
     shared cache (the file cache here), as a process that did not build it does;
   - cached: the build this process already holds, as most requests are answered;
   median and p90 of --runs requests (--uncached-runs for the uncached ones), SQL queries per request, and the
   ratio of the cached medians to the uncached one.
"""

import argparse
import contextlib
import os
import platform
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import common
from common import PYTHON, log

POSTGRES_DB = "bench_partner_feed"


# --------------------------------------------------------------------------------------------------------
# The worker: one database, Django set up for it

def add_stories(total):
    """`total` published stories of our own over the last four weeks, in a section that allows republishing."""
    from django.utils import timezone

    from stories.factories import CorrectionFactory, StoryPageFactory, paragraphs
    from stories.models import Author, SectionPage, StoryPage

    section = SectionPage.objects.live().filter(allow_republishing=True).order_by("path").first()
    author = Author.objects.order_by("pk").first()
    now = timezone.now()
    body = paragraphs(*(
        f'<p>Paragraph {n} of the story, with <a href="https://example.org/source/{n}">a source</a> and '
        f"<b>some emphasis</b>, long enough to read like one: the council met, residents spoke, the vote was "
        f"close and the harbor cleanup will start in the spring.</p>" for n in range(12)))
    ids = []
    for i in range(total):
        published = now - timedelta(days=28) * (i / total)
        story = StoryPageFactory(parent=section, title=f"Bench story {i}", slug=f"bench-feed-story-{i}",
                                 authors=[author], body=body, first_published_at=published,
                                 last_published_at=published, origin=None, republishing=StoryPage.REPUBLISH_AUTO)
        if i % 10 == 0:
            CorrectionFactory(story=story, date=published.date())
        ids.append(story.pk)
    return ids


def measure(client, path, runs, before=None):
    """Wall times in ms, sorted, SQL queries of the last request, and the answer's size and item count."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    times = []
    for _ in range(runs):
        if before:
            before()
        connection.queries_log.clear()  # a full log (9,000 queries) would count none
        with CaptureQueriesContext(connection) as queries:
            t0 = time.perf_counter()
            response = client.get(path)
            times.append((time.perf_counter() - t0) * 1000)
        assert response.status_code == 200, (path, response.status_code, response.content[:300])
    times.sort()
    return times, len(queries), len(response.content), response


def percentile(values, q):
    return values[min(len(values) - 1, round(q * (len(values) - 1)))]


def worker(args):
    common.setup_django()
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.utils import timezone

    from partners import feeds
    from partners.models import Partner
    from stories.factories import CorrectionFactory
    from stories.models import StoryPage

    settings.PARTNER_FEED_REQUESTS_PER_MINUTE = 10**9  # the bench measures the feeds, not the rate limit
    t0 = time.monotonic()
    ids = add_stories(args.stories)
    log(f"  {args.stories} stories added ({time.monotonic() - t0:.0f}s)")
    partner = Partner.objects.create(name="Bench Partner")
    key = partner.issue_key()
    host = settings.WAGTAILADMIN_BASE_URL.split("://", 1)[1]
    client = Client(HTTP_HOST=host)

    def uncached():
        feeds.forget_feeds()
        feeds.forget_process_copy()

    client.get(f"/partners/{key}/atom/")  # the first build writes every FeedEntry row: not what a purge costs
    # A partner's poll: what changed since its last one, here a correction to ten stories.
    since = timezone.now().isoformat()
    for story_id in ids[: args.changed]:
        CorrectionFactory(story=StoryPage.objects.get(pk=story_id), date=timezone.localdate())
    client.get(f"/partners/{key}/atom/")
    paths = {"Atom": f"/partners/{key}/atom/", "ninjs": f"/partners/{key}/ninjs/",
             f"ninjs ?since= ({args.changed} changed)": f"/partners/{key}/ninjs/?since={since.replace('+', '%2B')}"}
    rows = []
    for name, path in paths.items():
        cold, cold_queries, size, response = measure(client, path, args.uncached_runs, before=uncached)
        items = response.content.count(b"<entry>") if name == "Atom" else len(response.json())
        shared, shared_queries, _, _ = measure(client, path, args.runs, before=feeds.forget_process_copy)
        measure(client, path, 3)  # this process holds the build again
        warm, warm_queries, _, _ = measure(client, path, args.runs)
        rows.append({"feed": name, "items": items, "bytes": size,
                     "uncached": (statistics.median(cold), percentile(cold, 0.9), cold_queries, len(cold)),
                     "shared": (statistics.median(shared), percentile(shared, 0.9), shared_queries, len(shared)),
                     "cached": (statistics.median(warm), percentile(warm, 0.9), warm_queries, len(warm))})
        log(f"  {name}: uncached {rows[-1]['uncached'][0]:.1f} ms, shared cache {rows[-1]['shared'][0]:.2f} ms, "
            f"cached {rows[-1]['cached'][0]:.2f} ms")
    common.emit({"vendor": connection.vendor, "rows": rows, "busy_before": args.busy})


# --------------------------------------------------------------------------------------------------------
# The parent: builds the databases, runs a worker per database, prints the table

def run_worker(env, args, label):
    busy = common.background_load()
    cmd = [PYTHON, __file__, "--worker", "--stories", str(args.stories), "--runs", str(args.runs),
           "--changed", str(args.changed),
           "--uncached-runs", str(args.uncached_runs), "--busy", f"{busy:.3f}" if busy is not None else "-1"]
    log(f"{label}: {args.stories} stories ...")
    result = common.worker_result(cmd, env, f"worker on {label}", args.timeout, quiet=False)
    result["label"] = label
    return result


def print_results(results, args):
    print()
    print(f"Partner feeds over {args.stories} eligible stories, in one process with Django's test Client (ms; "
          "SQL queries per request):")
    lines = []
    for result in results:
        for row in result["rows"]:
            cold, shared, warm = row["uncached"], row["shared"], row["cached"]
            lines.append([
                result["label"], row["feed"], row["items"], f"{row['bytes'] / 1e6:.2f} MB",
                f"{cold[0]:.1f} / {cold[1]:.1f} ({cold[2]} q, {cold[3]} runs)",
                f"{shared[0]:.2f} / {shared[1]:.2f} ({shared[2]} q)",
                f"{warm[0]:.2f} / {warm[1]:.2f} ({warm[2]} q)",
                f"{shared[0] / cold[0]:.3f}", f"{warm[0] / cold[0]:.3f}",
            ])
    common.table(["Database", "feed", "items", "size", "uncached median / p90", "cached, from the shared cache "
                  "median / p90", "cached, this process's copy median / p90", "ratio shared / uncached",
                  "ratio cached / uncached"], lines)
    for result in results:
        busy = result.get("busy_before")
        if busy is not None and busy >= 0:
            print(f"{result['label']}: other work kept {busy:.2f} of {os.cpu_count()} cores busy just before the run"
                  + ("  <- figures are high and noisy" if busy > common.BUSY_CORES else "") + ".")


def main(args):
    tmp = Path(tempfile.mkdtemp(prefix="bench-partner-feed-"))
    try:
        print(f"Machine: {os.cpu_count()} cores, {common.cpu_model()}; Python {platform.python_version()}, "
              f"SQLite {sqlite3.sqlite_version}")
        results = []
        sqlite_dir = tmp / "sqlite"
        env = common.site_env(sqlite_dir)
        common.build_site(env, "SQLite")
        results.append(run_worker(env, args, "SQLite"))
        if args.postgres:
            if common.postgres_answers():
                with common.postgres_database(POSTGRES_DB) as url:
                    env = common.site_env(tmp / "pg", DATABASE_URL=url)
                    common.build_site(env, "PostgreSQL")
                    results.append(run_worker(env, args, "PostgreSQL"))
            else:
                print("PostgreSQL skipped: nothing answers on 127.0.0.1:5432.")
        print_results(results, args)
        return 0
    finally:
        if args.keep:
            log(f"Kept {tmp}")
        else:
            with contextlib.suppress(Exception):
                shutil.rmtree(tmp, ignore_errors=True)


def parse_args(argv=None):
    p = common.parser(__doc__)
    p.add_argument("--stories", type=int, default=500, help="eligible stories (default 500)")
    p.add_argument("--runs", type=int, default=200, help="timed cached requests per feed (default 200)")
    p.add_argument("--changed", type=int, default=10,
                   help="stories corrected since the partner's last poll, for ?since= (default 10)")
    p.add_argument("--uncached-runs", type=int, default=15, help="timed uncached requests per feed (default 15)")
    p.add_argument("--postgres", action="store_true",
                   help="also on PostgreSQL at 127.0.0.1:5432 (a scratch database, dropped afterwards)")
    p.add_argument("--timeout", type=int, default=3600, help="seconds allowed per worker (default 3600)")
    p.add_argument("--keep", action="store_true", help="keep the temporary directory")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--busy", type=float, default=None, help=argparse.SUPPRESS)
    return p.parse_args(argv)


if __name__ == "__main__":
    arguments = parse_args()
    sys.exit(worker(arguments) if arguments.worker else common.run(main, arguments))
