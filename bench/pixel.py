#!/usr/bin/env python3
"""Pixel benchmark: the tracking pixel with every answered hit durably stored, side by side with the same
server answering the GIF without storing it and with nginx serving a static 43-byte GIF.

    .venv/bin/python bench/pixel.py                                    # the full run (about 8 minutes)
    .venv/bin/python bench/pixel.py --duration 5 --rounds 1 --threads 16 --skip-postgres   # a quick look

What it does, all on loopback and in a throwaway directory:
1. builds a SQLite site with the demo newsroom (migrate, load_demo --no-admin) and takes one story's signed
   pixel path (republish.pixel.pixel_path);
2. starts, each in its own process group:
   - nginx (1 worker, access_log off) serving a 43-byte GIF with the pixel's no-store headers;
   - the production shape: nginx in front of the RSGI pixel server (SQLite), /pixel/ proxied as
     deploy/nginx/byline.conf and pixel-proxy.conf do (upstream keepalive, HTTP/1.1, X-Forwarded-For,
     access_log off; plain HTTP), BYLINE_TRUSTED_PROXIES=127.0.0.1, with --proxy variants and each
     --nginx-workers count, each compared with nginx of the same worker count serving the GIF from disk;
   - the other shipped shape: nginx answering /pixel/ itself and logging each hit (pixel-log.conf), with
     `manage.py ingest_pixel_log` storing the log meanwhile and timed until it has stored every answered hit;
   - granian, 1 worker: a bare WSGI app and a bare RSGI app returning tracking.pixel.GIF (the server's own
     cost);
   - granian RSGI, 1 worker: byline.wsgi with the hit neither journaled nor stored
     (hit_from_request runs: signature, copy, visitor key, filters; the app's code is not touched, the swap
     happens in this module, imported by granian as `bench.pixel:<name>`);
   - granian RSGI, 1 worker, byline.wsgi:application as in production (SQLite WAL; each hit journaled and
     answered, then committed in a batch, tracking.journal); the same over granian's WSGI interface (each
     request waits for its batch's commit) with each --threads value as --blocking-threads; RSGI with 2
     workers, with a new User-Agent per request, behind our proxy (X-Forwarded-For, trusted proxies set) and
     with granian's other task implementation; gunicorn gthread for comparison;
   - the same production app on PostgreSQL (a scratch database bench_pixel, created and dropped) when
     something answers on 127.0.0.1:5432;
3. loads each with wrk (--latency, a Lua script giving every request its own page URL
   `?url=https://partner.example/p/<thread>-<n>` and a browser User-Agent; through our proxy a new reader's
   address per request, each in a network of its own; from one address the per-reader copy cap is off), so
   that stored hits are readers' hits, not filtered ones (the table of stored hits says how many were),
   nginx first, round after round;
4. after every run compares wrk's answered requests (completed minus non-2xx) with the rows that run added to
   tracking_hit: stored >= answered (zero answered hits lost), no page URL stored twice, stored <= sent;
5. prints requests/s, p50/p99, ratios to nginx, the cores used by server, load generator and everything
   else, the goal verdicts, and (in-process, one thread) where a hit's time goes.

Goals (from the issue): pixel throughput with every answered hit durably committed >= 1/3 of nginx's static
GIF in the same run; p99 under 5 ms at that load; zero answered hits lost.

Granian imports this file as the module `bench.pixel` (a namespace package: the repository root is on
PYTHONPATH) for the wrapper apps; importing it sets nothing up until one of them is asked for.
"""

import argparse
import contextlib
import json
import os
import platform
import secrets
import shutil
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

try:
    from . import common  # as bench.pixel, in a server
except ImportError:
    import common  # as a script: bench/ is on the path

log, fmt = common.log, common.fmt

RATIO_GOAL = 1 / 3
P99_GOAL_MS = 5.0
POSTGRES_DB = "bench_pixel"


# --------------------------------------------------------------------------------------------------------
# Wrapper WSGI apps, built on first access (`granian ... bench.pixel:bare_gif`): no app code is changed.

class _NullRecorder:
    """Stores nothing and says it did: what the pixel costs without counting."""

    def record(self, row, timeout=None):
        return True


def storing_nothing(app):
    """`app` (a byline.server.Server) answering every hit without storing it: neither journaled nor
    committed, over WSGI and RSGI alike."""
    app.pixel.recorder = _NullRecorder()
    return app


def _build(name):
    if name in ("bare_gif", "bare_gif_rsgi"):
        common.setup_django()
        from tracking.pixel import GIF, GIF_HEADERS, GIF_HEADERS_WITH_LENGTH

        def bare_gif(environ, start_response):
            start_response("200 OK", list(GIF_HEADERS_WITH_LENGTH))
            return [GIF]

        async def bare_gif_rsgi(scope, proto):
            proto.response_bytes(200, GIF_HEADERS, GIF)

        return bare_gif if name == "bare_gif" else bare_gif_rsgi
    if name == "no_store":
        import byline.wsgi

        return storing_nothing(byline.wsgi.application)
    raise AttributeError(name)


def __getattr__(name):  # PEP 562: granian's getattr(module, "bare_gif") lands here
    if name.startswith("_"):
        raise AttributeError(name)
    app = _build(name)
    globals()[name] = app
    return app


# --------------------------------------------------------------------------------------------------------
# Load: wrk with a Lua script, or a threaded Python client without wrk

# Real browsers' User-Agents: 100 of them, so that the User-Agent checks see what a real audience sends
# (the bot filter keeps its verdict on each agent); one extra row gives every request a new one.
_UA_TEMPLATES = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{v}.0.0.0 Safari/537.36",
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{v}.0.0.0 "
     "Safari/537.36"),
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{v}.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{v}.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:{v}.0) Gecko/20100101 Firefox/{v}.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:{v}.0) Gecko/20100101 Firefox/{v}.0",
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_{m} like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "Version/17.{m} Mobile/15E148 Safari/604.1"),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.{m} "
     "Safari/605.1.15"),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{v}.0.0.0 "
     "Safari/537.36 Edg/{v}.0.0.0"),
    ("Mozilla/5.0 (iPad; CPU OS 17_{m} like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.{m} "
     "Mobile/15E148 Safari/604.1"),
]
USER_AGENTS = [t.format(v=120 + i, m=i) for t in _UA_TEMPLATES for i in range(10)]
PARTNER_HOSTS = 1000  # page URLs on p0..p999.partner.example: 100 agents x 1,000 sites = 100,000 visitors

