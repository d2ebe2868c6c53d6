"""Shared fixtures: the real payloads, databases (SQLite always, PostgreSQL where reachable), and
the process's logging as each test found it."""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine, make_url

from bot.app.logs import QUIETED
from storage.db import make_engine
from storage.migrate import upgrade

ROOT = Path(__file__).resolve().parents[1]
POSTGRES_URL = os.environ.get(
    "WATCHKEEPER_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


FIXTURES = ROOT / "tests" / "fixtures"
# What bot.app.logs.setup_logging turns off for the whole process.
_LOGGING_FLAGS = ("_srcfile", "logThreads", "logProcesses", "logMultiprocessing")


@pytest.fixture(autouse=True)
def logging_as_found() -> Iterator[None]:
    """Undo what setup_logging did to the process's logging in a test: a command run in-process
    (`serve`) installs a handler writing to the stderr pytest gave that test and closes after
    it; left in place, every later log line fails with "I/O operation on closed file"."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    levels = {name: logging.getLogger(name).level for name in QUIETED}
    flags = {name: getattr(logging, name) for name in _LOGGING_FLAGS}
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, quieted in levels.items():
        logging.getLogger(name).setLevel(quieted)
    for name, value in flags.items():
        setattr(logging, name, value)


def fixtures_dir() -> Path:
    """The real payloads (Slack, Alertmanager, Grafana, PagerDuty, ...), byte for byte.

    They live in the repository (tests/fixtures, sources in its SOURCES.md), so a fresh clone
    has every one; a missing file is an error, never a skip.
    """
    return FIXTURES


def fixture_bytes(relative: str) -> bytes:
    return (fixtures_dir() / relative).read_bytes()


def _postgres_reason() -> str | None:
    try:
        engine = make_engine(POSTGRES_URL, pool_size=1, max_overflow=0)
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as error:  # the reason goes into the skip message
        return f"PostgreSQL not reachable at {POSTGRES_URL} ({error.__class__.__name__})"
    return None


_PG_REASON: list[str | None] = []


def postgres_skip_reason() -> str | None:
    if not _PG_REASON:
        _PG_REASON.append(_postgres_reason())
    return _PG_REASON[0]


def create_postgres_database() -> str:
    """A new empty PostgreSQL database; returns its URL (dropped by drop_postgres_database)."""
    reason = postgres_skip_reason()
    if reason:
        pytest.skip(reason)
    name = f"wk_test_{uuid.uuid4().hex[:12]}"
    admin = make_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT", pool_size=1, max_overflow=0)
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)


def drop_postgres_database(url: str) -> None:
    name = make_url(url).database
    admin = make_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT", pool_size=1, max_overflow=0)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'watchkeeper.db'}"


def _migrated(url: str) -> Iterator[Engine]:
    """An engine on the database at ``url``, migrated to the newest schema, disposed afterwards."""
    engine = make_engine(url)
    upgrade(engine)
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    url = create_postgres_database()
    try:
        yield url
    finally:
        drop_postgres_database(url)


@pytest.fixture
def pg_engine(postgres_url: str) -> Iterator[Engine]:
    """A migrated PostgreSQL engine: what replicas share (skipped where PostgreSQL is absent)."""
    yield from _migrated(postgres_url)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated-on-demand database URL: SQLite, then PostgreSQL where reachable."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'watchkeeper.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """A migrated engine on each database kind."""
    yield from _migrated(database_url)
