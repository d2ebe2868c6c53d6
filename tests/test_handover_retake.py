"""A hand-off whose sender stopped or died while sending is sent after the restart, once.

A claimed send is held under a lease its sender renews; one cut short by a stop ends its lease at
once. A claim left with no outcome once its lease has run out is taken again by one process
(the next start, or a replica's next planning round), which looks for the post first: found, it
is recorded sent and not posted again. A lease still running, or a claim from before leases, is
left alone; a send more than an hour late is recorded skipped. A sender whose claim is no longer
its own (its lease ran out unrenewed, and another process took it) posts nothing more and records
no outcome over the new taker's.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from bot.handovers.planner import LEASE, HandoverPlanner
from storage import claims
from storage.db import session_scope
from tests.harness import Harness, slack_harness, two_replicas
from tests.support.failing_db import failing_commits
from tests.support.planner import planner_of
from tests.support.setup_files import rotation, setup_yaml, support_team

# The team hands over every evening at 18:00, Paris time.
TEAMS = {
    "support": support_team(
        rotations=[rotation("evenings", ["U0ALICE", "U0BOB"], "2026-10-05 18:00", "1d")],
        backup=None,
        escalation=None,
    )
}
PLAN = setup_yaml(TEAMS, leadership=None)
# Fri 23 Oct 18:00 CEST: U0BOB hands over to U0ALICE.
FRIDAY_EVENING = datetime(2026, 10, 23, 16, 0, tzinfo=UTC)
# The bot comes back five minutes later.
BACK = FRIDAY_EVENING + timedelta(minutes=5)
HANDED_OVER = "Handover in Customer support: <@U0BOB> → <@U0ALICE>"
# The same team with two leaders, who get the weekly digest on Mondays at 09:00.
LEADERS = setup_yaml(TEAMS, leadership=("U0CEO", "U0LEAD1"))
MONDAY_DIGEST = datetime(2026, 10, 26, 8, 0, tzinfo=UTC)  # Mon 26 Oct 09:00 CET


def handover_posts(h: Harness) -> list[str]:
    return [t for t in h.channel_texts("C0SUPPORT") if t.startswith("Handover in ")]


def claim_rows(h: Harness) -> list[tuple[datetime, str | None, datetime | None]]:
    with Session(h.services.engine) as session:
        return [
            (c.instant, c.outcome, c.locked_until)
            for c in claims.list_claims(session=session, kind="handover")
        ]


def digest_claim(h: Harness) -> tuple[str | None, int]:
    """The outcome of the digest's claim, and how many times it was taken."""
    with Session(h.services.engine) as session:
        (digest,) = claims.list_claims(session=session, kind="digest")
        return digest.outcome, digest.takes


def watching_since_days_before(h: Harness) -> None:
    """The bot has been watching since two days before the hand-off."""
    with session_scope(h.services.engine) as session:
        claims.first_start(session=session, now=FRIDAY_EVENING - timedelta(days=2))


def left_unfinished(
    engine: Engine,
    *,
    kind: str = "handover",
    instant: datetime = FRIDAY_EVENING,
    claimed_at: datetime = FRIDAY_EVENING,
    locked_until: datetime | None = FRIDAY_EVENING + LEASE,
) -> None:
    """The send of ``kind`` at ``instant`` claimed at ``claimed_at`` by a sender that died
    before recording an outcome, its lease held until ``locked_until`` (None: a claim from
    before leases)."""
    with session_scope(engine) as session:
        claims.claim(
            session=session,
            team="support",
            kind=kind,
            instant=instant,
            now=claimed_at,
            locked_until=locked_until,
        )


@asynccontextmanager
async def catching_up_held_back(tmp_path: Path, *, retry_after: int) -> AsyncIterator[Harness]:
    """The bot started at BACK, catching up the hand-off while Slack holds its post back for
    ``retry_after`` seconds (the 429 given); stopped on leaving, cutting short what is left."""
    async with slack_harness(PLAN, tmp_path=tmp_path, now=BACK) as h:
        watching_since_days_before(h)
        h.standin.rate_limit("chat.postMessage", retry_after=retry_after)
        planner = planner_of(h)
        planner.stop_grace = 0.2
        await planner.start()
        try:
            await h.standin.wait_for_async(lambda s: s.rate_limit_events)
            yield h
        finally:
            await planner.stop()


async def renewed_until(h: Harness, lease: datetime) -> None:
    """Wait (a few seconds at most) for the hand-off's lease to run until ``lease``."""
    deadline = time.monotonic() + 5
    while claim_rows(h)[0][2] != lease:
        assert time.monotonic() < deadline, f"the lease was not renewed until {lease}"
        await asyncio.sleep(0.05)


