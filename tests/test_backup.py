"""The backup is never the pager holder, wherever the bot names one: /oncall, `who --json`,
`shifts --role backup`, the escalation step `backup`, and `watchkeeper check`'s warning."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.alerts.escalation_worker import Escalator
from bot.app.cli import main
from bot.enums import Action
from bot.slack.delivery.worker import Delivery
from tests.harness import Harness, message_text, slack_harness
from tests.support.setup_files import (
    integration,
    leads,
    setup_yaml,
    support_team,
    weekdays,
    weekend,
)

PARIS = ZoneInfo("Europe/Paris")
HELPDESK_TOKEN = "helpdesk-5c1e"

# Lead 1 takes every third weekend and is the backup every third week; the weekend of 20-23
# November is both. Lead 2 comes after Lead 1 in the backup's order.
PLAN = setup_yaml(
    {
        "support": support_team(
            rotations=[weekend(["U0ALICE", "U0BOB", "U0LEAD1"]), weekdays()],
            backup=leads(["U0LEAD2", "U0LEAD3", "U0LEAD1"]),
        )
    },
    integrations={"helpdesk": integration("generic", "support", "HELPDESK_ALERT_TOKEN")},
)

# The sandbox's team: Alice, Bob and Carol every morning, Dan the only backup.
ONE_BACKUP = """\
timezone: Europe/Paris
leadership: [U0CEO]
teams:
  support:
    name: Customer support
    channel: C0SUPPORT
    timezone: Europe/Paris
    rotations:
      - name: daily
        members: [U0ALICE, U0BOB, U0CAROL]
        start: 2026-11-02 09:00
        every: 1d
    backup:
      - name: leads
        members: [U0DAN]
        start: 2026-11-02 09:00
        every: 1w
"""

# Saturday 21 November 2026, 21:00 in Paris: Lead 1's weekend, in Lead 1's backup week.
LEAD1_WEEKEND = datetime(2026, 11, 21, 20, 0, tzinfo=UTC)
# Wednesday 25 November 2026, 13:00 in Paris: Lead 2's backup week (23-30 November).
WEDNESDAY = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def who_json(
    h: Harness, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], at: str
) -> dict[str, object]:
    """`watchkeeper who --json` on the harness's setup file and database."""
    monkeypatch.setenv("WATCHKEEPER_CONFIG", h.settings.config_path)
    monkeypatch.setenv("DATABASE_URL", h.settings.database_url)
    assert main(["who", "--at", at, "--json"]) == 0
    out, _ = capsys.readouterr()
    (team,) = json.loads(out)["teams"]
    assert isinstance(team, dict)
    return team


