"""What an operator installs from deploy/, run the way it is installed.

- The nginx site (deploy/nginx/byline.conf) passes `nginx -t`, and boots in front of the real servers: the site
  (granian WSGI) and the pixel server (granian RSGI), each started with its unit's own ExecStart
  (deploy/byline-site.service, deploy/byline-pixel.service) and the environment of deploy/byline.env.example.
  Pages keep the Host they were asked for and learn they came over HTTPS; /healthz answers on both ports;
  plain HTTP is redirected to HTTPS; pixel hits reach the pixel server and are stored; static files and
  uploads come from disk.
- A pixel worker killed with SIGKILL under load is replaced within 5 seconds (granian's
  --respawn-failed-workers, forking from the application byline.serve loaded), and every hit answered before or
  after is stored exactly once.

Only the shipped files' placeholders are replaced: the listen addresses (free ports on 127.0.0.1), the
upstream ports, the certificate (a throwaway self-signed one, made with openssl) and /srv/byline/var (a
temporary var dir: production settings, a SQLite file, or a database of its own on the PostgreSQL run, as in
tracking/tests/test_crash.py, whose helpers are reused). nginx runs as the current user with its own prefix,
pid and logs. Never skipped: a missing nginx or openssl is a failure (`make test` installs both,
scripts/ensure-nginx).
"""

import contextlib
import http.client
import json
import os
import pwd
import re
import shlex
import shutil
import signal
import socket
import ssl
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest

from tracking.pixel import GIF
from tracking.tests.test_crash import PARTNER, PYTHON, ROOT, Database, Load, Server, free_port, manage

DEPLOY = ROOT / "deploy"
SITE_FILE = DEPLOY / "nginx" / "byline.conf"
PUBLIC = "news.example.org"  # the placeholder public name in the shipped files
SECRET = "deploy-test-secret-" + "0123456789abcdefghijklmnopqrstuvwxyz"  # production wants 50+ characters
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
REPLACED_WITHIN = 5.0  # seconds from a pixel worker's SIGKILL until the server answers again


def wait_until(condition, timeout, message):
    """condition()'s first true answer, polled until the timeout; then an AssertionError with message()."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.05)
    raise AssertionError(message())


# ---- The units and their environment, as systemd would read them


def unit_command(unit, port):
    """The unit's ExecStart as an argument list, with this virtualenv's Python and the given port."""
    text = (DEPLOY / unit).read_text()
    exec_start = re.search(r"^ExecStart=((?:.*\\\n)*.*)$", text, re.MULTILINE).group(1).replace("\\\n", " ")
    command = shlex.split(exec_start)
    assert command[:3] == ["/srv/byline/.venv/bin/python", "-m", "byline.serve"], command
    assert command[command.index("--host") + 1] == "127.0.0.1", "servers behind nginx listen on loopback only"
    command[0] = PYTHON
    command[command.index("--port") + 1] = str(port)
    return command


def unit_environment(var_dir, database_url):
    """This process's environment (PATH and the like) with deploy/byline.env.example's settings, as systemd's
    EnvironmentFile= reads it, and what differs on a test machine: the key, the files and the database."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "REDIS_URL", "CACHE_URL", "DJANGO_SETTINGS_MODULE")}
    for line in (DEPLOY / "byline.env.example").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            env[name] = value
    assert env["DJANGO_SETTINGS_MODULE"] == "byline.settings.production"
    del env["REDIS_URL"]  # the file cache in the var dir, rather than share the machine's Redis
    env.pop("DATABASE_URL")
    if database_url:
        env["DATABASE_URL"] = database_url
    env.update(SECRET_KEY=SECRET, BYLINE_VAR_DIR=str(var_dir), PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1")
    return env


def child_pids(pid):
    """The processes whose parent is pid: granian's workers."""
    children = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError):
                stat = Path(f"/proc/{entry}/stat").read_text()
                if int(stat.rpartition(")")[2].split()[1]) == pid:
                    children.append(int(entry))
    return set(children)