WRK_LUA = r"""
local threads = {}
local next_id = 0
local agents = {AGENTS}
local unique = {UNIQUE}
local proxied = {PROXIED}

-- Each wrk run its own page URLs (BENCH_RUN, set per run): a late commit of a warm-up's hit must not pass
-- for a second copy of the measured run's.
local run = os.getenv("BENCH_RUN") or "0"

function setup(thread)
  next_id = next_id + 1
  thread:set("tid", run .. "." .. next_id)
  table.insert(threads, thread)
end

counter = 0

function request()
  counter = counter + 1
  -- every request a new page; the visitor (address, agent, site) repeats only every 100,000 requests
  local host = "p" .. (math.floor(counter / #agents) % {HOSTS}) .. ".partner.example"
  local ua = agents[(counter % #agents) + 1]
  if unique then
    ua = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0." .. counter ..
      "." .. tid .. " Safari/537.36"
  end
  local headers = {
    ["User-Agent"] = ua,
    ["Accept"] = "image/avif,image/webp,image/*,*/*;q=0.8",
    ["Referer"] = "https://" .. host .. "/",
  }
  if proxied then  -- as nginx in front sends it: a new reader's address for every request, each in a
    -- network (/24) of its own for the next 65,536 requests, so that no copy-flood cap filters the load
    headers["X-Forwarded-For"] = "81." .. (counter % 256) .. "." .. (math.floor(counter / 256) % 256) .. "." ..
      (math.floor(counter / 65536) % 254 + 1)
  end
  return wrk.format("GET", wrk.path .. "?url=https%3A%2F%2F" .. host .. "%2Fp%2F" .. tid .. "-" .. counter, headers)
end

function done(summary, latency, requests)
  local sent = 0
  for _, t in ipairs(threads) do sent = sent + t:get("counter") end
  io.write(string.format(
    "RESULT {\"requests\": %d, \"duration_us\": %d, \"status_errors\": %d, \"connect\": %d, \"read\": %d, " ..
    "\"write\": %d, \"timeout\": %d, \"sent\": %d, \"p50_us\": %d, \"p99_us\": %d, \"max_us\": %d}\n",
    summary.requests, summary.duration, summary.errors.status, summary.errors.connect, summary.errors.read,
    summary.errors.write, summary.errors.timeout, sent, latency:percentile(50), latency:percentile(99),
    latency.max))
end
"""


# How a row's requests vary: "pool" (100 browser agents from one address), "new-agent" (a new User-Agent every
# request), "proxied" (as "pool", through our proxy: an X-Forwarded-For header with a new reader's address every
# request, BYLINE_TRUSTED_PROXIES set).
LOADS = ("pool", "new-agent", "proxied")


def _forwarded_for(n):
    """The X-Forwarded-For of request `n`, as in the Lua script: a new reader every request, in a /24 of its own
    for the next 65,536 requests."""
    return f"81.{n % 256}.{n // 256 % 256}.{n // 65536 % 254 + 1}"


def wrk_script(load):
    agents = "{" + ", ".join(json.dumps(a) for a in USER_AGENTS) + "}"
    return (WRK_LUA.replace("{AGENTS}", agents).replace("{UNIQUE}", str(load == "new-agent").lower())
            .replace("{PROXIED}", str(load == "proxied").lower()).replace("{HOSTS}", str(PARTNER_HOSTS)))


def make_wrk(script, wrk_threads):
    def run_wrk(url, connections, duration):
        out = common.wrk(url, connections, duration, wrk_threads, script, env={**os.environ,
                                                                              "BENCH_RUN": secrets.token_hex(4)})
        r = common.result_of(out)
        if r is None:
            raise RuntimeError(f"could not read wrk output:\n{out}")
        seconds = r["duration_us"] / 1e6
        errors = r["connect"] + r["read"] + r["write"] + r["timeout"]
        return {"rps": r["requests"] / seconds, "p50_ms": r["p50_us"] / 1000, "p99_ms": r["p99_us"] / 1000,
                "max_ms": r["max_us"] / 1000, "requests": r["requests"], "non2xx": r["status_errors"],
                "errors": errors, "sent": r["sent"], "answered": r["requests"] - r["status_errors"]}
    return run_wrk


def run_python_client(url, connections, duration, load="pool"):
    """The Lua script's requests from common.run_python_client: a distinct page URL and User-Agent per request."""
    from urllib.parse import quote, urlsplit

    path, run = urlsplit(url).path, secrets.token_hex(4)

    def request(tid, n):
        host = f"p{(n // len(USER_AGENTS)) % PARTNER_HOSTS}.partner.example"
        ua = (f"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.{n}.{tid} "
              "Safari/537.36") if load == "new-agent" else USER_AGENTS[n % len(USER_AGENTS)]
        headers = {"User-Agent": ua, "Referer": f"https://{host}/"}
        if load == "proxied":
            headers["X-Forwarded-For"] = _forwarded_for(n)
        return f"{path}?url={quote(f'https://{host}/p/{run}.{tid}-{n}', safe='')}", headers

    return common.run_python_client(url, connections, duration, request)


# --------------------------------------------------------------------------------------------------------
# nginx

NGINX_HTTP = """\
    types { image/gif gif; }
    keepalive_requests 1000000;
    etag off;"""

NGINX_STATIC = """\
    server {{
        listen 127.0.0.1:{port};
        root {dir}/html;
        location / {{
            add_header Cache-Control "no-store, no-cache, must-revalidate, max-age=0";
            add_header Cross-Origin-Resource-Policy cross-origin;
            add_header X-Content-Type-Options nosniff;
        }}
    }}
"""

# The pixel's part of deploy/nginx/byline.conf with pixel-proxy.conf, on plain HTTP (TLS would cost both rows
# alike): an upstream with idle connections kept, HTTP/1.1 without "Connection: close", the reader's address appended to
# X-Forwarded-For, access_log off for /pixel/. Only what a --proxy spec names differs from it.
NGINX_PROXY = """\
    upstream byline_pixel {{
        server {upstream};
        {keepalive}
    }}
    server {{
        listen 127.0.0.1:{port};
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_set_header Host $http_host;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto $scheme;
        location /pixel/ {{
            proxy_pass http://byline_pixel;
            access_log {access_log};
            {extra}
        }}
    }}
"""

# The shape of deploy/nginx/pixel-log.conf: nginx answers /pixel/ itself and logs each hit, and the pixel log's
# reader (manage.py ingest_pixel_log, as byline-pixel-log.service runs it) stores them meanwhile. Taken from the
# shipped files: byline.conf's map and log_format, pixel-log.conf's location.
NGINX_LOGGED = """\
    server {{
        listen 127.0.0.1:{port};
{location}
    }}
"""


def shipped_pixel_log(log_dir):
    """(http block part, /pixel/ location) of the shipped pixel-log shape, writing its files into `log_dir`."""
    nginx = common.ROOT / "deploy" / "nginx"
    site = (nginx / "byline.conf").read_text()
    http = site[site.index("map $msec $byline_pixel_window"):site.index("upstream byline_site")]
    location = (nginx / "pixel-log.conf").read_text().replace("/srv/byline/var/pixel-log", str(log_dir))
    assert "/srv/byline" not in location
    return http, location


# What a --proxy spec may set (key=value, comma-separated), with byline.conf's values as defaults:
# keepalive (idle upstream connections per nginx worker; 0 = none), buffering (proxy_buffering on|off),
# access_log (off, or on: a log line per hit), workers and backlog (the pixel server's granian --workers and
# --backlog), socket (tcp: the pixel server on a loopback port; unix: on a Unix socket), granian (more of
# granian's options, space-separated, e.g. "--http 1").
PROXY_DEFAULTS = {"keepalive": "64", "buffering": "on", "access_log": "off", "workers": "1", "backlog": "1024",
                  "socket": "tcp", "granian": ""}


