"""The RSGI pixel's journal: a hit is in a file before it is answered, in the database a moment later, and a
dead process's journal is stored exactly once by the next process to start."""

import asyncio
import errno
import fcntl
import os
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta, timezone

import pytest

from tracking.factories import HIT_AT, hit_row
from tracking.journal import FILE_BYTES, MAKING, SUFFIX, Journal, decode, encode, recover
from tracking.models import Hit, JournalMark
from tracking.recorder import JournalCommitter
from tracking.writers import Busy, insert_hits, utc_text, write_batch, write_hits

from .helpers import run_coroutine

AT = HIT_AT  # when every hit_row() is received


def journal_files(directory):
    return sorted(path.name for path in directory.glob(f"*{SUFFIX}"))


def test_a_line_reads_back_as_the_row_it_was_written_from():
    for row in (hit_row(1), hit_row(2, story_id=None, via="", copy="", visitor="", filtered="malformed"),
                hit_row(3, received_at=AT.replace(microsecond=0)), hit_row(4, copy="https://partner.example/ünï")):
        assert decode(encode(row)[:-1]) == row


def test_a_utc_time_is_written_as_django_stores_it_on_sqlite():
    from django.db import connection

    times = [AT, AT.replace(microsecond=0), AT.replace(microsecond=7), AT.replace(month=11),  # same second, a
             AT.replace(month=11, microsecond=999999), datetime(2027, 1, 1, tzinfo=UTC),  # month apart
             AT.replace(microsecond=0) + timedelta(seconds=1), AT.replace(microsecond=999999)]  # next second, back
    assert [utc_text(value) for value in times] == [str(value)[:-6] for value in times]
    if connection.vendor == "sqlite":
        assert [utc_text(value) for value in times] == [
            connection.ops.adapt_datetimefield_value(value) for value in times]


def test_a_time_in_another_zone_keeps_its_offset_in_the_journal():
    elsewhere = AT.astimezone(timezone(timedelta(hours=2)))
    assert decode(encode(hit_row(1, received_at=elsewhere))[:-1])["received_at"] == AT


def test_tabs_line_ends_and_zero_bytes_in_an_address_cannot_break_a_line():
    line = encode(hit_row(1, copy="https://partner.example/a\tb\nc\rd\0e"))
    assert line.count(b"\n") == 1 and line.count(b"\t") == 5 and b"\0" not in line
    assert decode(line[:-1])["copy"] == "https://partner.example/a%09b%0Ac%0Dd%00e"


