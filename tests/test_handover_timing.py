"""Timing with the real scheduler: hand-offs a few seconds away (overrides stored just ahead) are
posted at the hand-off and once; a swap before it changes who is named; a restart across it
posts it late, once; two app instances on one PostgreSQL database post each hand-off once."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlmodel import Session

from bot.handovers.planner import HandoverPlanner
from bot.sandbox.standin.app import SlackStandIn
from storage import claims
from storage.db import session_scope
from storage.overrides import cancel_override, list_overrides
from tests.harness import Harness, message_text, slack_harness, two_replicas
from tests.support.overrides import store_override
from tests.support.setup_files import rotation, setup_yaml, support_team

# U0ALICE always holds the pager unless an override says otherwise.
PLAN = setup_yaml(
    {
        "support": support_team(
            timezone=None,
            rotations=[rotation("always", ["U0ALICE"], "2026-01-05 09:00", "1w")],
            backup=None,
            escalation=None,
        )
    },
    leadership=None,
)
PLAN_WITH_GROUP = PLAN.replace("    rotations:", "    usergroup: S0ONCALL\n    rotations:")
PLAN_WITH_REMINDER = PLAN.replace("    rotations:", "    reminder: 1h\n    rotations:")
EXTRA = ["U0BOB", "U0CAROL"]
# How late a post may arrive after its hand-off on a busy machine.
ARRIVAL_SLACK_S = 3.0


def real_now() -> datetime:
    return datetime.now(UTC)


def running(
    tmp_path: Path,
    plan: str = PLAN,
    *,
    now: datetime | None = None,
    database_url: str | None = None,
) -> AbstractAsyncContextManager[Harness]:
    """The bot with its scheduler running, at ``now`` (else the real clock's)."""
    return slack_harness(
        plan,
        tmp_path=tmp_path,
        now=now or real_now(),
        extra_users=EXTRA,
        database_url=database_url,
        start_background=True,
    )


@asynccontextmanager
async def running_with_group(tmp_path: Path) -> AsyncIterator[Harness]:
    """The bot running, with the team's usergroup (held by U0ALICE)."""
    async with running(tmp_path, PLAN_WITH_GROUP) as h:
        h.standin.add_usergroup("S0ONCALL", "oncall", users=["U0ALICE"])
        yield h


def soon(seconds: float) -> datetime:
    """A whole second at least ``seconds`` from now, UTC."""
    return datetime.fromtimestamp(math.ceil(time.time() + seconds), UTC)


async def hand_over(h: Harness, user: str, start: datetime, end: datetime) -> None:
    """``user`` holds the pager from ``start`` to ``end``, and the bot is told."""
    override(h, user, start, end)
    await h.services.plan_changed("support")


def override(h: Harness, user: str, start: datetime, end: datetime, kind: str = "manual") -> None:
    store_override(h.services.engine, user, start, end, kind=kind, now=real_now())


def posts(standin: SlackStandIn) -> list[str]:
    return [
        message_text(m)
        for m in standin.messages("C0SUPPORT")
        if m.text.startswith("Handover in Customer support")
    ]


def planner_of(h: Harness) -> HandoverPlanner:
    planner = h.services.handovers
    assert isinstance(planner, HandoverPlanner)
    return planner


async def sleep_until(at: datetime) -> None:
    await asyncio.sleep(max(0.0, (at - real_now()).total_seconds()))


async def caught_up(h: Harness) -> None:
    """Wait for the start's look at the hand-offs missed while the bot was down."""
    catch_up = planner_of(h).catch_up_task
    assert catch_up is not None
    await catch_up


def handover_claims(h: Harness) -> list[tuple[datetime, str | None]]:
    with Session(h.services.engine) as session:
        return [
            (c.instant, c.outcome)
            for c in claims.list_claims(session=session, team="support", kind="handover")
        ]


async def test_the_post_arrives_at_the_handoff_once(tmp_path: Path) -> None:
    async with running_with_group(tmp_path) as h:
        handoff = soon(3)
        await hand_over(h, "U0BOB", handoff, handoff + timedelta(hours=1))
        assert planner_of(h).planned["handover:support"] == handoff

        await sleep_until(handoff - timedelta(seconds=0.7))
        assert posts(h.standin) == []
        await h.standin.wait_for_async(lambda s: posts(s), timeout=ARRIVAL_SLACK_S + 1)
        arrived = real_now()
        assert handoff <= arrived <= handoff + timedelta(seconds=ARRIVAL_SLACK_S)
        (text,) = posts(h.standin)
        assert "<@U0ALICE> → <@U0BOB>" in text
        await h.standin.wait_for_async(lambda s: s.usergroup_history("S0ONCALL"))
        assert h.standin.usergroup_users("S0ONCALL") == ["U0BOB"]
        # Nothing more is posted; the job is re-planned for the next change, an hour later.
        await asyncio.sleep(1.5)
        assert len(posts(h.standin)) == 1
        assert planner_of(h).planned["handover:support"] == handoff + timedelta(hours=1)
        assert handover_claims(h) == [(handoff, "sent")]
        response = await h.client.get("/readyz")
        assert response.json() == {"status": "ready"}


async def test_a_swap_before_the_handoff_changes_who_is_named(tmp_path: Path) -> None:
    async with running_with_group(tmp_path) as h:
        handoff = soon(3)
        await hand_over(h, "U0BOB", handoff, handoff + timedelta(hours=1))
        # Before the hand-off, U0CAROL takes that shift (a later override wins).
        override(h, "U0CAROL", handoff, handoff + timedelta(hours=1), kind="swap")
        await h.services.plan_changed("support")

        await sleep_until(handoff)
        await h.standin.wait_for_async(lambda s: posts(s), timeout=ARRIVAL_SLACK_S)
        await h.standin.wait_for_async(lambda s: s.usergroup_history("S0ONCALL"))
        await asyncio.sleep(1)
        (text,) = posts(h.standin)
        assert "<@U0ALICE> → <@U0CAROL>" in text
        assert "U0BOB" not in text
        assert h.standin.usergroup_history("S0ONCALL") == [["U0CAROL"]]


async def test_a_handoff_moved_later_is_posted_at_its_new_time(tmp_path: Path) -> None:
    async with running_with_group(tmp_path) as h:
        first = soon(2)
        await hand_over(h, "U0BOB", first, first + timedelta(hours=1))
        # The override is cancelled and stored again two seconds later.
        with session_scope(h.services.engine) as session:
            (row,) = list_overrides(session=session, team="support")
            assert row.id is not None
            cancel_override(session=session, override_id=row.id, now=real_now())
        moved = first + timedelta(seconds=2)
        await hand_over(h, "U0BOB", moved, moved + timedelta(hours=1))

        await sleep_until(first + timedelta(seconds=1))
        assert posts(h.standin) == []
        await h.standin.wait_for_async(lambda s: posts(s), timeout=ARRIVAL_SLACK_S + 1)
        assert real_now() >= moved
        await h.standin.wait_for_async(lambda s: s.usergroup_history("S0ONCALL"))
        await asyncio.sleep(0.5)
        assert handover_claims(h) == [(moved, "sent")]


async def test_the_reminder_goes_out_a_reminder_period_before_the_shift(tmp_path: Path) -> None:
    async with running(tmp_path, PLAN_WITH_REMINDER) as h:
        due = soon(3)
        start = due + timedelta(hours=1)
        await hand_over(h, "U0BOB", start, start + timedelta(hours=2))
        assert planner_of(h).planned["reminder:support"] == due

        await sleep_until(due - timedelta(seconds=0.7))
        assert h.dm_texts("U0BOB") == []
        await h.standin.wait_for_async(lambda s: s.dms("U0BOB"), timeout=ARRIVAL_SLACK_S + 1)
        assert real_now() >= due
        (dm,) = h.dm_texts("U0BOB")
        assert "Your on-call shift for *Customer support* starts in" in dm
        assert "You take over from <@U0ALICE>." in dm
        assert "late" not in dm
        await asyncio.sleep(1)
        assert len(h.dm_texts("U0BOB")) == 1


async def test_a_restart_across_the_handoff_posts_it_late_once(tmp_path: Path) -> None:
    async with running(tmp_path) as first:
        handoff = soon(2)
        await hand_over(first, "U0BOB", handoff, handoff + timedelta(hours=1))
        assert first.services.handovers.scheduler.running
    # The bot is down at the hand-off.
    await sleep_until(handoff + timedelta(seconds=1))
    assert posts(first.standin) == []

    async with running(tmp_path) as second:
        await second.standin.wait_for_async(lambda s: posts(s), timeout=ARRIVAL_SLACK_S)
        await caught_up(second)
        (text,) = posts(second.standin)
        assert "<@U0ALICE> → <@U0BOB> (posted late)" in text
        assert "Posted late: the bot was down at" in text
        assert handover_claims(second) == [(handoff, "late")]

    # A third start finds it done.
    async with running(tmp_path) as third:
        await caught_up(third)
        assert posts(third.standin) == []
        assert handover_claims(third) == [(handoff, "late")]


async def test_a_handoff_missed_by_more_than_an_hour_is_skipped(tmp_path: Path) -> None:
    async with running(tmp_path) as first:
        handoff = soon(1)
        await hand_over(first, "U0BOB", handoff, handoff + timedelta(minutes=10))
    await sleep_until(handoff + timedelta(seconds=0.5))
    # The bot comes back two hours later (by its clock): both hand-offs are too old.
    async with running(tmp_path, now=handoff + timedelta(hours=2)) as later:
        await caught_up(later)
        assert posts(later.standin) == []
        assert handover_claims(later) == [
            (handoff, "skipped"),
            (handoff + timedelta(minutes=10), "skipped"),
        ]


async def test_two_instances_on_one_postgresql_database_post_each_handoff_once(
    tmp_path: Path, postgres_url: str
) -> None:
    async with two_replicas(
        PLAN,
        tmp_path=tmp_path,
        database_url=postgres_url,
        now=real_now(),
        extra_users=EXTRA,
        start_background=True,
    ) as (a, b):
        first = soon(3)
        second = first + timedelta(seconds=2)
        override(a, "U0BOB", first, second)
        await a.services.plan_changed("support")
        await b.services.plan_changed("support")
        assert planner_of(a).planned["handover:support"] == first
        assert planner_of(b).planned["handover:support"] == first

        await sleep_until(second + timedelta(seconds=ARRIVAL_SLACK_S))
        texts = posts(a.standin) + posts(b.standin)
        assert len(texts) == 2
        assert sum("<@U0ALICE> → <@U0BOB>" in t for t in texts) == 1
        assert sum("<@U0BOB> → <@U0ALICE>" in t for t in texts) == 1
        assert handover_claims(a) == [(first, "sent"), (second, "sent")]


async def test_an_override_stored_by_another_process_is_planned_without_being_told(
    tmp_path: Path,
) -> None:
    async with slack_harness(PLAN, tmp_path=tmp_path, now=real_now(), extra_users=EXTRA) as h:
        planner = planner_of(h)
        planner.resync_every = timedelta(seconds=0.5)
        await planner.start()
        try:
            # Alice holds the pager for good: nothing to plan within the horizon.
            assert planner.planned["handover:support"] > real_now() + timedelta(days=6)
            # Another replica stores Bob's override; this process's hooks never hear of it.
            handoff = soon(3600)
            override(h, "U0BOB", handoff, handoff + timedelta(hours=1))
            assert h.plan_changes == []
            deadline = time.monotonic() + 10
            while planner.planned["handover:support"] != handoff:
                assert time.monotonic() < deadline, "the override was never planned"
                await asyncio.sleep(0.1)
        finally:
            await planner.stop()
