"""The durable outbox: notices are claimed by one sender at a time, posted with a stable Idempotency-Key and a
signature, retried with backoff for a day, never sent again once delivered; a sender killed mid-send is
replaced by the next one once its lease has run out, and a receiver that deduplicates by key processes the
message once.

Webhooks really go to a receiver on loopback (allowed as FETCH_ALLOW_HOSTS=127.0.0.1 allows it); email goes
to Django's locmem backend. The crash test runs `manage.py send_notices` in processes of its own, on a
database of its own (SQLite, or PostgreSQL when DATABASE_URL is set), as tracking/tests/test_crash.py does.
"""

import contextlib
import hashlib
import hmac
import json
import os
import signal
import subprocess
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core import mail
from django.utils import timezone

from corrections import delivery, outbox
from corrections.models import Change, Message, Notice
from partners.models import Partner
from stories.factories import StoryPageFactory
from tracking.tests.test_crash import PYTHON, ROOT, Database, free_port, manage

SECRET = "whsec-" + "0123456789abcdef" * 3
BODY = json.dumps({"event": "correction", "story": {"title": "Council passes the harbor budget"},
                   "text": "An earlier version misspelled the mayor’s name."}, ensure_ascii=False)


class Receiver:
    """A partner's webhook endpoint on loopback. `answers` are the statuses of the first posts (then 200);
    every post is recorded as received; `processed` counts each Idempotency-Key once, as a receiver that
    honours the key does. With `hold` set, the first post is processed, then left unanswered until `release`."""

    def __init__(self, answers=(), hold=False, answer_body=b"ok"):
        self.answers, self.hold, self.answer_body = list(answers), hold, answer_body
        self.posts, self.processed = [], {}
        self.lock = threading.Lock()
        self.held = threading.Event()
        self.release = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                key = self.headers.get("Idempotency-Key")
                with receiver.lock:
                    receiver.posts.append({"headers": dict(self.headers.items()), "body": body,
                                           "path": self.path})
                    status = receiver.answers.pop(0) if receiver.answers else 200
                    if 200 <= status < 300:
                        receiver.processed[key] = receiver.processed.get(key, 0) + (key not in receiver.processed)
                    hold = receiver.hold and len(receiver.posts) == 1
                if hold:
                    receiver.held.set()
                    receiver.release.wait(60)
                with contextlib.suppress(OSError):
                    answer = receiver.answer_body
                    self.send_response(status)
                    if 300 <= status < 400:
                        self.send_header("Location", f"http://127.0.0.1:{receiver.port}/elsewhere")
                    self.send_header("Content-Length", str(len(answer)))
                    self.end_headers()
                    self.wfile.write(answer)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/hooks/byline"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


def valid_signature(post, secret=SECRET):
    expected = "sha256=" + hmac.new(secret.encode(), post["body"], hashlib.sha256).hexdigest()
    return hmac.compare_digest(post["headers"].get("Byline-Signature", ""), expected)


@pytest.fixture
def notice_settings(settings):
    settings.FETCH_ALLOW_HOSTS = ["127.0.0.1"]
    settings.NOTICE_HOST_INTERVAL = 0
    settings.NOTICE_WEBHOOK_TIMEOUT = 5
    return settings


@pytest.fixture
def story(news):
    return StoryPageFactory(parent=news, title="Council passes the harbor budget")


def make_notice(story, url="", copy_id=1, secret=SECRET):
    partner = Partner.objects.create(name=f"Partner Gazette {copy_id}", webhook_url=url, webhook_secret=secret)
    change = Change.objects.get_or_create(story=story, version=2, defaults={
        "kind": Change.CORRECTION, "text": "An earlier version misspelled the mayor’s name."})[0]
    return Notice.objects.create(change=change, copy_id=copy_id, copy_url=f"https://gazette.example/{copy_id}",
                                 partner=partner)


def webhook(notice, url, body=BODY):
    return outbox.enqueue(notice, Message.WEBHOOK, url, "", body)


