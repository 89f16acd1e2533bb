#!/usr/bin/env python3
"""Story page benchmark: how close a cached story page comes to nginx serving the same HTML, and how long
an uncached render takes.

    .venv/bin/python bench/pages.py                      # the full run (about 3 minutes)
    .venv/bin/python bench/pages.py --duration 5 --rounds 1 --skip-postgres --skip-redis   # a quick look

What it does, all on loopback and in a throwaway directory:
1. builds a SQLite site with the demo newsroom (migrate, load_demo --no-admin, collectstatic);
2. serves it the production way: granian (WSGI, 1 worker, a few --blocking-threads settings) and
   gunicorn (sync, 2 workers), both with the page cache of byline/edge.py in front of Django; with Redis
   (REDIS_URL, db 15) as the shared cache too when Redis answers;
3. saves the exact HTML of one story page and serves that file with nginx (1 worker, access_log off);
4. loads each with wrk (1 thread, --connections, --duration, --latency), nginx first, and prints
   requests/s, p99 and the ratio to nginx; falls back to a small threaded Python client without wrk;
5. times the uncached render of the same story in-process (Django's test Client through the whole
   middleware stack, and the page's serve() alone with RequestFactory), median and p90, with the number
   of SQL queries; again on PostgreSQL when one answers on 127.0.0.1:5432.

Every server it starts runs in its own process group and is stopped on exit, error or Ctrl-C.
Goals: cached story page >= 0.45 x nginx static; uncached render median < 15 ms.
"""

import argparse
import contextlib
import http.client
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
VENV_BIN = Path(PYTHON).parent
CACHED_GOAL = 0.45
RENDER_GOAL_MS = 15.0
REDIS_URL = "redis://127.0.0.1:6379/15"
POSTGRES_DB = "bench_pages"
POSTGRES_ADMIN = "postgres://postgres@127.0.0.1:5432/postgres"
DEFAULT_STORY = "school-board-weighs-cuts-to-close-deficit"  # lead image, a correction, a wire dateline


def log(*args):
    print(*args, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------------------------
# Processes

class Processes:
    """Every process the bench starts, each in its own session so that it can be stopped with its children."""

    def __init__(self):
        self.running = []

    def start(self, name, cmd, env=None, log_path=None, cwd=ROOT):
        out = open(log_path, "ab") if log_path else subprocess.DEVNULL
        try:
            proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True)
        finally:
            if log_path:
                out.close()
        proc.bench_name = name
        self.running.append(proc)
        return proc

    def stop(self, proc, timeout=10):
        if proc not in self.running:
            return
        self.running.remove(proc)
        if proc.poll() is None:
            for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5)):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, sig)
                try:
                    proc.wait(wait)
                    break
                except subprocess.TimeoutExpired:
                    continue
        # Anything its children left behind in the group.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)

    def stop_all(self):
        for proc in list(reversed(self.running)):
            self.stop(proc)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(port, path, timeout=10):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path, headers={"Host": f"127.0.0.1:{port}"})
        resp = conn.getresponse()
        return resp.status, dict((k.lower(), v) for k, v in resp.getheaders()), resp.read()
    finally:
        conn.close()


def wait_ready(proc, port, path, timeout=60):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.bench_name} exited with code {proc.returncode} before answering")
        try:
            return http_get(port, path)
        except OSError as exc:
            last = exc
            time.sleep(0.2)
    raise RuntimeError(f"{proc.bench_name} did not answer on 127.0.0.1:{port} within {timeout}s ({last})")


def manage(env, *args):
    subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, env=env, check=True,
                   stdout=subprocess.DEVNULL if "-v0" in args else None)


def tool_version(cmd):
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    text = (out.stdout + out.stderr).strip().splitlines()
    return text[0].strip() if text else None


# --------------------------------------------------------------------------------------------------------
# Load generation

_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(text):
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    return float(match.group(1)) * _UNITS[match.group(2)] if match else None


def run_wrk(url, connections, duration):
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--timeout", "10s", "--latency", url]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 60).stdout
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.M)
    p50 = re.search(r"^\s+50%\s+(\S+)", out, re.M)
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if not rps:
        raise RuntimeError(f"could not read wrk output:\n{out}")
    return {
        "rps": float(rps.group(1)),
        "p50_ms": _ms(p50.group(1)) if p50 else None,
        "p99_ms": _ms(p99.group(1)) if p99 else None,
        "non2xx": int(non2xx.group(1)) if non2xx else 0,
        "errors": sum(int(g) for g in errors.groups()) if errors else 0,
    }


