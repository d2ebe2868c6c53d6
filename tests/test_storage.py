"""Storage: migrations on SQLite and PostgreSQL, instants kept in UTC, overrides queries."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session

from storage.db import (
    SQLITE_BUSY_TIMEOUT_MS,
    NeedsSession,
    NoWaitWriter,
    WriterBusy,
    after_commit,
    make_engine,
    session_scope,
)
from storage.migrate import downgrade, upgrade
from storage.models import Alert, Claim, Outbox
from storage.outbox import SLACK_POST, enqueue
from storage.overrides import (
    cancel_override,
    create_override,
    list_overrides,
    live_overrides,
)
from storage.prepared import Tx
from tests.support.overrides import store_override
from tests.support.rows import alert_row
from tests.support.sqlite_lock import another_writer

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
PARIS = ZoneInfo("Europe/Paris")
NEW_YORK = ZoneInfo("America/New_York")
KIRITIMATI = ZoneInfo("Pacific/Kiritimati")  # UTC+14
TABLES = {
    "override",
    "swap_request",
    "cover_request",
    "alert",
    "alert_event",
    "slack_message",
    "outbox",
    "claim",
    "slack_event_seen",
}


def test_migrations_create_every_table_and_run_twice(database_url: str) -> None:
    engine = make_engine(database_url)
    upgrade(engine)
    upgrade(engine)  # a second run is a no-op, as at every start of `watchkeeper serve`
    assert set(sa.inspect(engine).get_table_names()) >= TABLES
    downgrade(engine, "base")
    assert not TABLES & set(sa.inspect(engine).get_table_names())
    engine.dispose()


def test_sqlite_runs_in_wal_mode(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
    engine.dispose()


@pytest.fixture
def now_writer(sqlite_url: str) -> Iterator[NoWaitWriter]:
    """A writer that never waits for SQLite's write lock, on a migrated SQLite database."""
    engine = make_engine(sqlite_url)
    upgrade(engine)
    writer = NoWaitWriter(engine)
    yield writer
    writer.close()
    engine.dispose()


def test_a_writer_that_must_not_wait_gives_up_at_once_and_writes_nothing(
    now_writer: NoWaitWriter,
) -> None:
    engine = now_writer.engine
    alert = {"team": "support", "integration": "helpdesk", "dedup_key": "k", "title": "t"}

    def add_alert(session: Session) -> None:
        session.add(Alert(**alert, first_seen=NOW, last_seen=NOW))

    def count() -> int:
        with Session(engine) as session:
            return int(session.exec(sa.select(sa.func.count()).select_from(Alert)).one()[0])

    # Another thread of this process is writing.
    writing, done = threading.Event(), threading.Event()

    def write_slowly() -> None:
        with session_scope(engine) as session:
            session.connection()
            writing.set()
            done.wait(10)

    other_thread = threading.Thread(target=write_slowly)
    other_thread.start()
    try:
        assert writing.wait(10)
        with pytest.raises(WriterBusy), now_writer.session() as session:
            add_alert(session)
    finally:
        done.set()
        other_thread.join()
    # Another process is writing: no wait for SQLite's busy timeout either.
    with another_writer(engine), pytest.raises(WriterBusy), now_writer.session() as session:
        add_alert(session)
    assert count() == 0
    # Once the others are done, the same writer writes.
    with now_writer.session() as session:
        add_alert(session)
    assert count() == 1


def test_the_connection_a_no_wait_writer_gives_back_waits_again(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url, pool_size=1, max_overflow=0)  # one connection, theirs
    upgrade(engine)
    now_writer = NoWaitWriter(engine)
    with now_writer.session() as session:
        assert session.connection().exec_driver_sql("PRAGMA busy_timeout").scalar() == 0
    now_writer.close()
    with Session(engine) as session:
        timeout = session.connection().exec_driver_sql("PRAGMA busy_timeout").scalar()
    assert timeout == SQLITE_BUSY_TIMEOUT_MS
    engine.dispose()