def refresh(message):
    message.refresh_from_db()
    return message


# Webhooks ---------------------------------------------------------------------------------------------------

@pytest.mark.django_db
def test_a_failing_webhook_is_retried_with_the_same_key_and_body_until_delivered_once(notice_settings, story):
    with Receiver(answers=[500, 500]) as receiver:
        message = webhook(make_notice(story, receiver.url), receiver.url)
        assert outbox.enqueue(message.notice, Message.WEBHOOK, receiver.url, "", BODY).pk == message.pk

        t0 = timezone.now()
        first = delivery.send_due(now=t0)
        assert (first.retrying, first.sent) == ([message.pk], [])
        refresh(message)
        assert (message.status, message.attempts) == (Message.PENDING, 1)
        assert message.next_attempt_at == t0 + timedelta(minutes=1)
        assert message.last_error == "webhook: HTTP 500: ok"
        assert message.lease_until is None

        # Not due yet: nothing is claimed, nothing posted.
        assert delivery.send_due(now=t0 + timedelta(seconds=59)).claimed == 0
        assert len(receiver.posts) == 1

        second = delivery.send_due(now=t0 + timedelta(minutes=1))
        assert second.retrying == [message.pk]
        assert refresh(message).next_attempt_at == t0 + timedelta(minutes=1 + 5)

        third = delivery.send_due(now=t0 + timedelta(minutes=6))
        assert third.sent == [message.pk]
        refresh(message)
        assert (message.status, message.attempts, message.last_error) == (Message.SENT, 2, "")
        assert message.sent_at == t0 + timedelta(minutes=6)

        # Delivered: never again, however late the next pass.
        assert delivery.send_due(now=t0 + timedelta(days=3)).claimed == 0

    assert len(receiver.posts) == 3
    assert {post["headers"]["Idempotency-Key"] for post in receiver.posts} == {message.idempotency_key}
    assert {post["body"] for post in receiver.posts} == {BODY.encode("utf-8")}
    assert all(valid_signature(post) for post in receiver.posts)
    assert all(post["headers"]["Content-Type"] == "application/json" for post in receiver.posts)
    assert all(post["headers"]["User-Agent"].startswith("Byline-Notices/") for post in receiver.posts)
    assert {post["path"] for post in receiver.posts} == {"/hooks/byline"}
    assert receiver.processed == {message.idempotency_key: 1}


@pytest.mark.django_db
def test_the_signature_covers_the_exact_bytes_stored(notice_settings, story):
    """Whitespace, key order and non-ASCII text as stored: the receiver verifies the bytes it got."""
    body = '{"b": 1,  "a": "café ✓"}\n'
    with Receiver() as receiver:
        message = webhook(make_notice(story, receiver.url), receiver.url, body=body)
        assert delivery.send_due().sent == [message.pk]
    (post,) = receiver.posts
    assert post["body"] == body.encode("utf-8")
    assert valid_signature(post)
    assert not valid_signature(post, secret=SECRET + "x")
    assert delivery.sign(SECRET, body) == post["headers"]["Byline-Signature"]


@pytest.mark.django_db
def test_a_message_still_failing_a_day_after_it_was_made_fails_for_good_and_keeps_no_secret(notice_settings, story):
    # A receiver that echoes what it should not: our secret, and the signature, in its error page.
    echo = f"bad signature; secret is {SECRET}".encode()
    with Receiver(answers=[500] * 10, answer_body=echo) as receiver:
        message = webhook(make_notice(story, receiver.url), receiver.url)
        created = message.created_at
        Message.objects.filter(pk=message.pk).update(attempts=6)  # failing all day long

        # Late in its day, the next try is at the deadline, not after it.
        late = delivery.send_due(now=created + timedelta(hours=23, minutes=30))
        assert late.retrying == [message.pk]
        refresh(message)
        assert message.next_attempt_at == created + timedelta(days=1)
        assert SECRET not in message.last_error and "[secret]" in message.last_error

        # The last try, at the deadline: given up.
        last = delivery.send_due(now=created + timedelta(days=1))
        assert last.failed == [message.pk]
        refresh(message)
        assert (message.status, message.attempts, message.sent_at) == (Message.FAILED, 8, None)
        assert message.last_error.startswith("webhook: HTTP 500")
        assert SECRET not in message.last_error

        # Not tried again.
        assert delivery.send_due(now=created + timedelta(days=5)).claimed == 0
        assert len(receiver.posts) == 2
        signatures = {post["headers"]["Byline-Signature"] for post in receiver.posts}
        assert not any(signature in message.last_error for signature in signatures)