def parse_proxy(spec):
    settings = dict(PROXY_DEFAULTS)
    for item in filter(None, (part.strip() for part in spec.split(","))):
        key, _, value = item.partition("=")
        if key not in settings or not value:
            raise argparse.ArgumentTypeError(f"--proxy: {item!r}: use key=value with a key of {sorted(settings)}")
        settings[key] = value
    return settings


def proxy_label(settings):
    changed = [f"{k} {v}" for k, v in settings.items() if PROXY_DEFAULTS[k] != v]
    return ", ".join(changed) if changed else "as deploy/nginx/pixel-proxy.conf (keepalive 64)"


def start_nginx(procs, gif, port, workers=1, upstream=None, proxy=None, log_dir=None):
    """nginx serving the GIF from disk or, given the pixel server's `upstream` port and `proxy` settings,
    proxying /pixel/ to it as deploy/nginx/pixel-proxy.conf does, or, given `log_dir`, answering /pixel/ itself and
    logging each hit there as deploy/nginx/pixel-log.conf does; the same http block otherwise. `upstream` is a
    port or a Unix socket's path."""
    ndir = common.nginx_dir({"pixel.gif": gif})
    if log_dir is not None:
        http, location = shipped_pixel_log(log_dir)
        return common.start_nginx(procs, ndir, NGINX_HTTP + "\n" + http,
                                  NGINX_LOGGED.format(port=port, location=location), workers)
    if upstream is None:
        server = NGINX_STATIC.format(dir=ndir, port=port)
    else:
        keepalive = int(proxy["keepalive"])
        server = NGINX_PROXY.format(
            port=port, upstream=f"unix:{upstream}" if isinstance(upstream, Path) else f"127.0.0.1:{upstream}",
            keepalive=f"keepalive {keepalive};" if keepalive else "",
            access_log=f"{ndir}/access.log" if proxy["access_log"] == "on" else "off",
            extra=f"proxy_buffering {proxy['buffering']};")
    return common.start_nginx(procs, ndir, NGINX_HTTP, server, workers)


# --------------------------------------------------------------------------------------------------------
# The stored hits

class HitTable:
    """Reads tracking_hit of one server's database (SQLite file or PostgreSQL)."""

    def __init__(self, sqlite_path=None, postgres_url=None):
        self.sqlite_path, self.postgres_url = sqlite_path, postgres_url

    def query(self, sql):
        if self.postgres_url:
            import psycopg

            with psycopg.connect(self.postgres_url, connect_timeout=5) as conn:
                return conn.execute(sql.replace("?", "%s")).fetchall()
        conn = sqlite3.connect(self.sqlite_path, timeout=30)
        try:
            return conn.execute(sql).fetchall()
        finally:
            conn.close()

    def max_id(self):
        return self.query("SELECT COALESCE(MAX(id), 0) FROM tracking_hit")[0][0]

    def since(self, last_id):
        rows, distinct, top, filtered = self.query(
            f"SELECT COUNT(*), COUNT(DISTINCT copy), COALESCE(MAX(id), {int(last_id)}), "
            f"SUM(CASE WHEN filtered = '' THEN 0 ELSE 1 END) FROM tracking_hit WHERE id > {int(last_id)}")[0]
        return {"rows": rows, "distinct": distinct, "max_id": top, "filtered": filtered or 0}

    def out_of_order(self):
        """Consecutive ids whose received_at goes backwards (a later id with an earlier time)."""
        return self.query("SELECT COUNT(*), COALESCE(MAX(ROUND((julianday(a.received_at) - julianday(b.received_at))"
                          " * 86400000, 3)), 0) FROM tracking_hit a JOIN tracking_hit b ON b.id = a.id + 1 "
                          "WHERE b.received_at < a.received_at") if not self.postgres_url else self.query(
            "SELECT COUNT(*), COALESCE(MAX(EXTRACT(EPOCH FROM a.received_at - b.received_at) * 1000), 0) "
            "FROM tracking_hit a JOIN tracking_hit b ON b.id = a.id + 1 WHERE b.received_at < a.received_at")


# --------------------------------------------------------------------------------------------------------
# Where a hit's time goes: in-process, one thread (`--micro-worker`)

def micro_worker(args):
    common.setup_django()
    from io import BytesIO

    from crawlerdetect import CrawlerDetect
    from django.db import connection, transaction
    from django.test import override_settings
    from django.utils import timezone

    from republish.pixel import is_valid
    from tracking import filters
    from tracking.copies import normalize
    from tracking.hits import hit_from_request
    from tracking.models import Hit
    from tracking.visitors import client_ip, visitor_key
    from tracking.writers import write_hits

    path = args.micro_path
    n = args.micro_iterations

    def environ(i, unique=False):
        host = f"p{(i // len(USER_AGENTS)) % PARTNER_HOSTS}.partner.example"
        ua = (f"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.{i}.0 "
              "Safari/537.36") if unique else USER_AGENTS[i % len(USER_AGENTS)]
        return {"REQUEST_METHOD": "GET", "PATH_INFO": path, "REMOTE_ADDR": "127.0.0.1", "wsgi.input": BytesIO(),
                "QUERY_STRING": f"url=https%3A%2F%2F{host}%2Fp%2Fm-{i}", "HTTP_REFERER": f"https://{host}/",
                "HTTP_USER_AGENT": ua}

    def per_call_us(fn, count):
        t0 = time.perf_counter()
        for i in range(count):
            fn(i)
        return (time.perf_counter() - t0) / count * 1e6

    envs = [environ(i) for i in range(n)]
    unique_envs = [environ(i, unique=True) for i in range(n)]
    now = timezone.now()
    for e in envs[:len(USER_AGENTS)]:
        hit_from_request(e, now)  # the salt, the bot filter's verdicts on the 100 agents
    chrome = USER_AGENTS[0]
    reference = CrawlerDetect()
    result = {
        "hit_from_request, 100 browser agents (as in the HTTP runs)": per_call_us(
            lambda i: hit_from_request(envs[i], now), n),
        "hit_from_request, every agent new": per_call_us(lambda i: hit_from_request(unique_envs[i], now), n),
        "filters.is_bot, a known agent (its verdict kept)": per_call_us(lambda i: filters.is_bot(chrome), n),
        "filters.is_bot, a new agent: our own list (filters.OUR_BOTS)": per_call_us(
            lambda i: any(m in chrome.lower() for m in filters.OUR_BOTS), n),
        "filters.is_bot, a new agent: CrawlerDetect's patterns (filters.is_crawler, RE2)": per_call_us(
            lambda i: filters.is_crawler(unique_envs[i]["HTTP_USER_AGENT"] + " y"), n),
        "CrawlerDetect itself, a new agent (before)": per_call_us(
            lambda i: reference.isCrawler(unique_envs[i]["HTTP_USER_AGENT"] + " x"), n),
        "copies.normalize(page url)": per_call_us(lambda i: normalize(f"https://partner.example/p/m-{i}"), n),
        "visitors.visitor_key": per_call_us(lambda i: visitor_key("127.0.0.1", chrome, "partner.example",
                                                                 now.date()), n),
        "republish.pixel.is_valid (HMAC)": per_call_us(lambda i: is_valid(10, "0123456789abcdef"), n),
    }
    with override_settings(TRUSTED_PROXIES=["127.0.0.1", "10.0.0.0/8"]):  # the README's pixel server behind nginx
        forwarded = [{**envs[i], "HTTP_X_FORWARDED_FOR": _forwarded_for(i)} for i in range(n)]  # all distinct
        result["visitors.client_ip behind a trusted proxy (X-Forwarded-For)"] = per_call_us(
            lambda i: client_ip(forwarded[i]), n)
    result.update(rsgi_requests_us(path, envs))
    rows = [hit_from_request(e, now) for e in envs]
    for size in (1, 10, 100, 1000):
        batches = [rows[i:i + size] for i in range(0, min(len(rows), max(size * 20, 200)), size)]

        def write(batch):
            with transaction.atomic():
                write_hits(batch)

        t0 = time.perf_counter()
        for batch in batches:
            write(batch)
        elapsed = time.perf_counter() - t0
        written = sum(len(b) for b in batches)
        result[f"write_hits, batches of {size} (per hit, commit included)"] = elapsed / written * 1e6
        result[f"write_hits, batches of {size} (per commit)"] = elapsed / len(batches) * 1e6
    # The same rows through the ORM, as the pixel wrote them before (for comparison).
    for size in (100,):
        t0 = time.perf_counter()
        count = 0
        for i in range(0, len(rows), size):
            with transaction.atomic():
                Hit.objects.bulk_create([Hit(**row) for row in rows[i:i + size]])
            count += len(rows[i:i + size])
        result[f"ORM bulk_create (before), batches of {size} (per hit, commit included)"] = (
            (time.perf_counter() - t0) / count * 1e6)
    result["vendor"] = connection.vendor
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("PRAGMA synchronous")
            result["sqlite synchronous (0 off, 1 normal, 2 full)"] = cursor.fetchone()[0]
    common.emit(result)


