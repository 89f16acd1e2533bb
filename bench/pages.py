#!/usr/bin/env python3
"""Story page benchmark: how close a cached story page comes to nginx serving the same HTML, and how long
an uncached render takes.

    .venv/bin/python bench/pages.py                      # the full run (about 10 minutes on a quiet machine)
    .venv/bin/python bench/pages.py --duration 5 --rounds 1 --skip-postgres --skip-redis   # a quick look
    .venv/bin/python bench/pages.py --skip-http --profile 200 --show-queries              # render costs only

What it does, all on loopback and in a throwaway directory:
1. builds a SQLite site with the demo newsroom (migrate, load_demo --no-admin, collectstatic);
2. serves it the production way: granian (WSGI, 1 worker, a few --blocking-threads settings) and
   gunicorn (sync, 2 workers), both with the page cache of byline/edge.py in front of Django; with Redis
   (REDIS_URL, db 15) as the shared cache too when Redis answers; and, for scale, both without the page cache;
3. saves the exact HTML of one story page as the page cache keeps it and serves that file with nginx
   (1 worker, access_log off);
4. loads each with wrk (1 thread, --connections, --duration, --latency), one server up at a time, round
   after round, and prints requests/s, p50/p99, the ratio to nginx and the cores used by the server, by the
   load generator and by everything else (from /proc), preferring the rounds during which nothing else ran;
   falls back to a small threaded Python client without wrk;
5. times the uncached render of the same story in-process: Django's WSGI handler as a server calls it (and
   again with the story lists fetched afresh, as after any change to pages), Django's test Client (the same
   stack, but it keeps the database connection open), and the page's serve() alone with RequestFactory;
   median, p90, CPU time and SQL queries per render; again on PostgreSQL when one answers on 127.0.0.1:5432
   (database bench_pages, created and dropped here).

Every server it starts runs in a process group of its own and is stopped on exit, error or Ctrl-C.
Goals: cached story page >= 0.45 x nginx static; uncached render median < 15 ms.
"""

import argparse
import contextlib
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

import common
from common import BUSY_CORES, PYTHON, fmt, log

CACHED_GOAL = 0.45
RENDER_GOAL_MS = 15.0
REDIS_URL = "redis://127.0.0.1:6379/15"
POSTGRES_DB = "bench_pages"
DEFAULT_STORY = "school-board-weighs-cuts-to-close-deficit"  # lead image, a correction, a wire dateline

NGINX_HTTP = """\
    types { text/html html; }
    sendfile on;
    tcp_nopush on;
    keepalive_requests 100000;"""

NGINX_SERVER = """\
    server {{
        listen 127.0.0.1:{port};
        root {dir}/html;
        location / {{ }}
    }}"""


def start_nginx(procs, ndir, port):
    return common.start_nginx(procs, ndir, NGINX_HTTP, NGINX_SERVER.format(dir=ndir, port=port))


def server_command(kind, port, threads=None):
    if kind in ("granian", "granian-rsgi"):
        return common.granian("rsgi" if kind == "granian-rsgi" else "wsgi", port, "byline.wsgi:application",
                              *(["--blocking-threads", str(threads)] if threads else []))
    return common.gunicorn(port, "byline.wsgi:application", "--worker-class", "sync", workers=2)


# --------------------------------------------------------------------------------------------------------
# Uncached render, in a child process with Django set up (`--render-worker`)