def test_a_torn_or_foreign_line_is_not_a_row():
    line = encode(hit_row(1))
    assert decode(line[: len(line) // 2]) is None
    assert decode(b"not a journal line") is None
    assert decode(b"\xff\xfe\t1\t2\t3\t4\t5") is None
    assert decode(b"9999-12-31 23:59:59.500000\t7\thtml\t\t\t") is None  # the last second there is


def test_each_append_reports_how_far_the_journal_reaches(tmp_path):
    journal = Journal(tmp_path)
    name, first = journal.append(hit_row(1))
    same, second = journal.append(hit_row(2))
    assert same == name and second == first + len(encode(hit_row(2)))
    written = encode(hit_row(1)) + encode(hit_row(2))
    assert (tmp_path / name).read_bytes() == written + bytes(FILE_BYTES - len(written))  # the rest reserved
    journal.close()


def test_a_full_journal_moves_to_a_new_file_and_the_old_one_goes_once_the_database_holds_it(tmp_path):
    journal = Journal(tmp_path, file_bytes=1)  # every hit starts a new file
    first, end_of_first = journal.append(hit_row(1))
    second, end_of_second = journal.append(hit_row(2))
    assert first != second and journal_files(tmp_path) == sorted([first, second])
    assert journal.stored({first: end_of_first - 1}) == []  # not all of it yet
    assert journal.stored({first: end_of_first}) == [first]
    assert journal_files(tmp_path) == [second]  # the current file stays
    journal.close(all_stored=True)
    assert journal_files(tmp_path) == []


def test_a_full_disk_refuses_the_hit_that_needs_a_new_file_and_leaves_no_file_behind(tmp_path, monkeypatch):
    journal = Journal(tmp_path, file_bytes=1)
    first, _ = journal.append(hit_row(1))

    def disk_full(fd, offset, length):
        raise OSError(errno.ENOSPC, "No space left on device")

    real_fallocate = os.posix_fallocate
    monkeypatch.setattr(os, "posix_fallocate", disk_full)
    with pytest.raises(OSError):
        journal.append(hit_row(2))
    assert journal_files(tmp_path) == [first]
    monkeypatch.setattr(os, "posix_fallocate", real_fallocate)
    second, _ = journal.append(hit_row(3))  # space again: the next hit gets its file
    assert second != first
    journal.close()


def test_without_posix_fallocate_the_file_is_reserved_by_writing_zeros(tmp_path, monkeypatch):
    monkeypatch.delattr(os, "posix_fallocate")  # macOS
    journal = Journal(tmp_path, file_bytes=3 * 1024 * 1024 + 5)
    name, end = journal.append(hit_row(1))
    assert (tmp_path / name).read_bytes() == encode(hit_row(1)) + bytes(3 * 1024 * 1024 + 5 - end)
    journal.close()


@pytest.mark.django_db
def test_a_dead_process_journal_is_stored_once_from_its_mark_and_deleted(tmp_path):
    journal = Journal(tmp_path)
    for n in range(5):
        name, position = journal.append(hit_row(n))
        if n == 1:
            stored_up_to = position  # hits 0 and 1 reached the database before the process died
    write_hits([hit_row(0), hit_row(1)])
    JournalMark.objects.create(journal=name, position=stored_up_to)
    fd = os.open(tmp_path / name, os.O_WRONLY)
    os.pwrite(fd, encode(hit_row(5))[:20], journal.written)  # a line cut short by the crash: never answered
    os.close(fd)
    journal.close()  # the process is gone: its lock with it

    assert recover(tmp_path, write_hits) == 3
    assert sorted(Hit.objects.values_list("copy", flat=True)) == [f"https://partner.example/p/{n}" for n in range(5)]
    assert journal_files(tmp_path) == []
    assert not JournalMark.objects.exists()
    assert recover(tmp_path, write_hits) == 0 and Hit.objects.count() == 5


@pytest.mark.django_db
def test_a_live_process_journal_is_left_alone(tmp_path):
    journal = Journal(tmp_path)
    name, _ = journal.append(hit_row(1))
    JournalMark.objects.create(journal=name, position=0)
    assert recover(tmp_path, write_hits) == 0
    assert journal_files(tmp_path) == [name] and JournalMark.objects.filter(journal=name).exists()
    assert not Hit.objects.exists()
    journal.close()


@pytest.mark.django_db
def test_a_journal_being_recovered_by_another_process_is_left_to_it(tmp_path):
    journal = Journal(tmp_path)
    name, _ = journal.append(hit_row(1))
    journal.close()
    other = os.open(tmp_path / name, os.O_RDONLY)  # another process starting at the same moment took it
    fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
    try:
        assert recover(tmp_path, write_hits) == 0 and journal_files(tmp_path) == [name]
    finally:
        os.close(other)


@pytest.mark.django_db
def test_a_file_being_made_is_left_alone_and_one_a_dead_process_was_making_is_deleted(tmp_path):
    journal = Journal(tmp_path)
    name, _ = journal.append(hit_row(1))
    assert journal_files(tmp_path) == [name] and not list(tmp_path.glob(f"*{MAKING}"))  # named once made
    being_made, abandoned = tmp_path / f"live{SUFFIX}{MAKING}", tmp_path / f"dead{SUFFIX}{MAKING}"
    being_made.touch()
    abandoned.touch()
    maker = os.open(being_made, os.O_RDONLY)
    fcntl.flock(maker, fcntl.LOCK_EX | fcntl.LOCK_NB)
    try:
        assert recover(tmp_path, write_hits) == 0
    finally:
        os.close(maker)
    assert being_made.exists() and not abandoned.exists()
    assert journal_files(tmp_path) == [name]
    journal.close()


@pytest.mark.django_db
def test_recovery_clears_marks_of_this_hosts_journals_that_are_gone_and_keeps_other_hosts(tmp_path):
    journal = Journal(tmp_path)
    name, _ = journal.append(hit_row(1))
    journal.close(all_stored=True)
    JournalMark.objects.create(journal=name, position=100)
    JournalMark.objects.create(journal=f"another-host-1-abcd{SUFFIX}", position=100)
    recover(tmp_path, write_hits)
    assert list(JournalMark.objects.values_list("journal", flat=True)) == [f"another-host-1-abcd{SUFFIX}"]


# ---- the committer


class Writer:
    """write_batch double: records batches; can be told to find the database busy or broken."""

    def __init__(self, fail_with=()):
        self.batches, self.fail_with = [], list(fail_with)

    def __call__(self, rows, marks, forget):
        if self.fail_with:
            raise self.fail_with.pop(0)
        self.batches.append(([row["copy"] for row in rows], dict(marks), list(forget)))


run = run_coroutine  # asyncio.run in a thread: the browser tests leave a loop running in this one


def test_hits_arriving_within_the_linger_are_committed_together_with_their_marks(tmp_path):
    journal, writer = Journal(tmp_path), Writer()
    committer = JournalCommitter(journal, writer, linger=0.05)

    async def scenario():
        committer.add(hit_row(0), journal.append(hit_row(0)))
        await asyncio.sleep(0)
        for n in (1, 2):
            committer.add(hit_row(n), journal.append(hit_row(n)))
        assert writer.batches == []  # answered already; stored a moment later
        await asyncio.sleep(0.2)
        return journal.name, journal.written

    name, written = run(scenario())
    assert writer.batches == [([f"https://partner.example/p/{n}" for n in range(3)], {name: written}, [])]
    journal.close()


def test_a_busy_or_failing_database_keeps_the_batch_and_tries_again(tmp_path, caplog):
    journal = Journal(tmp_path)
    writer = Writer(fail_with=[Busy(), RuntimeError("disk I/O error")])
    committer = JournalCommitter(journal, writer)

    async def scenario():
        committer.add(hit_row(1), journal.append(hit_row(1)))
        committer.add(hit_row(2), journal.append(hit_row(2)))
        for _ in range(100):
            if writer.batches:
                return
            await asyncio.sleep(0.01)

    run(scenario())
    assert not writer.fail_with  # refused twice, then stored, together and in order
    assert [copies for copies, _, _ in writer.batches] == [["https://partner.example/p/1",
                                                            "https://partner.example/p/2"]]
    assert "disk I/O error" in caplog.text and "Busy" not in caplog.text
    journal.close()


def test_a_committer_too_far_behind_says_it_is_full(tmp_path):
    journal = Journal(tmp_path)
    committer = JournalCommitter(journal, Writer(fail_with=[RuntimeError("down")] * 100), max_pending=2)

    async def scenario():
        committer.add(hit_row(1), journal.append(hit_row(1)))
        assert not committer.full()
        committer.add(hit_row(2), journal.append(hit_row(2)))
        return committer.full()

    assert run(scenario()) is True
    journal.close()


def test_retired_journals_are_deleted_and_their_marks_dropped_in_the_next_transaction(tmp_path):
    journal, writer = Journal(tmp_path, file_bytes=1), Writer()
    committer = JournalCommitter(journal, writer, linger=0)

    async def scenario():
        committer.add(hit_row(1), journal.append(hit_row(1)))
        first = journal.name
        committer.add(hit_row(2), journal.append(hit_row(2)))  # a new file
        await asyncio.sleep(0)
        committer.add(hit_row(3), journal.append(hit_row(3)))
        await asyncio.sleep(0)
        return first

    first = run(scenario())
    assert first not in journal_files(tmp_path)
    assert writer.batches[1][2] == [first]
    journal.close()


@pytest.mark.django_db(transaction=True)
def test_the_thread_writer_stores_hits_and_marks_in_one_transaction(tmp_path):
    """write_batch, as the committer runs it in its thread for PostgreSQL (here on the suite's database)."""
    journal = Journal(tmp_path)
    executor = ThreadPoolExecutor(1)
    committer = JournalCommitter(journal, write_batch, executor=executor)

    async def scenario():
        for n in range(3):
            committer.add(hit_row(n), journal.append(hit_row(n)))
        for _ in range(500):
            await asyncio.sleep(0.01)
            if not committer.queued():
                return

    try:
        run(scenario())
    finally:
        executor.submit(_close_connection).result()
        executor.shutdown()
    assert sorted(Hit.objects.values_list("visitor", flat=True)) == [f"{n:016x}" for n in range(3)]
    assert list(JournalMark.objects.values_list("journal", "position")) == [(journal.name, journal.written)]
    journal.close()


def _close_connection():
    from django.db import connection

    connection.close()


def test_at_shutdown_a_failed_commit_in_the_thread_is_written_again_before_the_rest(tmp_path):
    journal = Journal(tmp_path)
    executor = ThreadPoolExecutor(1)
    writer = Writer(fail_with=[RuntimeError("connection lost")])
    committer = JournalCommitter(journal, writer, executor=executor, linger=0)

    async def scenario():
        committer.add(hit_row(1), journal.append(hit_row(1)))
        await asyncio.sleep(0)  # the first batch goes to the thread, and fails there
        committer.add(hit_row(2), journal.append(hit_row(2)))

    run(scenario())
    try:
        assert committer.flush() is True
    finally:
        executor.shutdown()
    assert [copies for copies, _, _ in writer.batches] == [["https://partner.example/p/1",
                                                            "https://partner.example/p/2"]]
    journal.close(all_stored=True)


class SlowWriter(Writer):
    def __call__(self, rows, marks, forget):
        time.sleep(0.5)  # a commit waiting on a slow database
        super().__call__(rows, marks, forget)


def test_at_shutdown_a_commit_outlasting_the_wait_is_neither_repeated_nor_released(tmp_path):
    journal, executor, writer = Journal(tmp_path), ThreadPoolExecutor(1), SlowWriter()
    committer = JournalCommitter(journal, writer, executor=executor, linger=0)

    async def scenario():
        committer.add(hit_row(1), journal.append(hit_row(1)))
        await asyncio.sleep(0)  # the batch goes to the thread
        committer.add(hit_row(2), journal.append(hit_row(2)))

    run(scenario())
    assert committer.flush(timeout=0.1) is False
    assert committer.writing()  # the journal must stay locked: its hits may yet be stored
    executor.shutdown(wait=True)
    assert [copies for copies, _, _ in writer.batches] == [["https://partner.example/p/1"]]  # stored once
    journal.close()


def test_at_shutdown_a_database_locked_by_another_worker_is_waited_for(tmp_path):
    journal = Journal(tmp_path)
    writer = Writer(fail_with=[Busy(), Busy(), Busy()])  # the other worker is flushing too
    committer = JournalCommitter(journal, writer)

    async def scenario():
        committer.add(hit_row(1), journal.append(hit_row(1)))

    run(scenario())
    assert committer.flush() is True
    assert [copies for copies, _, _ in writer.batches] == [["https://partner.example/p/1"]]
    journal.close(all_stored=True)
    assert journal_files(tmp_path) == []


def test_at_shutdown_a_database_locked_for_too_long_leaves_the_hits_in_the_journal(tmp_path):
    journal = Journal(tmp_path)
    committer = JournalCommitter(journal, Writer(fail_with=[Busy()] * 1000))

    async def scenario():
        committer.add(hit_row(1), journal.append(hit_row(1)))

    run(scenario())
    assert committer.flush(timeout=0.05) is False
    journal.close(all_stored=False)
    assert len(journal_files(tmp_path)) == 1  # for the next process to store


@pytest.mark.django_db
def test_hits_are_stored_field_for_field_whatever_their_characters():
    rows = [hit_row(1, copy="https://partner.example/a\tb\\c\nd\u00e9\u4e2d", received_at=AT),
            hit_row(2, story_id=None, via="", copy="", visitor="", filtered="malformed",
               received_at=AT.replace(microsecond=0))]
    write_hits(rows)
    stored = list(Hit.objects.order_by("id").values(*rows[0]))
    assert stored == rows


class RecordingCursor:
    def __init__(self):
        self.statements = []

    def execute(self, sql, params):
        self.statements.append((sql, list(params)))


def test_batches_of_any_size_take_a_few_statements_that_stay_prepared_and_keep_their_order():
    statements = set()
    for count in range(1, 301):
        cursor = RecordingCursor()
        insert_hits(cursor, [hit_row(n) for n in range(count)], lambda row: "t", str, per_statement=100)
        statements |= {sql for sql, _ in cursor.statements}
        copies = [copy for _, params in cursor.statements for copy in params[3::6]]
        assert copies == [f"https://partner.example/p/{n}" for n in range(count)]
    assert sorted(sql.count("(?, ?, ?, ?, ?, ?)") for sql in statements) == [1, 2, 4, 8, 16, 32, 64, 100]


@pytest.mark.django_db
def test_a_batch_stores_its_hits_moves_its_marks_and_drops_the_marks_of_deleted_journals():
    JournalMark.objects.create(journal=f"gone{SUFFIX}", position=500)
    JournalMark.objects.create(journal=f"current{SUFFIX}", position=100)
    write_batch([hit_row(1), hit_row(2)], {f"current{SUFFIX}": 300}, [f"gone{SUFFIX}"])
    assert Hit.objects.count() == 2
    assert list(JournalMark.objects.values_list("journal", "position")) == [(f"current{SUFFIX}", 300)]
