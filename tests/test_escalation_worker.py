"""The escalation worker in the app: step by step on a fixed clock, stopped by an
acknowledgement, and picking up after a restart where the last process left off."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

from bot.alerts.escalation_worker import Escalator
from bot.alerts.notes import say
from tests.conftest import fixture_bytes
from tests.support.intake import FRIDAY_NIGHT, Intake, running_intake

DISK_ALERT = fixture_bytes("pagerduty/trigger_openapi_example.json")  # critical, "srv01/mysql"


def escalator_of(intake: Intake) -> Escalator:
    escalator = intake.services.escalator
    assert isinstance(escalator, Escalator)
    # The app starts the worker with the other background tasks.
    assert escalator.run in intake.services.workers
    return escalator


def paged(intake: Intake) -> list[tuple[str, str]]:
    """Who was paged about anything, and why (as their DM says it in English), in order."""
    return [
        (str(row.payload["user"]), say(row.payload["reason"]))
        for row in intake.outbox()
        if row.kind == "alert-notify"
    ]


async def acknowledge_disk_alert(intake: Intake) -> None:
    ack = json.loads(fixture_bytes("pagerduty/acknowledge_devdocs.json"))
    ack.update(routing_key="e93facc04764012d7bfb002500d5d1a6", dedup_key="srv01/mysql")
    assert (await intake.enqueue(json.dumps(ack).encode())).status_code == 202


async def test_escalates_step_by_step_until_acknowledged(database_url: str) -> None:
    async with running_intake(database_url) as intake:
        escalator = escalator_of(intake)
        assert (await intake.enqueue(DISK_ALERT)).status_code == 202
        assert paged(intake) == [("U0BOB", "on call")]

        intake.clock.advance(timedelta(minutes=9))
        assert await escalator.run_once() == []
        intake.clock.advance(timedelta(minutes=1))
        [outcome] = await escalator.run_once()
        assert (outcome.step, outcome.users) == (2, ("U0LEAD2",))
        assert await escalator.run_once() == []  # done once, not at every poll

        # The backup acknowledges: nothing more happens, however long we wait.
        intake.clock.advance(timedelta(minutes=5))
        await acknowledge_disk_alert(intake)
        intake.clock.advance(timedelta(hours=3))
        assert await escalator.run_once() == []
        assert paged(intake) == [("U0BOB", "on call"), ("U0LEAD2", "escalation step 2 (backup)")]
        [alert] = intake.alerts()
        assert (alert.status, alert.escalation_step, alert.next_escalation_at) == (
            "acknowledged",
            1,
            None,
        )


async def test_an_unacknowledged_alert_reaches_leadership_and_stops_there(sqlite_url: str) -> None:
    async with running_intake(sqlite_url) as intake:
        escalator = escalator_of(intake)
        generic = json.dumps({"title": "Refunds are stuck", "severity": "warning"}).encode()
        assert (await intake.post("helpdesk", generic)).status_code == 202
        for minutes in (10, 20):
            intake.clock.advance(timedelta(minutes=minutes))
            assert len(await escalator.run_once()) == 1
        intake.clock.advance(timedelta(days=2))
        assert await escalator.run_once() == []
        assert [user for user, _ in paged(intake)] == ["U0BOB", "U0LEAD2", "U0CEO"]
        [alert] = intake.alerts()
        assert alert.status == "open" and alert.next_escalation_at is None


async def test_a_restart_loses_no_escalation(database_url: str) -> None:
    async with running_intake(database_url) as first:
        assert (await first.enqueue(DISK_ALERT)).status_code == 202
        first.clock.advance(timedelta(minutes=10))
        assert len(await escalator_of(first).run_once()) == 1
    # The process stops; a new one starts on the same database 25 minutes later, past the
    # 20 minutes the backup step waits.
    later = FRIDAY_NIGHT + timedelta(minutes=35)
    async with running_intake(database_url, start=later) as second:
        [outcome] = await escalator_of(second).run_once()
        assert (outcome.step, outcome.users) == (3, ("U0CEO",))
        assert [user for user, _ in paged(second)] == ["U0BOB", "U0LEAD2", "U0CEO"]
        assert await escalator_of(second).run_once() == []


async def test_the_worker_loop_escalates_when_woken(sqlite_url: str) -> None:
    async with running_intake(sqlite_url) as intake:
        escalator = escalator_of(intake)
        escalator.interval = 30.0  # only a wake-up can make it look again within the test
        assert (await intake.enqueue(DISK_ALERT)).status_code == 202
        task = asyncio.create_task(escalator.run())
        try:
            await asyncio.sleep(0.2)  # the first round: nothing due yet
            assert len(paged(intake)) == 1
            intake.clock.advance(timedelta(minutes=10))
            escalator.wake()
            for _ in range(100):
                if len(paged(intake)) == 2:
                    break
                await asyncio.sleep(0.05)
            assert paged(intake)[1] == ("U0LEAD2", "escalation step 2 (backup)")
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
