"""What the benchmarks in bench/ share: the throwaway site, the servers and their processes, the load generator
(wrk, or a threaded Python client without it), the CPU accounting that says who used the cores, PostgreSQL
scratch databases, and the Markdown tables.

Standard library only at import time: granian imports bench/pixel.py (and through it this file) as
`bench.pixel` inside the servers it measures, where nothing must be set up before a wrapper app is asked for.
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
BUSY_CORES = 0.25  # other processes using more than this during a measurement make it suspect
POSTGRES_ADMIN = "postgres://postgres@127.0.0.1:5432/postgres"


def log(*args):
    print(*args, file=sys.stderr, flush=True)


def fmt(value, spec):
    return "-" if value is None else format(value, spec)


# --------------------------------------------------------------------------------------------------------
# The script around a bench

def parser(doc, load=False):
    """The bench's argument parser, its description the docstring's first paragraph. With `load`, the options
    of every bench that loads servers over HTTP."""
    p = argparse.ArgumentParser(description=doc.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    if load:
        p.add_argument("--duration", type=int, default=10, help="seconds per wrk run (default 10)")
        p.add_argument("--connections", type=int, default=50, help="wrk connections (default 50)")
    return p


def add_run_options(p):
    p.add_argument("--wait-quiet", type=float, default=0, metavar="SECONDS",
                   help="before each measurement, wait up to SECONDS for other work on the machine to stop")
    p.add_argument("--keep", action="store_true", help="keep the temporary directory")


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def run(main, args):
    """main(args)'s exit code. Ctrl-C and SIGTERM alike unwind it through its finally clauses, so that the
    servers it started are stopped and its databases and directories removed."""
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        return main(args)
    except KeyboardInterrupt:
        log("Interrupted.")
        return 130


def remove(path, keep=False):
    if keep:
        log(f"Kept {path}")
    else:
        shutil.rmtree(path, ignore_errors=True)


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


def granian(interface, port, target, *options, workers=1):
    """granian's command line; `port` a loopback port, or the Path of a Unix socket."""
    bind = (["--uds", str(port), "--uds-permissions", "666"] if isinstance(port, Path)
            else ["--host", "127.0.0.1", "--port", str(port)])
    return [str(VENV_BIN / "granian"), "--interface", interface, *bind, "--workers", str(workers),
            "--log-level", "warning", "--no-ws", *options, target]


def gunicorn(port, target, *options, workers=1):
    return [str(VENV_BIN / "gunicorn"), target, "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
            *options, "--log-level", "warning"]


# nginx, 1 worker unless said, as each bench sets it up in `http` and `server`; the temporary paths in its
# own directory, since the default ones are root's.
NGINX_CONF = """\
daemon off;
worker_processes {workers};
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    default_type application/octet-stream;
    client_body_temp_path {dir}/tmp;
    proxy_temp_path {dir}/tmp;
    fastcgi_temp_path {dir}/tmp;
    uwsgi_temp_path {dir}/tmp;
    scgi_temp_path {dir}/tmp;
{http}
{server}
}}
"""


def nginx_dir(files):
    """A directory with `files` (name: bytes) under html/, readable by nginx's worker (nobody, when started by
    root)."""
    ndir = Path(tempfile.mkdtemp(prefix="bench-nginx-"))
    ndir.chmod(0o755)
    (ndir / "html").mkdir(mode=0o755)
    (ndir / "tmp").mkdir(mode=0o755)
    for name, content in files.items():
        (ndir / "html" / name).write_bytes(content)
        (ndir / "html" / name).chmod(0o644)
    return ndir


def start_nginx(procs, ndir, http, server, workers=1):
    conf = ndir / "nginx.conf"
    conf.write_text(NGINX_CONF.format(dir=ndir, workers=workers, http=http, server=server))
    proc = procs.start("nginx", [shutil.which("nginx"), "-p", str(ndir), "-c", str(conf)],
                       log_path=ndir / "stdout.log")
    proc.bench_dir = ndir
    return proc


# --------------------------------------------------------------------------------------------------------
# The site

def site_env(var_dir, site_port=8000, **extra):
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


def manage(env, *args, quiet=True, timeout=600):
    subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, env=env, check=True,
                   stdout=subprocess.DEVNULL if quiet else None, timeout=timeout)


def build_site(env, label, collectstatic=False, show_demo=False):
    """The demo newsroom in the database of `env`."""
    log(f"Building the demo site on {label} ...")
    t0 = time.monotonic()
    manage(env, "migrate", "--noinput", "-v0")
    manage(env, "load_demo", "--no-admin", quiet=not show_demo)
    if collectstatic:
        manage(env, "collectstatic", "--noinput", "-v0")
    log(f"  ready in {time.monotonic() - t0:.1f}s")


