"""What the handover post, the reminder DM and the digest say, end to end with a fixed clock: the
bot's real Slack client against the Slack stand-in, the schedule and alerts from the database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from storage import claims
from storage.db import session_scope
from storage.models import AlertEvent, SlackMessage
from tests.harness import Harness, slack_harness
from tests.support.overrides import store_override
from tests.support.planner import planner_of
from tests.support.rows import added_alert
from tests.support.setup_files import setup_yaml, support_team, weekdays, weekend

# Weekends rotate weekly, weekdays daily; weekday nights are gaps. In Paris, summer time ends on
# Sunday 25 October 2026.
PLAN = setup_yaml(
    {
        "support": support_team(
            reminder="1h",
            usergroup="S0ONCALL",
            rotations=[
                weekend(["U0ALICE", "U0BOB", "U0CAROL"], "2026-10-02 18:00"),
                weekdays(start="2026-10-05 09:00"),
            ],
            backup=None,
            escalation=None,
        )
    }
)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


FRIDAY_EVENING = utc(2026, 10, 23, 16, 0)  # Fri 23 Oct 18:00 CEST: U0DAN hands over to U0ALICE
FRIDAY_MORNING = utc(2026, 10, 23, 7, 0)  # Fri 23 Oct 09:00 CEST: the night's gap ends
MONDAY_EVENING = utc(2026, 10, 26, 17, 0)  # Mon 26 Oct 18:00 CET: U0ERIN hands over to a gap
MONDAY_DIGEST = utc(2026, 10, 26, 8, 0)  # Mon 26 Oct 09:00 CET


@pytest.fixture
async def h(tmp_path: Path) -> AsyncIterator[Harness]:
    async with slack_harness(
        PLAN, tmp_path=tmp_path, now=FRIDAY_EVENING, zones={"U0ALICE": "America/New_York"}
    ) as harness:
        harness.standin.add_usergroup("S0ONCALL", "oncall-support", users=["U0CAROL"])
        yield harness


def add_alert(
    h: Harness,
    key: str,
    *,
    first_seen: datetime,
    severity: str = "error",
    acked: datetime | None = None,
    resolved: datetime | None = None,
    customer: str | None = None,
    escalated: datetime | None = None,
    link: str | None = None,
) -> int:
    with session_scope(h.services.engine) as session:
        row = added_alert(
            session,
            key,
            first_seen,
            acked=acked,
            resolved=resolved,
            severity=severity,
            customer=customer,
            acknowledged_by="U0DAN" if acked else None,
            links=[{"title": "Grafana", "url": link}] if link else [],
        )
        assert row.id is not None
        if escalated is not None:
            session.add(AlertEvent(alert_id=row.id, at=escalated, kind="escalated"))
        return row.id


async def post_card(h: Harness, alert_id: int) -> str:
    """Post an alert card as the delivery worker does, and keep its ts as the worker does."""
    answer = await h.services.slack.chat_postMessage(channel="C0SUPPORT", text=f"card {alert_id}")
    ts = str(answer["ts"])
    with session_scope(h.services.engine) as session:
        session.add(
            SlackMessage(
                subject=f"alert:{alert_id}",
                role="card",
                recipient="C0SUPPORT",
                channel="C0SUPPORT",
                ts=ts,
                created_at=h.now(),
            )
        )
    return ts


def claim_rows(h: Harness, kind: str | None = None) -> list[tuple[str, str, datetime, str | None]]:
    with Session(h.services.engine) as session:
        return [
            (c.team, c.kind, c.instant, c.outcome)
            for c in claims.list_claims(session=session, kind=kind)
        ]


def ran_since(h: Harness, at: datetime) -> None:
    """The bot first started on this database at ``at``: what it missed since was missed."""
    with session_scope(h.services.engine) as session:
        assert claims.first_start(session=session, now=at) == at


def hand_to(h: Harness, user: str, start: datetime, end: datetime, kind: str) -> None:
    """``user`` holds the pager from ``start`` to ``end``: an override stored now."""
    store_override(h.services.engine, user, start, end, kind=kind, now=h.now())


def handover_posts(h: Harness) -> list[str]:
    return [t for t in h.channel_texts("C0SUPPORT") if t.startswith("Handover in ")]


async def test_the_handover_post_names_both_people_and_what_the_shift_saw(h: Harness) -> None:
    acme = add_alert(
        h,
        "Login errors for ACME",
        first_seen=utc(2026, 10, 23, 8, 0),
        acked=utc(2026, 10, 23, 8, 7),
        resolved=utc(2026, 10, 23, 9, 0),
        customer="ACME",
    )
    disk = add_alert(
        h,
        "Disk 91% full on db-1",
        severity="warning",
        first_seen=utc(2026, 10, 23, 10, 0),
        acked=utc(2026, 10, 23, 10, 12),
    )
    add_alert(
        h,
        "Checkout error rate 12%",
        severity="critical",
        first_seen=utc(2026, 10, 23, 15, 30),
        escalated=utc(2026, 10, 23, 15, 45),
        link="https://grafana.example/d/checkout",
    )
    # Raised in the night's gap, resolved during the shift: counted as resolved, not raised.
    add_alert(
        h, "Night blip", first_seen=utc(2026, 10, 22, 20, 0), resolved=utc(2026, 10, 23, 7, 30)
    )
    assert acme
    card_ts = await post_card(h, disk)

    outcome = await planner_of(h).run_handover("support", FRIDAY_EVENING)

    assert outcome == "sent"
    (post,) = [m for m in h.standin.messages("C0SUPPORT") if m.text.startswith("Handover")]
    assert post.text == "Handover in Customer support: <@U0DAN> → <@U0ALICE>"
    permalink = f"{h.standin.identity.url}archives/C0SUPPORT/p{card_ts.replace('.', '')}"
    (text,) = handover_posts(h)
    assert text.split("\n")[1:] == [
        "Handover — Customer support",
        "<@U0DAN> → <@U0ALICE>",
        "*New shift:* Fri 23 Oct 18:00 – Mon 26 Oct 09:00 (Paris time)",
        "*Open alerts carried over (2):*",
        "• :red_circle: <https://grafana.example/d/checkout|Checkout error rate 12%> — critical, "
        "open since Fri 23 Oct 17:30, *not acknowledged*",
        f"• :large_yellow_circle: <{permalink}|Disk 91% full on db-1> — warning, "
        "open since Fri 23 Oct 12:00, acknowledged by <@U0DAN>",
        "*Last shift* — <@U0DAN>, Fri 23 Oct 09:00 – 18:00 (Paris time): "
        "3 alerts · 2 resolved · 1 escalation · worst time to acknowledge 12 min.",
        "*Next:* <@U0ERIN> from Mon 26 Oct 09:00 (Paris time).",
    ]
    h.assert_all_valid()
    # The user group follows the pager.
    assert h.standin.usergroup_users("S0ONCALL") == ["U0ALICE"]
    assert claim_rows(h) == [("support", "handover", FRIDAY_EVENING, "sent")]


async def test_a_handover_is_posted_once_however_often_it_is_run(h: Harness) -> None:
    planner = planner_of(h)
    assert await planner.run_handover("support", FRIDAY_EVENING) == "sent"
    assert await planner.run_handover("support", FRIDAY_EVENING) == "taken"
    h.clock.advance(timedelta(minutes=30))
    assert await planner.run_handover("support", FRIDAY_EVENING, late=True) == "taken"
    assert len(handover_posts(h)) == 1
    assert h.standin.usergroup_history("S0ONCALL") == [["U0ALICE"]]


async def test_a_handover_into_a_gap_leaves_the_user_group_alone(h: Harness) -> None:
    h.clock.set(MONDAY_EVENING)
    assert await planner_of(h).run_handover("support", MONDAY_EVENING) == "sent"
    (text,) = handover_posts(h)
    assert "<@U0ERIN> → *nobody* — gap until Tue 27 Oct 09:00 (Paris time)" in text
    assert "*Next:* <@U0DAN> from Tue 27 Oct 09:00 (Paris time)." in text
    # Slack refuses an empty group: it keeps its last holder.
    assert h.standin.usergroup_users("S0ONCALL") == ["U0CAROL"]
    assert h.standin.calls_to("usergroups.users.update") == []


async def test_a_swap_stored_before_the_handoff_changes_who_is_named(h: Harness) -> None:
    hand_to(h, "U0BOB", FRIDAY_EVENING, utc(2026, 10, 26, 8, 0), "swap")
    assert await planner_of(h).run_handover("support", FRIDAY_EVENING) == "sent"
    (text,) = handover_posts(h)
    assert "<@U0DAN> → <@U0BOB>" in text
    assert "U0ALICE" not in text


async def test_a_handoff_the_schedule_no_longer_has_is_not_posted(h: Harness) -> None:
    # U0DAN keeps the pager through the evening: no change at 18:00.
    hand_to(h, "U0DAN", FRIDAY_MORNING, utc(2026, 10, 23, 20, 0), "cover")
    assert await planner_of(h).run_handover("support", FRIDAY_EVENING) == "stale"
    assert handover_posts(h) == []
    assert claim_rows(h) == []


async def test_a_rate_limited_post_waits_as_slack_asks(h: Harness) -> None:
    h.standin.rate_limit("chat.postMessage", retry_after=1)
    assert await planner_of(h).run_handover("support", FRIDAY_EVENING) == "sent"
    assert len(handover_posts(h)) == 1
    (event,) = h.standin.rate_limit_events
    assert event.respected is True


async def test_a_refused_post_is_not_retried_and_is_recorded_as_failed(h: Harness) -> None:
    h.standin.fail_next("chat.postMessage", error="channel_not_found")
    assert await planner_of(h).run_handover("support", FRIDAY_EVENING) == "failed"
    assert len(h.standin.calls_to("chat.postMessage")) == 1
    assert claim_rows(h) == [("support", "handover", FRIDAY_EVENING, "failed")]


async def test_a_post_slack_failed_with_a_5xx_is_posted_once_after_a_look(h: Harness) -> None:
    # A 5xx may come after the work was done: the planner looks before posting again.
    h.standin.fail_next("chat.postMessage", status=500)
    assert await planner_of(h).run_handover("support", FRIDAY_EVENING) == "sent"
    assert len(handover_posts(h)) == 1
    assert len(h.standin.calls_to("conversations.history")) == 1
    assert len(h.standin.calls_to("chat.postMessage")) == 2
    assert claim_rows(h) == [("support", "handover", FRIDAY_EVENING, "sent")]


async def test_a_post_whose_answer_was_lost_is_found_and_not_posted_twice(h: Harness) -> None:
    # Slack posts it, then the connection drops before its answer arrives.
    h.standin.fail_rate(1.0, ["chat.postMessage"], kinds=["drop"])
    assert await planner_of(h).run_handover("support", FRIDAY_EVENING) == "sent"
    assert len(handover_posts(h)) == 1
    assert len(h.standin.calls_to("chat.postMessage")) == 1
    assert claim_rows(h) == [("support", "handover", FRIDAY_EVENING, "sent")]


async def test_a_digest_dm_whose_answer_was_lost_reaches_each_reader_once(h: Harness) -> None:
    h.clock.set(MONDAY_DIGEST)
    h.standin.fail_rate(1.0, ["chat.postMessage"], kinds=["drop"])
    assert await planner_of(h).run_digest(MONDAY_DIGEST) == "sent"
    leadership = h.services.roster.plan.leadership
    assert leadership
    for user in leadership:
        assert len(h.standin.dms(user)) == 1


async def test_the_reminder_goes_to_the_incoming_person_in_their_zone(h: Harness) -> None:
    add_alert(h, "Queue backlog", first_seen=utc(2026, 10, 23, 14, 0))
    h.clock.set(FRIDAY_EVENING - timedelta(hours=1))
    planner = planner_of(h)
    # Only the person who holds the pager from that instant is reminded.
    assert await planner.run_reminder("support", "U0BOB", FRIDAY_EVENING) == "stale"
    assert await planner.run_reminder("support", "U0ALICE", FRIDAY_EVENING) == "sent"
    assert await planner.run_reminder("support", "U0ALICE", FRIDAY_EVENING) == "taken"
    (dm,) = h.dm_texts("U0ALICE")
    assert dm.split("\n") == [
        "Your on-call shift for Customer support starts in 1 h",
        ":bell: Your on-call shift for *Customer support* starts in 1 h.",
        # New York keeps summer time a week longer than Paris: 09:00 in Paris is 04:00 there.
        "*Shift:* Fri 23 Oct 12:00 – Mon 26 Oct 04:00 (your time, New York; "
        "team time Paris: Fri 23 Oct 18:00 – Mon 26 Oct 09:00)",
        "You take over from <@U0DAN>.",
        "*Open alerts you will inherit (1):*",
        "• :large_orange_circle: Queue backlog — error, open since Fri 23 Oct 16:00, "
        "*not acknowledged*",
    ]
    assert h.dm_texts("U0BOB") == []
    assert claim_rows(h) == [("support", "reminder:U0ALICE", FRIDAY_EVENING, "sent")]
    h.assert_all_valid()


async def test_the_weekly_digest_reaches_leadership_once(h: Harness) -> None:
    week_start = utc(2026, 10, 19, 7, 0)  # Mon 19 Oct 09:00 CEST
    for i, (customer, ack_minutes) in enumerate(
        [("ACME", 3), ("ACME", 5), ("acme", 40), ("Globex", 8), ("Globex", 9), (None, 2)]
    ):
        first = week_start + timedelta(hours=10 * i + 1)
        add_alert(
            h,
            f"alert {i}",
            first_seen=first,
            acked=first + timedelta(minutes=ack_minutes),
            resolved=first + timedelta(hours=1),
            customer=customer,
            escalated=first + timedelta(minutes=1) if ack_minutes > 10 else None,
        )
    add_alert(h, "before the week", first_seen=week_start - timedelta(minutes=1))
    h.clock.set(MONDAY_DIGEST)
    planner = planner_of(h)
    assert await planner.run_digest(MONDAY_DIGEST) == "sent"
    assert await planner.run_digest(MONDAY_DIGEST) == "taken"
    (dm,) = h.dm_texts("U0CEO")
    assert "Weekly on-call digest: Mon 19 Oct 2026 – Mon 26 Oct 2026" in dm
    assert "*Customer support*: 6 alerts · 6 resolved · 1 escalation" in dm
    assert "Time to acknowledge: worst 40 min, 90th percentile 40 min (over 6" in dm
    assert "Repeat contacts (more than two alerts): *ACME* (3 alerts)" in dm
    assert "Globex" not in dm
    assert "From Mon 19 Oct 09:00 to Mon 26 Oct 09:00 (Paris time)." in dm
    assert claim_rows(h) == [("*", "digest", MONDAY_DIGEST, "sent")]
    h.assert_all_valid()


async def test_catch_up_posts_a_recent_missed_handover_late_and_skips_older_ones(
    h: Harness,
) -> None:
    ran_since(h, FRIDAY_MORNING - timedelta(days=2))
    h.clock.set(FRIDAY_EVENING + timedelta(minutes=20))
    planner = planner_of(h)
    planner.started_at = h.now()
    await planner.catch_up()
    (text,) = handover_posts(h)
    assert text.startswith("Handover in Customer support: <@U0DAN> → <@U0ALICE> (posted late)")
    assert ":hourglass: Posted late: the bot was down at 18:00 on Fri 23 Oct (Paris time)." in text
    # The morning's hand-off (gap → U0DAN, nine hours ago) is too old: logged and skipped.
    assert claim_rows(h, "handover") == [
        ("support", "handover", FRIDAY_MORNING, "skipped"),
        ("support", "handover", FRIDAY_EVENING, "late"),
    ]
    # A second start finds nothing left to do.
    await planner.catch_up()
    assert len(handover_posts(h)) == 1


async def test_a_first_start_posts_nothing_from_before_it_and_a_restart_catches_up(
    h: Harness,
) -> None:
    # A new install started 20 minutes after Friday evening's hand-off: it was not missed.
    first = FRIDAY_EVENING + timedelta(minutes=20)
    h.clock.set(first)
    planner = planner_of(h)
    planner.started_at = first
    await planner.catch_up()
    assert handover_posts(h) == []
    assert claim_rows(h) == [("*", claims.FIRST_START, datetime(1970, 1, 1, tzinfo=UTC), None)]
    # Down from Monday morning; back 20 minutes after Monday evening's hand-off.
    back = MONDAY_EVENING + timedelta(minutes=20)
    h.clock.set(back)
    planner.started_at = back
    await planner.catch_up()
    (text,) = handover_posts(h)
    assert text.startswith("Handover in Customer support: <@U0ERIN> → nobody (posted late)")
    assert claim_rows(h, "handover") == [
        ("support", "handover", utc(2026, 10, 26, 8, 0), "skipped"),
        ("support", "handover", MONDAY_EVENING, "late"),
    ]


async def test_a_first_start_sends_no_digest_from_before_it(h: Harness) -> None:
    h.clock.set(MONDAY_DIGEST + timedelta(minutes=10))
    planner = planner_of(h)
    planner.started_at = h.now()
    await planner.catch_up()
    assert h.dm_texts("U0CEO") == []
    assert claim_rows(h, "digest") == []


async def test_catch_up_that_cannot_read_the_first_start_posts_nothing_and_says_why(
    h: Harness, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def away(**_: object) -> datetime:
        raise OperationalError("SELECT", {}, Exception("database is away"))

    monkeypatch.setattr(claims, "first_start", away)
    h.clock.set(FRIDAY_EVENING + timedelta(minutes=20))
    planner = planner_of(h)
    planner.started_at = h.now()
    await planner.catch_up()
    assert handover_posts(h) == []
    assert "reading the bot's first start failed: no catching up" in caplog.text


async def test_catch_up_skips_a_handover_more_than_an_hour_old(h: Harness) -> None:
    ran_since(h, FRIDAY_MORNING - timedelta(days=2))
    h.clock.set(FRIDAY_EVENING + timedelta(hours=1, minutes=1))
    planner = planner_of(h)
    planner.started_at = h.now()
    await planner.catch_up()
    assert handover_posts(h) == []
    assert ("support", "handover", FRIDAY_EVENING, "skipped") in claim_rows(h)


async def test_catch_up_sends_a_missed_digest_late(h: Harness) -> None:
    ran_since(h, FRIDAY_MORNING - timedelta(days=2))
    h.clock.set(MONDAY_DIGEST + timedelta(minutes=10))
    planner = planner_of(h)
    planner.started_at = h.now()
    await planner.catch_up()
    (dm,) = h.dm_texts("U0CEO")
    assert "Sent late: the bot was down at 09:00 (Paris time)." in dm
    assert ("*", "digest", MONDAY_DIGEST, "late") in claim_rows(h)


FOUR_HOURLY = """\
timezone: Europe/Paris
teams:
  support:
    name: Customer support
    channel: C0SUPPORT
    usergroup: S0ONCALL
    rotations:
      - name: round the clock
        members: [U0ALICE, U0BOB, U0CAROL]
        start: 2026-10-23 00:00
        every: 4h
