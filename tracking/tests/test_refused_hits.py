"""A hit the database refuses for its values is stored as filtered ("unstorable") instead, and never holds up
the hits around it: every writer (the RSGI committer's on SQLite and PostgreSQL, WSGI's group commit,
recovery at start-up) narrows a refused batch down to the row."""

import sqlite3
from contextlib import nullcontext
from datetime import datetime

import psycopg
import pytest
from django.db import OperationalError
from django.db.utils import ConnectionHandler

from tracking.factories import HIT_AT, hit_row
from tracking.filters import UNSTORABLE
from tracking.journal import SUFFIX, Journal, recover
from tracking.models import Cursor, Hit, JournalMark
from tracking.recorder import GroupCommitRecorder
from tracking.writers import SQLiteWriter, write_batch, write_hits, write_isolating

AT = HIT_AT  # when every hit_row() is received
TOO_BIG = 2**70  # beyond a 64-bit integer: SQLite's module and PostgreSQL both refuse it


def stored():
    return list(Hit.objects.order_by("id").values("story_id", "via", "copy", "visitor", "filtered", "received_at"))


def as_stored(row):
    return {key: row[key] for key in ("story_id", "via", "copy", "visitor", "filtered", "received_at")}


REFUSED = {"story_id": None, "via": "", "copy": "", "visitor": "", "filtered": UNSTORABLE, "received_at": AT}


class Refusing:
    """A writer that refuses any batch holding a row whose copy is "bad", recording each batch it is given."""

    def __init__(self, error=None):
        self.error, self.batches, self.written = error or ValueError("bad value"), [], []

    def __call__(self, rows):
        self.batches.append(len(rows))
        if any(row["copy"] == "bad" for row in rows):
            raise self.error
        self.written += rows


def test_a_refused_row_is_narrowed_down_and_replaced_the_others_written_in_order():
    rows = [hit_row(n) for n in range(8)]
    rows[5] = hit_row(5, copy="bad")
    write = Refusing()
    write_isolating(write, rows, nullcontext)
    assert [row["copy"] for row in write.written] == [
        *(f"https://partner.example/p/{n}" for n in range(5)), "", *(f"https://partner.example/p/{n}" for n in (6, 7))]
    assert write.written[5]["filtered"] == UNSTORABLE and write.written[5]["received_at"] == AT
    assert write.batches == [8, 4, 4, 2, 1, 1, 1, 2]  # halved toward the refused row only, then its stand-in


def test_a_database_that_is_down_or_locked_is_not_blamed_on_the_rows():
    write = Refusing(error=OperationalError("database is locked"))
    with pytest.raises(OperationalError):
        write_isolating(write, [hit_row(1, copy="bad"), hit_row(2)], nullcontext)
    assert write.batches == [2]  # raised for the caller to try again later, nothing replaced


def duplicate_key_error():
    database = sqlite3.connect(":memory:")
    database.execute("CREATE TABLE hit (id INTEGER PRIMARY KEY)")
    database.execute("INSERT INTO hit VALUES (1)")
    try:
        database.execute("INSERT INTO hit VALUES (1)")
    except sqlite3.IntegrityError as error:
        return error
    finally:
        database.close()


@pytest.mark.parametrize("error", [duplicate_key_error(), psycopg.errors.UniqueViolation("duplicate key")])
def test_a_duplicate_id_is_the_tables_fault_not_the_rows(error):
    write = Refusing(error=error)
    with pytest.raises(type(error)):
        write_isolating(write, [hit_row(1, copy="bad"), hit_row(2)], nullcontext)
    assert write.batches == [2]  # no hit turned into a stand-in: the batch waits for the table to be mended


def test_a_refused_hit_keeps_its_journal_mark_and_a_time_it_can_be_stored_with():
    row = {**hit_row(1, copy="bad", received_at="not a time"), "journal": ("a.hits", 120)}
    write = Refusing()
    write_isolating(write, [row], nullcontext)
    [replacement] = write.written
    assert replacement["journal"] == ("a.hits", 120)
    assert isinstance(replacement["received_at"], datetime) and replacement["received_at"].tzinfo


