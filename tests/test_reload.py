"""Reloading the setup file while the bot runs: a good save replaces the plan and re-plans the
hand-off and reminder jobs; a broken one keeps the plan in force and says why."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.app.reload import Reloader
from bot.handovers.planner import HandoverPlanner
from tests.harness import Harness, slack_harness
from tests.support.setup_files import rotation, setup_yaml, support_team

# Far enough ahead that no planned job comes due while a test runs.
NOW = datetime(2030, 1, 7, 11, 0, tzinfo=UTC)  # Monday 7 January 2030, 12:00 in Paris
PLAN = setup_yaml(
    {
        "support": support_team(
            timezone=None,
            reminder="1h",
            rotations=[rotation("days", ["U0ALICE", "U0BOB"], "2030-01-01 09:00", "1d")],
            backup=None,
            escalation=None,
        )
    },
    leadership=None,
)


def paris(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


@asynccontextmanager
async def running(tmp_path: Path) -> AsyncIterator[tuple[Harness, HandoverPlanner, Reloader]]:
    """The bot with its hand-off planner started; the reloader is driven by the test alone
    (no polling task), so each reload happens exactly when the test says."""
    async with slack_harness(PLAN, tmp_path=tmp_path, now=NOW) as h:
        planner = h.services.handovers
        reloader = h.services.reloader
        assert isinstance(planner, HandoverPlanner) and isinstance(reloader, Reloader)
        await planner.start()
        # Startup looks back for missed hand-offs; wait for it so that it does not race the test.
        assert planner.catch_up_task is not None
        await planner.catch_up_task
        try:
            yield h, planner, reloader
        finally:
            await planner.stop()


async def test_a_good_save_replaces_the_plan_and_replans_the_jobs(tmp_path: Path) -> None:
    async with running(tmp_path) as (h, planner, reloader):
        setup = tmp_path / "oncall.yaml"
        assert planner.planned["handover:support"] == paris("2030-01-08T09:00:00+01:00")
        assert planner.planned["reminder:support"] == paris("2030-01-08T08:00:00+01:00")

        # Hand-offs move to 15:00, and the reminder to two hours ahead.
        setup.write_text(PLAN.replace("09:00", "15:00").replace("reminder: 1h", "reminder: 2h"))
        assert await reloader.check() is None
        layer = h.services.plans.current.teams["support"].rotations[0]
        assert layer.start == datetime(2030, 1, 1, 15, 0)
        assert planner.planned["handover:support"] == paris("2030-01-07T15:00:00+01:00")
        assert planner.planned["reminder:support"] == paris("2030-01-07T13:00:00+01:00")
        assert h.plan_changes == [None]
        # /oncall reads the new plan at once.
        text = (await h.command("/oncall", "support", user="U0ALICE")).reply_text()
        assert "<@U0BOB> is on call now, Sun 6 Jan 15:00 – Mon 7 Jan 15:00" in text

        # Seen once: looking again without a new save changes nothing.
        assert await reloader.check() is None
        assert h.plan_changes == [None] and reloader.reloads == 1


async def test_a_broken_save_keeps_the_plan_in_force_and_says_why(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with running(tmp_path) as (h, planner, reloader):
        setup = tmp_path / "oncall.yaml"
        before = h.services.plans.current
        planned = dict(planner.planned)

        broken = PLAN.replace("every: 1d", "every: daily")
        setup.write_text(broken)
        with caplog.at_level(logging.ERROR, logger="bot.app.reload"):
            error = await reloader.check()
        assert error is not None
        line = broken.splitlines().index("        every: daily") + 1
        assert str(error) == (
            f"{setup}:{line}: teams.support.rotations[0].every: expected a duration like 12h, "
            "1d or 1w, got 'daily'"
        )
        (record,) = [r for r in caplog.records if r.name == "bot.app.reload"]
        assert record.getMessage() == "setup file rejected, keeping the plan in force"
        assert record.problems == str(error)  # type: ignore[attr-defined]
        assert h.services.plans.current is before
        assert planner.planned == planned
        assert h.plan_changes == []
        # The bot still answers from the plan in force.
        text = (await h.command("/oncall", "support", user="U0ALICE")).reply_text()
        assert "<@U0ALICE> is on call now, Mon 7 Jan 09:00 – Tue 8 Jan 09:00" in text

        # The same broken file is not reported again at every look; a SIGHUP asks anew.
        caplog.clear()
        assert await reloader.check() is None
        assert [r for r in caplog.records if r.name == "bot.app.reload"] == []
        assert str(await reloader.reload("SIGHUP")) == str(error)

        # Fixed: taken at the next look.
        setup.write_text(PLAN.replace("U0ALICE, U0BOB", "U0BOB, U0ALICE"))
        assert await reloader.check() is None
        assert h.services.plans.current.teams["support"].rotations[0].members == (
            "U0BOB",
            "U0ALICE",
        )
        assert h.plan_changes == [None]


async def test_a_team_taken_out_of_the_file_loses_its_jobs(tmp_path: Path) -> None:
    async with running(tmp_path) as (h, planner, reloader):
        setup = tmp_path / "oncall.yaml"
        infra = (
            "  infra:\n    name: Infrastructure\n    channel: C0INFRA\n    rotations:\n"
            "      - name: weekly\n        members: [U0IVAN]\n        start: 2030-01-07 18:00\n"
            "        every: 1w\n"
        )
        setup.write_text(PLAN + infra)
        assert await reloader.check() is None
        assert planner.planned["handover:infra"] == paris("2030-01-07T18:00:00+01:00")

        setup.write_text(PLAN)
        assert await reloader.check() is None
        assert "handover:infra" not in planner.planned
        assert planner.scheduler.get_job("handover:infra") is None
        assert planner.planned["handover:support"] == paris("2030-01-08T09:00:00+01:00")


async def test_wake_up_methods_without_a_secret_are_refused_and_the_plan_kept(
    tmp_path: Path,
) -> None:
    async with running(tmp_path) as (h, _, reloader):
        before = h.services.plans.current
        assert not h.services.settings.watchkeeper_secret
        (tmp_path / "oncall.yaml").write_text(
            PLAN + "people:\n  U0BOB:\n    wake: [ntfy://ntfy.sh/bob-7f3k]\n"
        )
        error = await reloader.check()
        assert error is not None
        assert "WATCHKEEPER_SECRET is not set, and the setup file gives people" in str(error)
        assert "bob-7f3k" not in str(error)
        assert h.services.plans.current is before and h.plan_changes == []
