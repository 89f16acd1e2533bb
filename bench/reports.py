#!/usr/bin/env python3
"""Reports over millions of stored hits: how fast the counting job turns raw hits into hourly rollups, and how
long "Most Popular" and a story's report take once it has.

    .venv/bin/python bench/reports.py                          # 1 million, then 10 million hits, SQLite
    .venv/bin/python bench/reports.py --hits 1000000 --postgres   # 1 million, SQLite and PostgreSQL

What it does, in a throwaway directory (and a scratch PostgreSQL database bench_reports, created and dropped):
1. builds a site: migrate, load_demo --no-admin, and enough extra published stories to have --stories (500);
2. writes N hits straight into tracking_hit (sqlite3 executemany in 200,000-row transactions, or COPY),
   in id order over the last 30 days: story popularity Zipf-like and decaying after a publication time spread
   over the month, a daily cycle, each story on our site plus 0-6 partner copies, about 3 million
   people whose visitor keys change every day, 8% repeat visits, 5% filtered hits (bots, prefetch, partner
   previews, no user agent, rate limit, forged signatures);
3. runs the counting job as production would, a simulated day at a time (count_all_new_hits up to the end of
   the day, then forget_old_data), timing it: hits counted per second; checks that rollups plus filtered
   counts add up to the hits written;
4. times, in the same process, uncached: popular_story_ids (48 h, our site / with copies), most_popular (its
   cache entry deleted before each call: the whole miss path, page look-up included), story_report for the
   busiest story over 30 days, and site_overview for comparison: median, p95 and max of --runs calls.

Goal (from the issue): Most Popular and a story's report under 20 ms each over 10 million stored hits.
"""

import argparse
import contextlib
import math
import os
import platform
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import common
from common import PYTHON, log

GOAL_MS = 20.0
POSTGRES_DB = "bench_reports"
POSTGRES_TEMPLATE = "bench_reports_template"
DAYS = 30
FILTERED = [("bot", 0.030), ("prefetch", 0.007), ("partner-preview", 0.004), ("no-user-agent", 0.004),
            ("rate-limit", 0.002), ("forged", 0.003)]  # 5% in all
REPEAT = 0.08
PEOPLE = 3_000_000


# --------------------------------------------------------------------------------------------------------
# The worker: one database, Django set up for it

def add_stories(total):
    """Published stories up to `total`, under the demo's first section; returns their ids."""
    from stories.factories import StoryPageFactory
    from stories.models import Author, SectionPage, StoryPage

    live = list(StoryPage.objects.live().public().values_list("pk", flat=True))
    section = SectionPage.objects.live().order_by("path").first()
    author = Author.objects.order_by("pk").first()
    for i in range(len(live), total):
        story = StoryPageFactory(parent=section, title=f"Bench story {i}", slug=f"bench-story-{i}", authors=[author])
        live.append(story.pk)
    return sorted(live)


def day_key(person, day):
    return f"{(person * 0x9E3779B97F4A7C15 + day * 0xBF58476D1CE4E5B9 + 0x94D049BB133111EB) & (2**64 - 1):016x}"