@pytest.mark.django_db
def test_unreachable_and_refused_receivers_are_failures_recorded_without_the_secret(notice_settings, story):
    dead = f"http://127.0.0.1:{free_port()}/hook"  # nobody listens there
    unreachable = webhook(make_notice(story, dead, copy_id=1), dead)
    private = "http://10.20.30.40/hook"  # a private address, not allowed: refused before connecting
    refused = webhook(make_notice(story, private, copy_id=2), private)
    done = delivery.send_due()
    assert sorted(done.retrying) == sorted([unreachable.pk, refused.pk])
    assert refresh(unreachable).last_error.startswith("webhook: unreachable: ")
    assert refresh(refused).last_error == ("webhook: refused: the host resolves to an address we do not fetch "
                                           "(private or local: private)")
    for message in (unreachable, refused):
        assert (message.status, message.attempts) == (Message.PENDING, 1)
        assert SECRET not in message.last_error


@pytest.mark.django_db
def test_a_webhook_is_never_posted_unsigned(notice_settings, story):
    with Receiver() as receiver:
        message = webhook(make_notice(story, receiver.url, secret=""), receiver.url)
        assert delivery.send_due().retrying == [message.pk]
    assert receiver.posts == []
    assert refresh(message).last_error == "webhook: the partner has no webhook secret to sign with"


@pytest.mark.django_db
def test_a_redirect_is_an_answer_not_followed(notice_settings, story):
    with Receiver(answers=[307]) as receiver:
        message = webhook(make_notice(story, receiver.url), receiver.url)
        assert delivery.send_due().retrying == [message.pk]
        assert [post["path"] for post in receiver.posts] == ["/hooks/byline"]  # nothing posted to /elsewhere
    assert refresh(message).last_error == "webhook: HTTP 307"


# The fetcher's POST -----------------------------------------------------------------------------------------

def test_post_is_vetted_like_get(notice_settings):
    from byline.fetch import Fetcher, HostLimiter, Refused

    with Receiver() as receiver:
        # Loopback is only for hosts the allow-list names.
        with pytest.raises(Refused):
            Fetcher(allow_hosts=[]).post(receiver.url, b"{}", {"Content-Type": "application/json"})
        for url in ("file:///etc/passwd", "http://user:pw@127.0.0.1/", "http://169.254.169.254/latest/"):
            with pytest.raises(Refused):
                Fetcher(allow_hosts=[]).post(url, b"{}")
        answer = Fetcher(allow_hosts=["127.0.0.1"], limiter=HostLimiter(interval=0)).post(
            receiver.url, "{}", {"Content-Type": "application/json", "Host": "evil.example", "Content-Length": "1"})
        assert answer.status == 200 and answer.body == b"ok"
        assert answer.hops == [{"url": receiver.url, "status": 200, "address": "127.0.0.1"}]
    (post,) = receiver.posts
    assert post["body"] == b"{}"
    assert post["headers"]["Host"] == f"127.0.0.1:{receiver.port}"  # the framing is the fetcher's own
    assert post["headers"]["Content-Length"] == "2"


# Email ------------------------------------------------------------------------------------------------------