def render_worker(args):
    common.setup_django()
    from django.contrib.auth.models import AnonymousUser
    from django.core.wsgi import get_wsgi_application
    from django.db import connection
    from django.test import Client, RequestFactory

    from stories.lists import forget_list_pools
    from stories.models import StoryPage

    host = args.host_header
    story = StoryPage.objects.live().get(slug=args.story)
    path = story.url
    client = Client(HTTP_HOST=host)
    factory = RequestFactory(HTTP_HOST=host)
    django_app = get_wsgi_application()  # Django alone: byline.wsgi would put the page cache in front

    def via_wsgi():
        # As a WSGI server calls Django: request_started/finished signals included, so the database
        # connection is closed and reopened per request when CONN_MAX_AGE is 0 (the SQLite default here).
        environ = factory._base_environ(PATH_INFO=path, REQUEST_METHOD="GET", QUERY_STRING="")
        status = []
        body = django_app(environ, lambda s, h, e=None: status.append(s))
        try:
            content = b"".join(body)
        finally:
            body.close()
        assert status[0].startswith("200"), status
        return content

    def via_wsgi_lists_afresh():
        # The same, as the first render after any change to pages: each worker keeps the stories that
        # Most Popular and In Case You Missed It draw from until then (stories.lists.list_pool).
        forget_list_pools()
        return via_wsgi()

    def via_client():
        # Django's test Client: the same middleware and Wagtail routing, but the connection is kept open.
        response = client.get(path)
        assert response.status_code == 200, response.status_code
        return response.content

    def via_serve():
        # What the page costs once Wagtail has found it: get_context, the template, cache headers.
        page = StoryPage.objects.get(pk=story.pk)
        request = factory.get(path)
        request.user = AnonymousUser()
        response = page.serve(request)
        response.render()
        return response.content

    queries = []

    def timing_wrapper(execute, sql, params, many, context):
        t0 = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            queries.append((sql, time.perf_counter() - t0))

    def timed(fn):
        times, cpu = common.time_calls(fn, args.iterations, args.warmup)
        queries.clear()
        n = 20
        for _ in range(n):  # SQL of a few more renders, timed at the driver (not the ORM around it)
            with connection.execute_wrapper(timing_wrapper):
                fn()
        one = queries[: len(queries) // n]
        return {
            "median_ms": statistics.median(times),
            "p90_ms": times[int(len(times) * 0.9)],
            "min_ms": times[0],
            # CPU time of this process: what other work on a busy machine disturbs least.
            "cpu_median_ms": statistics.median(cpu),
            "queries": len(queries) / n,
            "sql": [q for q, _ in one],
            "query_ms": sum(t for _, t in queries) * 1000 / n,
        }

    content = via_wsgi()
    result = {"path": path, "vendor": connection.vendor, "bytes": len(content),
              "wsgi": timed(via_wsgi), "wsgi_afresh": timed(via_wsgi_lists_afresh), "client": timed(via_client),
              "serve": timed(via_serve)}
    if args.profile:
        import cProfile
        import io
        import pstats

        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(args.profile):
            via_wsgi()
        profiler.disable()
        buf = io.StringIO()
        stats = pstats.Stats(profiler, stream=buf)
        stats.sort_stats("cumulative").print_stats(60)
        stats.sort_stats("tottime").print_stats(25)
        result["profile"] = buf.getvalue()
    common.emit(result)


def measure_render(env, story, args, label):
    if args.wait_quiet:
        common.wait_quiet(args.wait_quiet)
    cmd = [PYTHON, __file__, "--render-worker", "--story", story, "--iterations", str(args.iterations),
           "--warmup", str(args.warmup), "--host-header", env["BYLINE_SITE_URL"].split("//", 1)[1]]
    if args.profile:
        cmd += ["--profile", str(args.profile)]
    log(f"Uncached render on {label}: {args.iterations} iterations after {args.warmup} warm-up ...")
    t0, busy0, child0 = time.monotonic(), common.system_busy(), common.children_cpu()
    result = common.worker_result(cmd, env, "render worker", timeout=1800)
    elapsed = time.monotonic() - t0
    # PostgreSQL's own backend is "other" here too: it is part of the cost, not noise.
    result["other_cores"] = max(0.0, (common.system_busy() - busy0) - (common.children_cpu() - child0)) / elapsed
    return result


# --------------------------------------------------------------------------------------------------------
# Redis, when it answers

def redis_available():
    try:
        import redis
    except ImportError:
        return None, "redis-py is not installed"
    try:
        client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1, socket_timeout=2)
        client.ping()
        return client, None
    except Exception as exc:  # any failure means "skip"
        return None, f"Redis does not answer at {REDIS_URL} ({exc.__class__.__name__}: {exc})"


def clear_redis(client):
    """Byline's keys in the bench's own database (15), so that no page cached by an earlier run is served."""
    keys = list(client.scan_iter("byline:*", count=1000))
    for i in range(0, len(keys), 1000):
        client.delete(*keys[i:i + 1000])


# --------------------------------------------------------------------------------------------------------
# The run