def test_a_transaction_without_a_session_commits_then_runs_what_waited_for_the_commit(
    now_writer: NoWaitWriter,
) -> None:
    engine = now_writer.engine
    committed: list[str] = []
    reader = sqlite3.connect(engine.url.database or "")
    with now_writer.transaction() as tx:
        row_id = enqueue(session=tx, kind=SLACK_POST, now=NOW, payload={"channel": "C0SUPPORT"})
        after_commit(tx, lambda: committed.append("counted"))
        # Nobody sees it, and nothing is counted, before the commit.
        assert reader.execute("SELECT count(*) FROM outbox").fetchone() == (0,)
        assert committed == []
    assert committed == ["counted"]
    assert reader.execute("SELECT id, status FROM outbox").fetchall() == [(row_id, "pending")]
    reader.close()
    with Session(engine) as session:
        row = session.get(Outbox, row_id)
        assert row is not None
        assert (row.payload, row.next_attempt_at) == ({"channel": "C0SUPPORT"}, NOW)


def test_a_transaction_without_a_session_that_fails_writes_nothing_and_runs_nothing(
    now_writer: NoWaitWriter,
) -> None:
    engine = now_writer.engine
    committed: list[str] = []

    def write(tx: Tx) -> None:
        enqueue(session=tx, kind=SLACK_POST, now=NOW, payload={"channel": "C0SUPPORT"})
        after_commit(tx, lambda: committed.append("counted"))

    def count() -> int:
        with Session(engine) as session:
            return len(session.exec(sa.select(Outbox.id)).all())

    # The work finds it needs the ORM half-way.
    with pytest.raises(NeedsSession), now_writer.transaction() as tx:
        write(tx)
        raise NeedsSession("a repeat")
    assert (count(), committed) == (0, [])

    # The commit itself fails.
    def refuse_commit(_conn: Any) -> None:
        raise OperationalError("COMMIT", {}, Exception("disk I/O error"))

    sa.event.listen(engine, "commit", refuse_commit)
    try:
        with pytest.raises(OperationalError), now_writer.transaction() as tx:
            write(tx)
    finally:
        sa.event.remove(engine, "commit", refuse_commit)
    assert (count(), committed) == (0, [])

    # Another process holds the write lock: it gives up before writing anything.
    with another_writer(engine), pytest.raises(WriterBusy), now_writer.transaction() as tx:
        write(tx)
    assert (count(), committed) == (0, [])

    # And then it writes.
    with now_writer.transaction() as tx:
        write(tx)
    assert (count(), committed) == (1, ["counted"])


def test_instants_come_back_aware_in_utc(engine: sa.Engine) -> None:
    paris = datetime(2026, 11, 27, 18, 0, tzinfo=ZoneInfo("Europe/Paris"))
    row_id = store_override(engine, "U0BOB", paris, paris + timedelta(days=3), kind="swap", now=NOW)
    with Session(engine) as session:
        (loaded,) = list_overrides(session=session, team="support")
        assert loaded.id == row_id
        assert loaded.start == paris
        assert loaded.start.utcoffset() == timedelta(0)
        assert loaded.start.hour == 17


@pytest.mark.parametrize(
    ("instant", "text"),
    [
        (datetime(2026, 11, 27, 18, 0, tzinfo=PARIS), "2026-11-27 17:00:00.000000"),
        # The last microsecond before Paris springs forward, and the hour that repeats in autumn.
        (datetime(2026, 3, 29, 1, 59, 59, 999_999, tzinfo=UTC), "2026-03-29 01:59:59.999999"),
        (datetime(2026, 10, 25, 2, 30, fold=0, tzinfo=PARIS), "2026-10-25 00:30:00.000000"),
        (datetime(2026, 10, 25, 2, 30, fold=1, tzinfo=PARIS), "2026-10-25 01:30:00.000000"),
        (datetime(2027, 1, 1, 0, 0, 0, 1, tzinfo=NEW_YORK), "2027-01-01 05:00:00.000001"),
        (datetime(2026, 12, 31, 23, 59, tzinfo=KIRITIMATI), "2026-12-31 09:59:00.000000"),
        # The bounds of open-ended look-ups.
        (datetime.min.replace(tzinfo=UTC), "0001-01-01 00:00:00.000000"),
        (datetime.max.replace(tzinfo=UTC), "9999-12-31 23:59:59.999999"),
    ],
    ids=lambda value: str(value) if isinstance(value, datetime) else "",
)
def test_sqlite_keeps_instants_as_utc_text_that_sorts_as_time(
    sqlite_url: str, instant: datetime, text: str
) -> None:
    # SQLite has no instant type: SQL compares these as text, so every row, whoever wrote it,
    # must hold the same fixed-width UTC form for "due before now" to mean what it says.
    engine = make_engine(sqlite_url)
    upgrade(engine)
    with session_scope(engine) as session:
        row_id = enqueue(session=session, kind=SLACK_POST, now=instant)
        session.add(Claim(team="support", kind="handover", instant=instant, claimed_at=instant))
    with engine.connect() as conn:
        stored = conn.exec_driver_sql(
            "SELECT created_at, next_attempt_at FROM outbox WHERE id = ?", (row_id,)
        ).one()
        assert tuple(stored) == (text, text)
        assert conn.exec_driver_sql("SELECT instant FROM claim").scalar() == text
        due = sa.select(sa.func.count()).select_from(Outbox.__table__)
        assert conn.execute(due.where(Outbox.next_attempt_at <= instant)).scalar() == 1
        if instant > datetime.min.replace(tzinfo=UTC):
            moment_before = instant - timedelta(microseconds=1)
            assert conn.execute(due.where(Outbox.next_attempt_at <= moment_before)).scalar() == 0
    with Session(engine) as session:
        row = session.get(Outbox, row_id)
        # (An instant of an hour that repeats never equals one of another zone: PEP 495.)
        assert row is not None and row.created_at == instant.astimezone(UTC)
        assert row.created_at.utcoffset() == timedelta(0)
    engine.dispose()