def hits(n, story_ids, end, seed=1):
    """N hit rows (received_at, story_id, via, copy, visitor, filtered) in time order over DAYS days to `end`."""
    rnd = random.Random(seed)
    start = end - timedelta(days=DAYS)
    hours = DAYS * 24
    # Popularity: Zipf-like rank weights; each story published at some hour (some before the window), after
    # which its readership decays with a 36-hour half-life down to a long tail.
    order = story_ids[:]
    rnd.shuffle(order)
    base = {sid: 1 / (rank + 1) ** 1.1 for rank, sid in enumerate(order)}
    published = {sid: rnd.uniform(-120, hours - 2) for sid in story_ids}
    copies = {}
    for sid in story_ids:
        partners = rnd.choice([0, 0, 1, 1, 2, 2, 3, 4, 6])
        urls = [("site", "our-site")] + [
            (rnd.choice(["html", "html", "script", "text"]), f"https://partner{rnd.randrange(300)}.example/2026/{sid}-{j}/")
            for j in range(partners)]
        weights = [1.0] + [rnd.uniform(0.1, 1.0) for _ in range(partners)]
        total = sum(weights)
        acc, cum = 0, []
        for w in weights:
            acc += w / total
            cum.append(acc)
        copies[sid] = (urls, cum)
    cycle = [0.5 + 0.9 * max(0.0, math.sin((h % 24 - 6) / 24 * 2 * math.pi)) for h in range(hours)]
    scale = n / sum(cycle)
    per_hour = [int(c * scale) for c in cycle]
    per_hour[-1] += n - sum(per_hour)
    reasons, reason_cum, acc = [], [], 0
    for reason, share in FILTERED:
        acc += share
        reasons.append(reason)
        reason_cum.append(acc)
    filtered_share = acc
    last = {}
    for h in range(hours):
        count = per_hour[h]
        if count <= 0:
            continue
        weights = []
        for sid in story_ids:
            age = h - published[sid]
            weights.append(0.0 if age < 0 else base[sid] * (0.5 ** (age / 36) + 0.02))
        chosen = rnd.choices(story_ids, weights=weights, k=count)
        offsets = sorted(rnd.random() * 3600 for _ in range(count))
        hour_start = start + timedelta(hours=h)
        day = (hour_start.date() - start.date()).days  # visitor keys change at UTC midnight, like the salt
        for sid, offset in zip(chosen, offsets, strict=True):
            urls, cum = copies[sid]
            r = rnd.random()
            k = 0
            while cum[k] < r and k < len(cum) - 1:
                k += 1
            via, copy = urls[k]
            previous = last.get(sid)
            if previous is not None and previous[0] == day and rnd.random() < REPEAT:
                person = previous[1]
            else:
                person = rnd.randrange(PEOPLE)
                last[sid] = (day, person)
            filtered = ""
            f = rnd.random()
            if f < filtered_share:
                filtered = reasons[next(i for i, c in enumerate(reason_cum) if f < c)]
            yield (hour_start + timedelta(seconds=offset), sid, via, copy, day_key(person, day), filtered)


class SqliteWriter:
    """Rows straight into tracking_hit with sqlite3, 200,000 per transaction (its own connection)."""

    SQL = "INSERT INTO tracking_hit (received_at, story_id, via, copy, visitor, filtered) VALUES (?, ?, ?, ?, ?, ?)"

    def __init__(self, path):
        self.conn = sqlite3.connect(path, timeout=60)
        self.conn.execute("PRAGMA synchronous=OFF")

    def write(self, rows, chunk=200_000):
        for i in range(0, len(rows), chunk):
            with self.conn:
                self.conn.executemany(self.SQL, [(r[0].strftime("%Y-%m-%d %H:%M:%S.%f"), *r[1:])
                                                 for r in rows[i:i + chunk]])

    def close(self):
        self.conn.close()