def story_path(env, slug):
    return common.shell(env, "from stories.models import StoryPage\n"
                             "qs = StoryPage.objects.live().order_by('path')\n"
                             f"s = qs.filter(slug={slug!r}).first() or qs.first()\n"
                             "print('PATH', s.slug, s.url)", "PATH")


def print_http_table(rows, nginx_rps, args, tool):
    print()
    print(f"Story page over HTTP: {tool}, 1 thread, {args.connections} connections, {args.duration}s per "
          f"measurement, {args.rounds} round(s): medians of the quiet rounds (other processes under "
          f"{BUSY_CORES} cores) when there are any, else of all; load generator and servers share "
          f"{os.cpu_count()} cores")

    def cells(row):
        ratio = row["rps"] / nginx_rps if nginx_rps else None
        goal = ""
        if row["cached"] and ratio is not None:
            goal = " (goal met)" if ratio >= CACHED_GOAL else f" (goal {CACHED_GOAL})"
        return [row["name"], f"{row['rps']:,.0f}", fmt(row["p50_ms"], ".2f"), fmt(row["p99_ms"], ".2f"),
                f"{fmt(ratio, '.2f')}{goal}", row["rounds"], row["errors"]]

    common.http_table(["What answered", "requests/s", "p50 ms", "p99 ms", "vs nginx static", "rounds", "errors"],
                      rows, cells)


def print_render(result, label):
    print()
    print(f"Uncached render, {label} ({result['vendor']}), {result['path']} ({result['bytes']:,} bytes), "
          "in one process, nothing else of the bench running:")
    common.table(
        ["How it was called", "median ms", "p90 ms", "min ms", "CPU ms (median)", "SQL queries",
         "time in the DB driver ms"],
        [[name, *(f"{result[key][k]:.2f}" for k in ("median_ms", "p90_ms", "min_ms", "cpu_median_ms")),
          f"{result[key]['queries']:g}", f"{result[key]['query_ms']:.2f}"]
         for key, name in (("wsgi", "Django's WSGI handler, as a server calls it (no page cache)"),
                           ("wsgi_afresh", "the same, story lists fetched afresh (first render after a change)"),
                           ("client", "test Client, whole Django stack"),
                           ("serve", "page.serve() only (RequestFactory)"))])
    other = result.get("other_cores")
    if other is not None:
        note = ("  <- other work competed: figures are high and noisy"
                if other > BUSY_CORES and result["vendor"] == "sqlite" else "")
        print(f"Other processes during the timing: {other:.2f} cores"
              + (" (PostgreSQL's server process included)" if result["vendor"] == "postgresql" else "") + note)
    verdicts = []
    for key, name in (("wsgi", "as a server calls it"), ("client", "test Client")):
        median = result[key]["median_ms"]
        verdicts.append(f"{name} {median:.1f} ms, {'met' if median < RENDER_GOAL_MS else 'NOT met'}")
    print(f"Goal: median under {RENDER_GOAL_MS:.0f} ms: " + "; ".join(verdicts) + ".")


def summarize_queries(sql):
    counts = {}
    for q in sql:
        match = re.search(r'FROM "(\w+)"', q)
        table = match.group(1) if match else q.split()[0]
        counts[table] = counts.get(table, 0) + 1
    return ", ".join(f"{t} x{n}" for t, n in sorted(counts.items(), key=lambda kv: -kv[1]))


