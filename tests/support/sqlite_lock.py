"""SQLite's write lock held by another connection, as another process (the command line, a
second replica) would hold it."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.engine import Engine


@contextmanager
def another_writer(engine: Engine) -> Iterator[sqlite3.Connection]:
    """Hold the write lock of the engine's SQLite file until the block ends, then roll back."""
    other = sqlite3.connect(engine.url.database or "", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        yield other
    finally:
        other.execute("ROLLBACK")
        other.close()