@pytest.mark.django_db
def test_email_goes_to_every_recipient_with_its_subject_and_body(settings, story):
    settings.DEFAULT_FROM_EMAIL = "corrections@newsroom.example"
    notice = make_notice(story)
    message = outbox.enqueue(notice, Message.EMAIL, "editor@gazette.example, web@gazette.example ,",
                             "Correction: Council passes the harbor budget", "Dear editors,\n\nA correction.")
    assert delivery.send_due().sent == [message.pk]
    (email,) = mail.outbox
    assert email.to == ["editor@gazette.example", "web@gazette.example"]
    assert email.from_email == "corrections@newsroom.example"
    assert email.subject == "Correction: Council passes the harbor budget"
    assert email.body == "Dear editors,\n\nA correction."
    assert email.message()["Message-ID"].startswith(f"<{message.idempotency_key}@")
    assert (refresh(message).status, message.attempts) == (Message.SENT, 0)
    assert delivery.send_due().claimed == 0
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_email_that_cannot_be_handed_over_is_retried(settings, story):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", free_port(), 2
    message = outbox.enqueue(make_notice(story), Message.EMAIL, "editor@gazette.example", "Correction", "Text")
    assert delivery.send_due().retrying == [message.pk]
    assert refresh(message).last_error.startswith("email: ConnectionRefusedError")
    assert message.attempts == 1


# The job and the command ------------------------------------------------------------------------------------

def test_the_job_runner_sends_notices_every_minute_on_the_slow_queue():
    import jobs

    job = jobs.get("send_notices")
    assert (job.command, job.every, job.queue) == ("send_notices", 60, jobs.SLOW)
    assert job.options["budget"] < job.every


@pytest.mark.django_db
def test_the_command_runs_a_pass_and_says_what_it_did(notice_settings, story):
    import io

    from django.core.management import call_command

    import jobs

    with Receiver(answers=[503]) as receiver:
        notice = make_notice(story, receiver.url)
        failing = webhook(notice, receiver.url)
        emailed = outbox.enqueue(notice, Message.EMAIL, "editor@gazette.example", "Correction", "Text")
        out = io.StringIO()
        call_command("send_notices", "--once", "-v", "2", stdout=out)
        lines = out.getvalue().splitlines()
        assert lines[-1] == "Sent 1, to retry 1, given up 0."
        assert f"message {emailed.pk} (email, attempt 1): sent" in lines
        assert any(line.startswith(f"message {failing.pk} (webhook, attempt 1): retrying, next try ")
                   and line.endswith("UTC: webhook: HTTP 503: ok") for line in lines), lines
        jobs.get("send_notices").run()  # as the runner runs it: quiet, and nothing is due
        assert len(receiver.posts) == 1 and len(mail.outbox) == 1


# Claiming ---------------------------------------------------------------------------------------------------

@pytest.mark.django_db
def test_a_claimed_message_is_not_claimed_again_until_its_lease_runs_out(settings, story):
    settings.NOTICE_LEASE_SECONDS = 120
    notice = make_notice(story)
    messages = [outbox.enqueue(notice, Message.EMAIL, f"desk{n}@gazette.example", "Correction", "Text")
                for n in range(3)]
    now = timezone.now()
    first = outbox.claim(limit=10, now=now)
    assert sorted(m.pk for m in first) == sorted(m.pk for m in messages)
    assert all(m.status == Message.SENDING and m.lease_until == now + timedelta(seconds=120) for m in first)
    assert outbox.claim(limit=10, now=now) == []
    assert outbox.claim(limit=10, now=now + timedelta(seconds=119)) == []
    # The claimer was killed: once the lease has run out the rows are due again, and the old claim is stale.
    again = outbox.claim(limit=10, now=now + timedelta(seconds=121))
    assert sorted(m.pk for m in again) == sorted(m.pk for m in messages)
    assert not outbox.mark_failed(first[0], "too late", now=now + timedelta(seconds=122))
    assert outbox.mark_failed(again[0], "refused", now=now + timedelta(seconds=122))
    assert refresh(again[0]).attempts == 1


