"""Running the command line in-process on a setup file, and a swap stored as /swap would."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from bot.app.cli import main
from storage.migrate import upgrade
from tests.support.overrides import store_override


def setup_for_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, setup: str) -> Path:
    """Write the setup file in tmp_path, and point the command line at it and at a database
    beside it (wk.db, not created)."""
    path = tmp_path / "oncall.yaml"
    path.write_text(setup)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("WATCHKEEPER_CONFIG", str(path))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'wk.db'}")
    return path


# When the overrides of these tests were made.
MADE = datetime.fromisoformat("2026-11-20T10:00:00+01:00")


def store_dans_swap(engine: Engine) -> None:
    """Migrate the database and store a swap: Dan took Saturday night of the CEO's weekend."""
    upgrade(engine)
    saturday_evening = datetime.fromisoformat("2026-11-28T18:00:00+01:00")
    store_override(
        engine,
        "U0DAN",
        saturday_evening,
        saturday_evening + timedelta(hours=15),
        kind="swap",
        now=MADE,
    )


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def cli_json(capsys: pytest.CaptureFixture[str], *argv: str) -> Any:
    """The document a command prints with --json; the command must succeed."""
    code, out, err = run(capsys, *argv, "--json")
    assert code == 0, err
    return json.loads(out)