@pytest.mark.django_db
def test_the_thread_writer_stores_the_rest_of_a_batch_and_moves_its_marks():
    """write_batch: the RSGI committer's writer for PostgreSQL, here on the suite's database."""
    rows = [hit_row(n) for n in range(10)]
    rows[6] = hit_row(6, story_id=TOO_BIG)
    write_batch(rows, {f"current{SUFFIX}": 900}, [])
    assert stored() == [*map(as_stored, rows[:6]), REFUSED, *map(as_stored, rows[7:])]
    assert list(JournalMark.objects.values_list("journal", "position")) == [(f"current{SUFFIX}", 900)]


@pytest.mark.django_db
def test_recovery_stores_a_dead_process_journal_holding_a_refused_hit(tmp_path):
    journal = Journal(tmp_path)
    for n in range(3):
        journal.append(hit_row(n, story_id=TOO_BIG if n == 1 else 7))
    journal.close()
    assert recover(tmp_path, write_hits) == 3
    assert [row["filtered"] for row in stored()] == ["", UNSTORABLE, ""]
    assert not list(tmp_path.glob(f"*{SUFFIX}"))


@pytest.mark.django_db(transaction=True)
def test_wsgi_group_commit_answers_every_hit_of_a_batch_holding_a_refused_one():
    recorder = GroupCommitRecorder(write_hits)
    try:
        assert recorder.record(hit_row(1, story_id=TOO_BIG)) and recorder.record(hit_row(2))
    finally:
        recorder.stop()
    assert [row["filtered"] for row in stored()] == [UNSTORABLE, ""]


@pytest.fixture
def sqlite_file(tmp_path, django_db_blocker):
    """An SQLite database file holding the hit tables, whatever the suite's own database is: the SQLite
    writer uses a connection of its own, which an in-memory test database cannot give it."""
    handler = ConnectionHandler({"default": {"ENGINE": "django.db.backends.sqlite3",
                                             "NAME": str(tmp_path / "hits.sqlite3")}})
    database = handler["default"]
    # Not atomic: an atomic block names its database by alias, and "default" would be the suite's own.
    with django_db_blocker.unblock(), database.schema_editor(atomic=False) as editor:
        editor.create_model(Hit)
        editor.create_model(JournalMark)
        editor.create_model(Cursor)
    database.close()
    return database.settings_dict


def test_the_sqlite_writer_rolls_back_only_the_refused_part_of_a_batch(sqlite_file):
    # 1,500 rows take two INSERT statements; the second refuses row 1,200, after the first went in.
    rows = [hit_row(n) for n in range(1500)]
    rows[1200] = hit_row(1200, story_id=TOO_BIG)
    writer = SQLiteWriter(checkpoint_every=0, database=sqlite_file)
    try:
        writer(rows, {f"current{SUFFIX}": 4096}, [])
    finally:
        writer.close()
    with sqlite3.connect(sqlite_file["NAME"]) as database:
        copies = [copy for copy, in database.execute(f"SELECT copy FROM {Hit._meta.db_table} ORDER BY id")]
        refused = database.execute(f"SELECT filtered, story_id FROM {Hit._meta.db_table} WHERE copy = ''").fetchall()
        marks = database.execute(f"SELECT journal, position FROM {JournalMark._meta.db_table}").fetchall()
    assert copies == [row["copy"] if n != 1200 else "" for n, row in enumerate(rows)]
    assert refused == [(UNSTORABLE, None)]
    assert marks == [(f"current{SUFFIX}", 4096)]


def test_the_sqlite_writer_reports_the_real_error_when_sqlite_ended_the_transaction_itself(sqlite_file):
    writer = SQLiteWriter(checkpoint_every=0, database=sqlite_file)
    writer._connection = writer.connect()
    try:
        writer._connection.execute("BEGIN IMMEDIATE")
        with pytest.raises(RuntimeError, match="disk I/O error"), writer._savepoint():
            writer._connection.execute("ROLLBACK")  # as SQLite does on a full disk or an I/O error
            raise RuntimeError("disk I/O error")
    finally:
        writer.close()