def answers(port):
    """Whether a server answers on port: a HEAD for a pixel, which both servers answer and neither records."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        conn.request("HEAD", "/pixel/1/html/0000000000000000.gif", headers={"User-Agent": BROWSER})
        return conn.getresponse().status == 200
    except (OSError, http.client.HTTPException):
        return False
    finally:
        conn.close()


class UnitServer(Server):
    """A granian server started with one of deploy/'s units' ExecStart, on a port of the test's."""

    def __init__(self, unit, env, log_path, port):
        super().__init__(env, log_path, interface=None)
        self.unit, self.port = unit, port
        self.command = unit_command(unit, port)

    def start(self):
        with open(self.log_path, "ab") as log:
            # Its own session: whatever is left of it at the end is killed as a group (Server.kill).
            self.proc = subprocess.Popen(self.command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True)

        def up():
            assert self.proc.poll() is None, f"{self.unit} exited ({self.proc.returncode}):\n{self.log()}"
            return answers(self.port)

        wait_until(up, 30, lambda: f"{self.unit} did not answer on port {self.port} within 30 s:\n{self.log()}")
        return self

    def workers(self):
        return child_pids(self.proc.pid)

    def stop(self):
        """As systemd stops the unit (KillMode=mixed): SIGTERM to granian alone, which stops its workers."""
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(30)
        finally:
            self.kill()


# ---- The installation: a var dir with a migrated database, the demo newsroom and collected static files


@dataclass
class Installation:
    var_dir: Path
    env: dict
    db: Database
    story_id: int
    pixel_path: str  # signed with the servers' SECRET_KEY


def install(env):
    """What deploy/README.md has the operator run, in one start of Django, and the demo newsroom: the first
    published story's (id, path, signed pixel path)."""
    out = manage(env, "shell", "-c", (
        "from django.core.management import call_command\n"
        "call_command('migrate', interactive=False, verbosity=0)\n"
        "call_command('collectstatic', interactive=False, verbosity=0)\n"
        "call_command('load_demo', no_admin=True, verbosity=0)\n"
        "from stories.models import StoryPage\n"
        "from republish.pixel import pixel_path\n"
        "story = StoryPage.objects.live().public().order_by('pk').first()\n"
        "print('STORY', story.pk, story.get_url_parts()[2], pixel_path(story.pk))"), timeout=240)
    _, story_id, path, pixel = next(line for line in out.splitlines() if line.startswith("STORY ")).split()
    return int(story_id), path, pixel


@pytest.fixture(scope="module")
def installation(tmp_path_factory):
    var_dir = tmp_path_factory.mktemp("deploy") / "var"
    var_dir.mkdir()
    db = Database(var_dir)
    try:
        env = unit_environment(var_dir, db.create())
        story_id, _, path = install(env)
        yield Installation(var_dir, env, db, story_id, path)
    finally:
        db.drop()


# ---- nginx with the shipped site


@dataclass
class Front:
    directory: Path
    conf: Path
    certificate: Path
    http_port: int
    https_port: int
    site_port: int
    pixel_port: int


def self_signed_certificate(directory):
    certificate, key = directory / "fullchain.pem", directory / "privkey.pem"
    openssl = shutil.which("openssl")
    assert openssl, "openssl is missing: run `make test` (scripts/ensure-nginx installs it)"
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", f"/CN={PUBLIC}",
                    "-addext", f"subjectAltName=DNS:{PUBLIC}", "-keyout", str(key), "-out", str(certificate)],
                   check=True, capture_output=True, timeout=60)
    return certificate, key