"""
# Every 4 hours from Fri 23 Oct 04:00 in Paris (summer time: UTC+2).
HANDOFFS = [utc(2026, 10, 23, 2) + timedelta(hours=4 * k) for k in range(6)]


def refusals(h: Harness, caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.levelname == "ERROR" and r.getMessage().startswith("user group")
    ]


@pytest.mark.parametrize(
    ("workspace", "error"),
    [
        ({"plan": "free"}, "plan_upgrade_required"),
        ({"usergroups_admins_only": True}, "permission_denied"),
    ],
)
async def test_a_refused_user_group_is_said_once_then_tried_after_a_reload_or_a_day(
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    workspace: dict[str, object],
    error: str,
) -> None:
    async with slack_harness(FOUR_HOURLY, tmp_path=tmp_path, now=HANDOFFS[0]) as h:
        h.standin.add_usergroup("S0ONCALL", "oncall-support")
        h.standin.add_usergroup("S0PAGER", "pager")
        for name, value in workspace.items():
            setattr(h.standin, name, value)
        planner = planner_of(h)

        async def handover(at: datetime) -> None:
            h.clock.set(at)
            assert await planner.run_handover("support", at) == "sent"

        # Three handovers in a row: one try, one error line.
        for at in HANDOFFS[:3]:
            await handover(at)
        assert len(h.standin.calls_to("usergroups.users.update")) == 1
        (said,) = refusals(h, caplog)
        assert said.startswith("user group cannot be kept: Slack refuses it")
        (record,) = [r for r in caplog.records if r.getMessage() == said]
        assert record.__dict__["error"].endswith(error)
        assert len(handover_posts(h)) == 3  # the posts themselves go on

        # The setup now names another group: tried at the next handover.
        setup = tmp_path / "oncall.yaml"
        setup.write_text(FOUR_HOURLY.replace("S0ONCALL", "S0PAGER"))
        assert await h.services.reloader.reload("test") is None
        await handover(HANDOFFS[3])
        await handover(HANDOFFS[4])
        calls = h.standin.calls_to("usergroups.users.update")
        assert [c.args["usergroup"] for c in calls] == ["S0ONCALL", "S0PAGER"]
        assert len(refusals(h, caplog)) == 2

        # A day after that refusal: tried once more (the plan may have been upgraded).
        h.standin.plan, h.standin.usergroups_admins_only = "pro", False
        day_later = HANDOFFS[3] + timedelta(days=1)
        await handover(day_later)
        await handover(day_later + timedelta(hours=4))
        assert len(h.standin.calls_to("usergroups.users.update")) == 4
        assert h.standin.usergroup_history("S0PAGER") == [["U0BOB"], ["U0CAROL"]]
        assert len(refusals(h, caplog)) == 2