async def another_round_while_catching_up(h: Harness) -> None:
    """Another process takes again what senders left unfinished while the catch-up still sends:
    once both are over, the hand-off has been posted once, late, by one of them."""
    await HandoverPlanner(h.services).retake_unfinished()
    catch_up = planner_of(h).catch_up_task
    assert catch_up is not None
    await catch_up
    (text,) = handover_posts(h)
    assert text.startswith(f"{HANDED_OVER} (posted late)")
    assert len([c for c in h.standin.calls_to("chat.postMessage") if c.ok]) == 1


def methods(h: Harness, *names: str) -> list[str]:
    return [c.method for c in h.standin.calls if c.method in names]


async def test_a_handoff_cut_short_while_slack_holds_it_back_is_posted_once_after_the_restart(
    tmp_path: Path,
) -> None:
    # Slack holds the post back for half an hour: the deploy's stop comes during the wait.
    async with catching_up_held_back(tmp_path, retry_after=1800) as first:
        await planner_of(first).stop()
        assert handover_posts(first) == []
        # Cut short: no outcome, and its lease ended at the stop.
        assert claim_rows(first) == [(FRIDAY_EVENING, None, BACK)]

    restarted = BACK + timedelta(minutes=1)
    async with slack_harness(PLAN, tmp_path=tmp_path, now=restarted) as second:
        planner = planner_of(second)
        await planner.start()
        try:
            assert planner.catch_up_task is not None
            await planner.catch_up_task
        finally:
            await planner.stop()
        (text,) = handover_posts(second)
        assert text.startswith(f"{HANDED_OVER} (posted late)")
        # Looked for first: its sender might have posted it.
        assert methods(second, "conversations.history", "chat.postMessage") == [
            "conversations.history",
            "chat.postMessage",
        ]
        assert claim_rows(second) == [(FRIDAY_EVENING, "late", None)]


async def test_a_handoff_posted_by_a_sender_cut_short_before_recording_it_is_not_posted_twice(
    tmp_path: Path,
) -> None:
    async with slack_harness(PLAN, tmp_path=tmp_path, now=FRIDAY_EVENING) as h:
        watching_since_days_before(h)
        # Slack takes the post but its answer is slow: the stop comes before it arrives.
        h.standin.fail_rate(1.0, ["chat.postMessage"], kinds=("slow",), slow_seconds=2)
        sending = asyncio.create_task(planner_of(h).run_handover("support", FRIDAY_EVENING))
        await h.standin.wait_for_async(lambda s: handover_posts(h))
        sending.cancel()
        with pytest.raises(asyncio.CancelledError):
            await sending
        assert claim_rows(h) == [(FRIDAY_EVENING, None, FRIDAY_EVENING)]
        h.standin.clear_faults()

        # The bot starts again a minute later, Slack as it was.
        h.clock.advance(timedelta(minutes=1))
        restarted = HandoverPlanner(h.services)
        restarted.started_at = h.now()
        await restarted.catch_up()
        (text,) = handover_posts(h)
        assert text.startswith(HANDED_OVER)
        assert claim_rows(h) == [(FRIDAY_EVENING, "sent", None)]
        # The one post made is the first sender's, its answer arriving late.
        (cut_short,) = await h.standin.wait_for_async(lambda s: s.calls_to("chat.postMessage"))
        assert cut_short.fault == "slow"


async def test_a_lease_is_renewed_while_its_send_waits_out_slack_so_nobody_takes_it(
    tmp_path: Path,
) -> None:
    async with catching_up_held_back(tmp_path, retry_after=3) as h:
        # Well past the first lease while the send still waits: it has been renewed.
        for _ in range(2):
            h.clock.advance(LEASE * 3 / 4)
            await renewed_until(h, h.now() + LEASE)
        await another_round_while_catching_up(h)
        assert claim_rows(h) == [(FRIDAY_EVENING, "late", None)]


