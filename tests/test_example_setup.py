"""The example setup file (oncall.example.yaml): no gaps whatever the date, and the sandbox's team.

A newcomer copies it to start their own, and the sandbox runs the same team with the same
people: both must hold up as written.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml

from bot.app.cli import GAP_HORIZON, main
from bot.app.sandbox import example_file, load_workspace
from bot.plan.reading import parse_plan
from tests.conftest import ROOT
from tests.readme import readme_text

EXAMPLE = ROOT / "oncall.example.yaml"
PARIS = ZoneInfo("Europe/Paris")

# Four weeks from each of these instants (Paris time unless an offset says otherwise).
START_DATES = [
    ("2025-03-24", "its four weeks hold the 23-hour Sunday of 2025-03-30"),
    ("2025-03-30T01:30:00+01:00", "half an hour before the clocks jump to 03:00"),
    ("2025-10-20", "its four weeks hold the 25-hour Sunday of 2025-10-26"),
    ("2025-10-26T02:30:00+01:00", "the second 02:30 of the night the clocks go back"),
    ("2026-03-27T17:59:00+01:00", "a minute before a weekend, two days before a 23-hour day"),
    ("2026-10-25", "the 25-hour Sunday itself"),
    ("2026-11-28T21:00:00+01:00", "the README's instant"),
    ("2026-12-21", "Christmas and the new year"),
    ("2027-03-28", "the 23-hour Sunday of 2027"),
    ("2027-10-31", "the 25-hour Sunday of 2027"),
    ("2028-02-28", "over a leap day"),
    ("2027-06-15T13:37:00+00:00", "any minute, given in UTC"),
]


@pytest.fixture
def example_in_use(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The example copied as a newcomer does, with a database of the test's own."""
    path = tmp_path / "oncall.yaml"
    path.write_text(EXAMPLE.read_text(encoding="utf-8"), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("WATCHKEEPER_CONFIG", str(path))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'wk.db'}")
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    assert main(list(argv)) == 0
    out, _ = capsys.readouterr()
    return out


@pytest.mark.parametrize(("start", "why"), START_DATES, ids=[d for d, _ in START_DATES])
def test_four_weeks_of_the_example_have_someone_on_call_at_every_instant(
    example_in_use: Path, capsys: pytest.CaptureFixture[str], start: str, why: str
) -> None:
    # `shifts` with no --to covers the four weeks `check` looks at; a gap is a row with no user.
    doc = json.loads(run(capsys, "shifts", "--team", "support", "--from", start, "--json"))
    rows = doc["shifts"]
    gaps = [(r["start"], r["end"]) for r in rows if r["user"] is None]
    assert gaps == [], why
    begin = datetime.fromisoformat(start if "T" in start else f"{start}T00:00:00")
    begin = (begin if begin.tzinfo else begin.replace(tzinfo=PARIS)).astimezone(UTC)
    instants = [datetime.fromisoformat(r["start"]) for r in rows]
    assert instants[0] == begin
    assert datetime.fromisoformat(rows[-1]["end"]) == begin + GAP_HORIZON
    assert [r["end"] for r in rows[:-1]] == [r["start"] for r in rows[1:]], "no hole between"


def test_check_finds_no_gaps_in_the_example(
    example_in_use: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = run(capsys, "check", str(example_in_use))
    assert "support: Customer support, Europe/Paris, layers: weekend" in out
    assert "no gaps in the next four weeks" in out
    assert "gap(s)" not in out


def test_the_readme_instant_is_bobs_weekend_then_carols_monday(
    example_in_use: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = run(capsys, "shifts", "--team", "support", "--from", "2026-11-27", "--to", "2026-12-02")
    rows = [line.split()[-2:] for line in out.splitlines()[1:]]
    assert rows == [
        ["U0BOB", "rotation:weekdays"],  # Thursday 09:00 to Friday 09:00
        ["U0CAROL", "rotation:weekdays"],  # Friday 09:00 to 18:00
        ["U0BOB", "rotation:weekend"],  # Friday 18:00 to Monday 09:00
        ["U0CAROL", "rotation:weekdays"],  # Monday 09:00 to Tuesday 09:00, the night included
        ["U0ALICE", "rotation:weekdays"],
    ]


def test_the_backup_never_holds_the_pager_too() -> None:
    plan = parse_plan(EXAMPLE.read_text(encoding="utf-8"), "oncall.example.yaml")
    team = plan.teams["support"]
    holders = {m for layer in team.rotations for m in layer.members}
    backups = {m for layer in team.backup for m in layer.members}
    assert backups and not holders & backups


# --------------------------------------------------------------------------- the sandbox's team


def _setup(text: str) -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load(text)
    return {key: doc[key] for key in ("timezone", "leadership", "teams")}


def test_the_sandbox_runs_the_example_team() -> None:
    sandbox = example_file("oncall.yaml").read_text(encoding="utf-8")
    assert _setup(sandbox) == _setup(EXAMPLE.read_text(encoding="utf-8"))


def test_the_example_names_the_sandbox_people_and_erin_is_the_ceo() -> None:
    users, _ = load_workspace(example_file("workspace.yaml").read_text(encoding="utf-8"))
    names = {u.id: u.real_name for u in users}
    plan = parse_plan(EXAMPLE.read_text(encoding="utf-8"), "oncall.example.yaml")
    named = {m for team in plan.teams.values() for m in team.members} | set(plan.leadership)
    assert named == set(names), "the example and the sandbox have the same people"
    (ceo,) = plan.leadership
    assert names[ceo] == "Erin Weiss (CEO)"
    # The README walks the sandbox with the same people, by their first names.
    sandbox_section = readme_text().split("## Try it without Slack", 1)[1].split("\n## ", 1)[0]
    for real_name in names.values():
        assert real_name.split()[0] in sandbox_section
    assert "Erin (the CEO)" in sandbox_section
