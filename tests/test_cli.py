"""The command line: check, who and shifts, as a user runs them (JSON shapes from DESIGN)."""

from __future__ import annotations

import json
import shlex
import sqlite3
from datetime import datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import inspect

from bot.app.cli import main
from storage.db import make_engine
from storage.migrate import stored_revision, upgrade
from tests.support.cli import MADE, cli_json, run, setup_for_cli, store_dans_swap
from tests.support.overrides import store_override
from tests.support.setup_files import SUPPORT as PLAN

PARIS = ZoneInfo("Europe/Paris")
# The fourth weekend, from Friday evening to Tuesday evening.
WEEKEND = ("--from", "2026-11-27T18:00:00+01:00", "--to", "2026-12-01T18:00:00+01:00")


@pytest.fixture
def setup_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return setup_for_cli(tmp_path, monkeypatch, PLAN)


def test_who_json_names_holder_backup_and_next(
    setup_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Saturday night of the fourth weekend: shift k=3 of the weekend layer, the CEO's.
    doc = cli_json(capsys, "who", "--team", "support", "--at", "2026-11-28T21:00:00+01:00")
    assert doc["at"] == "2026-11-28T21:00:00+01:00"
    (team,) = doc["teams"]
    assert team["team"] == "support"
    assert team["oncall"] == "U0CEO"
    assert team["since"] == "2026-11-27T18:00:00+01:00"
    assert team["until"] == "2026-11-30T09:00:00+01:00"
    # Leads rotate weekly from Monday 2026-11-02 09:00: the 4th week (k=3) is U0LEAD2's.
    assert team["backup"] == "U0LEAD2"
    # Monday 09:00 the weekday layer takes over: Dan on day 0 (Nov 9), Erin on odd days
    # (Nov 30 is day 21).
    assert team["next"] == {"user": "U0ERIN", "start": "2026-11-30T09:00:00+01:00"}


def test_who_in_a_gap_says_null(setup_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc = cli_json(capsys, "who", "--team", "support", "--at", "2026-12-01T20:00:00+01:00")
    (team,) = doc["teams"]
    assert team["oncall"] is None


def test_shifts_json_is_the_final_schedule(
    setup_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = cli_json(capsys, "shifts", "--team", "support", *WEEKEND)
    assert doc["team"] == "support"
    rows = [(s["user"], s["start"], s["end"], s["source"]) for s in doc["shifts"]]
    assert rows == [
        ("U0CEO", "2026-11-27T18:00:00+01:00", "2026-11-30T09:00:00+01:00", "rotation:weekend"),
        ("U0ERIN", "2026-11-30T09:00:00+01:00", "2026-11-30T18:00:00+01:00", "rotation:weekdays"),
        (None, "2026-11-30T18:00:00+01:00", "2026-12-01T09:00:00+01:00", "gap"),
        ("U0DAN", "2026-12-01T09:00:00+01:00", "2026-12-01T18:00:00+01:00", "rotation:weekdays"),
    ]
    for row in doc["shifts"]:
        datetime.fromisoformat(row["start"])  # every instant is ISO-8601 with its offset


def test_shifts_accepts_plain_dates_in_team_time(
    setup_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = cli_json(
        capsys, "shifts", "--team", "support", "--from", "2026-11-28", "--to", "2026-11-29"
    )
    (shift,) = doc["shifts"]
    assert (shift["user"], shift["start"], shift["end"]) == (
        "U0CEO",
        "2026-11-28T00:00:00+01:00",
        "2026-11-29T00:00:00+01:00",
    )


def test_check_accepts_a_good_file_and_lists_gaps(
    setup_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "check", str(setup_file))
    assert code == 0
    assert "OK" in out
    assert "gap(s) in the next four weeks" in out  # weekday nights are not covered


def test_check_knows_the_email_kind_and_says_where_mail_goes(
    setup_file: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    setup_file.write_text(
        PLAN + "integrations:\n  support-mail:\n    kind: email\n    team: support\n"
        "    token_env: SUPPORT_MAIL_TOKEN\n"
    )
    code, out, _ = run(capsys, "check", str(setup_file))
    assert code == 0
    assert "support-mail: email to support-mail+<SUPPORT_MAIL_TOKEN>@ this host" in out
    assert "SMTP_PORT is not set" in out
    monkeypatch.setenv("SMTP_PORT", "2525")
    code, out, _ = run(capsys, "check", str(setup_file))
    assert "(port 2525)" in out


def test_check_counts_the_runbooks_and_heartbeats_it_read(
    setup_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    setup_file.write_text(
        PLAN + "runbooks:\n"
        "  - match: {alertname: RefundQueueStuck}\n"
        "    url: https://wiki.example.com/runbooks/refunds\n"
        '  - match: {customer: "/^Acme/"}\n'
        "    text: Acme has a 1-hour SLA.\n"
        "heartbeats:\n"
        "  nightly-backup:\n    team: support\n    every: 1h\n    grace: 10m\n"
        "    token_env: HEARTBEAT_TOKEN\n"
    )
    code, out, _ = run(capsys, "check", str(setup_file))
    assert code == 0
    assert out.splitlines()[0] == (
        f"{setup_file}: OK — 1 team(s), 0 integration(s), 2 runbook(s), 1 heartbeat(s)"
    )


def test_check_rejects_a_broken_file_naming_line_and_field(
    setup_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    setup_file.write_text(PLAN.replace("every: 1d", "every: 1x"))
    code, _, err = run(capsys, "check", str(setup_file))
    assert code == 1
    line = PLAN.splitlines().index("        every: 1d") + 1
    assert f"oncall.yaml:{line}:" in err
    assert "every" in err


def test_unknown_team_and_bad_instant_are_plain_errors(
    setup_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "who", "--team", "sales")
    assert code == 2
    assert "no team 'sales'" in err and "support" in err
    code, _, err = run(capsys, "who", "--at", "saturday night")
    assert code == 2
    assert "--at" in err and "ISO-8601" in err
    code, _, err = run(
        capsys, "shifts", "--team", "support", "--from", "2026-12-02", "--to", "2026-12-01"
    )
    assert code == 2
    assert "must be after" in err


def test_who_and_shifts_include_the_overrides_in_the_database(
    setup_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'wk.db'}")
    store_dans_swap(engine)
    # And Erin one hour on Sunday.
    sunday_noon = datetime.fromisoformat("2026-11-29T12:00:00+01:00")
    store_override(
        engine, "U0ERIN", sunday_noon, sunday_noon + timedelta(hours=1), kind="manual", now=MADE
    )
    engine.dispose()

    doc = cli_json(capsys, "who", "--team", "support", "--at", "2026-11-28T21:00:00+01:00")
    (team,) = doc["teams"]
    assert (team["oncall"], team["since"], team["until"], team["source"]) == (
        "U0DAN",
        "2026-11-28T18:00:00+01:00",
        "2026-11-29T09:00:00+01:00",
        "swap",
    )
    assert team["next"] == {"user": "U0CEO", "start": "2026-11-29T09:00:00+01:00"}

    doc = cli_json(
        capsys, "shifts", "--team", "support", "--from", "2026-11-28", "--to", "2026-11-30"
    )
    rows = [(s["user"], s["start"], s["end"], s["source"]) for s in doc["shifts"]]
    assert rows == [
        ("U0CEO", "2026-11-28T00:00:00+01:00", "2026-11-28T18:00:00+01:00", "rotation:weekend"),
        ("U0DAN", "2026-11-28T18:00:00+01:00", "2026-11-29T09:00:00+01:00", "swap"),
        ("U0CEO", "2026-11-29T09:00:00+01:00", "2026-11-29T12:00:00+01:00", "rotation:weekend"),
        ("U0ERIN", "2026-11-29T12:00:00+01:00", "2026-11-29T13:00:00+01:00", "override"),
        ("U0CEO", "2026-11-29T13:00:00+01:00", "2026-11-30T00:00:00+01:00", "rotation:weekend"),
    ]


def _human(instant: datetime) -> str:
    """An instant as `watchkeeper check` prints it."""
    return instant.astimezone(PARIS).strftime("%a %Y-%m-%d %H:%M %Z")


def write_weekly_ops(setup_file: Path, start: str) -> None:
    """A setup file of one team, ops, in Paris: U0A and U0B a week each from ``start``."""
    setup_file.write_text(
        "timezone: Europe/Paris\nteams:\n  ops:\n    channel: C0OPS\n    rotations:\n"
        "      - name: weekly\n        members: [U0A, U0B]\n"
        f"        start: {start}\n        every: 1w\n"
    )


def test_check_lists_the_gap_before_a_rotation_starts(
    setup_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A rotation that starts ten days from now, at 09:00: one gap, from now until then.
    starts = datetime.combine(datetime.now(PARIS).date() + timedelta(days=10), time(9), PARIS)
    write_weekly_ops(setup_file, f"{starts:%Y-%m-%d %H:%M}")
    code, out, _ = run(capsys, "check", str(setup_file))
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == (
        f"{setup_file}: OK — 1 team(s), 0 integration(s), 0 runbook(s), 0 heartbeat(s)"
    )
    assert lines[1] == "  ops: ops, Europe/Paris, layers: weekly (every 1w)"
    assert lines[2] == "    1 gap(s) in the next four weeks (nobody holds the pager):"
    assert lines[3].startswith("    - ") and lines[3].endswith(f" → {_human(starts)}")


def test_check_says_when_there_is_no_gap(
    setup_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # An always-on rotation that started a month ago.
    started = datetime.now(PARIS).date() - timedelta(days=30)
    write_weekly_ops(setup_file, f"{started:%Y-%m-%d} 09:00")
    code, out, _ = run(capsys, "check", str(setup_file))
    assert code == 0
    assert "    no gaps in the next four weeks" in out.splitlines()


def test_an_unreachable_database_is_one_line_naming_the_variable(
    setup_file: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Nothing listens on port 1: the connection is refused.
    monkeypatch.setenv("DATABASE_URL", "postgresql://wk:s3cret@127.0.0.1:1/wk")
    code, out, err = run(capsys, "who", "--team", "support")
    assert code == 2
    assert out == ""
    assert err.startswith("watchkeeper: DATABASE_URL: cannot use the database: connection ")
    assert err.count("\n") == 1 and "s3cret" not in err


# --------------------------------------------------------------------------- the setup file


OPS = """\
timezone: America/New_York
teams:
  ops:
    name: Operations
    channel: C0OPS
    rotations:
      - name: weekly
        members: [U0IVAN, U0JUDY]
        start: 2026-11-02 09:00
        every: 1w
"""


def test_config_names_the_setup_file_and_wins_over_the_environment(
    setup_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # WATCHKEEPER_CONFIG names the support file; --config names another one.
    other = tmp_path / "ops.yaml"
    other.write_text(OPS)
    doc = cli_json(capsys, "who", "--config", str(other), "--at", "2026-11-28T21:00:00-05:00")
    (team,) = doc["teams"]
    # Week 4 from Monday 2 November: Judy's.
    assert (team["team"], team["oncall"]) == ("ops", "U0JUDY")

    doc = cli_json(
        capsys, "shifts", "--config", str(other), "--from", "2026-12-01", "--to", "2026-12-02"
    )
    assert doc["team"] == "ops"
    assert [s["user"] for s in doc["shifts"]] == ["U0IVAN"]

    # Without the flag, the environment's file.
    code, out, _ = run(capsys, "who", "--at", "2026-11-28T21:00:00+01:00", "--json")
    assert [t["team"] for t in json.loads(out)["teams"]] == ["support"]


def test_a_missing_config_file_is_named(
    setup_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "shifts", "--config", str(tmp_path / "nowhere.yaml"))
    assert code == 1
    assert out == ""
    assert "nowhere.yaml" in err


def test_shifts_needs_no_team_when_the_setup_has_one(
    setup_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = cli_json(capsys, "shifts", "--from", "2026-11-28", "--to", "2026-11-29")
    assert doc["team"] == "support"
    assert [s["user"] for s in doc["shifts"]] == ["U0CEO"]


def test_shifts_with_several_teams_asks_which_naming_them(
    setup_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    setup_file.write_text(PLAN + OPS.split("teams:\n", 1)[1])
    code, out, err = run(capsys, "shifts")
    assert code == 2
    assert out == ""
    assert err.startswith("watchkeeper: --team: ")
    assert "2 teams" in err and "ops, support" in err

    code, out, _ = run(capsys, "shifts", "--team", "ops", "--json")
    assert code == 0
    assert json.loads(out)["team"] == "ops"


# --------------------------------------------------------------------------- the database


def _files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_the_reading_commands_create_no_database(
    setup_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # DATABASE_URL names wk.db in tmp_path, which does not exist.
    before = _files(tmp_path)
    assert "wk.db" not in before

    code, out, err = run(capsys, "who", "--at", "2026-11-28T21:00:00+01:00", "--json")
    assert code == 0
    assert json.loads(out)["teams"][0]["oncall"] == "U0CEO"  # the plan alone
    assert err == (
        f"watchkeeper: no database at {tmp_path / 'wk.db'} yet: the setup file alone, "
        "without swaps, covers or overrides\n"
    )
    code, out, _ = run(capsys, "shifts", "--from", "2026-11-28", "--to", "2026-11-29")
    assert code == 0 and "U0CEO" in out
    code, _, err = run(capsys, "check", str(setup_file))
    assert code == 0 and err == ""

    assert _files(tmp_path) == before


def _stamp(path: Path) -> tuple[bytes, str | None]:
    """The database file's bytes and its schema revision, read without a write."""
    engine = make_engine(f"sqlite:///{path}")
    with engine.connect() as connection:
        revision = stored_revision(connection)
    engine.dispose()
    return path.read_bytes(), revision


def _migrated(path: Path, revision: str = "head") -> None:
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine, revision)
    engine.dispose()


def test_an_existing_database_is_read_and_left_as_it_was(
    setup_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "wk.db"
    engine = make_engine(f"sqlite:///{db}")
    store_dans_swap(engine)
    engine.dispose()
    before = _stamp(db)

    code, out, err = run(
        capsys, "who", "--team", "support", "--at", "2026-11-28T21:00:00+01:00", "--json"
    )
    assert code == 0 and err == ""
    assert json.loads(out)["teams"][0]["oncall"] == "U0DAN"
    code, out, _ = run(capsys, "shifts", "--from", "2026-11-28", "--to", "2026-11-30", "--json")
    assert code == 0
    assert "swap" in [s["source"] for s in json.loads(out)["shifts"]]

    assert _stamp(db) == before


@pytest.mark.parametrize(
    ("revision", "says"),
    [
        ("0005", "the schema of an older version (revision 0005; this version reads "),
        ("9999", "the schema of a newer version (revision 9999; this version reads "),
    ],
)
def test_a_database_of_another_schema_is_named_not_migrated(
    setup_file: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    revision: str,
    says: str,
) -> None:
    db = tmp_path / "wk.db"
    if revision == "9999":
        # What a later version of Watchkeeper leaves behind.
        _migrated(db)
        with sqlite3.connect(db) as connection:
            connection.execute("UPDATE alembic_version SET version_num = '9999'")
        connection.close()
    else:
        _migrated(db, revision)
    before = _stamp(db)
    for argv in (["who"], ["shifts"]):
        code, out, err = run(capsys, *argv)
        assert code == 2
        assert out == ""
        assert err.startswith(f"watchkeeper: DATABASE_URL: the database sqlite:///{db} has ")
        assert says in err and err.count("\n") == 1
    assert _stamp(db) == before


def test_postgresql_is_read_in_read_only_transactions(
    setup_file: Path,
    postgres_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DATABASE_URL", postgres_url)
    # A database nobody migrated yet: nothing to read, and it stays empty.
    code, out, err = run(capsys, "who", "--at", "2026-11-28T21:00:00+01:00", "--json")
    assert code == 0
    assert json.loads(out)["teams"][0]["oncall"] == "U0CEO"
    assert "holds no Watchkeeper data yet" in err
    engine = make_engine(postgres_url)
    assert inspect(engine).get_table_names() == []

    store_dans_swap(engine)
    engine.dispose()
    code, out, err = run(capsys, "who", "--at", "2026-11-28T21:00:00+01:00", "--json")
    assert code == 0 and err == ""
    assert json.loads(out)["teams"][0]["oncall"] == "U0DAN"


# --------------------------------------------------------------------------- help


@pytest.mark.parametrize("command", ["check", "who", "shifts", "doctor", "serve", "sandbox"])
def test_the_help_of_each_command_shows_examples(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main([command, "--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    examples = out[out.index("\nexamples:\n") :].splitlines()[2:]
    assert examples, out
    assert all(line.startswith("  ") and "watchkeeper " + command in line for line in examples)


def test_the_help_examples_of_who_and_shifts_run(
    setup_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for command in ("who", "shifts"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        out = capsys.readouterr().out
        for line in out[out.index("\nexamples:\n") :].splitlines()[2:]:
            argv = shlex.split(line, comments=True)[1:]
            if "--config" in argv:
                continue  # names a file of the reader's
            code, _, err = run(capsys, *argv)
            assert code == 0, (line, err)