async def test_a_sender_whose_lease_ran_out_while_the_database_refused_renewals_posts_nothing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with catching_up_held_back(tmp_path, retry_after=3) as h:
        with Session(h.services.engine) as session:
            (held,) = claims.list_claims(session=session, kind="handover")
        claim_id = held.id
        with (
            caplog.at_level(logging.WARNING, logger="bot.handovers.planner"),
            failing_commits(h.services.engine),
        ):
            # The database refuses the renewals until the lease has run out: lost.
            h.clock.advance(LEASE * 3 / 2)
            deadline = time.monotonic() + 5
            while not [r for r in caplog.records if r.__dict__.get("claim") == claim_id]:
                assert time.monotonic() < deadline, "the sender did not find its claim lost"
                await asyncio.sleep(0.05)
        (record,) = [r for r in caplog.records if r.__dict__.get("claim") == claim_id]
        assert record.levelno == logging.WARNING
        assert record.getMessage().startswith("send stopped: its claim is no longer")
        assert (
            record.__dict__["reason"] == "its lease ran out while the database could not renew it"
        )

        # The database back, another process takes the claim and posts it while the first
        # sender still waits out Slack's Retry-After.
        await another_round_while_catching_up(h)
        with Session(h.services.engine) as session:
            (row,) = claims.list_claims(session=session, kind="handover")
            assert (row.outcome, row.locked_until, row.takes) == ("late", None, 2)


async def test_a_sender_whose_lease_ran_out_unrenewed_and_was_taken_again_posts_nothing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with slack_harness(PLAN, tmp_path=tmp_path, now=FRIDAY_EVENING) as h:
        watching_since_days_before(h)
        # Slack holds the post back 3 s; meanwhile the sender renews nothing (its event loop
        # stalled) and its lease runs out.
        h.standin.rate_limit("chat.postMessage", retry_after=3)
        sending = asyncio.create_task(planner_of(h).run_handover("support", FRIDAY_EVENING))
        await h.standin.wait_for_async(lambda s: s.rate_limit_events)
        h.clock.advance(LEASE * 3 / 2)
        # Another process takes the claim and posts it, once the wait is over.
        await HandoverPlanner(h.services).retake_unfinished()
        with caplog.at_level(logging.WARNING, logger="bot.handovers.planner"):
            assert await sending == "taken"
        (text,) = handover_posts(h)
        assert text.startswith(f"{HANDED_OVER} (posted late)")
        assert len([c for c in h.standin.calls_to("chat.postMessage") if c.ok]) == 1
        with Session(h.services.engine) as session:
            (row,) = claims.list_claims(session=session, kind="handover")
            assert (row.outcome, row.locked_until, row.takes) == ("late", None, 2)
        (record,) = [r for r in caplog.records if r.name == "bot.handovers.planner"]
        assert record.levelno == logging.WARNING
        assert record.getMessage().startswith("send stopped: its claim is no longer")
        assert record.__dict__["claim"] == row.id
        assert record.__dict__["reason"] == "taken again or settled by another process"