def front_for(directory, var_dir, pixel="pixel-proxy.conf"):
    """deploy/nginx/byline.conf for this machine, inside a minimal nginx.conf of its own, with `pixel` (one of
    deploy/nginx's two /pixel/ snippets) as its byline-pixel.conf."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "tmp").mkdir(exist_ok=True)
    certificate, key = self_signed_certificate(directory)
    ports = set()
    while len(ports) < 4:  # http, https, site, pixel: four different ones
        ports.add(free_port())
    front = Front(directory, directory / "nginx.conf", certificate, *ports)
    site = SITE_FILE.read_text()
    # (placeholder, replacement, how many times the shipped file has it)
    for old, new, times in [
        ("listen 80;", f"listen 127.0.0.1:{front.http_port};", 1),
        ("listen [::]:80;", "", 1),
        ("listen 443 ssl http2;", f"listen 127.0.0.1:{front.https_port} ssl http2;", 1),
        ("listen [::]:443 ssl http2;", "", 1),
        ("server 127.0.0.1:8000;", f"server 127.0.0.1:{front.site_port};", 1),
        ("server 127.0.0.1:8001;", f"server 127.0.0.1:{front.pixel_port};", 1),
        (f"/etc/letsencrypt/live/{PUBLIC}/fullchain.pem", str(certificate), 1),
        (f"/etc/letsencrypt/live/{PUBLIC}/privkey.pem", str(key), 1),
        ("alias /srv/byline/var/", f"alias {var_dir}/", 2),
        ("include /etc/nginx/snippets/byline-pixel.conf;", f"include {directory}/byline-pixel.conf;", 1),
    ]:
        assert site.count(old) == times, f"{SITE_FILE} no longer has {old!r} {times} time(s): update this test"
        site = site.replace(old, new)
    assert "/srv/byline" not in site and re.search(r"listen\s+(\[::\]:)?(80|443)\b", site) is None
    (directory / "byline.conf").write_text(site)
    snippet = (SITE_FILE.parent / pixel).read_text().replace("/srv/byline/var/", f"{var_dir}/")
    assert "/srv/byline" not in snippet
    (directory / "byline-pixel.conf").write_text(snippet)

    mime_types = Path("/etc/nginx/mime.types")  # Debian's, as /etc/nginx/nginx.conf includes it
    assert mime_types.exists(), f"{mime_types} is missing: run `make test` (scripts/ensure-nginx installs nginx)"
    # As root, nginx's workers would run as "nobody", who cannot read pytest's private temporary directories.
    user = f"user {pwd.getpwuid(os.geteuid()).pw_name};" if os.geteuid() == 0 else ""
    front.conf.write_text(f"""\