def bench_http(args, env, path, tmp, procs, state, versions):
    """Serve the story every way, load each in turn, round after round; print the table."""
    # ---- servers
    configs = []  # (name, kind, threads, extra env, cached)
    for threads in args.granian_threads:
        configs.append((f"granian WSGI, 1 worker, {threads} blocking thread(s), page cache (file cache)",
                        "granian", threads, {}, True))
    # RSGI: what the pixel runs fastest on (byline/server.py); the rest of the site goes to Django's
    # WSGI side in a pool of threads, so the page cache is measured through that route too.
    configs.append(("granian RSGI, 1 worker, page cache (file cache)", "granian-rsgi", None, {}, True))
    if not args.skip_gunicorn:
        configs.append(("gunicorn sync, 2 workers, page cache (file cache)", "gunicorn", None, {}, True))
    if not args.skip_redis:
        state["redis"], why = redis_available()
        if state["redis"] is None:
            print(f"Redis skipped: {why}.")
        else:
            clear_redis(state["redis"])
            threads = args.granian_threads[0]
            configs.append((f"granian WSGI, 1 worker, {threads} blocking thread(s), page cache (Redis)",
                            "granian", threads, {"REDIS_URL": REDIS_URL}, True))
            if not args.skip_gunicorn:
                configs.append(("gunicorn sync, 2 workers, page cache (Redis)", "gunicorn", None,
                                {"REDIS_URL": REDIS_URL}, True))
    if not args.skip_uncached_http:
        configs.append(("granian WSGI, 1 worker, 1 blocking thread, no page cache (renders every hit)",
                        "granian", 1, {"BYLINE_EDGE_CACHE": "0"}, False))
        if not args.skip_gunicorn:
            configs.append(("gunicorn sync, 2 workers, no page cache (renders every hit)", "gunicorn", None,
                            {"BYLINE_EDGE_CACHE": "0"}, False))

    def launch(name, kind, threads, extra, cached):
        """Start one server, warm the story page in it and check where it comes from."""
        port = common.free_port()
        if kind == "nginx":
            proc, url_path = start_nginx(procs, state["nginx"], port), "/story.html"
        else:
            proc, url_path = procs.start(name, server_command(kind, port, threads), env={**env, **extra},
                                         log_path=tmp / f"server-{port}.log"), path
        status, headers, body = common.wait_ready(proc, port, url_path)
        if status != 200:
            raise RuntimeError(f"{name}: {url_path} answered {status}:\n{body[:2000]!r}")
        for _ in range(3):  # warm: the first answer fills the cache, later ones must come from it
            status, headers, body = common.http_get(port, url_path)
        if cached and headers.get("x-cache") != "HIT":
            raise RuntimeError(f"{name}: the story page is not served from the page cache (X-Cache "
                               f"{headers.get('x-cache')!r}, Cache-Control {headers.get('cache-control')!r})")
        return {"name": name, "port": port, "path": url_path, "proc": proc, "body": body}

    # The page's exact HTML, as the page cache of the first server keeps it: what nginx will serve.
    first = next((c for c in configs if c[4]), configs[0])
    server = launch(*first)
    html = server["body"]
    procs.stop(server["proc"])
    (tmp / "story.html").write_bytes(html)
    log(f"  story page: {len(html):,} bytes")
    if versions["nginx"]:
        state["nginx"] = common.nginx_dir({"story.html": html})
        configs.insert(0, (f"nginx, static file (the same {len(html):,} bytes), 1 worker", "nginx", None, {}, False))

    # ---- load, round after round so that drift touches every row alike; one server up at a time
    load = common.run_wrk if versions["wrk"] else common.run_python_client
    results = {c[0]: [] for c in configs}
    for rnd in range(args.rounds):
        for config in configs:
            name = config[0]
            server = launch(*config)
            try:
                if len(server["body"]) != len(html):
                    log(f"  note: {name} answered {len(server['body']):,} bytes (saved page: {len(html):,})")
                if args.wait_quiet:
                    common.wait_quiet(args.wait_quiet)
                url = f"http://127.0.0.1:{server['port']}{server['path']}"
                r = common.measured(load, url, args.connections, args.duration, server["proc"].pid)
                if server["proc"].poll() is not None:
                    raise RuntimeError(f"{name} exited during the run (code {server['proc'].returncode})")
            finally:
                procs.stop(server["proc"])
            results[name].append(r)
            common.log_round(rnd, name, r)
    rows = []
    for name, kind, _, _, cached in configs:
        runs = results[name]
        # Rounds during which other processes left the machine alone, when there are any.
        quiet = [r for r in runs if r["other_cores"] is not None and r["other_cores"] <= BUSY_CORES]
        errors = sum(r["non2xx"] + r["errors"] for r in runs)
        runs = quiet or runs
        rows.append({"name": name, "cached": cached, "nginx": kind == "nginx",
                     "rounds": f"{len(runs)}" + (" quiet" if quiet else ""), "errors": errors, **common.medians(runs)})
    nginx_rps = next((r["rps"] for r in rows if r["nginx"]), None)
    print_http_table(rows, nginx_rps, args, common.load_tool(versions))
    if nginx_rps:
        cached = [r for r in rows if r["cached"]]
        best = max(cached, key=lambda r: r["rps"]) if cached else None
        if best:
            ratio = best["rps"] / nginx_rps
            print(f"Goal: cached story page >= {CACHED_GOAL} x nginx static: "
                  f"{'met' if ratio >= CACHED_GOAL else 'NOT met'} (best {ratio:.2f}: {best['name']}).")