def shell(env, code, marker):
    """The words after `marker` on the line that `code`, run by manage.py shell, printed starting with it."""
    out = subprocess.run([PYTHON, "manage.py", "shell", "-c", code], cwd=ROOT, env=env, capture_output=True,
                         text=True, check=True, timeout=300).stdout
    return next(ln for ln in out.splitlines() if ln.startswith(marker + " ")).split()[1:]


def setup_django():
    """Django in a worker: the repository first on the path, since bench/ (the script's directory) holds
    modules named like the project's apps."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "byline.settings.production")
    import django

    django.setup()


# A worker (this script again, in a child with Django set up for one database) hands its figures back on one
# line of its standard output.
def emit(result):
    print("RESULT " + json.dumps(result))


def result_of(text):
    line = next((ln for ln in text.splitlines() if ln.startswith("RESULT ")), None)
    return None if line is None else json.loads(line[len("RESULT "):])


def worker_result(cmd, env, what, timeout, quiet=True):
    """Run a worker and return what it emitted. Quiet, its standard error is kept for the error message rather
    than shown as it goes."""
    out = subprocess.run(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE if quiet else None, text=True, timeout=timeout, check=False)
    result = result_of(out.stdout)
    if out.returncode != 0 or result is None:
        raise RuntimeError(f"{what} failed ({out.returncode})" + (f":\n{out.stderr[-3000:]}" if quiet else ""))
    return result


def time_calls(fn, runs, warmup):
    """Wall times in ms, sorted, and CPU times in ms of `runs` calls of fn after `warmup` untimed ones."""
    for _ in range(warmup):
        fn()
    times, cpu = [], []
    for _ in range(runs):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.process_time() - c0) * 1000)
    times.sort()
    return times, cpu


# --------------------------------------------------------------------------------------------------------
# PostgreSQL scratch databases

def postgres_url(name):
    return f"postgres://postgres@127.0.0.1:5432/{name}"


def postgres_answers():
    try:
        socket.create_connection(("127.0.0.1", 5432), timeout=1).close()
    except OSError:
        return False
    return True


def pg_admin(sql):
    import psycopg

    with psycopg.connect(POSTGRES_ADMIN, autocommit=True, connect_timeout=3) as conn:
        conn.execute(sql)


@contextlib.contextmanager
def postgres_database(name):
    """Create the database `name` (dropping a leftover first) and drop it on the way out."""
    pg_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    pg_admin(f"CREATE DATABASE {name}")
    try:
        yield postgres_url(name)
    finally:
        with contextlib.suppress(Exception):
            pg_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


# --------------------------------------------------------------------------------------------------------
# The machine

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


def cpu_model():
    if not Path("/proc/cpuinfo").exists():
        return "?"
    return next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                 if ln.startswith("model name")), platform.processor())


def server_versions():
    """The versions of what an HTTP bench runs; None for wrk and nginx when they are not installed."""
    return {
        "python": platform.python_version(),
        "wrk": tool_version(["wrk", "--version"]) if shutil.which("wrk") else None,
        "nginx": tool_version(["nginx", "-v"]) if shutil.which("nginx") else None,
        "granian": tool_version([str(VENV_BIN / "granian"), "--version"]),
        "gunicorn": tool_version([str(VENV_BIN / "gunicorn"), "--version"]),
    }


def print_machine(versions):
    """The report's header: the machine, `versions`, the load before starting and what is missing."""
    print(f"Machine: {os.cpu_count()} cores, {cpu_model()}")
    for name, version in versions.items():
        print(f"  {name}: {version or 'not installed'}")
    idle = background_load()
    if idle is not None:
        print(f"Background load before starting: {idle:.2f} of {os.cpu_count()} cores busy"
              + ("  <- other work is running; figures will be low and noisy" if idle > BUSY_CORES else ""))
    if not versions["wrk"]:
        print("wrk is not installed: falling back to a threaded Python client (much weaker; ratios only).")
    if not versions["nginx"]:
        print("nginx is not installed: no static baseline, so no ratios.")


# --------------------------------------------------------------------------------------------------------
# CPU accounting: on a small machine the load generator and anything else running compete with the server.

CLK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def autogroup():
    """Whether the kernel schedules each session as one group ("on", "off" or "unknown")."""
    try:
        return {"1": "on", "0": "off"}[Path("/proc/sys/kernel/sched_autogroup_enabled").read_text().strip()]
    except (OSError, KeyError):
        return "unknown"


def group_cpu(*pgids):
    """CPU seconds used so far by the live processes of some process groups (a server and its workers)."""
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
        if int(fields[2]) in pgids:
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


