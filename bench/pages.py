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

Every server it starts runs in its own session and is stopped on exit, error or Ctrl-C.
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
BUSY_CORES = 0.25  # other processes using more than this during a measurement make it suspect
POSTGRES_DB = "bench_pages"
POSTGRES_ADMIN = "postgres://postgres@127.0.0.1:5432/postgres"
DEFAULT_STORY = "school-board-weighs-cuts-to-close-deficit"  # lead image, a correction, a wire dateline


def log(*args):
    print(*args, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------------------------
# Processes

class Processes:
    """Every process the bench starts, each in its own process group so that it can be stopped with its
    children.

    Not in a session of its own (unless `own_session`): Linux's autogroup scheduler (on by default in desktop
    and most distribution kernels) makes each session one scheduling group, and then a server's threads
    together get one share of a contended CPU against the load generator's, where a single-threaded server
    (nginx) loses nothing. On 2 cores shared with wrk that cut a granian server (an event loop plus its I/O
    threads) by a quarter; a server on its own machine has no load generator beside it."""

    def __init__(self, own_session=False):
        self.running = []
        self.own_session = own_session

    def start(self, name, cmd, env=None, log_path=None, cwd=ROOT):
        out = open(log_path, "ab") if log_path else subprocess.DEVNULL
        try:
            proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=self.own_session,
                                    process_group=None if self.own_session else 0)
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
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
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


def package_version(name):
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return None


# --------------------------------------------------------------------------------------------------------
# CPU accounting: on a small machine the load generator and anything else running compete with the server.

CLK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def autogroup():
    """Whether the kernel schedules each session as one group ("on", "off" or "unknown")."""
    try:
        return {"1": "on", "0": "off"}[Path("/proc/sys/kernel/sched_autogroup_enabled").read_text().strip()]
    except (OSError, KeyError):
        return "unknown"


def group_cpu(pgid):
    """CPU seconds used so far by the live processes of one process group (a server and its workers)."""
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()  # fields[0] is field 3 of proc(5)
        if int(fields[2]) == pgid:
            total += int(fields[11]) + int(fields[12])
    return total / CLK


def system_busy():
    """CPU seconds the whole machine has spent in processes (user, nice, system: every core) since boot.
    Interrupt and softirq time (much of loopback networking) and steal are left out: they are nobody's."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:9]]
    return (values[0] + values[1] + values[2]) / CLK


def background_load(seconds=2.0):
    """Cores kept busy by everything else on the machine, sampled over a couple of seconds."""
    if not os.path.exists("/proc/stat"):
        return None
    t0, b0 = time.monotonic(), system_busy()
    time.sleep(seconds)
    return (system_busy() - b0) / (time.monotonic() - t0)


def wait_quiet(budget):
    """Wait up to `budget` seconds for other work on the machine to calm down; returns the last load seen."""
    deadline = time.monotonic() + budget
    while True:
        load = background_load(1.0)
        if load is None or load <= BUSY_CORES or time.monotonic() >= deadline:
            return load


def children_cpu():
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def self_cpu():
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def measured(load, url, connections, duration, server_group):
    """Run one load test and say how many cores the server, the load generator and everything else used."""
    proc_ok = os.path.exists("/proc/stat")
    before = (time.monotonic(), system_busy() if proc_ok else 0, group_cpu(server_group) if proc_ok else 0,
              children_cpu(), self_cpu())
    result = load(url, connections, duration)
    after = (time.monotonic(), system_busy() if proc_ok else 0, group_cpu(server_group) if proc_ok else 0,
             children_cpu(), self_cpu())
    elapsed = after[0] - before[0]
    server = (after[2] - before[2]) / elapsed
    client = ((after[3] - before[3]) + (after[4] - before[4])) / elapsed
    busy = (after[1] - before[1]) / elapsed
    result.update(server_cores=server if proc_ok else None, client_cores=client,
                  other_cores=max(0.0, busy - server - client) if proc_ok else None)
    return result


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


def prepare_nginx(html):
    """A directory with the saved page, readable by nginx's worker (nobody, when started by root)."""
    ndir = Path(tempfile.mkdtemp(prefix="bench-nginx-"))
    ndir.chmod(0o755)
    (ndir / "html").mkdir(mode=0o755)
    (ndir / "tmp").mkdir(mode=0o755)
    (ndir / "html" / "story.html").write_bytes(html)
    (ndir / "html" / "story.html").chmod(0o644)
    return ndir


def start_nginx(procs, ndir, port):
    conf = ndir / "nginx.conf"
    conf.write_text(NGINX_CONF.format(dir=ndir, port=port))
    return procs.start("nginx", [shutil.which("nginx"), "-p", str(ndir), "-c", str(conf)],
                       log_path=ndir / "stdout.log")


