"""Open an existing database to read it, never creating, migrating nor writing it: for the
commands that only look (`watchkeeper who`, `shifts`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import Engine, make_url

from storage.db import make_read_only_engine
from storage.migrate import revisions, stored_revision


class SchemaMismatch(Exception):
    """The database's schema is not the one this version reads; the message says what to do."""


@dataclass(frozen=True)
class Stored:
    """What a reader may read: an engine on the database, or None and why there is nothing."""

    engine: Engine | None
    nothing_because: str | None = None


def open_read_only(url: str) -> Stored:
    """The database at ``url`` opened to read, or nothing when it holds nothing yet (no file,
    no schema); a schema other than this version's is refused with ``SchemaMismatch``."""
    parsed = make_url(url)
    shown = parsed.render_as_string(hide_password=True)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database in (None, "", ":memory:"):
            return Stored(None, f"{shown} is an in-memory database: nothing is stored there")
        path = Path(parsed.database or "")
        if not path.is_file():
            return Stored(None, f"no database at {path} yet")
    engine = make_read_only_engine(url)
    try:
        with engine.connect() as connection:
            found = stored_revision(connection)
    except BaseException:
        engine.dispose()
        raise
    known = revisions()
    wanted = known[-1]
    if found == wanted:
        return Stored(engine)
    engine.dispose()
    if found is None:
        return Stored(None, f"{shown} holds no Watchkeeper data yet")
    if found in known:
        raise SchemaMismatch(
            f"the database {shown} has the schema of an older version (revision {found}; this "
            f"version reads {wanted}): `watchkeeper serve` upgrades it when it starts; nothing "
            "was changed"
        )
    raise SchemaMismatch(
        f"the database {shown} has the schema of a newer version (revision {found}; this "
        f"version reads {wanted}): upgrade Watchkeeper to read it"
    )