def test_naive_instants_are_refused(engine: sa.Engine) -> None:
    with pytest.raises(sa.exc.StatementError, match="aware datetime"):
        store_override(
            engine,
            "U0BOB",
            datetime(2026, 11, 27, 18, 0),
            datetime(2026, 11, 30, 9, 0),
            kind="manual",
            now=NOW,
        )


def test_overrides_overlap_query_order_and_cancel(engine: sa.Engine) -> None:
    day = timedelta(days=1)
    rows = [
        ("support", "U0A", NOW, NOW + day, "manual"),
        ("support", "U0B", NOW + day, NOW + 2 * day, "cover"),
        ("other", "U0C", NOW, NOW + day, "swap"),
    ]
    with session_scope(engine) as session:
        first, *_ = [
            create_override(
                session=session, team=team, user_id=user, start=start, end=end, kind=kind, now=NOW
            )
            for team, user, start, end, kind in rows
        ]
    with session_scope(engine) as session:
        in_range = list_overrides(
            session=session, team="support", start=NOW + day / 2, end=NOW + day * 3 / 2
        )
        assert [o.user_id for o in in_range] == ["U0A", "U0B"]
        # Touching the end is not overlapping: [start, end) ranges.
        assert [
            o.user_id for o in list_overrides(session=session, team="support", start=NOW + day)
        ] == ["U0B"]
        live = live_overrides(session=session, team="support")
        assert [(o.user_id, o.kind) for o in live] == [("U0A", "manual"), ("U0B", "cover")]
        assert cancel_override(session=session, override_id=first.id or 0, now=NOW) is not None
    with Session(engine) as session:
        assert [o.user_id for o in list_overrides(session=session, team="support")] == ["U0B"]


def test_override_must_end_after_it_starts(engine: sa.Engine) -> None:
    with pytest.raises(ValueError, match="end after it starts"):
        store_override(engine, "U0A", NOW, NOW, kind="manual", now=NOW)


def test_one_open_alert_per_dedup_key_but_a_resolved_one_frees_it(engine: sa.Engine) -> None:
    def alert() -> Alert:
        return alert_row("fp1", NOW, title="Down")

    with session_scope(engine) as session:
        session.add(alert())
    with pytest.raises(IntegrityError), session_scope(engine) as session:
        session.add(alert())
    with session_scope(engine) as session:
        open_alert = session.exec(sa.select(Alert)).scalars().one()  # type: ignore[call-overload]
        open_alert.resolved_at = NOW
        session.add(open_alert)
    with session_scope(engine) as session:
        session.add(alert())
    with Session(engine) as session:
        assert len(session.exec(sa.select(Alert)).all()) == 2  # type: ignore[call-overload]


def test_a_claim_is_taken_once(engine: sa.Engine) -> None:
    with session_scope(engine) as session:
        session.add(Claim(team="support", kind="handover", instant=NOW, claimed_at=NOW))
    with pytest.raises(IntegrityError), session_scope(engine) as session:
        session.add(Claim(team="support", kind="handover", instant=NOW, claimed_at=NOW))