async def test_oncall_and_who_name_the_next_lead_when_the_backup_holds_the_pager(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    async with slack_harness(PLAN, tmp_path=tmp_path, now=LEAD1_WEEKEND) as h:
        text = (await h.command("/oncall", user="U0ALICE")).reply_text()
        assert "<@U0LEAD1> is on call now" in text
        assert "Backup: <@U0LEAD2>." in text
        assert "Backup: <@U0LEAD1>" not in text

        team = who_json(h, monkeypatch, capsys, "2026-11-21T21:00:00+01:00")
        assert (team["oncall"], team["backup"]) == ("U0LEAD1", "U0LEAD2")

        shifts = ["shifts", "--role", "backup", "--from", "2026-11-16T09:00", "--to", "2026-11-30"]
        assert main([*shifts, "--json"]) == 0
        found = json.loads(capsys.readouterr().out)["shifts"]
        assert [(s["user"], s["start"], s["end"], s["source"]) for s in found] == [
            ("U0LEAD1", "2026-11-16T09:00:00+01:00", "2026-11-20T18:00:00+01:00", "rotation:leads"),
            # Lead 2 backs up Lead 1's weekend, then holds the backup's own week.
            (
                "U0LEAD2",
                "2026-11-20T18:00:00+01:00",
                "2026-11-30T00:00:00+01:00",
                "rotation:leads:next+rotation:leads",
            ),
        ]


async def cover_taken(h: Harness, span: str, *, asked_by: str, taken_by: str) -> None:
    """``asked_by`` asks for a cover of ``span`` with /cover, and ``taken_by`` takes it."""
    await h.command("/cover", span, user=asked_by)
    await h.services.delivery.drain()  # the request's post, through the outbox
    await h.click(h.standin.messages("C0SUPPORT")[0], Action.cover_take, user=taken_by)


async def test_after_a_cover_the_backup_is_the_next_lead(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    async with slack_harness(PLAN, tmp_path=tmp_path, now=WEDNESDAY) as h:
        # Alice's weekend of 27-30 November; Lead 2, the backup that week, takes her Saturday.
        await cover_taken(h, "2026-11-28", asked_by="U0ALICE", taken_by="U0LEAD2")
        h.clock.set(datetime(2026, 11, 28, 11, 0, tzinfo=UTC))

        text = (await h.command("/oncall", user="U0ALICE")).reply_text()
        assert "<@U0LEAD2> is on call now" in text
        assert "Backup: <@U0LEAD3>." in text
        team = who_json(h, monkeypatch, capsys, "2026-11-28T12:00:00+01:00")
        assert (team["oncall"], team["source"], team["backup"]) == ("U0LEAD2", "cover", "U0LEAD3")
        # Once the cover ends, Lead 2 is the backup again.
        team = who_json(h, monkeypatch, capsys, "2026-11-29T12:00:00+01:00")
        assert (team["oncall"], team["backup"]) == ("U0ALICE", "U0LEAD2")


async def test_a_backup_of_one_who_covers_leaves_no_backup_said_plainly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    async with slack_harness(ONE_BACKUP, tmp_path=tmp_path, now=WEDNESDAY) as h:
        # Wednesday's shift is Carol's (day 23 from Monday 2 November); Dan covers it.
        wednesday_afternoon = "2026-11-25 12:00 - 2026-11-25 18:00"
        await cover_taken(h, wednesday_afternoon, asked_by="U0CAROL", taken_by="U0DAN")
        h.clock.set(datetime(2026, 11, 25, 14, 0, tzinfo=UTC))

        text = (await h.command("/oncall", user="U0ALICE")).reply_text()
        assert "<@U0DAN> is on call now" in text
        assert "No backup." in text
        team = who_json(h, monkeypatch, capsys, "2026-11-25T15:00:00+01:00")
        assert (team["oncall"], team["backup"]) == ("U0DAN", None)
        team = who_json(h, monkeypatch, capsys, "2026-11-25T19:00:00+01:00")
        assert (team["oncall"], team["backup"]) == ("U0CAROL", "U0DAN")


async def test_the_backup_step_pages_the_next_lead_not_the_pager_holder_again(
    tmp_path: Path,
) -> None:
    async with slack_harness(
        PLAN, tmp_path=tmp_path, now=LEAD1_WEEKEND, env={"HELPDESK_ALERT_TOKEN": HELPDESK_TOKEN}
    ) as h:
        answer = await h.client.post(
            "/alerts/helpdesk",
            json={"title": "Refunds are stuck", "severity": "error"},
            headers={"Authorization": f"Bearer {HELPDESK_TOKEN}"},
        )
        assert answer.status_code == 202
        escalator, delivery = h.services.escalator, h.services.delivery
        assert isinstance(escalator, Escalator) and isinstance(delivery, Delivery)
        await delivery.drain()
        assert len(h.standin.dms("U0LEAD1")) == 1  # paged as the pager holder

        # Nobody acknowledges in ten minutes: step 2, the backup, is Lead 2.
        h.clock.advance(timedelta(minutes=11))
        [outcome] = await escalator.run_once()
        assert (outcome.step, outcome.users) == (2, ("U0LEAD2",))
        await delivery.drain()
        (lead2,) = h.standin.dms("U0LEAD2")
        assert "escalation step 2 (backup)" in message_text(lead2)
        assert len(h.standin.dms("U0LEAD1")) == 1
        assert h.standin.dms("U0CEO") == []


def test_check_warns_where_the_setup_makes_backup_and_pager_meet(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Weekly from the Monday two weeks ago: A and B hold the pager in turn, A and C the backup,
    # so A is both every other week, and C backs up then.
    today = datetime.now(PARIS).date()
    monday = today - timedelta(days=today.weekday() + 14)
    setup = tmp_path / "oncall.yaml"
    setup.write_text(
        "timezone: Europe/Paris\nteams:\n  ops:\n    channel: C0OPS\n"
        f"    rotations:\n      - name: weekly\n        members: [U0A, U0B]\n"
        f"        start: {monday} 09:00\n        every: 1w\n"
        f"    backup:\n      - name: leads\n        members: [U0A, U0C]\n"
        f"        start: {monday} 09:00\n        every: 1w\n"
    )
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'wk.db'}")
    before = datetime.now(PARIS)
    assert main(["check", str(setup)]) == 0
    after = datetime.now(PARIS)
    lines = capsys.readouterr().out.splitlines()
    first = lines.index("    no gaps in the next four weeks") + 1
    warning, *spans = lines[first:-1]

    # A's weeks that overlap the four weeks from now, cut to them (where the cut falls on the
    # minute the command ran, only that it is cut is checked).
    weeks = [datetime.combine(monday + timedelta(weeks=w), time(9), PARIS) for w in range(0, 9, 2)]
    expected = [
        (
            None if start <= after else _human(start),
            None
            if start + timedelta(weeks=1) >= before + timedelta(weeks=4)
            else _human(start + timedelta(weeks=1)),
        )
        for start in weeks
        if start < after + timedelta(weeks=4) and start + timedelta(weeks=1) > before
    ]
    assert warning == (
        f"    warning: {len(expected)} time(s) in the next four weeks the backup's turn falls "
        "to the pager holder:"
    )
    assert len(spans) == len(expected) >= 2
    for span, (start, end) in zip(spans, expected, strict=True):
        shown_start, _, rest = span.removeprefix("    - ").partition(" → ")
        shown_end, _, words = rest.partition(": ")
        assert words == "U0A holds the pager; U0C backs up instead"
        assert shown_start == start or start is None
        assert shown_end == end or end is None


def _human(instant: datetime) -> str:
    """An instant as `watchkeeper check` prints it."""
    return instant.astimezone(PARIS).strftime("%a %Y-%m-%d %H:%M %Z")