def measured(load, url, connections, duration, *groups):
    """Run one load test and say how many cores the server (the process `groups` serving the row: nginx and
    the pixel server behind it are one row's server), the load generator and everything else used."""
    proc_ok = os.path.exists("/proc/stat")

    def sample():
        return (time.monotonic(), system_busy() if proc_ok else 0, group_cpu(*groups) if proc_ok else 0,
                children_cpu(), self_cpu())

    before = sample()
    result = load(url, connections, duration)
    after = sample()
    elapsed = after[0] - before[0]
    server = (after[2] - before[2]) / elapsed
    client = ((after[3] - before[3]) + (after[4] - before[4])) / elapsed
    busy = (after[1] - before[1]) / elapsed
    result.update(server_cores=server if proc_ok else None, client_cores=client,
                  other_cores=max(0.0, busy - server - client) if proc_ok else None)
    return result


def log_round(rnd, name, r, extra=""):
    log(f"  round {rnd + 1}: {name}: {r['rps']:,.0f} req/s, p99 {fmt(r['p99_ms'], '.2f')} ms, "
        f"cores: server {fmt(r['server_cores'], '.2f')}, load generator {r['client_cores']:.2f}, "
        f"other {fmt(r['other_cores'], '.2f')}"
        + (f", {r['non2xx']} non-2xx, {r['errors']} socket errors" if r["non2xx"] or r["errors"] else "")
        + extra)


def medians(runs):
    """A row's figures over its rounds: the median of each (None where the load generator gave none)."""
    return {k: statistics.median(r[k] for r in runs) if runs[0][k] is not None else None
            for k in ("rps", "p50_ms", "p99_ms", "server_cores", "client_cores", "other_cores")}


# --------------------------------------------------------------------------------------------------------
# Load generation

def wrk(url, connections, duration, threads=1, script=None, env=None):
    """wrk's standard output for one run."""
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--timeout", "10s", "--latency",
           *(["-s", str(script)] if script else []), url]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 60, check=False, env=env).stdout


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(text):
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    return float(match.group(1)) * _UNITS[match.group(2)] if match else None


def run_wrk(url, connections, duration):
    """One run of wrk, one thread, figures read from its report."""
    out = wrk(url, connections, duration)
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


def run_python_client(url, connections, duration, request=None):
    """A small keep-alive client, one thread per connection (the GIL makes it far weaker than wrk: ratios
    only). `request(thread, n)` gives the path and headers of a thread's nth request (default: the URL's
    path). Like wrk, it counts answers of 400 and more as non-2xx and the others as answered."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    request = request or (lambda tid, n: (parts.path, {}))
    deadline = time.monotonic() + duration
    latencies, totals = [], {"answered": 0, "non2xx": 0, "errors": 0, "sent": 0}
    lock = threading.Lock()

    def worker(tid):
        conn, mine, n = None, [], 0
        non2xx = errors = 0
        while time.monotonic() < deadline:
            n += 1
            path, headers = request(tid, n)
            try:
                if conn is None:
                    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
                t0 = time.perf_counter()
                conn.request("GET", path, headers=headers)
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
            totals["answered"] += len(mine) - non2xx
            totals["non2xx"] += non2xx
            totals["errors"] += errors
            totals["sent"] += n

    threads = [threading.Thread(target=worker, args=(i + 1,), daemon=True) for i in range(min(connections, 64))]
    start = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(duration + 30)
    elapsed = time.monotonic() - start
    latencies.sort()
    pick = (lambda q: latencies[min(len(latencies) - 1, int(len(latencies) * q))]) if latencies else (lambda q: None)
    return {"rps": len(latencies) / elapsed, "p50_ms": pick(0.5), "p99_ms": pick(0.99),
            "max_ms": latencies[-1] if latencies else None, "requests": len(latencies), **totals}


def load_tool(versions):
    return versions["wrk"].split(" [")[0] if versions["wrk"] else "Python threaded client"


# --------------------------------------------------------------------------------------------------------
# Markdown tables

def table(header, rows):
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(str(cell) for cell in row) + " |")


def http_table(header, rows, cells, judged=lambda row: True):
    """Load-test rows: `cells(row)` under `header`, then the cores each party used. A row during which other
    work kept more than BUSY_CORES busy is marked (unless not `judged`: that work is part of its cost), and a
    note under the table says what the mark means."""
    busy = False
    lines = []
    for row in rows:
        mark = judged(row) and row["other_cores"] is not None and row["other_cores"] > BUSY_CORES
        busy = busy or mark
        lines.append([*cells(row), f"{fmt(row['server_cores'], '.2f')} / {fmt(row['client_cores'], '.2f')} / "
                      f"{fmt(row['other_cores'], '.2f')}" + (" (*)" if mark else "")])
    table([*header, "cores: server / load gen. / other"], lines)
    if busy:
        print(f"(*) other processes kept more than {BUSY_CORES} of a core busy during this measurement: "
              "it is low and noisy; run again on a quiet machine.")
