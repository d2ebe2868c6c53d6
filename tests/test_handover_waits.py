"""A hand-off Slack holds back (429, Retry-After) is posted once the wait is over, as long as it is
still worth posting (up to an hour after it was due), and holds up no other team's hand-off nor
another leader's digest; past that hour it is recorded failed, saying why. Waits longer than a
minute pass on the harness's clock, at once: Slack's stand-in counts its rate limits by the same
clock."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import Session

from storage import claims
from storage.db import session_scope
from tests.harness import Harness, slack_harness
from tests.support.planner import planner_of
from tests.support.setup_files import rotation, setup_yaml, support_team

# Both teams hand over every evening at 18:00, Paris time.
TEAMS = {
    "support": support_team(
        usergroup="S0ONCALL",
        rotations=[rotation("evenings", ["U0ALICE", "U0BOB"], "2026-10-05 18:00", "1d")],
        backup=None,
        escalation=None,
    ),
    "ops": {
        "name": "Operations",
        "channel": "C0OPS",
        "timezone": "Europe/Paris",
        "rotations": [rotation("evenings", ["U0DAN", "U0ERIN"], "2026-10-05 18:00", "1d")],
    },
}
PLAN = setup_yaml(TEAMS, leadership=None)
# Fri 23 Oct 18:00 CEST: U0BOB hands over to U0ALICE in support, U0ERIN to U0DAN in ops.
FRIDAY_EVENING = datetime(2026, 10, 23, 16, 0, tzinfo=UTC)
MONDAY_DIGEST = datetime(2026, 10, 26, 8, 0, tzinfo=UTC)  # Mon 26 Oct 09:00 CET


@pytest.fixture
async def h(tmp_path: Path) -> AsyncIterator[Harness]:
    async with slack_harness(
        PLAN, tmp_path=tmp_path, now=FRIDAY_EVENING, waits_move_clock=True
    ) as harness:
        harness.standin.add_usergroup("S0ONCALL", "oncall-support", users=["U0BOB"])
        yield harness


def handover_posts(h: Harness, channel: str) -> list[str]:
    return [t for t in h.channel_texts(channel) if t.startswith("Handover in ")]


def claim_rows(h: Harness) -> list[tuple[str, datetime, str | None]]:
    with Session(h.services.engine) as session:
        return [
            (c.team, c.instant, c.outcome)
            for c in claims.list_claims(session=session, kind="handover")
        ]


async def test_a_handoff_held_back_90_s_is_posted_once_the_wait_is_over(h: Harness) -> None:
    h.standin.rate_limit("chat.postMessage", retry_after=90)
    assert await planner_of(h).run_handover("support", FRIDAY_EVENING) == "sent"
    assert [c.ok for c in h.standin.calls_to("chat.postMessage")] == [False, True]
    (text,) = handover_posts(h, "C0SUPPORT")
    assert text.startswith("Handover in Customer support: <@U0BOB> → <@U0ALICE>")
    (event,) = h.standin.rate_limit_events
    assert (event.retry_after, event.respected) == (90, True)
    assert h.now() >= FRIDAY_EVENING + timedelta(seconds=90)
    assert claim_rows(h) == [("support", FRIDAY_EVENING, "sent")]


async def test_a_user_group_held_back_two_minutes_follows_the_pager_once_the_wait_is_over(
    h: Harness,
) -> None:
    # usergroups.users.update is a Tier 2 method: about 20 calls a minute.
    h.standin.rate_limit("usergroups.users.update", retry_after=120)
    assert await planner_of(h).run_handover("support", FRIDAY_EVENING) == "sent"
    assert h.standin.usergroup_history("S0ONCALL") == [["U0ALICE"]]
    (event,) = h.standin.rate_limit_events
    assert (event.retry_after, event.respected) == (120, True)
    assert len(handover_posts(h, "C0SUPPORT")) == 1


async def test_a_wait_past_the_late_limit_is_not_waited_and_the_handoff_is_recorded_failed(
    h: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    # Caught up 50 minutes late, and Slack asks for 15 minutes more: past the hour.
    caught_up = FRIDAY_EVENING + timedelta(minutes=50)
    h.clock.set(caught_up)
    h.standin.rate_limit("chat.postMessage", retry_after=15 * 60)
    with caplog.at_level(logging.ERROR, logger="bot.handovers.planner"):
        assert await planner_of(h).run_handover("support", FRIDAY_EVENING, late=True) == "failed"
    assert len(h.standin.calls_to("chat.postMessage")) == 1
    assert handover_posts(h, "C0SUPPORT") == []
    assert h.now() == caught_up
    assert claim_rows(h) == [("support", FRIDAY_EVENING, "failed")]
    (record,) = [r for r in caplog.records if r.getMessage() == "handover post failed"]
    assert record.__dict__["reason"] == "Slack asked to wait past the late limit: not sent"
    assert record.__dict__["late_limit"] == "2026-10-23T17:00:00+00:00"
    assert record.__dict__["retry_after_until"] == "2026-10-23T17:05:00+00:00"


async def test_catching_up_a_team_slack_holds_back_holds_up_no_other_team(
    tmp_path: Path,
) -> None:
    # Waits here take real time: the other team's post is made while support's channel waits.
    back = FRIDAY_EVENING + timedelta(minutes=20)
    async with slack_harness(PLAN, tmp_path=tmp_path, now=back) as h:
        with session_scope(h.services.engine) as session:
            claims.first_start(session=session, now=FRIDAY_EVENING - timedelta(days=2))
        # A 429 naming no wait asks for a second, on support's channel alone.
        h.standin.fail_next(
            "chat.postMessage", error="ratelimited", status=429, channel="C0SUPPORT"
        )
        planner = planner_of(h)
        planner.started_at = back
        await planner.catch_up()
        posted = [c.args["channel"] for c in h.standin.calls_to("chat.postMessage") if c.ok]
        assert posted == ["C0OPS", "C0SUPPORT"]
        assert sorted(claim_rows(h)) == [
            ("ops", FRIDAY_EVENING, "late"),
            ("support", FRIDAY_EVENING, "late"),
        ]


async def test_a_digest_dm_slack_holds_back_holds_up_no_other_leader(tmp_path: Path) -> None:
    # Waits here take real time: the second leader's DM is sent while the first one's waits.
    leaders = setup_yaml(TEAMS, leadership=("U0CEO", "U0LEAD1"))
    async with slack_harness(leaders, tmp_path=tmp_path, now=MONDAY_DIGEST) as h:
        ceo, lead = h.standin.dm_channel("U0CEO"), h.standin.dm_channel("U0LEAD1")
        h.standin.fail_next("chat.postMessage", error="ratelimited", status=429, channel=ceo)
        assert await planner_of(h).run_digest(MONDAY_DIGEST) == "sent"
        posted = [c.args["channel"] for c in h.standin.calls_to("chat.postMessage") if c.ok]
        assert posted == [lead, ceo]
        assert len(h.dm_texts("U0CEO")) == len(h.dm_texts("U0LEAD1")) == 1
