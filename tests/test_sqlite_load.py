"""SQLite under load: WAL, a busy timeout and write transactions that take the lock up front, so
that concurrent writers (the intake, the workers, a second process such as the command line)
queue for the lock instead of failing with "database is locked"."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import select

from storage import outbox
from storage.db import SQLITE_BUSY_TIMEOUT_MS, make_engine, session_scope
from storage.migrate import upgrade
from storage.models import Outbox

NOW = datetime(2026, 11, 27, 20, 0, tzinfo=UTC)


def test_sqlite_connections_are_in_wal_mode_and_wait_for_the_lock(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'wk.db'}")
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar_one() == "wal"
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar_one() == (
                SQLITE_BUSY_TIMEOUT_MS
            )
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1
    finally:
        engine.dispose()


def test_concurrent_read_then_write_transactions_from_two_processes_all_commit(
    tmp_path: Path,
) -> None:
    # Two engines stand for two processes on one file; each runs threads that read, then write
    # in the same transaction (as a claim does). With transactions begun DEFERRED, two readers
    # upgrading to writers at once fail at once, whatever the busy timeout.
    url = f"sqlite:///{tmp_path / 'wk.db'}"
    first, second = make_engine(url), make_engine(url)
    upgrade(first)
    failures: list[BaseException] = []
    rounds = 40

    def work(engine: Engine, worker: int) -> None:
        try:
            for n in range(rounds):
                with session_scope(engine) as session:
                    outbox.enqueue(
                        session=session,
                        kind=outbox.SLACK_POST,
                        now=NOW,
                        subject=f"w{worker}",
                        payload={"channel": "C0SUPPORT", "text": f"{worker}-{n}"},
                    )
                with session_scope(engine) as session:
                    for row in outbox.claim(session=session, now=NOW, limit=5):
                        outbox.complete(session=session, outbox_ids=[row.id or 0], now=NOW)
        except BaseException as error:  # reported by the test thread below
            failures.append(error)

    threads = [
        threading.Thread(target=work, args=(engine, k))
        for k, engine in enumerate([first, second] * 4)
    ]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        assert failures == []
        with session_scope(first) as session:
            statuses = list(session.exec(select(Outbox.status)))
            assert len(statuses) == len(threads) * rounds
            for row in outbox.claim(session=session, now=NOW, limit=len(statuses)):
                outbox.complete(session=session, outbox_ids=[row.id or 0], now=NOW)
        with first.connect() as conn:
            pending = conn.execute(text("SELECT count(*) FROM outbox WHERE status != 'done'"))
            assert pending.scalar_one() == 0
    finally:
        first.dispose()
        second.dispose()