def server_command(kind, port, threads=None):
    if kind in ("granian", "granian-rsgi"):
        interface = "rsgi" if kind == "granian-rsgi" else "wsgi"
        cmd = [str(VENV_BIN / "granian"), "--interface", interface, "--host", "127.0.0.1", "--port", str(port),
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
        for _ in range(args.warmup):
            fn()
        times, cpu = [], []
        for _ in range(args.iterations):
            t0, c0 = time.perf_counter(), time.process_time()
            fn()
            times.append((time.perf_counter() - t0) * 1000)
            cpu.append((time.process_time() - c0) * 1000)
        times.sort()
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
    print("RESULT " + json.dumps(result))


def measure_render(env, story, args, label):
    if args.wait_quiet:
        wait_quiet(args.wait_quiet)
    cmd = [PYTHON, __file__, "--render-worker", "--story", story, "--iterations", str(args.iterations),
           "--warmup", str(args.warmup), "--host-header", env["BYLINE_SITE_URL"].split("//", 1)[1]]
    if args.profile:
        cmd += ["--profile", str(args.profile)]
    log(f"Uncached render on {label}: {args.iterations} iterations after {args.warmup} warm-up ...")
    t0, busy0, child0 = time.monotonic(), system_busy(), children_cpu()
    out = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800)
    elapsed = time.monotonic() - t0
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("RESULT ")), None)
    if out.returncode != 0 or line is None:
        raise RuntimeError(f"render worker failed ({out.returncode}):\n{out.stderr[-3000:]}")
    result = json.loads(line[len("RESULT "):])
    # PostgreSQL's own backend is "other" here too: it is part of the cost, not noise.
    result["other_cores"] = max(0.0, (system_busy() - busy0) - (children_cpu() - child0)) / elapsed
    return result


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
    except Exception as exc:  # any failure means "skip"
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
        "SECRET_KEY": "bench-secret-key-for-benchmarks-only-not-for-any-real-site",
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
    print(f"Story page over HTTP: {tool}, 1 thread, {args.connections} connections, {args.duration}s per "
          f"measurement, {args.rounds} round(s): medians of the quiet rounds (other processes under "
          f"{BUSY_CORES} cores) when there are any, else of all; load generator and servers share "
          f"{os.cpu_count()} cores")
    print("| What answered | requests/s | p50 ms | p99 ms | vs nginx static | rounds | errors "
          "| cores: server / load gen. / other |")
    print("|---|---|---|---|---|---|---|---|")
    busy = False
    for row in rows:
        ratio = row["rps"] / nginx_rps if nginx_rps else None
        mark = ""
        if row["other_cores"] is not None and row["other_cores"] > BUSY_CORES:
            mark, busy = " (*)", True
        goal = ""
        if row.get("cached") and ratio is not None:
            goal = " (goal met)" if ratio >= CACHED_GOAL else f" (goal {CACHED_GOAL})"
        print(f"| {row['name']} | {row['rps']:,.0f} | {fmt(row['p50_ms'], '.2f')} | {fmt(row['p99_ms'], '.2f')} "
              f"| {fmt(ratio, '.2f')}{goal} | {row['rounds']} | {row['errors']} "
              f"| {fmt(row['server_cores'], '.2f')} / {fmt(row['client_cores'], '.2f')} / "
              f"{fmt(row['other_cores'], '.2f')}{mark} |")
    if busy:
        print(f"(*) other processes kept more than {BUSY_CORES} of a core busy during this measurement: "
              "it is low and noisy; run again on a quiet machine.")