def rsgi_requests_us(path, envs):
    """Whole pixel requests through the server's RSGI side (byline/server.py) on an event loop, no HTTP: the
    Python a hit costs the server's one thread (parsing, filters, journal, the batched commit) without the noise of a
    load generator sharing the cores; beside it the same requests with the hit not stored."""
    import asyncio

    import uvloop

    from byline.server import Server
    from tracking.pixel import Pixel

    class Scope:
        proto, method, client = "http", "GET", "127.0.0.1:40000"

        def __init__(self, environ):
            self.path, self.query_string = path, environ["QUERY_STRING"]
            self.headers = {"user-agent": environ["HTTP_USER_AGENT"], "referer": environ["HTTP_REFERER"]}

    class Proto:
        def response_bytes(self, status, headers, body):
            pass

    scopes = [Scope(e) for e in envs]

    async def run(endpoint):
        loop = asyncio.get_running_loop()
        endpoint.__rsgi_init__(loop)
        try:
            best = float("inf")
            for _ in range(3):
                t0 = time.perf_counter()
                for start in range(0, len(scopes), 50):  # 50 requests per turn of the loop, as with 50 connections
                    for scope in scopes[start:start + 50]:
                        await endpoint.__rsgi__(scope, Proto())
                    await asyncio.sleep(0)
                if hasattr(endpoint.pixel.recorder, "committer"):
                    endpoint.pixel.recorder.committer.flush()  # the hits still waiting for their batch, counted too
                best = min(best, (time.perf_counter() - t0) / len(scopes) * 1e6)
            return best
        finally:
            endpoint.__rsgi_del__(loop)

    return {"RSGI pixel request in-process: hit journaled, committed in batches":
            uvloop.run(run(Server(None, Pixel()))),
            "RSGI pixel request in-process: hit parsed and filtered, NOT stored":
            uvloop.run(run(storing_nothing(Server(None, Pixel()))))}


def measure_micro(env, path, label, iterations=3000):
    cmd = [common.PYTHON, __file__, "--micro-worker", "--micro-path", path, "--micro-iterations", str(iterations)]
    return common.worker_result(cmd, env, f"micro worker on {label}", timeout=600)


# --------------------------------------------------------------------------------------------------------
# The run

def drop_received_at_index(sqlite_path):
    """Drop tracking_hit's index on received_at alone (the counting job's, migration 0005) from one bench
    database, to measure what it costs the pixel's inserts."""
    conn = sqlite3.connect(sqlite_path)
    try:
        names = [name for name, sql in conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'tracking_hit'")
            if sql and sql.replace('"', "").split("(", 1)[1].strip(" )") == "received_at"]
        if not names:
            raise RuntimeError("no index on tracking_hit (received_at) to drop")
        for name in names:
            conn.execute(f'DROP INDEX "{name}"')
        conn.commit()
    finally:
        conn.close()


def start_logged(procs, nginx_procs, cfg, gif, log_path):
    """The pixel-log row: the log's reader and nginx in front of nothing, answering and logging /pixel/."""
    var_dir = Path(cfg["env"]["BYLINE_VAR_DIR"])
    log_dir = var_dir / "pixel-log"
    log_dir.mkdir()
    # nginx's worker runs as nobody when started by root: it must reach the directory and write there.
    for folder in (var_dir, var_dir.parent):
        folder.chmod(folder.stat().st_mode | 0o711)
    log_dir.chmod(0o777)
    reader = procs.start(cfg["name"], [common.PYTHON, "manage.py", "ingest_pixel_log"], env=cfg["env"],
                         log_path=log_path)
    port = common.free_port()
    front = start_nginx(procs, gif, port, cfg["nginx_workers"], log_dir=log_dir)
    nginx_procs.append(front)
    status, headers, body = common.wait_ready(front, port, cfg["path"])
    if status != 200 or headers.get("content-type") != "image/gif" or len(body) != 43:
        raise RuntimeError(f"{cfg['name']}: nginx answered {status} {headers} {body[:200]!r}")
    return {"name": cfg["name"], "port": port, "path": cfg["path"], "proc": front, "group": front.pid,
            "groups": (reader.pid,), "pixel": reader, "reader": reader, "table": cfg["table"],
            "durable": False, "load": cfg["load"], "postgres": False, "through_nginx": True,
            "ref": f"nginx-{cfg['nginx_workers']}"}