daemon off;
worker_processes 1;
{user}
pid {directory}/nginx.pid;
error_log {directory}/error.log warn;
events {{ worker_connections 512; }}
http {{
    include {mime_types};
    default_type application/octet-stream;
    access_log {directory}/access.log;
    client_body_temp_path {directory}/tmp/body;
    proxy_temp_path {directory}/tmp/proxy;
    fastcgi_temp_path {directory}/tmp/fastcgi;
    uwsgi_temp_path {directory}/tmp/uwsgi;
    scgi_temp_path {directory}/tmp/scgi;
    include {directory}/byline.conf;
}}
""")
    return front


def nginx_command(front, *args):
    assert os.path.exists(NGINX), f"nginx not found at {NGINX}: run `make test` (scripts/ensure-nginx installs it)"
    return [NGINX, "-p", str(front.directory), "-c", str(front.conf), "-e", str(front.directory / "error.log"), *args]


@contextlib.contextmanager
def running_nginx(front):
    log = open(front.directory / "nginx.out", "wb")
    proc = subprocess.Popen(nginx_command(front), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            start_new_session=True)

    def listening():
        assert proc.poll() is None, f"nginx exited:\n{(front.directory / 'error.log').read_text()}"
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", front.https_port), timeout=1):
            return True
        return False

    try:
        wait_until(listening, 15, lambda: "nginx did not listen within 15 s")
        yield proc
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
        log.close()


class PublicHTTPS(http.client.HTTPSConnection):
    """HTTPS to nginx on 127.0.0.1 as a browser asking for the public name: SNI and certificate check for it."""

    def __init__(self, port, certificate):
        self.tls = ssl.create_default_context(cafile=str(certificate))
        super().__init__(PUBLIC, port, timeout=15, context=self.tls)

    def connect(self):
        self.sock = self.tls.wrap_socket(socket.create_connection(("127.0.0.1", self.port), self.timeout),
                                         server_hostname=PUBLIC)


def fetch(front, path, *, https=True, host=PUBLIC, headers=None):
    """(status, headers, body) of one GET through nginx."""
    conn = (PublicHTTPS(front.https_port, front.certificate) if https
            else http.client.HTTPConnection("127.0.0.1", front.http_port, timeout=15))
    try:
        conn.request("GET", path, headers={"Host": host, "User-Agent": BROWSER, **(headers or {})})
        response = conn.getresponse()
        return response.status, response.headers, response.read()
    finally:
        conn.close()


# ---- The tests


@pytest.mark.parametrize("pixel", ["pixel-proxy.conf", "pixel-log.conf"])
def test_the_shipped_nginx_site_passes_nginx_t(tmp_path, pixel):
    front = front_for(tmp_path / "nginx", tmp_path / "var", pixel)
    out = subprocess.run(nginx_command(front, "-t"), capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert "test is successful" in out.stderr


def test_nginx_in_front_of_the_site_and_the_pixel_server(installation, tmp_path):
    front = front_for(tmp_path / "nginx", installation.var_dir)
    env = installation.env
    site = UnitServer("byline-site.service", env, tmp_path / "site.log", front.site_port)
    pixel = UnitServer("byline-pixel.service", env, tmp_path / "pixel.log", front.pixel_port)
    try:
        site.start()
        pixel.start()
        with running_nginx(front):
            # A page, with the Host it was asked for (ALLOWED_HOSTS has only the public name) and known to have come
            # over HTTPS (X-Forwarded-Proto: else Django would redirect it there).
            status, headers, body = fetch(front, "/")
            assert status == 200, (status, body[:500])
            assert b"The Harbor Ledger" in body and headers["Content-Type"].startswith("text/html")
            assert headers.get_all("Strict-Transport-Security") == ["max-age=31536000; includeSubDomains"], \
                "HSTS once, as Django's production settings send it by default behind the TLS proxy"
            status, _, _ = fetch(front, "/", host="intruder.example")
            assert status == 400, "another Host must reach Django as sent, and be refused there"

            # /healthz on both ports, never redirected, never cached.
            for https in (True, False):
                status, headers, body = fetch(front, "/healthz", https=https)
                assert status == 200, (https, status, body[:500])
                assert json.loads(body) == {"status": "ok",
                                            "checks": {"database": "ok", "cache": "ok", "journal": "ok"}}
                assert "no-store" in headers["Cache-Control"]

            # Everything else on port 80 goes to HTTPS, with its path and query.
            status, headers, _ = fetch(front, "/news/?page=2", https=False)
            assert status == 301 and headers["Location"] == f"https://{PUBLIC}/news/?page=2"

            # A pixel hit reaches the pixel server and is stored.
            copy = "https://partner.example/deploy-test"
            status, headers, body = fetch(front, f"{installation.pixel_path}?url={quote(copy, safe='')}")
            assert status == 200 and body == GIF and "no-store" in headers["Cache-Control"]
            wait_until(lambda: installation.db.rows(
                f"SELECT COUNT(*) FROM tracking_hit WHERE story_id = {installation.story_id} AND copy = '{copy}' "
                "AND filtered = ''")[0][0] == 1, 15, lambda: "the pixel hit through nginx was not stored once")

            # The pixel server runs the rest of the site too (in its thread pool): /healthz answers there.
            conn = http.client.HTTPConnection("127.0.0.1", front.pixel_port, timeout=15)
            conn.request("GET", "/healthz", headers={"Host": PUBLIC})
            response = conn.getresponse()
            assert response.status == 200 and json.loads(response.read())["status"] == "ok"
            conn.close()

            # Static files and uploads from disk. A collected file, named after its content, is kept for a year.
            manifest = json.loads((installation.var_dir / "static" / "staticfiles.json").read_text())["paths"]
            stylesheet = manifest["css/byline.css"]
            status, headers, body = fetch(front, f"/static/{stylesheet}")
            assert status == 200 and body == (installation.var_dir / "static" / stylesheet).read_bytes()
            assert headers["Cache-Control"] == "max-age=31536000" and headers["Content-Type"] == "text/css"
            status, headers, _ = fetch(front, f"/static/{stylesheet}", headers={"Accept-Encoding": "gzip"})
            assert status == 200 and headers["Content-Encoding"] == "gzip"  # collectstatic's .gz, as it is
            assert headers["Vary"] == "Accept-Encoding"
            picture = next((installation.var_dir / "media" / "original_images").iterdir())
            status, headers, body = fetch(front, f"/media/original_images/{picture.name}")
            assert status == 200 and body == picture.read_bytes()
            assert headers["X-Content-Type-Options"] == "nosniff"
            # Documents only through Django's view, which checks their collection's privacy.
            documents = installation.var_dir / "media" / "documents"
            documents.mkdir(exist_ok=True)
            (documents / "board-minutes.pdf").write_bytes(b"%PDF-1.4 private")
            status, _, body = fetch(front, "/media/documents/board-minutes.pdf")
            assert status == 404 and b"private" not in body

            # /pixel/ goes to the pixel server and nowhere else: without it, pixel hits fail while pages answer.
            assert pixel.stop() == 0, pixel.log()
            status, _, _ = fetch(front, installation.pixel_path)
            assert status == 502
            assert fetch(front, "/healthz")[0] == 200
    finally:
        pixel.kill()
        site.kill()


def test_a_killed_pixel_worker_is_replaced_within_5_seconds_and_no_answered_hit_is_lost(installation, tmp_path):
    db = installation.db
    server = UnitServer("byline-pixel.service", installation.env, tmp_path / "pixel.log", free_port())
    load = Load(installation.pixel_path)  # each request a distinct reader on PARTNER<n>
    try:
        server.start()
        workers = server.workers()
        configured = int(server.command[server.command.index("--workers") + 1])
        assert len(workers) == configured, f"workers {workers}, the unit asks for {configured}"

        load.port = server.port
        load.start()
        load.wait_for(300, min_seconds=1.0)
        victim = min(workers)
        os.kill(victim, signal.SIGKILL)
        killed = time.monotonic()
        answered_at_kill = load.count()

        # A request sent after the kill, answered: by the replacement (or a surviving worker, if the unit runs more).
        answered_again = wait_until(lambda: answers(server.port) and time.monotonic(), 15,
                                    lambda: f"the pixel server did not answer within 15 s of the kill:\n{server.log()}")
        outage = answered_again - killed
        replacement = wait_until(lambda: len(server.workers() - {victim}) == configured and server.workers(), 10,
                                 lambda: f"no worker replaced {victim}: {server.workers()}\n{server.log()}")
        assert outage < REPLACED_WITHIN, f"the server answered again {outage:.1f} s after the kill"

        load.wait_for(answered_at_kill + 300, min_seconds=0.5)  # the new worker takes hits too
        load.finish()
        assert server.stop() == 0, server.log()

        answered, cut_off = load.answered, load.cut_off | load.refused | load.other
        assert not load.other, f"{len(load.other)} requests answered something other than the GIF"
        rows = db.rows(f"SELECT copy, COUNT(*) FROM tracking_hit WHERE story_id = {installation.story_id} "
                       f"AND copy LIKE '{PARTNER}%' GROUP BY copy")
        stored = {int(copy[len(PARTNER):]): count for copy, count in rows}
        lost = sorted(answered - stored.keys())
        twice = sorted(n for n, count in stored.items() if count != 1)
        unknown = sorted(stored.keys() - answered - cut_off)
        assert not lost, f"{len(lost)} of {len(answered)} answered hits lost, e.g. {lost[:10]}"
        assert not twice, f"{len(twice)} hits stored more than once, e.g. {twice[:10]}"
        assert not unknown, f"stored hits nobody sent: {unknown[:10]}"
        print(f"\nworker {victim} killed after {answered_at_kill} answered hits; answering again after {outage:.2f} s "
              f"(workers now {sorted(replacement)}); {len(answered)} answered, {len(load.refused)} refused and "
              f"{len(load.cut_off)} cut off meanwhile; {len(stored)} stored, 0 lost, 0 twice.")
    finally:
        load.stop.set()
        server.kill()
        for thread in load.threads:
            if thread.is_alive():
                thread.join(10)


def test_nginx_answers_the_pixel_and_every_logged_hit_is_stored_once(installation, tmp_path):
    """deploy/nginx/pixel-log.conf: nginx answers /pixel/ with its own GIF and logs each hit; the reader of
    deploy/byline-pixel-log.service, SIGKILLed mid-load and started again, stores every answered hit once."""
    text = (DEPLOY / "byline-pixel-log.service").read_text()
    command = shlex.split(re.search(r"^ExecStart=(.*)$", text, re.MULTILINE).group(1))
    assert command[:3] == ["/srv/byline/.venv/bin/python", "manage.py", "ingest_pixel_log"], command
    command[0] = PYTHON
    # Its own directory (deploy/README.md has the operator make var/pixel-log): where the directory exists,
    # /healthz checks the log's reader too, and the other tests here share the installation.
    log_dir = tmp_path / "pixel-log"
    log_dir.mkdir()
    env = {**installation.env, "BYLINE_PIXEL_LOG_DIR": str(log_dir)}
    front = front_for(tmp_path / "nginx", installation.var_dir, "pixel-log.conf")
    snippet = front.directory / "byline-pixel.conf"
    assert snippet.read_text().count(f"{installation.var_dir}/pixel-log") == 2
    snippet.write_text(snippet.read_text().replace(f"{installation.var_dir}/pixel-log", str(log_dir)))
    first = 10_000_000  # pages of their own in the module's database
    numbers, lock, stop = iter(range(first, first + 10**6)), threading.Lock(), threading.Event()
    answered, other = set(), []

    def send():
        while not stop.is_set():
            with lock:
                n = next(numbers)
            status, headers, body = fetch(front, f"{installation.pixel_path}?url={quote(PARTNER + str(n), safe='')}",
                                          headers={"User-Agent": BROWSER.replace("537.36", f"537.{n}")})
            ok = (status == 200 and body[:6] == b"GIF89a" and len(body) == 43
                  and headers["Content-Type"] == "image/gif" and "no-store" in headers["Cache-Control"]
                  and headers["Cross-Origin-Resource-Policy"] == "cross-origin"
                  and headers["X-Content-Type-Options"] == "nosniff")
            with lock:
                (answered.add(n) if ok else other.append((status, dict(headers), body[:100])))

    def start_reader():
        log = open(tmp_path / "pixel-log-reader.log", "ab")
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)

    def count():
        with lock:
            return len(answered)

    def stored():
        return dict(installation.db.rows(
            f"SELECT copy, COUNT(*) FROM tracking_hit WHERE story_id = {installation.story_id} "
            f"AND copy LIKE '{PARTNER}%' AND LENGTH(copy) = {len(PARTNER) + len(str(first))} GROUP BY copy"))

    senders = [threading.Thread(target=send, daemon=True) for _ in range(4)]
    reader = None
    try:
        with running_nginx(front):
            reader = start_reader()
            for thread in senders:
                thread.start()
            wait_until(lambda: count() >= 400 and stored(), 60, lambda: "no hit stored within 60 s")
            os.killpg(reader.pid, signal.SIGKILL)  # mid-batch, with lines it has not read
            reader.wait(10)
            wait_until(lambda: count() >= 800, 60, lambda: "nginx stopped answering")  # hits answered meanwhile
            reader = start_reader()
            wait_until(lambda: count() >= 1200, 60, lambda: "nginx stopped answering")
            stop.set()
            for thread in senders:
                thread.join(20)
            assert not other, f"{len(other)} answers other than the GIF, e.g. {other[:2]}"
            wait_until(lambda: len(stored()) >= len(answered), 60,
                       lambda: f"{len(answered) - len(stored())} of {len(answered)} answered hits not stored")
            time.sleep(1)  # anything stored twice would be by now
            reader.send_signal(signal.SIGTERM)
            assert reader.wait(30) == 0, (tmp_path / "pixel-log-reader.log").read_text()[-3000:]
        pages = {int(copy[len(PARTNER):]): times for copy, times in stored().items()}
        assert pages.keys() == answered, "every answered hit stored, and nothing nobody was answered"
        assert set(pages.values()) == {1}, "each once"
        counted = installation.db.rows(
            f"SELECT COUNT(*) FROM tracking_hit WHERE story_id = {installation.story_id} AND filtered = '' "
            f"AND copy LIKE '{PARTNER}%' AND LENGTH(copy) = {len(PARTNER) + len(str(first))}")[0][0]
        assert counted == len(answered), "each a reader's hit, as the pixel server would have stored it"
        print(f"\n{len(answered)} hits answered by nginx, the reader SIGKILLed once: each stored once")
    finally:
        stop.set()
        if reader is not None and reader.poll() is None:
            os.killpg(reader.pid, signal.SIGKILL)