@pytest.mark.django_db
def test_a_message_whose_sender_dies_every_time_is_given_up_after_its_day(settings, story):
    settings.NOTICE_LEASE_SECONDS = 120
    message = outbox.enqueue(make_notice(story), Message.EMAIL, "desk@gazette.example", "Correction", "Text")
    start = message.created_at
    assert outbox.claim(now=start)  # ...and the sender is killed, again and again
    assert outbox.claim(now=start + timedelta(hours=12))
    assert outbox.claim(now=start + timedelta(days=1, minutes=5)) == []
    assert refresh(message).status == Message.FAILED and "stopped while sending" in refresh(message).last_error


@pytest.mark.django_db
def test_of_two_claimers_racing_for_the_same_rows_only_one_gets_each(story, monkeypatch):
    """Both see the same due rows; the rival claims them between our look and our UPDATE: ours finds none."""
    notice = make_notice(story)
    messages = [outbox.enqueue(notice, Message.EMAIL, f"desk{n}@gazette.example", "Correction", "Text")
                for n in range(3)]
    real_due = outbox.due
    rival = []

    def due_then_rival_claims(now=None):
        seen = list(real_due(now).values_list("pk", flat=True))
        monkeypatch.setattr(outbox, "due", real_due)
        rival.extend(outbox.claim(limit=10, now=now))
        return Message.objects.filter(pk__in=seen)  # what we saw, no longer true

    monkeypatch.setattr(outbox, "due", due_then_rival_claims)
    assert outbox.claim(limit=10) == []
    assert sorted(m.pk for m in rival) == sorted(m.pk for m in messages)


@pytest.mark.django_db(transaction=True)
def test_claimers_in_threads_never_share_a_row(story):
    """Eight threads, each with its own connection, claim at once until nothing is left: every row exactly
    once. On PostgreSQL their UPDATEs really race. The SQLite test database lives in shared-cache memory, where
    a second writer gets "table is locked" at once instead of waiting as it does on the real WAL file
    (busy_timeout): there one thread claims, and the race is the one staged in the test above."""
    from django.db import connection, connections

    notice = make_notice(story)
    for n in range(40):
        outbox.enqueue(notice, Message.EMAIL, f"desk{n}@gazette.example", "Correction", "Text")
    claimers = 8 if connection.vendor == "postgresql" else 1
    start = threading.Barrier(claimers)
    got, errors = [], []

    def claimer():
        try:
            start.wait(10)
            while True:
                claimed = outbox.claim(limit=3)
                if not claimed:
                    break
                got.extend(m.pk for m in claimed)
        except Exception as error:  # reported below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=claimer) for _ in range(claimers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    assert len(got) == 40 and len(set(got)) == 40
    assert Message.objects.filter(status=Message.SENDING).count() == 40


# A sender killed mid-send -----------------------------------------------------------------------------------

LEASE = 8  # seconds: the restarted sender waits this long for the killed one's claim to run out


class NoticesDatabase(Database):
    prefix = "byline_notices"