class PostgresWriter:
    """Rows into tracking_hit with COPY (its own connection)."""

    def __init__(self, url):
        import psycopg

        self.conn = psycopg.connect(url)

    def write(self, rows):
        with self.conn.cursor() as cur, cur.copy(
                "COPY tracking_hit (received_at, story_id, via, copy, visitor, filtered) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        self.conn.commit()

    def close(self):
        self.conn.close()


def by_day(rows, start, days):
    """The rows of each simulated day in turn: (day end, list of rows)."""
    pending = None
    for day in range(1, days + 1):
        until = start + timedelta(days=day)
        chunk = []
        if pending is not None:
            if pending[0] >= until:
                yield until, chunk
                continue
            chunk.append(pending)
            pending = None
        for row in rows:
            if row[0] >= until:
                pending = row
                break
            chunk.append(row)
        yield until, chunk
    if pending is not None:
        raise RuntimeError("hits beyond the last day")


def percentile(sorted_values, q):
    return sorted_values[min(len(sorted_values) - 1, round(q * (len(sorted_values) - 1)))]


def timed(fn, runs, warmup=3):
    times, cpu = common.time_calls(fn, runs, warmup)
    return {"median_ms": statistics.median(times), "p95_ms": percentile(times, 0.95), "max_ms": times[-1],
            "cpu_median_ms": statistics.median(cpu), "runs": runs}


def worker(args):
    common.setup_django()
    from django.core.cache import cache
    from django.db import connection
    from django.db.models import Count, Sum

    from tracking import reports
    from tracking.counting import count_all_new_hits, forget_old_data
    from tracking.models import Copy, FilteredCount, Hit, Rollup, Visit

    n = args.hits[0]
    result = {"vendor": connection.vendor, "hits": n}
    t0 = time.monotonic()
    story_ids = add_stories(args.stories)
    result["stories"] = len(story_ids)
    result["stories_s"] = time.monotonic() - t0
    log(f"  {len(story_ids)} published stories ({result['stories_s']:.0f}s)")

    # A simulated day at a time: the day's hits are written, then the counting job runs as it would have
    # (count_all_new_hits up to the end of the day, then forget_old_data); production runs it every minute.
    end = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
    start = end - timedelta(days=DAYS)
    rows = hits(n, story_ids, end)
    writer = SqliteWriter(connection.settings_dict["NAME"]) if connection.vendor == "sqlite" else \
        PostgresWriter(os.environ["DATABASE_URL"])
    generate_s = count_s = forget_s = count_cpu = 0.0
    written = counted = 0
    t0 = time.monotonic()
    for day, (until, chunk) in enumerate(by_day(rows, start, DAYS), start=1):
        writer.write(chunk)
        written += len(chunk)
        generate_s += time.monotonic() - t0
        if day == 1 and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
        now = min(until + timedelta(seconds=10), end + timedelta(minutes=1))
        t0, c0 = time.monotonic(), time.process_time()
        counted += count_all_new_hits(now=now)
        count_s += time.monotonic() - t0
        count_cpu += time.process_time() - c0
        t0 = time.monotonic()
        forget_old_data(now=now)
        forget_s += time.monotonic() - t0
        t0 = time.monotonic()
        if day % 3 == 0:
            log(f"  day {day}: {written:,} hits written ({written / generate_s:,.0f}/s with generation), "
                f"{counted:,} counted ({counted / max(count_s, 1e-9):,.0f}/s)")
    writer.close()
    result["generate_s"] = generate_s
    result["generate_rate"] = written / generate_s
    result.update(counted=counted, count_s=count_s, count_rate=counted / count_s, forget_s=forget_s,
                  count_cpu_s=count_cpu, busy_before=args.busy)
    rollup_hits = Rollup.objects.aggregate(n=Sum("hits"))["n"] or 0
    filtered_hits = FilteredCount.objects.aggregate(n=Sum("hits"))["n"] or 0
    result.update(rollup_hits=rollup_hits, filtered_hits=filtered_hits,
                  rollups=Rollup.objects.count(), copies=Copy.objects.count(), visits=Visit.objects.count(),
                  stored_hits=Hit.objects.count())
    result["adds_up"] = rollup_hits + filtered_hits == written == counted
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")

    busiest = (Rollup.objects.filter(hour__gte=end - timedelta(days=DAYS)).values("story_id")
               .annotate(h=Sum("hits")).order_by("-h").first()["story_id"])
    busiest_copies = Rollup.objects.filter(story_id=busiest).aggregate(n=Count("copy", distinct=True))["n"]
    result["busiest"] = {"story_id": busiest, "copies": busiest_copies,
                         "rollups": Rollup.objects.filter(story_id=busiest).count()}
    widest = (Copy.objects.values("story_id").annotate(n=Count("id")).order_by("-n", "story_id").first())
    result["widest"] = {"story_id": widest["story_id"], "copies": widest["n"]}
    since, until = end - timedelta(days=DAYS), end + timedelta(minutes=2)

    def uncached_most_popular(include_copies=False):
        cache.delete(f"tracking:popular:48:{int(include_copies)}:4")
        return reports.most_popular(include_copies=include_copies)

    assert reports.popular_story_ids(), "Most Popular is empty: the generated hits are not in the last 48 hours"
    timings = {
        "popular_story_ids (48 h, our site)": timed(lambda: reports.popular_story_ids(), args.runs),
        "popular_story_ids (48 h, with copies)": timed(lambda: reports.popular_story_ids(include_copies=True),
                                                       args.runs),
        "most_popular, uncached (cache entry deleted first)": timed(uncached_most_popular, args.runs),
        "most_popular, cached (for comparison)": timed(reports.most_popular, args.runs),
        f"story_report, busiest story ({busiest_copies} copies), 30 days": timed(
            lambda: reports.story_report(busiest, since, until), args.runs),
        "story_report, busiest story, all time (no range)": timed(lambda: reports.story_report(busiest), args.runs),
        f"story_report, story with most copies ({widest['n']}), 30 days": timed(
            lambda: reports.story_report(widest["story_id"], since, until), args.runs),
        "site_overview, 30 days (dashboard; no goal)": timed(lambda: reports.site_overview(since, until),
                                                            max(5, args.runs // 5), warmup=1),
    }
    result["timings"] = timings
    if connection.vendor == "sqlite":
        result["db_bytes"] = sum(p.stat().st_size for p in Path(connection.settings_dict["NAME"]).parent.glob(
            "byline.sqlite3*"))
    else:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_database_size(current_database())")
            result["db_bytes"] = cursor.fetchone()[0]
    common.emit(result)


# --------------------------------------------------------------------------------------------------------
# The parent: builds the databases, runs a worker per size and database, prints the tables

def run_worker(env, args, hits, label):
    busy = common.background_load()
    cmd = [PYTHON, __file__, "--worker", "--hits", str(hits), "--stories", str(args.stories), "--runs",
           str(args.runs), "--busy", f"{busy:.3f}" if busy is not None else "-1"]
    log(f"{label}: {hits:,} hits ...")
    t0 = time.monotonic()
    result = common.worker_result(cmd, env, f"worker on {label} with {hits:,} hits", args.timeout, quiet=False)
    result["label"] = label
    result["wall_s"] = time.monotonic() - t0
    return result


def print_results(results):
    print()
    print("Data and the counting job (one process; a simulated day per count_all_new_hits run):")
    common.table(
        ["Database", "hits written", "written/s", "counted", "counting s (CPU s of the job's process)",
         "hits counted/s", "forget_old_data s", "rollup rows", "copies", "visits kept", "database size",
         "rollups + filtered = hits"],
        [[r["label"], f"{r['hits']:,}", f"{r['generate_rate']:,.0f}", f"{r['counted']:,}",
          f"{r['count_s']:,.0f} ({r['count_cpu_s']:,.0f})", f"{r['count_rate']:,.0f}", f"{r['forget_s']:.1f}",
          f"{r['rollups']:,}", f"{r['copies']:,}", f"{r['visits']:,}", f"{r['db_bytes'] / 1e9:.2f} GB",
          "yes" if r["adds_up"] else "NO"] for r in results])
    for r in results:
        if r.get("busy_before") is not None and r["busy_before"] >= 0:
            print(f"{r['label']}, {r['hits']:,} hits: other work kept {r['busy_before']:.2f} of {os.cpu_count()} "
                  "cores busy just before the run"
                  + ("  <- figures are high and noisy" if r["busy_before"] > common.BUSY_CORES else "") + ".")
    print()
    print("Reports, uncached unless said, in one process (ms):")
    rows = []
    for r in results:
        for name, t in r["timings"].items():
            goal = ""
            if "no goal" not in name and "cached (for" not in name:
                goal = "met" if t["median_ms"] < GOAL_MS and t["p95_ms"] < GOAL_MS else "NOT met"
            rows.append([r["label"], f"{r['hits']:,}", name,
                         *(f"{t[k]:.2f}" for k in ("median_ms", "p95_ms", "max_ms", "cpu_median_ms")), t["runs"], goal])
    common.table(["Database", "hits", "call", "median", "p95", "max", "CPU median (this process)", "runs",
                  "goal < 20 ms (median and p95)"], rows)
    for r in results:
        b = r["busiest"]
        print(f"{r['label']}, {r['hits']:,} hits: busiest story {b['story_id']} has {b['copies']} copies and "
              f"{b['rollups']:,} rollup rows.")


def main(args):
    tmp = Path(tempfile.mkdtemp(prefix="bench-reports-"))
    pg_created = []
    try:
        print(f"Machine: {os.cpu_count()} cores, {common.cpu_model()}; Python {platform.python_version()}, "
              f"SQLite {sqlite3.sqlite_version}")
        databases = [("SQLite", None)]
        if args.postgres:
            if common.postgres_answers():
                databases.append(("PostgreSQL", POSTGRES_DB))
            else:
                print("PostgreSQL skipped: nothing answers on 127.0.0.1:5432.")
        template = tmp / "template"
        common.build_site(common.site_env(template), "SQLite")
        if len(databases) > 1:
            common.pg_admin(f"DROP DATABASE IF EXISTS {POSTGRES_TEMPLATE} WITH (FORCE)")
            common.pg_admin(f"CREATE DATABASE {POSTGRES_TEMPLATE}")
            pg_created.append(POSTGRES_TEMPLATE)
            common.build_site(common.site_env(tmp / "pg", DATABASE_URL=common.postgres_url(POSTGRES_TEMPLATE)),
                              "PostgreSQL")
        results = []
        for hits in args.hits:
            for label, pg in databases:
                if pg is None:
                    var = tmp / f"sqlite-{hits}"
                    shutil.copytree(template, var)
                    env = common.site_env(var)
                else:
                    common.pg_admin(f"DROP DATABASE IF EXISTS {pg} WITH (FORCE)")
                    common.pg_admin(f"CREATE DATABASE {pg} TEMPLATE {POSTGRES_TEMPLATE}")
                    pg_created.append(pg)
                    var = tmp / f"pg-{hits}"
                    var.mkdir()
                    env = common.site_env(var, DATABASE_URL=common.postgres_url(pg))
                try:
                    results.append(run_worker(env, args, hits, label))
                finally:
                    if pg is None and not args.keep:
                        shutil.rmtree(var, ignore_errors=True)
                    else:
                        with contextlib.suppress(Exception):
                            common.pg_admin(f"DROP DATABASE IF EXISTS {pg} WITH (FORCE)")
                r = results[-1]
                log(f"  done in {r['wall_s']:.0f}s: counted {r['count_rate']:,.0f} hits/s; "
                    + "; ".join(f"{k}: {v['median_ms']:.1f} ms" for k, v in r["timings"].items()))
        print_results(results)
        return 0
    finally:
        for name in pg_created:
            with contextlib.suppress(Exception):
                common.pg_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        common.remove(tmp, args.keep)


def parse_args(argv=None):
    p = common.parser(__doc__)
    p.add_argument("--hits", type=lambda s: [int(float(x)) for x in s.split(",")], default=[1_000_000, 10_000_000],
                   help="stored hits per run, comma-separated (default 1000000,10000000)")
    p.add_argument("--stories", type=int, default=500, help="published stories (default 500)")
    p.add_argument("--runs", type=int, default=50, help="timed calls per report (default 50)")
    p.add_argument("--postgres", action="store_true",
                   help="also on PostgreSQL at 127.0.0.1:5432 (a scratch database, dropped afterwards)")
    p.add_argument("--timeout", type=int, default=4 * 3600, help="seconds allowed per worker (default 4 hours)")
    p.add_argument("--keep", action="store_true", help="keep the SQLite sites (their directory is printed at the end)")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--busy", type=float, default=None, help=argparse.SUPPRESS)
    return p.parse_args(argv)


if __name__ == "__main__":
    arguments = parse_args()
    sys.exit(worker(arguments) if arguments.worker else common.run(main, arguments))
