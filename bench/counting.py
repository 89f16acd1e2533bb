#!/usr/bin/env python3
"""The counting job against a peak of pixel hits: does it keep up with what the pixel takes in?

    .venv/bin/python bench/counting.py                                  # 60 s at 20,000 hits/s, SQLite
    .venv/bin/python bench/counting.py --intake 50000 --peak-seconds 30 --postgres

What it does, in a throwaway directory (and a scratch PostgreSQL database bench_counting_<random>, created and
dropped):
1. builds a site (migrate, load_demo --no-admin) with --stories published stories;
2. writes the hits of one peak straight into tracking_hit (bench/reports.py's writers): --intake hits a second
   for --peak-seconds seconds, in receive order; a few stories take most of them (the first gets half, each
   next one half the rest), each story read on our site and 2-6 partner copies, almost every hit a new reader
   (8% a repeat visit), 5% filtered;
3. times tracking.counting.count_all_new_hits draining them, in one process with nothing else running: hits
   counted per second, wall and CPU, and checks that rollups plus filtered counts add up to the hits written;
4. prints, from that rate and --intake, how far behind the job falls over the peak and how long it takes to
   catch up afterwards at --after-intake hits a second.

The job does not run during the peak here: on the 2-core test machines the pixel server and the load generator
take both cores at peak intake, so the job's rate while sharing them would be lower still; the figure is the
job's best case.
"""

import argparse
import os
import platform
import random
import secrets
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import common
import reports  # the writers and the visitor keys of the reports bench
from common import PYTHON, log


def peak_hits(n, seconds, story_ids, end, seed=7):
    """`n` hit rows (received_at, story_id, via, copy, visitor, filtered) spread evenly over the `seconds`
    before `end`."""
    rnd = random.Random(seed)
    start = end - timedelta(seconds=seconds)
    day = (end.date() - datetime(2026, 1, 1, tzinfo=UTC).date()).days
    # Popularity: the first story half the hits, the next half the rest, ... (a story gone viral and its
    # neighbours on the front page).
    weights = [0.5 ** (i + 1) for i in range(len(story_ids))]
    copies = {}
    for sid in story_ids:
        partners = rnd.randint(2, 6)
        urls = [("site", "our-site")] + [(rnd.choice(["html", "html", "script"]),
                                          f"https://partner{rnd.randrange(300)}.example/2026/{sid}-{j}/")
                                         for j in range(partners)]
        copies[sid] = urls
    chosen = rnd.choices(story_ids, weights=weights, k=n)
    last = {}
    step = seconds / n
    for i, sid in enumerate(chosen):
        urls = copies[sid]
        via, copy = urls[0] if rnd.random() < 0.4 else rnd.choice(urls[1:])
        if sid in last and rnd.random() < reports.REPEAT:
            person = last[sid]
        else:
            person = last[sid] = rnd.randrange(10 * n)
        filtered = ""
        f = rnd.random()
        acc = 0
        for reason, share in reports.FILTERED:
            acc += share
            if f < acc:
                filtered = reason
                break
        yield (start + timedelta(seconds=i * step), sid, via, copy, reports.day_key(person, day), filtered)


def worker(args):
    common.setup_django()
    from django.db import connection
    from django.db.models import Sum

    from tracking.counting import count_all_new_hits
    from tracking.models import FilteredCount, Rollup, Visit

    story_ids = reports.add_stories(args.stories)
    n = int(args.intake * args.peak_seconds)
    end = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
    t0 = time.monotonic()
    rows = list(peak_hits(n, args.peak_seconds, story_ids, end))
    writer = (reports.SqliteWriter(connection.settings_dict["NAME"]) if connection.vendor == "sqlite"
              else reports.PostgresWriter(os.environ["DATABASE_URL"]))
    writer.write(rows)
    writer.close()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    write_s = time.monotonic() - t0
    log(f"  {n:,} hits written in {write_s:.0f}s; counting ...")
    busy = common.background_load(1.0)
    t0, c0 = time.monotonic(), time.process_time()
    counted = count_all_new_hits(now=end + timedelta(minutes=1))
    count_s, count_cpu = time.monotonic() - t0, time.process_time() - c0
    rollup_hits = Rollup.objects.aggregate(n=Sum("hits"))["n"] or 0
    filtered_hits = FilteredCount.objects.aggregate(n=Sum("hits"))["n"] or 0
    common.emit({
        "vendor": connection.vendor, "hits": n, "stories": len(story_ids), "counted": counted, "count_s": count_s,
        "count_cpu_s": count_cpu, "rate": counted / count_s, "visits": Visit.objects.count(),
        "rollups": Rollup.objects.count(), "adds_up": rollup_hits + filtered_hits == n == counted,
        "busy_before": busy})