def main(args):
    procs = common.Processes()
    tmp = Path(tempfile.mkdtemp(prefix="bench-pages-"))
    state = {"redis": None, "nginx": None}  # what the finally clause must clean up
    try:
        versions = {**common.server_versions(), "django": common.package_version("django"),
                    "wagtail": common.package_version("wagtail")}
        common.print_machine(versions)

        # ---- the site
        site_port = common.free_port()
        env = common.site_env(tmp / "sqlite", site_port)
        common.build_site(env, "SQLite", collectstatic=True, show_demo=True)
        slug, path = story_path(env, args.story)
        print(f"Story page: {path}")

        if args.skip_http:
            print("HTTP measurements skipped (--skip-http).")
        else:
            bench_http(args, env, path, tmp, procs, state, versions)

        # ---- uncached render
        renders = [("SQLite", measure_render(env, slug, args, "SQLite"))]
        if args.skip_postgres:
            print("\nPostgreSQL skipped (--skip-postgres).")
        elif not common.postgres_answers():
            print("\nPostgreSQL skipped: nothing answers on 127.0.0.1:5432.")
        else:
            try:
                with common.postgres_database(POSTGRES_DB) as url:
                    pg_env = common.site_env(tmp / "postgres", site_port, DATABASE_URL=url)
                    common.build_site(pg_env, "PostgreSQL", collectstatic=True, show_demo=True)
                    renders.append(("PostgreSQL", measure_render(pg_env, slug, args, "PostgreSQL")))
            except Exception as exc:  # optional part: say why and go on
                print(f"\nPostgreSQL skipped: {exc.__class__.__name__}: {str(exc).strip()[:500]}")
        for label, result in renders:
            print_render(result, label)
            print(f"Queries per whole-stack render ({label}): {summarize_queries(result['wsgi']['sql'])}")
            if args.show_queries:
                for q in result["wsgi"]["sql"]:
                    print("   ", q[:300])
            if result.get("profile"):
                print(f"\ncProfile of {args.profile} whole-stack renders ({label}):\n{result['profile']}")
        return 0
    finally:
        procs.stop_all()
        if state["nginx"] is not None:
            common.remove(state["nginx"], args.keep)
        if state["redis"] is not None:
            with contextlib.suppress(Exception):
                clear_redis(state["redis"])
        common.remove(tmp, args.keep)


def parse_args(argv=None):
    p = common.parser(__doc__, load=True)
    p.add_argument("--rounds", type=int, default=3, help="rounds over every server; medians reported (default 3)")
    p.add_argument("--granian-threads", type=lambda s: [int(x) for x in s.split(",")], default=[1, 2, 4],
                   help="granian --blocking-threads settings to try, comma-separated (default 1,2,4)")
    p.add_argument("--story", default=DEFAULT_STORY, help="slug of the story page to measure")
    p.add_argument("--iterations", type=int, default=300, help="uncached renders timed (default 300)")
    p.add_argument("--warmup", type=int, default=30, help="uncached renders before timing (default 30)")
    p.add_argument("--profile", type=int, default=0, metavar="N",
                   help="also cProfile N whole-stack renders and print the top functions")
    p.add_argument("--show-queries", action="store_true", help="print the SQL of one render")
    p.add_argument("--skip-http", action="store_true", help="only the in-process render timing")
    p.add_argument("--skip-gunicorn", action="store_true")
    p.add_argument("--skip-redis", action="store_true")
    p.add_argument("--skip-postgres", action="store_true")
    p.add_argument("--skip-uncached-http", action="store_true", help="leave out the rows without the page cache")
    common.add_run_options(p)
    # Internal: the in-process render timing runs in a child with Django set up for one database.
    p.add_argument("--render-worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--host-header", default="127.0.0.1", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.duration < 1 or args.connections < 1 or args.rounds < 1 or args.iterations < 10:
        p.error("--duration, --connections and --rounds must be >= 1, --iterations >= 10")
    return args


if __name__ == "__main__":
    arguments = parse_args()
    sys.exit(render_worker(arguments) if arguments.render_worker else common.run(main, arguments))