def print_render(result, label):
    print()
    print(f"Uncached render, {label} ({result['vendor']}), {result['path']} ({result['bytes']:,} bytes), "
          "in one process, nothing else of the bench running:")
    print("| How it was called | median ms | p90 ms | min ms | CPU ms (median) | SQL queries "
          "| time in the DB driver ms |")
    print("|---|---|---|---|---|---|---|")
    for key, name in (("wsgi", "Django's WSGI handler, as a server calls it (no page cache)"),
                      ("wsgi_afresh", "the same, story lists fetched afresh (first render after a change)"),
                      ("client", "test Client, whole Django stack"),
                      ("serve", "page.serve() only (RequestFactory)")):
        r = result[key]
        print(f"| {name} | {r['median_ms']:.2f} | {r['p90_ms']:.2f} | {r['min_ms']:.2f} | {r['cpu_median_ms']:.2f} "
              f"| {r['queries']:g} | {r['query_ms']:.2f} |")
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
    wrk, nginx = versions["wrk"], versions["nginx"]
    # ---- servers
    configs = []  # (name, kind, threads, extra env, cached)
    for threads in args.granian_threads:
        configs.append((f"granian WSGI, 1 worker, {threads} blocking thread(s), page cache (file cache)",
                        "granian", threads, {}, True))
    # RSGI: what the pixel runs fastest on (tracking/endpoint.py); the rest of the site goes to Django's
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
        port = free_port()
        if kind == "nginx":
            proc, url_path = start_nginx(procs, state["nginx"], port), "/story.html"
        else:
            proc, url_path = procs.start(name, server_command(kind, port, threads), env={**env, **extra},
                                         log_path=tmp / f"server-{port}.log"), path
        status, headers, body = wait_ready(proc, port, url_path)
        if status != 200:
            raise RuntimeError(f"{name}: {url_path} answered {status}:\n{body[:2000]!r}")
        for _ in range(3):  # warm: the first answer fills the cache, later ones must come from it
            status, headers, body = http_get(port, url_path)
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
    if nginx:
        state["nginx"] = prepare_nginx(html)
        configs.insert(0, (f"nginx, static file (the same {len(html):,} bytes), 1 worker", "nginx", None, {}, False))

    # ---- load, round after round so that drift touches every row alike; one server up at a time
    load = run_wrk if wrk else run_python_client
    tool = versions["wrk"].split(" [")[0] if wrk else "Python threaded client"
    results = {c[0]: [] for c in configs}
    for rnd in range(args.rounds):
        for config in configs:
            name = config[0]
            server = launch(*config)
            try:
                if len(server["body"]) != len(html):
                    log(f"  note: {name} answered {len(server['body']):,} bytes (saved page: {len(html):,})")
                if args.wait_quiet:
                    wait_quiet(args.wait_quiet)
                url = f"http://127.0.0.1:{server['port']}{server['path']}"
                r = measured(load, url, args.connections, args.duration, server["proc"].pid)
                if server["proc"].poll() is not None:
                    raise RuntimeError(f"{name} exited during the run (code {server['proc'].returncode})")
            finally:
                procs.stop(server["proc"])
            results[name].append(r)
            log(f"  round {rnd + 1}: {name}: {r['rps']:,.0f} req/s, p99 {fmt(r['p99_ms'], '.2f')} ms, "
                f"cores: server {fmt(r['server_cores'], '.2f')}, load generator {r['client_cores']:.2f}, "
                f"other {fmt(r['other_cores'], '.2f')}"
                + (f", {r['non2xx']} non-2xx, {r['errors']} socket errors" if r["non2xx"] or r["errors"] else ""))
    rows = []
    for name, kind, _, _, cached in configs:
        runs = results[name]
        # Rounds during which other processes left the machine alone, when there are any.
        quiet = [r for r in runs if r["other_cores"] is not None and r["other_cores"] <= BUSY_CORES]
        errors = sum(r["non2xx"] + r["errors"] for r in runs)
        runs = quiet or runs
        rows.append({
            "name": name, "cached": cached, "nginx": kind == "nginx",
            "rounds": f"{len(runs)}" + (" quiet" if quiet else ""),
            "rps": statistics.median(r["rps"] for r in runs),
            "p50_ms": statistics.median(r["p50_ms"] for r in runs) if runs[0]["p50_ms"] is not None else None,
            "p99_ms": statistics.median(r["p99_ms"] for r in runs) if runs[0]["p99_ms"] is not None else None,
            "errors": errors,
            **{k: statistics.median(r[k] for r in runs) if runs[0][k] is not None else None
               for k in ("server_cores", "client_cores", "other_cores")},
        })
    nginx_rps = next((r["rps"] for r in rows if r["nginx"]), None)
    print_http_table(rows, nginx_rps, args, tool)
    if nginx_rps:
        cached = [r for r in rows if r["cached"]]
        best = max(cached, key=lambda r: r["rps"]) if cached else None
        if best:
            ratio = best["rps"] / nginx_rps
            print(f"Goal: cached story page >= {CACHED_GOAL} x nginx static: "
                  f"{'met' if ratio >= CACHED_GOAL else 'NOT met'} (best {ratio:.2f}: {best['name']}).")


def main(args):
    procs = Processes()
    tmp = Path(tempfile.mkdtemp(prefix="bench-pages-"))
    state = {"redis": None, "nginx": None}  # what the finally clause must clean up

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
            "django": package_version("django"),
            "wagtail": package_version("wagtail"),
        }
        cpu = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                    if ln.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").exists() else "?"
        print(f"Machine: {os.cpu_count()} cores, {cpu}")
        for name, version in versions.items():
            print(f"  {name}: {version or 'not installed'}")
        idle_load = background_load()
        if idle_load is not None:
            print(f"Background load before starting: {idle_load:.2f} of {os.cpu_count()} cores busy"
                  + ("  <- other work is running; figures will be low and noisy" if idle_load > BUSY_CORES else ""))
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

        if args.skip_http:
            print("HTTP measurements skipped (--skip-http).")
        else:
            bench_http(args, env, path, tmp, procs, state, versions)

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
    except KeyboardInterrupt:
        log("Interrupted: stopping servers.")
        return 130
    finally:
        procs.stop_all()
        if state["nginx"] is not None and not args.keep:
            shutil.rmtree(state["nginx"], ignore_errors=True)
        if state["redis"] is not None:
            with contextlib.suppress(Exception):
                clear_redis(state["redis"])
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
    p.add_argument("--skip-http", action="store_true", help="only the in-process render timing")
    p.add_argument("--skip-gunicorn", action="store_true")
    p.add_argument("--skip-redis", action="store_true")
    p.add_argument("--skip-postgres", action="store_true")
    p.add_argument("--skip-uncached-http", action="store_true", help="leave out the rows without the page cache")
    p.add_argument("--wait-quiet", type=float, default=0, metavar="SECONDS",
                   help="before each measurement, wait up to SECONDS for other work on the machine to stop")
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