def run_worker(env, args, label):
    cmd = [PYTHON, __file__, "--worker", "--intake", str(args.intake), "--peak-seconds", str(args.peak_seconds),
           "--stories", str(args.stories)]
    log(f"{label}: {int(args.intake * args.peak_seconds):,} hits ...")
    result = common.worker_result(cmd, env, f"worker on {label}", timeout=3600, quiet=False)
    return {"label": label, "load": Path("/proc/loadavg").read_text().split()[0], **result}


def main(args):
    tmp = Path(tempfile.mkdtemp(prefix="bench-counting-"))
    try:
        print(f"Machine: {os.cpu_count()} cores; Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}; "
              f"load average before: {Path('/proc/loadavg').read_text().split()[0]}")
        results = []
        env = common.site_env(tmp / "sqlite")
        common.build_site(env, "SQLite")
        results.append(run_worker(env, args, "SQLite"))
        if args.postgres and not common.postgres_answers():
            print("PostgreSQL skipped: nothing answers on 127.0.0.1:5432.")
        elif args.postgres:
            with common.postgres_database(f"bench_counting_{secrets.token_hex(4)}") as url:
                env = common.site_env(tmp / "pg", DATABASE_URL=url)
                common.build_site(env, "PostgreSQL")
                results.append(run_worker(env, args, "PostgreSQL"))
        print_results(results, args)
        return 0
    finally:
        common.remove(tmp)


def print_results(results, args):
    intake, seconds, after = args.intake, args.peak_seconds, args.after_intake
    print()
    print(f"A peak of {intake:,.0f} hits/s for {seconds:.0f} s over {args.stories} stories, counted afterwards by "
          f"count_all_new_hits in one process; behind = hits waiting when the peak ends had the job run "
          f"throughout at this rate; catch-up = seconds to count them afterwards at {after:,.0f} hits/s of intake.")
    rows = []
    for r in results:
        rate = r["rate"]
        behind = max(0.0, (intake - rate) * seconds)
        catch_up = behind / (rate - after) if rate > after else float("inf")
        rows.append([r["label"], f"{r['hits']:,}", f"{rate:,.0f}", f"{r['count_cpu_s'] / r['count_s']:.2f}",
                     f"{r['visits']:,}", f"{r['rollups']:,}", "yes" if r["adds_up"] else "NO",
                     f"{behind:,.0f} ({behind / intake:.0f} s of intake)", f"{catch_up:,.0f}", r["load"]])
    common.table(["Database", "hits", "counted/s (wall)", "CPU s / wall s", "visits", "rollups", "adds up",
                  "behind at peak end", "catch-up s", "load average"], rows)


def parse_args(argv=None):
    p = common.parser(__doc__)
    p.add_argument("--intake", type=float, default=20_000, help="hits per second at the peak (default 20,000)")
    p.add_argument("--peak-seconds", type=float, default=60, help="length of the peak (default 60)")
    p.add_argument("--after-intake", type=float, default=0,
                   help="hits per second still arriving after the peak, for the catch-up time (default 0)")
    p.add_argument("--stories", type=int, default=8, help="published stories (default 8; the demo has fewer)")
    p.add_argument("--postgres", action="store_true", help="also on PostgreSQL (127.0.0.1:5432)")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    return p.parse_args(argv)


if __name__ == "__main__":
    arguments = parse_args()
    sys.exit(worker(arguments) if arguments.worker else common.run(main, arguments))