def drained(table, before, answered, timeout=600):
    """Seconds until the hit table holds the `answered` hits added since id `before` (the log's reader
    catching up after the load), or None if it does not within `timeout`."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if table.since(before)["rows"] >= answered:
            return time.monotonic() - start
        time.sleep(0.05)
    return None


def settled(read, pause=0.3, timeout=15):
    """read() once two readings `pause` apart agree (the server has stored everything it answered)."""
    last, deadline = read(), time.monotonic() + timeout
    while time.monotonic() < deadline:
        time.sleep(pause)
        now = read()
        if now == last:
            return now
        last = now
    return last


def build_site(env, label):
    """The demo site; returns the signed pixel path of its first public story."""
    common.build_site(env, label)
    return common.shell(env, "from stories.models import StoryPage\n"
                             "from republish.pixel import pixel_path\n"
                             "story = StoryPage.objects.live().public().order_by('pk').first()\n"
                             "print('PIXEL', pixel_path(story.pk))", "PIXEL")[0]


# The event loop and task implementation of the RSGI servers, as the README's pixel server runs them
# (`--rsgi-loop`, `--rsgi-task-impl`).
RSGI_LOOP = "uvloop"
RSGI_TASK_IMPL = "rust"


def _loop_version(name):
    if name == "asyncio":
        return f"asyncio (Python {platform.python_version()})"
    found = common.package_version(name)
    if found is None:
        raise SystemExit(f"{name} is not installed in this virtualenv (pip install {name}, or --rsgi-loop asyncio)")
    return f"{name} {found}"


def server_command(kind, port, threads=None, workers=1, target="byline.wsgi:application", task_impl=None,
                   backlog=None, extra=()):
    if kind == "rsgi":  # granian's event loop answers the pixel; the site runs in the app's own threads
        return common.granian("rsgi", port, target, "--loop", RSGI_LOOP, "--task-impl", task_impl or RSGI_TASK_IMPL,
                              *(["--backlog", str(backlog)] if backlog else []), *extra, workers=workers)
    if kind == "granian":
        return common.granian("wsgi", port, target, "--blocking-threads", str(threads or 1), workers=workers)
    return common.gunicorn(port, target, "--worker-class", "gthread", "--threads", str(threads), "--backlog", "2048",
                           workers=workers)


def postgres_settings(url):
    import psycopg

    with psycopg.connect(url, connect_timeout=3) as conn:
        return {name: conn.execute(f"SHOW {name}").fetchone()[0]
                for name in ("server_version", "synchronous_commit", "fsync", "wal_sync_method")}


def main(args):
    procs = common.Processes(own_session=args.own_session)
    tmp = Path(tempfile.mkdtemp(prefix="bench-pixel-"))
    nginx_procs = []
    pg_context = None
    global RSGI_LOOP, RSGI_TASK_IMPL
    RSGI_LOOP, RSGI_TASK_IMPL = args.rsgi_loop, args.rsgi_task_impl
    try:
        versions = {
            **common.server_versions(),
            "sqlite": sqlite3.sqlite_version,
            f"event loop of the RSGI servers (granian --loop {RSGI_LOOP})": _loop_version(RSGI_LOOP),
            "tasks of the RSGI servers (granian --task-impl)": RSGI_TASK_IMPL,
        }
        common.print_machine(versions)
        nginx = versions["nginx"]

        # ---- the site, once; every server gets its own copy of the database
        template = tmp / "template"
        env = common.site_env(template)
        path = sqlite_path = build_site(env, "SQLite")
        print(f"Pixel: {path}")

        def fresh_sqlite(name):
            target = tmp / name
            shutil.copytree(template, target)
            return target

        configs = []

        def add(name, kind, threads, workers, target, senv, table, durable, pixel, load="pool", task_impl=None,
                proxy=None, nginx_workers=None, backlog=None):
            configs.append({"name": name, "kind": kind, "threads": threads, "workers": workers, "target": target,
                            "env": senv, "table": table, "durable": durable, "path": pixel, "load": load,
                            "task_impl": task_impl, "proxy": proxy, "nginx_workers": nginx_workers,
                            "backlog": backlog})

        def sqlite_config(name, kind, threads, workers=1, target="byline.wsgi:application", load="pool",
                          task_impl=None, proxy=None, nginx_workers=None, backlog=None, drop_index=False):
            var = fresh_sqlite(f"{kind}-{threads or 0}-{workers}-{target.split(':')[1]}-{load}-{task_impl}-"
                               f"{len(configs)}")
            if drop_index:
                drop_received_at_index(var / "byline.sqlite3")
            # Without X-Forwarded-For every request comes from 127.0.0.1, so its 100 browser agents are 100
            # readers, and the copy-flood cap (20 copies of a story per reader a day) would filter all but the
            # first 2,000 hits: those rows run with the per-reader cap off (the per-network cap never applies
            # to a loopback address). The proxied load is a new reader per request, with every cap on.
            extra = ({"BYLINE_TRUSTED_PROXIES": "127.0.0.1"} if load == "proxied"
                     else {"BYLINE_PIXEL_COPIES_PER_READER": "0"} if load == "pool" else {})
            senv = common.site_env(var, **extra)
            # Rows that change the load, the app or the server's settings are measured and checked, but judged
            # against no goal (rows through nginx against a goal of their own).
            add(name, kind, threads, workers, target, senv, HitTable(var / "byline.sqlite3"),
                load == "pool" and not task_impl and target == "byline.wsgi:application" and not drop_index
                and proxy is None, path, load, task_impl, proxy, nginx_workers, backlog)

        sqlite_config("Byline pixel, SQLite WAL (synchronous=NORMAL, as shipped), granian RSGI 1 worker", "rsgi", None)
        if args.without_received_at_index:
            sqlite_config("Byline pixel, SQLite WAL (NORMAL), granian RSGI 1 worker, tracking_hit WITHOUT the "
                          "received_at index (its cost on intake)", "rsgi", None, drop_index=True)
        if nginx and not args.skip_proxy:
            # The production shape: nginx in front, X-Forwarded-For set by nginx (the load's own header is a
            # reader's address, as a browser behind a corporate proxy sends it; nginx appends 127.0.0.1).
            sqlite_config("Byline pixel direct, X-Forwarded-For as nginx would send it (the rows below without "
                          "nginx)", "rsgi", None, load="proxied")
            for n in args.nginx_workers:
                for spec in args.proxy or [parse_proxy("")]:
                    sqlite_config(f"THROUGH NGINX ({n} worker{'s' if n > 1 else ''}): Byline pixel, SQLite WAL, "
                                  f"granian RSGI {spec['workers']} worker(s); {proxy_label(spec)}", "rsgi", None,
                                  workers=int(spec["workers"]), load="proxied", proxy=spec, nginx_workers=n,
                                  backlog=int(spec["backlog"]))
        if nginx and not args.skip_proxy and not args.skip_pixel_log:
            # byline-pixel-log's settings as the rows above: BYLINE_TRUSTED_PROXIES takes the load's
            # X-Forwarded-For as the reader's address, as it would from a load balancer in front of nginx.
            sqlite_config("ANSWERED BY NGINX and logged (deploy/nginx/pixel-log.conf, 1 worker); the log's reader "
                          "(manage.py ingest_pixel_log) storing meanwhile, SQLite WAL", "log", None, load="proxied",
                          nginx_workers=1)
        for threads in [] if args.only_proxy else args.threads:
            sqlite_config(f"Byline pixel, SQLite WAL (NORMAL), granian WSGI 1 worker, {threads} threads", "granian",
                          threads)
        most = max(args.threads)
        if not (args.skip_variants or args.only_proxy):
            sqlite_config("Byline pixel, SQLite WAL (NORMAL), granian RSGI 2 workers", "rsgi", None, workers=2)
            sqlite_config("Byline pixel, SQLite WAL (NORMAL), granian RSGI 1 worker, every request a new User-Agent "
                          "(misses the bot filter's caches)", "rsgi", None, load="new-agent")
            if args.skip_proxy or not nginx:  # else the row "direct, X-Forwarded-For" above is this one
                sqlite_config("Byline pixel, SQLite WAL (NORMAL), granian RSGI 1 worker, behind our proxy "
                              "(X-Forwarded-For on every request, BYLINE_TRUSTED_PROXIES=127.0.0.1)", "rsgi", None,
                              load="proxied")
            other_tasks = "asyncio" if RSGI_TASK_IMPL == "rust" else "rust"
            sqlite_config(f"Byline pixel, SQLite WAL (NORMAL), granian RSGI 1 worker, --task-impl {other_tasks}",
                          "rsgi", None, task_impl=other_tasks)
        if not (args.skip_gunicorn or args.only_proxy):
            sqlite_config(f"Byline pixel, SQLite WAL (NORMAL), gunicorn gthread 1 worker, {most} threads",
                          "gunicorn", most)
        if not args.only_proxy:
            add("same server and app, hit parsed and filtered but NOT stored, granian RSGI 1 worker",
                "rsgi", None, 1, "bench.pixel:no_store", common.site_env(fresh_sqlite("nostore")), None, False, path)
            add("bare RSGI app returning the GIF (no Django, no hit), granian 1 worker",
                "rsgi", None, 1, "bench.pixel:bare_gif_rsgi", common.site_env(template), None, False, path)
            add("bare WSGI app returning the GIF (no Django, no hit), granian 1 worker, 1 thread",
                "granian", 1, 1, "bench.pixel:bare_gif", common.site_env(template), None, False, path)

        pg_settings = None
        if args.skip_postgres or args.only_proxy:
            print("PostgreSQL skipped (--skip-postgres).")
        elif not common.postgres_answers():
            print("PostgreSQL skipped: nothing answers on 127.0.0.1:5432.")
        else:
            try:
                pg_context = common.postgres_database(POSTGRES_DB)
                pg_url = pg_context.__enter__()
                pg_env = common.site_env(tmp / "postgres", DATABASE_URL=pg_url, CONN_MAX_AGE="600",
                                         BYLINE_PIXEL_COPIES_PER_READER="0")  # one address: see sqlite_config
                pg_path = build_site(pg_env, "PostgreSQL")
                pg_settings = postgres_settings(pg_url)
                version = pg_settings["server_version"].split()[0]
                pg_name = (f"Byline pixel, PostgreSQL {version} "
                           f"(synchronous_commit={pg_settings['synchronous_commit']})")
                add(f"{pg_name}, granian RSGI 1 worker", "rsgi", None, 1, "byline.wsgi:application", pg_env,
                    HitTable(postgres_url=pg_url), True, pg_path)
                for threads in args.pg_threads:
                    add(f"{pg_name}, granian WSGI 1 worker, {threads} threads", "granian", threads, 1,
                        "byline.wsgi:application", pg_env, HitTable(postgres_url=pg_url), True, pg_path)
            except Exception as exc:  # optional part: say why and go on
                print(f"PostgreSQL skipped: {exc.__class__.__name__}: {str(exc).strip()[:500]}")

        # ---- servers
        servers = []
        gif = None
        for cfg in configs:
            name, path, port = cfg["name"], cfg["path"], common.free_port()
            if cfg["kind"] == "log":
                servers.append(start_logged(procs, nginx_procs, cfg, gif, tmp / f"reader-{len(servers)}.log"))
                log(f"  up: {name} on :{servers[-1]['port']}")
                continue
            unix = bool(cfg["proxy"]) and cfg["proxy"]["socket"] == "unix"
            if unix:  # only nginx reaches it, so it is checked through nginx below
                tmp.chmod(0o711)  # nginx's worker runs as nobody when started by root, and must reach it
                port = tmp / f"pixel-{len(servers)}.sock"
            proc = procs.start(name, server_command(cfg["kind"], port, cfg["threads"], cfg["workers"], cfg["target"],
                                                    cfg["task_impl"], cfg["backlog"],
                                                    cfg["proxy"]["granian"].split() if cfg["proxy"] else ()),
                               env=cfg["env"], log_path=tmp / f"server-{len(servers)}.log")
            if not unix:
                status, headers, body = common.wait_ready(proc, port, path)
                if status != 200 or headers.get("content-type") != "image/gif" or len(body) != 43:
                    raise RuntimeError(f"{name}: {path} answered {status} {headers} {body[:200]!r}")
                gif = gif or body
            server = {"name": name, "port": port, "path": path, "proc": proc, "group": proc.pid, "groups": (),
                      "table": cfg["table"], "durable": cfg["durable"], "load": cfg["load"],
                      "postgres": bool(cfg["table"] and cfg["table"].postgres_url)}
            if cfg["proxy"]:  # the load goes to nginx; the pixel server's CPU is counted with nginx's
                front_port = common.free_port()
                front = start_nginx(procs, gif, front_port, cfg["nginx_workers"], port, cfg["proxy"])
                nginx_procs.append(front)
                status, headers, body = common.wait_ready(front, front_port, path)
                deadline = time.monotonic() + 60
                while status == 502 and unix and time.monotonic() < deadline:  # the socket is not there yet
                    time.sleep(0.2)
                    status, headers, body = common.wait_ready(front, front_port, path)
                if status != 200 or body != gif:
                    raise RuntimeError(f"{name}: nginx answered {status} with {body[:200]!r}")
                server.update(port=front_port, proc=front, group=front.pid, groups=(proc.pid,), pixel=proc,
                              through_nginx=True, ref=f"nginx-{cfg['nginx_workers']}")
            log(f"  up: {name} on :{server['port']}")
            servers.append(server)
        if nginx:
            # One static row per nginx worker count of the rows through nginx: each is compared with the same
            # nginx build and settings serving the GIF from disk.
            for n in sorted(set(args.nginx_workers) | {1}, reverse=True):
                nginx_port = common.free_port()
                nginx_proc = start_nginx(procs, gif, nginx_port, workers=n)
                nginx_procs.append(nginx_proc)
                status, headers, body = common.wait_ready(nginx_proc, nginx_port, "/pixel.gif")
                if status != 200 or body != gif:
                    raise RuntimeError(f"nginx answered {status} with {body!r}")
                servers.insert(0, {"name": f"nginx, static 43-byte GIF (same no-store headers), {n} worker"
                                           + ("s" if n > 1 else ""),
                                   "port": nginx_port, "path": "/pixel.gif", "proc": nginx_proc,
                                   "group": nginx_proc.pid, "groups": (), "table": None, "durable": False,
                                   "nginx": n == 1, "static": f"nginx-{n}", "postgres": False, "load": "pool"})

        # ---- load, round after round so that drift touches every row alike
        loads = {}
        for kind in LOADS:
            script = tmp / f"pixel-{kind}.lua"
            script.write_text(wrk_script(kind))
            loads[kind] = (make_wrk(script, args.wrk_threads) if versions["wrk"]
                           else lambda url, c, d, k=kind: run_python_client(url, c, d, load=k))
        tool = common.load_tool(versions) + (f", {args.wrk_threads} thread(s), Lua script: a distinct page URL and "
                                             "User-Agent per request" if versions["wrk"] else "")
        results = {s["name"]: [] for s in servers}
        checks = {s["name"]: {"answered": 0, "rows": 0, "distinct": 0, "sent": 0, "filtered": 0, "lost": 0,
                              "twice": 0, "runs": 0} for s in servers}
        for rnd in range(args.rounds):
            for s in servers:
                url = f"http://127.0.0.1:{s['port']}{s['path']}"
                load = loads[s["load"]]
                if args.wait_quiet:
                    common.wait_quiet(args.wait_quiet)
                before = s["table"].max_id() if s["table"] else None
                if args.warmup:
                    load(url, args.connections, args.warmup)
                if s["table"]:
                    before = settled(s["table"].max_id)
                r = common.measured(load, url, args.connections, args.duration, s["group"], *s["groups"])
                results[s["name"]].append(r)
                extra = ""
                if s["table"]:
                    # Requests in flight when wrk stopped are answered and stored; the RSGI pixel stores what it
                    # answered a moment later (tracking.journal).
                    if s.get("reader"):  # the log's reader may still be storing what nginx answered
                        r["stored_during"] = s["table"].since(before)["rows"]
                        r["drain_s"] = drained(s["table"], before, r["answered"])
                    got = settled(lambda table=s["table"], before=before: table.since(before))
                    c = checks[s["name"]]
                    c["runs"] += 1
                    for key in ("answered", "sent"):
                        c[key] += r[key]
                    c["rows"] += got["rows"]
                    c["distinct"] += got["distinct"]
                    c["filtered"] += got["filtered"]
                    c["lost"] += max(0, r["answered"] - got["rows"])
                    c["twice"] += got["rows"] - got["distinct"]
                    extra = (f"; answered {r['answered']:,}, stored {got['rows']:,} ({got['distinct']:,} distinct "
                             f"pages, {got['filtered']} filtered), sent {r['sent']:,}")
                common.log_round(rnd, s["name"], r, extra)
        rows = []
        for s in servers:
            runs = results[s["name"]]
            rows.append({
                "name": s["name"], "durable": s["durable"], "postgres": s["postgres"],
                "nginx": s.get("nginx"), "static": s.get("static"), "ref": s.get("ref"),
                "through_nginx": s.get("through_nginx", False),
                "non2xx": sum(r["non2xx"] for r in runs), "errors": sum(r["errors"] for r in runs),
                "check": checks[s["name"]] if s["table"] else None, **common.medians(runs),
                # the log's reader: seconds it took after each run to store what nginx answered, and the hits
                # stored per second over the load and that time together (None: it did not catch up)
                "drains": [r.get("drain_s") for r in runs] if s.get("reader") else None,
                "stored_rps": sorted(r["answered"] / (r["requests"] / r["rps"] + r["drain_s"])
                                     if r.get("drain_s") is not None else 0.0 for r in runs)[len(runs) // 2]
                if s.get("reader") else None,
                "stored_during_rps": sorted(r["stored_during"] / (r["requests"] / r["rps"]) for r in runs)[
                    len(runs) // 2] if s.get("reader") else None,
            })
            for proc in (s["proc"], s.get("pixel")):
                if proc is not None and proc.poll() is not None:
                    print(f"warning: {s['name']}: a server exited during the run (code {proc.returncode})")
        ooo = {}
        for s in servers:
            if s["table"]:
                with contextlib.suppress(Exception):
                    ooo[s["name"]] = s["table"].out_of_order()
        procs.stop_all()  # free the cores for the in-process timing

        nginx_rps = next((r["rps"] for r in rows if r["nginx"]), None)
        statics = {r["static"]: r["rps"] for r in rows if r["static"]}
        for row in rows:
            row["vs_nginx"] = row["rps"] / statics.get(row["ref"], nginx_rps) if nginx_rps else None
        print_tables(rows, args, tool)
        print_goals(rows, nginx_rps)
        print_ordering(ooo)

        micro = [("SQLite", measure_micro(common.site_env(fresh_sqlite("micro")), sqlite_path, "SQLite"))]
        if pg_settings:
            micro.append(("PostgreSQL", measure_micro(pg_env, pg_path, "PostgreSQL")))
            print(f"\nPostgreSQL settings: {pg_settings}")
        print_micro(micro)
        return 0
    finally:
        procs.stop_all()
        for nginx_proc in nginx_procs:
            common.remove(nginx_proc.bench_dir, args.keep)
        if pg_context is not None:
            with contextlib.suppress(Exception):
                pg_context.__exit__(None, None, None)
        common.remove(tmp, args.keep)


def print_tables(rows, args, tool):
    print()
    print(f"Pixel over HTTP: {tool}; {args.connections} connections, {args.duration}s per run, median of "
          f"{args.rounds} round(s); load generator and servers share {os.cpu_count()} cores; "
          + ("each server in a session of its own" if args.own_session else "servers in the load generator's session")
          + f" (autogroup scheduling {common.autogroup()})")
    if any(r["through_nginx"] for r in rows):
        print("Rows THROUGH NGINX are compared with the static row of the same nginx worker count; their server "
              "cores are nginx's and the pixel server's together.")
    common.http_table(["What answered", "requests/s", "p50 ms", "p99 ms", "vs nginx GIF", "errors"], rows,
                      lambda row: [row["name"], f"{row['rps']:,.0f}", fmt(row["p50_ms"], ".2f"),
                                   fmt(row["p99_ms"], ".2f"), fmt(row["vs_nginx"], ".3f"),
                                   row["non2xx"] + row["errors"]],
                      judged=lambda row: not row["postgres"])
    if any(r["postgres"] for r in rows):
        print("On PostgreSQL rows, \"other\" includes PostgreSQL's own server processes: part of the cost.")
    print()
    print("Answered hits against stored rows, summed over the measured runs (warm-ups left out):")
    common.table(["Server", "answered (200 GIF)", "rows stored", "of which filtered", "distinct pages",
                  "sent by wrk", "lost", "stored twice"],
                 [[row["name"], *(f"{c[k]:,}" for k in ("answered", "rows", "filtered", "distinct", "sent")),
                   c["lost"], c["twice"]] for row in rows if (c := row["check"])])


def print_goals(rows, nginx_rps):
    durable = [r for r in rows if r["durable"]]
    if not durable:
        return
    best = max(durable, key=lambda r: r["rps"])
    print()
    if nginx_rps:
        ratio = best["rps"] / nginx_rps
        print(f"Goal: durable pixel >= 1/3 of nginx's static GIF: {'met' if ratio >= RATIO_GOAL else 'NOT met'} "
              f"(best {ratio:.3f} = {best['rps']:,.0f} / {nginx_rps:,.0f} req/s: {best['name']}).")
    print(f"Goal: p99 under {P99_GOAL_MS:.0f} ms at that load: "
          f"{'met' if best['p99_ms'] < P99_GOAL_MS else 'NOT met'} ({best['p99_ms']:.2f} ms).")
    under = [r for r in durable if r["p99_ms"] < P99_GOAL_MS]
    if under:
        fastest = max(under, key=lambda r: r["rps"])
        print(f"  Fastest durable configuration with p99 under {P99_GOAL_MS:.0f} ms: {fastest['rps']:,.0f} req/s "
              f"({fastest['p99_ms']:.2f} ms), {fastest['name']}.")
    proxied = [r for r in rows if r["through_nginx"] and r["vs_nginx"] is not None]
    if proxied:
        top = max(proxied, key=lambda r: r["vs_nginx"])
        print(f"Goal through nginx: >= 1/3 of the same nginx serving the GIF from disk: "
              f"{'met' if top['vs_nginx'] >= RATIO_GOAL else 'NOT met'} (best {top['vs_nginx']:.3f}, p99 "
              f"{top['p99_ms']:.2f} ms: {'met' if top['p99_ms'] < P99_GOAL_MS else 'NOT met'}; {top['name']}).")
    for row in rows:
        if row.get("drains") is not None and nginx_rps:
            static = next((r["rps"] for r in rows if r["static"] == row["ref"]), nginx_rps)
            drains = ", ".join("not caught up" if d is None else f"{d:.1f} s" for d in row["drains"])
            print(f"Answered by nginx and logged: {row['rps']:,.0f} req/s answered ({row['rps'] / static:.3f} of the "
                  f"static GIF, p99 {row['p99_ms']:.2f} ms); the log's reader finished storing them {drains} after "
                  f"each run: {row['stored_rps']:,.0f} hits/s stored over load and catch-up "
                  f"({row['stored_rps'] / static:.3f} of the static GIF, median run); while nginx answered at "
                  f"full speed the reader stored {row['stored_during_rps']:,.0f}/s "
                  f"({row['stored_during_rps'] / static:.3f}), the rest waiting in the log.")
    checked = [r["check"] for r in rows if r.get("check")]  # every row that stores, judged or not
    lost = sum(c["lost"] for c in checked)
    twice = sum(c["twice"] for c in checked)
    answered = sum(c["answered"] for c in checked)
    print(f"Goal: zero answered hits lost: {'met' if lost == 0 else 'NOT met'} ({answered:,} answered over "
          f"{len(checked)} storing rows, {lost} missing, {twice} stored twice).")


def print_ordering(ooo):
    if not ooo:
        return
    print()
    print("Hit ids against received_at (the counting job's cursor assumes a later id is never older by more "
          "than its 5 s SETTLE margin):")
    common.table(["Server", "consecutive ids with received_at going backwards", "largest step back ms"],
                 [[name, f"{count:,}", f"{float(worst or 0):.1f}"] for name, ((count, worst),) in ooo.items()])


def print_micro(micro):
    print()
    print("Where a hit's time goes, in one process and one thread (microseconds per call):")
    keys = [k for k in micro[0][1] if k not in ("vendor",) and not k.startswith("sqlite synchronous")]
    common.table(["Step", *(label for label, _ in micro)],
                 [[key, *(fmt(result.get(key), ",.1f") for _, result in micro)] for key in keys])
    for label, result in micro:
        if "sqlite synchronous (0 off, 1 normal, 2 full)" in result:
            print(f"{label}: PRAGMA synchronous = {result['sqlite synchronous (0 off, 1 normal, 2 full)']} "
                  "as the app configures it (1 = NORMAL: in WAL mode a commit is not fsynced).")


def parse_args(argv=None):
    p = common.parser(__doc__, load=True)
    p.add_argument("--threads", type=lambda s: [int(x) for x in s.split(",")], default=[8, 16, 32, 64],
                   help="granian --blocking-threads settings to try for the durable pixel over WSGI on SQLite, "
                        "comma-separated (default 8,16,32,64); the largest is used for gunicorn")
    p.add_argument("--pg-threads", type=lambda s: [int(x) for x in s.split(",")], default=[16, 64],
                   help="the same on PostgreSQL, beside the RSGI row (default 16,64)")
    p.add_argument("--wrk-threads", type=int, default=1, help="wrk threads (default 1: the cores are few)")
    p.add_argument("--rounds", type=int, default=2, help="rounds over every server; medians reported (default 2)")
    p.add_argument("--warmup", type=int, default=1, help="seconds of unmeasured load before each run (default 1)")
    p.add_argument("--rsgi-loop", default=RSGI_LOOP, choices=["asyncio", "uvloop", "rloop"],
                   help="granian's --loop for the RSGI servers (default uvloop, as in the README; rloop must be "
                        "installed by hand)")
    p.add_argument("--rsgi-task-impl", default=RSGI_TASK_IMPL, choices=["asyncio", "rust"],
                   help="granian's --task-impl for the RSGI servers (default rust, as in the README); the variants "
                        "add a row with the other")
    p.add_argument("--proxy", action="append", type=parse_proxy, metavar="SPEC",
                   help="a row through nginx as deploy/nginx/pixel-proxy.conf proxies /pixel/, with what SPEC changes: "
                        "comma-separated key=value of keepalive (default 64; 0 = none), buffering (on), access_log "
                        "(off), workers and backlog (the pixel server's granian, 1 and 1024); repeat for more rows. "
                        "Default: one row as pixel-proxy.conf")
    p.add_argument("--nginx-workers", type=lambda s: [int(x) for x in s.split(",")], default=[1],
                   help="nginx worker_processes for the rows through nginx, comma-separated (default 1); each value "
                        "adds a static row with the same count to compare with")
    p.add_argument("--skip-proxy", action="store_true", help="leave out the rows through nginx")
    p.add_argument("--only-proxy", action="store_true",
                   help="only nginx's static GIF, the durable RSGI rows and the rows through nginx")
    p.add_argument("--without-received-at-index", action="store_true",
                   help="add a row whose database has no index on tracking_hit.received_at (its cost on intake)")
    p.add_argument("--skip-pixel-log", action="store_true",
                   help="leave out the row answered by nginx and logged (deploy/nginx/pixel-log.conf)")
    p.add_argument("--skip-gunicorn", action="store_true")
    p.add_argument("--skip-postgres", action="store_true")
    p.add_argument("--skip-variants", action="store_true", help="leave out 2 workers and a new User-Agent per request")
    common.add_run_options(p)
    p.add_argument("--own-session", action="store_true",
                   help="start each server in a session of its own, as this benchmark did until 2026-12-04: where the "
                        "kernel's autogroup scheduling is on, a server's threads then share one scheduling group "
                        "against the load generator (see bench/common.py, Processes)")
    p.add_argument("--micro-worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--micro-path", help=argparse.SUPPRESS)
    p.add_argument("--micro-iterations", type=int, default=3000, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.duration < 1 or args.connections < 1 or args.rounds < 1 or not args.threads:
        p.error("--duration, --connections and --rounds must be >= 1")
    return args


if __name__ == "__main__":
    arguments = parse_args()
    sys.exit(micro_worker(arguments) if arguments.micro_worker else common.run(main, arguments))
