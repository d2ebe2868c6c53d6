"""A database whose commits fail, as a locked or broken one's do: what is not written must not
be answered as written."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError


@contextmanager
def failing_commits(engine: Engine) -> Iterator[None]:
    """Every commit on ``engine`` fails, as on a locked database, until the block ends."""

    def refuse_commit(_conn: Any) -> None:
        raise OperationalError("COMMIT", {}, Exception("database is locked"))

    event.listen(engine, "commit", refuse_commit)
    try:
        yield
    finally:
        event.remove(engine, "commit", refuse_commit)