async def test_a_stale_senders_outcome_does_not_overwrite_the_new_takers(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with slack_harness(PLAN, tmp_path=tmp_path, now=BACK) as h:
        watching_since_days_before(h)
        # Caught up late; Slack takes the post but its answer is slow, and the sender's lease
        # runs out unrenewed meanwhile (its event loop stalled).
        h.standin.fail_rate(1.0, ["chat.postMessage"], kinds=("slow",), slow_seconds=2)
        sending = asyncio.create_task(
            planner_of(h).run_handover("support", FRIDAY_EVENING, late=True)
        )
        await h.standin.wait_for_async(lambda s: handover_posts(h))
        h.standin.clear_faults()
        h.clock.advance(LEASE * 3 / 2)
        # Another process takes the claim, finds the post, and records it sent.
        await HandoverPlanner(h.services).retake_unfinished()
        assert claim_rows(h) == [(FRIDAY_EVENING, "sent", None)]

        with caplog.at_level(logging.WARNING, logger="bot.handovers.planner"):
            assert await sending == "taken"
        (text,) = handover_posts(h)
        assert text.startswith(f"{HANDED_OVER} (posted late)")
        with Session(h.services.engine) as session:
            (row,) = claims.list_claims(session=session, kind="handover")
            assert (row.outcome, row.takes) == ("sent", 2)
        (record,) = [r for r in caplog.records if r.name == "bot.handovers.planner"]
        assert record.levelno == logging.WARNING
        assert record.getMessage() == "handover not recorded: its claim is no longer this process's"
        assert (record.__dict__["claim"], record.__dict__["outcome"]) == (row.id, "late")


@pytest.mark.parametrize(
    ("locked_until", "at_start"),
    [(BACK + timedelta(seconds=30), False), (None, False), (None, True)],
    ids=[
        "lease-running-at-a-round",
        "from-before-leases-at-a-round",
        "from-before-leases-at-start",
    ],
)
async def test_a_claim_whose_lease_runs_or_from_before_leases_is_left_alone(
    tmp_path: Path, locked_until: datetime | None, at_start: bool
) -> None:
    async with slack_harness(PLAN, tmp_path=tmp_path, now=BACK) as h:
        watching_since_days_before(h)
        left_unfinished(h.services.engine, locked_until=locked_until)
        planner = planner_of(h)
        planner.started_at = BACK
        await (planner.catch_up() if at_start else planner.retake_unfinished())
        assert handover_posts(h) == []
        assert methods(h, "conversations.history", "chat.postMessage") == []
        assert claim_rows(h) == [(FRIDAY_EVENING, None, locked_until)]


async def test_on_sqlite_the_start_takes_at_once_what_a_process_killed_seconds_ago_was_sending(
    tmp_path: Path,
) -> None:
    async with slack_harness(PLAN, tmp_path=tmp_path, now=BACK) as h:
        watching_since_days_before(h)
        # Killed ten seconds ago while sending: its lease runs twenty seconds more.
        left_unfinished(
            h.services.engine,
            claimed_at=BACK - timedelta(seconds=40),
            locked_until=BACK + LEASE / 3,
        )
        planner = planner_of(h)
        planner.started_at = BACK
        await planner.catch_up()
        (text,) = handover_posts(h)
        assert text.startswith(f"{HANDED_OVER} (posted late)")
        assert claim_rows(h) == [(FRIDAY_EVENING, "late", None)]


async def test_a_claim_left_unfinished_more_than_an_hour_ago_is_recorded_skipped(
    tmp_path: Path,
) -> None:
    now = FRIDAY_EVENING + timedelta(hours=1, minutes=1)
    async with slack_harness(PLAN, tmp_path=tmp_path, now=now) as h:
        left_unfinished(h.services.engine)
        await planner_of(h).retake_unfinished()
        assert handover_posts(h) == []
        assert methods(h, "conversations.history", "chat.postMessage") == []
        assert claim_rows(h) == [(FRIDAY_EVENING, "skipped", None)]


async def test_a_replica_takes_what_another_left_unfinished_at_its_next_planning_round(
    tmp_path: Path,
) -> None:
    async with slack_harness(PLAN, tmp_path=tmp_path, now=BACK) as h:
        planner = planner_of(h)
        planner.resync_every = timedelta(seconds=0.2)
        await planner.start()
        try:
            assert planner.catch_up_task is not None
            await planner.catch_up_task
            # Another replica dies while sending, after this one started.
            left_unfinished(h.services.engine)
            await h.standin.wait_for_async(lambda s: handover_posts(h))
            await h.standin.wait_for_async(lambda s: claim_rows(h)[0][1] is not None)
        finally:
            await planner.stop()
        (text,) = handover_posts(h)
        assert text.startswith(f"{HANDED_OVER} (posted late)")
        assert claim_rows(h) == [(FRIDAY_EVENING, "late", None)]


async def test_two_replicas_on_postgresql_racing_for_a_claim_left_unfinished_post_it_once(
    tmp_path: Path, postgres_url: str
) -> None:
    async with two_replicas(PLAN, tmp_path=tmp_path, database_url=postgres_url, now=BACK) as (a, b):
        left_unfinished(a.services.engine)
        await asyncio.gather(planner_of(a).retake_unfinished(), planner_of(b).retake_unfinished())
        texts = handover_posts(a) + handover_posts(b)
        assert len(texts) == 1
        assert texts[0].startswith(f"{HANDED_OVER} (posted late)")
        assert claim_rows(a) == [(FRIDAY_EVENING, "late", None)]


def test_processes_racing_to_take_a_claim_again_leave_it_to_one(engine: Engine) -> None:
    left_unfinished(engine)
    later = FRIDAY_EVENING + timedelta(minutes=5)
    ready = threading.Barrier(4)
    won: list[int] = []

    def take() -> None:
        ready.wait()
        with session_scope(engine) as session:
            row = claims.claim(
                session=session,
                team="support",
                kind="handover",
                instant=FRIDAY_EVENING,
                now=later,
                locked_until=later + LEASE,
            )
            if row is not None:
                won.append(row.takes)

    racers = [threading.Thread(target=take) for _ in range(4)]
    for racer in racers:
        racer.start()
    for racer in racers:
        racer.join()
    assert won == [2]
    with Session(engine) as session:
        (row,) = claims.list_claims(session=session)
        assert (row.outcome, row.locked_until, row.takes) == (None, later + LEASE, 2)


async def test_a_handoff_left_unfinished_that_the_schedule_no_longer_has_is_recorded_skipped(
    tmp_path: Path,
) -> None:
    # Claimed for 17:00 in Paris, where nobody hands over (an override since taken away).
    gone = FRIDAY_EVENING - timedelta(hours=1)
    async with slack_harness(PLAN, tmp_path=tmp_path, now=BACK) as h:
        left_unfinished(h.services.engine, instant=gone)
        await planner_of(h).retake_unfinished()
        assert handover_posts(h) == []
        assert claim_rows(h) == [(gone, "skipped", None)]


async def test_digest_dms_sent_by_a_sender_cut_short_are_found_and_not_sent_twice(
    tmp_path: Path,
) -> None:
    async with slack_harness(LEADERS, tmp_path=tmp_path, now=MONDAY_DIGEST) as h:
        # Slack takes both DMs but answers slowly: the stop comes before the answers arrive.
        h.standin.fail_rate(1.0, ["chat.postMessage"], kinds=("slow",), slow_seconds=2)
        sending = asyncio.create_task(planner_of(h).run_digest(MONDAY_DIGEST))
        await h.standin.wait_for_async(lambda s: s.dms("U0CEO") and s.dms("U0LEAD1"))
        sending.cancel()
        with pytest.raises(asyncio.CancelledError):
            await sending
        h.standin.clear_faults()

        h.clock.advance(timedelta(minutes=1))
        await HandoverPlanner(h.services).retake_unfinished()
        assert len(h.dm_texts("U0CEO")) == len(h.dm_texts("U0LEAD1")) == 1
        assert digest_claim(h) == ("sent", 2)
        # The two DMs made are the first sender's, their answers arriving late.
        made = await h.standin.wait_for_async(
            lambda s: len(s.calls_to("chat.postMessage")) == 2 and s.calls_to("chat.postMessage")
        )
        assert [call.fault for call in made] == ["slow", "slow"]


async def test_digest_dms_held_back_while_their_claim_was_taken_again_are_sent_once(
    tmp_path: Path,
) -> None:
    async with slack_harness(LEADERS, tmp_path=tmp_path, now=MONDAY_DIGEST) as h:
        # Slack holds both leaders' DMs back 3 s. The sender renews nothing meanwhile (its event
        # loop stalled) and its lease runs out.
        h.standin.rate_limit("chat.postMessage", retry_after=3, times=2)
        sending = asyncio.create_task(planner_of(h).run_digest(MONDAY_DIGEST))
        await h.standin.wait_for_async(lambda s: len(s.rate_limit_events) == 2)
        h.clock.advance(LEASE * 3 / 2)
        # Another process takes the claim and sends both, once the wait is over.
        await HandoverPlanner(h.services).retake_unfinished()
        assert await sending == "taken"
        assert len(h.dm_texts("U0CEO")) == len(h.dm_texts("U0LEAD1")) == 1
        assert len([c for c in h.standin.calls_to("chat.postMessage") if c.ok]) == 2
        assert digest_claim(h) == ("late", 2)


@pytest.mark.parametrize(
    ("minutes_after", "headlines", "outcome"),
    [
        (5, ["Your on-call shift for Customer support starts in 55 min"], "late"),
        (65, [], "skipped"),
    ],
    ids=["before-the-shift", "once-the-shift-began"],
)
async def test_a_reminder_left_unfinished_is_sent_before_the_shift_and_skipped_after(
    tmp_path: Path, minutes_after: int, headlines: list[str], outcome: str
) -> None:
    # U0ALICE's shift starts at 18:00 in Paris: her reminder is due an hour before.
    due = FRIDAY_EVENING - timedelta(hours=1)
    now = due + timedelta(minutes=minutes_after)
    with_reminder = setup_yaml({"support": {**TEAMS["support"], "reminder": "1h"}}, leadership=None)
    async with slack_harness(with_reminder, tmp_path=tmp_path, now=now) as h:
        left_unfinished(
            h.services.engine, kind="reminder:U0ALICE", claimed_at=due, locked_until=due + LEASE
        )
        await planner_of(h).retake_unfinished()
        texts = h.dm_texts("U0ALICE")
        assert [text.split("\n")[0] for text in texts] == headlines
        assert all("Sent late: this reminder was due Fri 23 Oct 17:00" in text for text in texts)
        with Session(h.services.engine) as session:
            (reminder,) = claims.list_claims(session=session, kind="reminder:U0ALICE")
            assert (reminder.instant, reminder.outcome) == (FRIDAY_EVENING, outcome)