def run_python_client(url, connections, duration):
    """A small keep-alive client, one thread per connection (the GIL makes it far weaker than wrk)."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    deadline = time.monotonic() + duration
    latencies, counts = [], {"non2xx": 0, "errors": 0}
    lock = threading.Lock()

    def worker():
        mine, non2xx, errors = [], 0, 0
        conn = None
        while time.monotonic() < deadline:
            try:
                if conn is None:
                    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
                t0 = time.perf_counter()
                conn.request("GET", parts.path)
                resp = conn.getresponse()
                resp.read()
                mine.append((time.perf_counter() - t0) * 1000)
                if resp.status >= 400:
                    non2xx += 1
                if resp.will_close:
                    conn.close()
                    conn = None
            except (OSError, http.client.HTTPException):
                errors += 1
                if conn is not None:
                    conn.close()
                conn = None
        if conn is not None:
            conn.close()
        with lock:
            latencies.extend(mine)
            counts["non2xx"] += non2xx
            counts["errors"] += errors

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(min(connections, 64))]
    start = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(duration + 30)
    elapsed = time.monotonic() - start
    latencies.sort()
    pick = (lambda q: latencies[min(len(latencies) - 1, int(len(latencies) * q))]) if latencies else (lambda q: None)
    return {"rps": len(latencies) / elapsed, "p50_ms": pick(0.5), "p99_ms": pick(0.99), **counts}


# --------------------------------------------------------------------------------------------------------
# Servers

NGINX_CONF = """\
daemon off;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    types {{ text/html html; }}
    default_type application/octet-stream;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 100000;
    client_body_temp_path {dir}/tmp;
    proxy_temp_path {dir}/tmp;
    fastcgi_temp_path {dir}/tmp;
    uwsgi_temp_path {dir}/tmp;
    scgi_temp_path {dir}/tmp;
    server {{
        listen 127.0.0.1:{port};
        root {dir}/html;
        location / {{ }}
    }}
}}
"""


def start_nginx(procs, html, port):
    # nginx's worker runs as nobody when started by root: a directory everyone may read.
    ndir = Path(tempfile.mkdtemp(prefix="bench-nginx-"))
    ndir.chmod(0o755)
    (ndir / "html").mkdir(mode=0o755)
    (ndir / "tmp").mkdir(mode=0o755)
    (ndir / "html" / "story.html").write_bytes(html)
    (ndir / "html" / "story.html").chmod(0o644)
    conf = ndir / "nginx.conf"
    conf.write_text(NGINX_CONF.format(dir=ndir, port=port))
    proc = procs.start("nginx", [shutil.which("nginx"), "-p", str(ndir), "-c", str(conf)],
                       log_path=ndir / "stdout.log")
    proc.bench_dir = ndir
    return proc, "/story.html"


def server_command(kind, port, threads=None):
    if kind == "granian":
        cmd = [str(VENV_BIN / "granian"), "--interface", "wsgi", "--host", "127.0.0.1", "--port", str(port),
               "--workers", "1", "--log-level", "warning", "--no-ws"]
        if threads:
            cmd += ["--blocking-threads", str(threads)]
        return cmd + ["byline.wsgi:application"]
    return [str(VENV_BIN / "gunicorn"), "byline.wsgi:application", "--bind", f"127.0.0.1:{port}",
            "--workers", "2", "--worker-class", "sync", "--log-level", "warning"]


# --------------------------------------------------------------------------------------------------------
# Uncached render, in a child process with Django set up (`--render-worker`)

def render_worker(args):
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.contrib.auth.models import AnonymousUser
    from django.db import connection, reset_queries
    from django.test import Client, RequestFactory
    from django.test.utils import CaptureQueriesContext

    from stories.models import StoryPage

    host = args.host_header
    story = StoryPage.objects.live().get(slug=args.story)
    path = story.url
    client = Client(HTTP_HOST=host)
    factory = RequestFactory(HTTP_HOST=host)

    def via_client():
        response = client.get(path)
        assert response.status_code == 200, response.status_code
        return response

    def via_serve():
        # What the page costs once Wagtail has found it: get_context, the template, cache headers.
        page = StoryPage.objects.get(pk=story.pk)
        request = factory.get(path)
        request.user = AnonymousUser()
        response = page.serve(request)
        response.render()
        return response

    def timed(fn):
        for _ in range(args.warmup):
            fn()
        times = []
        for _ in range(args.iterations):
            t0 = time.perf_counter()
            fn()
            times.append((time.perf_counter() - t0) * 1000)
        times.sort()
        with CaptureQueriesContext(connection) as captured:
            fn()
        reset_queries()
        return {
            "median_ms": statistics.median(times),
            "p90_ms": times[int(len(times) * 0.9)],
            "min_ms": times[0],
            "queries": len(captured.captured_queries),
            "sql": [q["sql"] for q in captured.captured_queries],
            "query_ms": sum(float(q["time"]) for q in captured.captured_queries) * 1000,
        }

    result = {"path": path, "vendor": connection.vendor, "bytes": len(via_client().content),
              "client": timed(via_client), "serve": timed(via_serve)}
    if args.profile:
        import cProfile
        import io
        import pstats

        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(args.profile):
            via_client()
        profiler.disable()
        buf = io.StringIO()
        stats = pstats.Stats(profiler, stream=buf)
        stats.sort_stats("cumulative").print_stats(45)
        stats.sort_stats("tottime").print_stats(25)
        result["profile"] = buf.getvalue()
    print("RESULT " + json.dumps(result))


def measure_render(env, story, args, label):
    cmd = [PYTHON, __file__, "--render-worker", "--story", story, "--iterations", str(args.iterations),
           "--warmup", str(args.warmup), "--host-header", env["BYLINE_SITE_URL"].split("//", 1)[1]]
    if args.profile:
        cmd += ["--profile", str(args.profile)]
    log(f"Uncached render on {label}: {args.iterations} iterations after {args.warmup} warm-up ...")
    out = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800)
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("RESULT ")), None)
    if out.returncode != 0 or line is None:
        raise RuntimeError(f"render worker failed ({out.returncode}):\n{out.stderr[-3000:]}")
    return json.loads(line[len("RESULT "):])


# --------------------------------------------------------------------------------------------------------
# Optional services

def redis_available():
    try:
        import redis
    except ImportError:
        return None, "redis-py is not installed"
    try:
        client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1, socket_timeout=2)
        client.ping()
        return client, None
    except Exception as exc:  # noqa: BLE001 - any failure means "skip"
        return None, f"Redis does not answer at {REDIS_URL} ({exc.__class__.__name__}: {exc})"


def clear_redis(client):
    """Byline's keys in the bench's own database (15), so that no page cached by an earlier run is served."""
    keys = list(client.scan_iter("byline:*", count=1000))
    for i in range(0, len(keys), 1000):
        client.delete(*keys[i:i + 1000])


@contextlib.contextmanager
def postgres_database():
    """Create bench_pages (dropping a leftover first) and drop it on the way out."""
    import psycopg

    def admin(sql):
        with psycopg.connect(POSTGRES_ADMIN, autocommit=True, connect_timeout=3) as conn:
            conn.execute(sql)

    admin(f"DROP DATABASE IF EXISTS {POSTGRES_DB} WITH (FORCE)")
    admin(f"CREATE DATABASE {POSTGRES_DB}")
    try:
        yield f"postgres://postgres@127.0.0.1:5432/{POSTGRES_DB}"
    finally:
        with contextlib.suppress(Exception):
            admin(f"DROP DATABASE IF EXISTS {POSTGRES_DB} WITH (FORCE)")


# --------------------------------------------------------------------------------------------------------
# The run

def site_env(var_dir, site_port, **extra):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "CACHE_URL")}
    env.update({
        "BYLINE_VAR_DIR": str(var_dir),
        "DJANGO_SETTINGS_MODULE": "byline.settings.production",
        "SECRET_KEY": "bench",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "BYLINE_SITE_URL": f"http://127.0.0.1:{site_port}",
        "PYTHONPATH": str(ROOT),
        "LOG_LEVEL": "ERROR",
    })
    env.update(extra)
    return env


def build_site(env, label):
    log(f"Building the demo site on {label} ...")
    t0 = time.monotonic()
    manage(env, "migrate", "--noinput", "-v0")
    manage(env, "load_demo", "--no-admin")
    manage(env, "collectstatic", "--noinput", "-v0")
    log(f"  ready in {time.monotonic() - t0:.1f}s")


def story_path(env, slug):
    code = ("from stories.models import StoryPage\n"
            f"qs = StoryPage.objects.live().order_by('path')\n"
            f"s = qs.filter(slug={slug!r}).first() or qs.first()\n"
            "print('PATH', s.slug, s.url)")
    out = subprocess.run([PYTHON, "manage.py", "shell", "-c", code], cwd=ROOT, env=env, capture_output=True,
                         text=True, check=True, timeout=120).stdout
    _, slug, path = next(ln for ln in out.splitlines() if ln.startswith("PATH ")).split()
    return slug, path


def fmt(value, spec):
    return "-" if value is None else format(value, spec)


def print_http_table(rows, nginx_rps, args, tool):
    print()
    print(f"Story page over HTTP: {tool}, 1 thread, {args.connections} connections, {args.duration}s, "
          f"median of {args.rounds} round(s); load generator and servers share {os.cpu_count()} cores")
    print(f"| What answered | requests/s | p50 ms | p99 ms | vs nginx static | errors |")
    print("|---|---|---|---|---|---|")
    for row in rows:
        ratio = row["rps"] / nginx_rps if nginx_rps else None
        goal = ""
        if row.get("cached") and ratio is not None:
            goal = " (goal met)" if ratio >= CACHED_GOAL else f" (goal {CACHED_GOAL})"
        print(f"| {row['name']} | {row['rps']:,.0f} | {fmt(row['p50_ms'], '.2f')} | {fmt(row['p99_ms'], '.2f')} "
              f"| {fmt(ratio, '.2f')}{goal} | {row['non2xx'] + row['errors']} |")


def print_render(result, label):
    print()
    print(f"Uncached render, {label} ({result['vendor']}), {result['path']} ({result['bytes']:,} bytes):")
    print("| Path | median ms | p90 ms | min ms | SQL queries | SQL time ms |")
    print("|---|---|---|---|---|---|")
    for key, name in (("client", "test Client, whole Django stack"), ("serve", "page.serve() only (RequestFactory)")):
        r = result[key]
        print(f"| {name} | {r['median_ms']:.2f} | {r['p90_ms']:.2f} | {r['min_ms']:.2f} | {r['queries']} "
              f"| {r['query_ms']:.2f} |")
    median = result["client"]["median_ms"]
    verdict = "met" if median < RENDER_GOAL_MS else "NOT met"
    print(f"Goal: median under {RENDER_GOAL_MS:.0f} ms (whole stack): {verdict} ({median:.1f} ms).")


def summarize_queries(sql):
    counts = {}
    for q in sql:
        match = re.search(r'FROM "(\w+)"', q)
        table = match.group(1) if match else q.split()[0]
        counts[table] = counts.get(table, 0) + 1
    return ", ".join(f"{t} x{n}" for t, n in sorted(counts.items(), key=lambda kv: -kv[1]))


def main(args):
    procs = Processes()
    tmp = Path(tempfile.mkdtemp(prefix="bench-pages-"))
    redis_client = None
    nginx_proc = None

    def on_term(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    try:
        # ---- environment
        wrk = shutil.which("wrk")
        nginx = shutil.which("nginx")
        versions = {
            "python": platform.python_version(),
            "wrk": tool_version(["wrk", "--version"]) if wrk else None,
            "nginx": tool_version(["nginx", "-v"]) if nginx else None,
            "granian": tool_version([str(VENV_BIN / "granian"), "--version"]),
            "gunicorn": tool_version([str(VENV_BIN / "gunicorn"), "--version"]),
        }
        cpu = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                    if ln.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").exists() else "?"
        print(f"Machine: {os.cpu_count()} cores, {cpu}")
        for name, version in versions.items():
            print(f"  {name}: {version or 'not installed'}")
        if not wrk:
            print("wrk is not installed: falling back to a threaded Python client (much weaker; ratios only).")
        if not nginx:
            print("nginx is not installed: no static baseline, so no ratios.")

        # ---- the site
        site_port = free_port()
        var_dir = tmp / "sqlite"
        env = site_env(var_dir, site_port)
        build_site(env, "SQLite")
        slug, path = story_path(env, args.story)
        print(f"Story page: {path}")

        # ---- servers
        configs = []  # (name, kind, threads, extra env, cached)
        for threads in args.granian_threads:
            configs.append((f"granian WSGI, 1 worker, {threads} blocking thread(s), page cache (file cache)",
                            "granian", threads, {}, True))
        if not args.skip_gunicorn:
            configs.append(("gunicorn sync, 2 workers, page cache (file cache)", "gunicorn", None, {}, True))
        if not args.skip_redis:
            redis_client, why = redis_available()
            if redis_client is None:
                print(f"Redis skipped: {why}.")
            else:
                clear_redis(redis_client)
                best = max(args.granian_threads)
                configs.append((f"granian WSGI, 1 worker, {best} blocking thread(s), page cache (Redis)",
                                "granian", best, {"REDIS_URL": REDIS_URL}, True))
                if not args.skip_gunicorn:
                    configs.append(("gunicorn sync, 2 workers, page cache (Redis)", "gunicorn", None,
                                    {"REDIS_URL": REDIS_URL}, True))
        if not args.skip_uncached_http:
            configs.append(("granian WSGI, 1 worker, 1 blocking thread, no page cache (renders every hit)",
                            "granian", 1, {"BYLINE_EDGE_CACHE": "0"}, False))
            if not args.skip_gunicorn:
                configs.append(("gunicorn sync, 2 workers, no page cache (renders every hit)", "gunicorn", None,
                                {"BYLINE_EDGE_CACHE": "0"}, False))

        servers = []
        html = None
        for name, kind, threads, extra, cached in configs:
            port = free_port()
            proc = procs.start(name, server_command(kind, port, threads), env={**env, **extra},
                               log_path=tmp / f"server-{port}.log")
            status, headers, body = wait_ready(proc, port, path)
            if status != 200:
                raise RuntimeError(f"{name}: {path} answered {status}:\n{body[:2000]!r}")
            for _ in range(3):  # warm: the first answer fills the cache, later ones must come from it
                status, headers, body = http_get(port, path)
            if cached and headers.get("x-cache") != "HIT":
                raise RuntimeError(f"{name}: the story page is not served from the page cache "
                                   f"(X-Cache {headers.get('x-cache')!r}, Cache-Control {headers.get('cache-control')!r})")
            if html is None and cached:
                html = body
            log(f"  up: {name} on :{port} ({len(body):,} bytes, X-Cache {headers.get('x-cache', '-')})")
            servers.append({"name": name, "port": port, "path": path, "cached": cached, "proc": proc,
                            "bytes": len(body)})
        if html is None:
            status, headers, html = http_get(servers[0]["port"], path)
        (tmp / "story.html").write_bytes(html)

        if nginx:
            nginx_port = free_port()
            nginx_proc, nginx_path = start_nginx(procs, html, nginx_port)
            status, headers, body = wait_ready(nginx_proc, nginx_port, nginx_path)
            if status != 200 or body != html:
                raise RuntimeError(f"nginx answered {status} with {len(body)} bytes instead of the saved page")
            servers.insert(0, {"name": f"nginx, static file (the same {len(html):,} bytes), 1 worker",
                               "port": nginx_port, "path": nginx_path, "cached": False, "nginx": True,
                               "bytes": len(body)})

        # ---- load, round after round so that drift touches every row alike
        load = run_wrk if wrk else run_python_client
        tool = versions["wrk"].split(" [")[0] if wrk else "Python threaded client"
        results = {s["name"]: [] for s in servers}
        for rnd in range(args.rounds):
            for s in servers:
                url = f"http://127.0.0.1:{s['port']}{s['path']}"
                r = load(url, args.connections, args.duration)
                results[s["name"]].append(r)
                log(f"  round {rnd + 1}: {s['name']}: {r['rps']:,.0f} req/s, p99 {fmt(r['p99_ms'], '.2f')} ms"
                    + (f", {r['non2xx']} non-2xx, {r['errors']} socket errors" if r["non2xx"] or r["errors"] else ""))
        rows = []
        for s in servers:
            runs = results[s["name"]]
            rows.append({
                "name": s["name"], "cached": s["cached"],
                "rps": statistics.median(r["rps"] for r in runs),
                "p50_ms": statistics.median(r["p50_ms"] for r in runs) if runs[0]["p50_ms"] is not None else None,
                "p99_ms": statistics.median(r["p99_ms"] for r in runs) if runs[0]["p99_ms"] is not None else None,
                "non2xx": sum(r["non2xx"] for r in runs), "errors": sum(r["errors"] for r in runs),
            })
            if s.get("proc") and s["proc"].poll() is not None:
                print(f"warning: {s['name']} exited during the run (code {s['proc'].returncode})")
        procs.stop_all()  # free the cores for the in-process render timing
        nginx_rps = next((r["rps"] for r, s in zip(rows, servers) if s.get("nginx")), None)
        print_http_table(rows, nginx_rps, args, tool)
        if nginx_rps:
            cached = [r for r in rows if r["cached"]]
            best = max(cached, key=lambda r: r["rps"]) if cached else None
            if best:
                ratio = best["rps"] / nginx_rps
                print(f"Goal: cached story page >= {CACHED_GOAL} x nginx static: "
                      f"{'met' if ratio >= CACHED_GOAL else 'NOT met'} (best {ratio:.2f}: {best['name']}).")

        # ---- uncached render
        renders = [("SQLite", measure_render(env, slug, args, "SQLite"))]
        if args.skip_postgres:
            print("\nPostgreSQL skipped (--skip-postgres).")
        else:
            try:
                socket.create_connection(("127.0.0.1", 5432), timeout=1).close()
            except OSError:
                print("\nPostgreSQL skipped: nothing answers on 127.0.0.1:5432.")
            else:
                try:
                    with postgres_database() as url:
                        pg_env = site_env(tmp / "postgres", site_port, DATABASE_URL=url)
                        build_site(pg_env, "PostgreSQL")
                        renders.append(("PostgreSQL", measure_render(pg_env, slug, args, "PostgreSQL")))
                except Exception as exc:  # noqa: BLE001 - optional part: say why and go on
                    print(f"\nPostgreSQL skipped: {exc.__class__.__name__}: {str(exc).strip()[:500]}")
        for label, result in renders:
            print_render(result, label)
            print(f"Queries per whole-stack render ({label}): {summarize_queries(result['client']['sql'])}")
            if args.show_queries:
                for q in result["client"]["sql"]:
                    print("   ", q[:300])
            if result.get("profile"):
                print(f"\ncProfile of {args.profile} whole-stack renders ({label}):\n{result['profile']}")
        return 0
    except KeyboardInterrupt:
        log("Interrupted: stopping servers.")
        return 130
    finally:
        procs.stop_all()
        if nginx_proc is not None and not args.keep:
            shutil.rmtree(nginx_proc.bench_dir, ignore_errors=True)
        if redis_client is not None:
            with contextlib.suppress(Exception):
                clear_redis(redis_client)
        if args.keep:
            log(f"Kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--duration", type=int, default=10, help="seconds per wrk run (default 10)")
    p.add_argument("--connections", type=int, default=50, help="wrk connections (default 50)")
    p.add_argument("--rounds", type=int, default=3, help="rounds over every server; medians reported (default 3)")
    p.add_argument("--granian-threads", type=lambda s: [int(x) for x in s.split(",")], default=[1, 2, 4],
                   help="granian --blocking-threads settings to try, comma-separated (default 1,2,4)")
    p.add_argument("--story", default=DEFAULT_STORY, help="slug of the story page to measure")
    p.add_argument("--iterations", type=int, default=300, help="uncached renders timed (default 300)")
    p.add_argument("--warmup", type=int, default=30, help="uncached renders before timing (default 30)")
    p.add_argument("--profile", type=int, default=0, metavar="N",
                   help="also cProfile N whole-stack renders and print the top functions")
    p.add_argument("--show-queries", action="store_true", help="print the SQL of one render")
    p.add_argument("--skip-gunicorn", action="store_true")
    p.add_argument("--skip-redis", action="store_true")
    p.add_argument("--skip-postgres", action="store_true")
    p.add_argument("--skip-uncached-http", action="store_true", help="leave out the rows without the page cache")
    p.add_argument("--keep", action="store_true", help="keep the temporary directory")
    # Internal: the in-process render timing runs in a child with Django set up for one database.
    p.add_argument("--render-worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--host-header", default="127.0.0.1", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.duration < 1 or args.connections < 1 or args.rounds < 1 or args.iterations < 10:
        p.error("--duration, --connections and --rounds must be >= 1, --iterations >= 10")
    return args


if __name__ == "__main__":
    arguments = parse_args()
    if arguments.render_worker:
        render_worker(arguments)
        sys.exit(0)
    sys.exit(main(arguments))