def test_a_sender_killed_mid_post_is_replaced_after_its_lease_and_the_receiver_processes_once(tmp_path):
    var_dir = tmp_path / "var"
    var_dir.mkdir()
    (tmp_path / "notice_test_settings.py").write_text(
        "from byline.settings.base import *  # noqa: F403\n"
        "SECRET_KEY = 'notice-crash-tests-not-a-secret-0123456789-abcdefghijklmnopqrstuvwxyz'\n"
        "FETCH_ALLOW_HOSTS = ['127.0.0.1']\n"
        f"NOTICE_LEASE_SECONDS = {LEASE}\n"
        "NOTICE_HOST_INTERVAL = 0\n"
        "NOTICE_WEBHOOK_TIMEOUT = 60\n")  # the held post is cut short by the kill, not by the deadline
    db = NoticesDatabase(var_dir)
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "REDIS_URL", "CACHE_URL", "DJANGO_SETTINGS_MODULE")}
    env.update({"DJANGO_SETTINGS_MODULE": "notice_test_settings", "BYLINE_VAR_DIR": str(var_dir),
                "PYTHONPATH": os.pathsep.join([str(ROOT), str(tmp_path)]), "PYTHONUNBUFFERED": "1",
                "LOG_LEVEL": "ERROR"})
    sender = None
    with Receiver(hold=True) as receiver:
        try:
            url = db.create()
            if url:
                env["DATABASE_URL"] = url
            out = manage(env, "shell", "-c", (
                "from django.core.management import call_command\n"
                "call_command('migrate', interactive=False, verbosity=0)\n"
                "from stories.factories import SectionPageFactory, StoryPageFactory\n"
                "from stories.models import HomePage\n"
                "from corrections import outbox\n"
                "from corrections.models import Change, Message, Notice\n"
                "from partners.models import Partner\n"
                "story = StoryPageFactory(parent=SectionPageFactory(parent=HomePage.objects.first()))\n"
                f"partner = Partner.objects.create(name='Gazette', webhook_url={receiver.url!r}, "
                f"webhook_secret={SECRET!r})\n"
                "change = Change.objects.create(story=story, kind='correction', text='Fixed.', version=2)\n"
                "notice = Notice.objects.create(change=change, copy_id=7, copy_url='https://g.example/7', "
                "partner=partner)\n"
                f"message = outbox.enqueue(notice, Message.WEBHOOK, {receiver.url!r}, '', {BODY!r})\n"
                "print('MESSAGE', message.pk, message.idempotency_key)"))
            _, pk, key = next(line for line in out.splitlines() if line.startswith("MESSAGE ")).split()

            def row():
                return db.rows(f"SELECT status, attempts, sent_at FROM corrections_message WHERE id = {pk}")[0]

            sender = subprocess.Popen([PYTHON, "manage.py", "send_notices", "--once", "-v", "2"], cwd=ROOT, env=env,
                                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                      start_new_session=True)
            assert receiver.held.wait(60), f"the sender never posted:\n{sender.communicate(timeout=30)[0]}"
            # The receiver has the post (and has processed it); the sender waits for the answer: kill it there.
            assert row()[0] == "sending"
            os.killpg(sender.pid, signal.SIGKILL)
            assert sender.wait(10) == -signal.SIGKILL
            killed_at = time.monotonic()
            receiver.release.set()
            assert row()[:2] == ("sending", 0)  # the row is left claimed: nobody else sends it while leased

            # A sender started at once finds the row still leased: nothing sent.
            out = manage(env, "send_notices", "--once")
            if time.monotonic() - killed_at < LEASE - 1:  # (a very slow start may already see the lease out)
                assert out.strip() == "Sent 0, to retry 0, given up 0.", out
                assert len(receiver.posts) == 1

            # Once the lease has run out, the next sender sends it again, with the same key.
            time.sleep(max(0.0, LEASE + 0.5 - (time.monotonic() - killed_at)))
            out = manage(env, "send_notices", "--once", "-v", "2")
            assert "Sent 1, to retry 0, given up 0." in out, out
            status, attempts, sent_at = row()
            assert (status, attempts) == ("sent", 0) and sent_at is not None

            # Delivered: never again.
            assert manage(env, "send_notices").strip() == "Sent 0, to retry 0, given up 0."
        finally:
            if sender is not None and sender.poll() is None:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(sender.pid, signal.SIGKILL)
                sender.wait(10)
            db.drop()

    assert len(receiver.posts) == 2, "posted once before the kill and once after the lease ran out"
    assert {post["headers"]["Idempotency-Key"] for post in receiver.posts} == {key}
    assert {post["body"] for post in receiver.posts} == {BODY.encode("utf-8")}
    assert all(valid_signature(post) for post in receiver.posts)
    assert receiver.processed == {key: 1}, "a receiver honouring the key processed the message exactly once"
