"""Running the command line in-process, and a swap stored as /swap would."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy.engine import Engine

from bot.app.cli import main
from storage.db import session_scope
from storage.migrate import upgrade
from storage.overrides import create_override


def store_dans_swap(engine: Engine) -> None:
    """Migrate the database and store a swap: Dan took Saturday night of the CEO's weekend."""
    upgrade(engine)
    with session_scope(engine) as session:
        create_override(
            session=session,
            team="support",
            user_id="U0DAN",
            start=datetime.fromisoformat("2026-11-28T18:00:00+01:00"),
            end=datetime.fromisoformat("2026-11-29T09:00:00+01:00"),
            kind="swap",
            now=datetime.fromisoformat("2026-11-20T10:00:00+01:00"),
        )


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err
