"""The digest's numbers and message: worst and 90th-percentile time to acknowledge, repeat
customers, the weekly instant across DST, and the DM leadership reads on Monday."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.handovers.digest import (
    RepeatCustomer,
    next_digest,
    percentile,
    repeat_customers,
    shift_report,
    team_week,
    week_before,
    worst,
)
from bot.plan.model import Digest
from bot.schedule.timefmt import duration_text
from bot.slack.blocks.handover import DigestSummary, digest_message
from storage.alert_stats import Activity, AlertFacts
from tests.harness import message_text, validate_blocks

PARIS = ZoneInfo("Europe/Paris")
T0 = datetime(2026, 11, 16, 8, 0, tzinfo=UTC)  # Monday 16 November 2026, 09:00 in Paris


def minutes(*values: float) -> list[timedelta]:
    return [timedelta(minutes=v) for v in values]


def alert(
    n: int,
    *,
    customer: str | None = None,
    ack_after: timedelta | None = None,
    first_seen: datetime = T0,
) -> AlertFacts:
    return AlertFacts(
        id=n,
        title=f"Alert {n}",
        severity="error",
        customer=customer,
        first_seen=first_seen,
        acknowledged_at=None if ack_after is None else first_seen + ack_after,
        acknowledged_by=None if ack_after is None else "U0ALICE",
    )


# --- percentiles and the worst case -----------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "pct", "expected"),
    [
        (minutes(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 90, 9),  # 9 of 10 are within 9 min
        (minutes(10, 9, 8, 7, 6, 5, 4, 3, 2, 1), 90, 9),  # order does not matter
        (minutes(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11), 90, 10),  # ceil(9.9) = 10th value
        (minutes(4), 90, 4),
        (minutes(3, 30), 90, 30),
        (minutes(3, 30), 50, 3),
        (minutes(5, 1, 2), 100, 5),
    ],
)
def test_percentile_is_the_nearest_rank(values: list[timedelta], pct: float, expected: int) -> None:
    assert percentile(values, pct) == timedelta(minutes=expected)


def test_percentile_and_worst_of_nothing_are_none() -> None:
    assert percentile([], 90) is None
    assert worst([]) is None


@pytest.mark.parametrize("pct", [0, -5, 100.5])
def test_percentile_refuses_a_rank_outside_0_100(pct: float) -> None:
    with pytest.raises(ValueError, match="percentile must be in"):
        percentile(minutes(1, 2), pct)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.integers(min_value=0, max_value=10**6), min_size=1, max_size=60),
    st.floats(min_value=1, max_value=100),
)
def test_percentile_is_a_real_value_bounding_enough_of_them(seconds: list[int], pct: float) -> None:
    values = [timedelta(seconds=s) for s in seconds]
    found = percentile(values, pct)
    assert found in values
    at_most = sum(1 for v in values if v <= found)
    below = sum(1 for v in values if v < found)
    # At least pct% are within it, and fewer than pct% are strictly below it.
    assert at_most >= pct / 100 * len(values) - 1e-9
    assert below < pct / 100 * len(values)
    assert worst(values) == max(values)


# --- repeat customers -------------------------------------------------------------------------


def test_customers_with_more_than_two_alerts_are_repeat_contacts() -> None:
    customers = ["ACME", "Globex", "acme ", None, "Initech", "Acme", "globex", "", "Globex", "ACME"]
    assert repeat_customers(customers) == (
        RepeatCustomer("ACME", 4),
        RepeatCustomer("Globex", 3),
    )


def test_exactly_two_alerts_is_not_a_repeat_contact() -> None:
    assert repeat_customers(["Initech", "Initech", "Umbrella"]) == ()


def test_repeat_contacts_tie_in_name_order() -> None:
    names = ["zeta", "Alpha", "zeta", "alpha", "zeta", "ALPHA"]
    assert [c.name for c in repeat_customers(names)] == ["Alpha", "zeta"]


# --- durations ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("delta", "text"),
    [
        (timedelta(seconds=0), "0 s"),
        (timedelta(seconds=45), "45 s"),
        (timedelta(seconds=59.6), "1 min"),
        (timedelta(minutes=12, seconds=29), "12 min"),
        (timedelta(hours=1), "1 h"),
        (timedelta(hours=2, minutes=5), "2 h 05 min"),
        (timedelta(days=1), "1 d"),
        (timedelta(days=3, hours=4, minutes=20), "3 d 4 h"),
        (timedelta(seconds=-5), "0 s"),
    ],
)
def test_durations_read_as_people_say_them(delta: timedelta, text: str) -> None:
    assert duration_text(delta) == text


# --- reports ------------------------------------------------------------------------------------


def test_shift_report_counts_and_keeps_the_worst_time_to_acknowledge() -> None:
    raised = (alert(1, ack_after=timedelta(minutes=3)), alert(2), alert(3))
    acked = (
        raised[0],
        alert(9, ack_after=timedelta(minutes=41), first_seen=T0 - timedelta(hours=2)),
    )
    report = shift_report(
        Activity(T0, T0 + timedelta(days=1), raised, acked, resolved=2, escalations=5)
    )
    assert (report.alerts, report.resolved, report.escalations) == (3, 2, 5)
    assert report.worst_ack == timedelta(minutes=41)


def test_team_week_numbers() -> None:
    acks = minutes(1, 2, 2, 3, 4, 5, 6, 7, 30, 95)
    raised = tuple(
        alert(i, ack_after=ack, customer="ACME" if i < 3 else None) for i, ack in enumerate(acks)
    ) + (alert(50, customer="acme"), alert(51, customer="Globex"))
    week = team_week(
        "support",
        "Customer support",
        Activity(T0, T0 + timedelta(days=7), raised, raised[:10], resolved=9, escalations=4),
    )
    assert week.alerts == 12
    assert week.acknowledged == 10
    assert week.worst_ack == timedelta(minutes=95)
    assert week.p90_ack == timedelta(minutes=30)
    assert week.repeat_customers == (RepeatCustomer("ACME", 4),)


# --- when the digest goes out -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("after", "expected"),
    [
        # Sunday evening in Paris → Monday 09:00 CET.
        (datetime(2026, 11, 22, 20, 0, tzinfo=UTC), datetime(2026, 11, 23, 8, 0, tzinfo=UTC)),
        # Exactly at a digest: the next one, a week later.
        (datetime(2026, 11, 23, 8, 0, tzinfo=UTC), datetime(2026, 11, 30, 8, 0, tzinfo=UTC)),
        # A minute before.
        (datetime(2026, 11, 23, 7, 59, tzinfo=UTC), datetime(2026, 11, 23, 8, 0, tzinfo=UTC)),
        # Summer time: Monday 09:00 CEST is 07:00 UTC.
        (datetime(2027, 3, 27, 12, 0, tzinfo=UTC), datetime(2027, 3, 29, 7, 0, tzinfo=UTC)),
    ],
)
def test_the_digest_is_monday_nine_in_the_leadership_zone(
    after: datetime, expected: datetime
) -> None:
    assert next_digest(Digest(), PARIS, after) == expected


def test_the_digest_day_time_and_zone_are_configurable() -> None:
    friday_five_in_new_york = Digest(weekday=4, at=time(17, 0))
    at = next_digest(friday_five_in_new_york, ZoneInfo("America/New_York"), T0)
    assert at == datetime(2026, 11, 20, 22, 0, tzinfo=UTC)


def test_a_week_across_the_spring_change_is_an_hour_short() -> None:
    end = datetime(2027, 3, 29, 7, 0, tzinfo=UTC)  # Monday 09:00 CEST
    start = week_before(end, PARIS)
    assert start == datetime(2027, 3, 22, 8, 0, tzinfo=UTC)  # Monday 09:00 CET
    assert end - start == timedelta(days=7) - timedelta(hours=1)


def test_a_digest_weekday_out_of_range_is_refused() -> None:
    with pytest.raises(ValueError, match="weekday must be 0"):
        next_digest(Digest(weekday=7), PARIS, T0)


# --- the message --------------------------------------------------------------------------------


def test_digest_message_per_team() -> None:
    acks = minutes(2, 4, 6, 8, 10, 12, 14, 16, 18, 25)
    raised = tuple(alert(i, ack_after=a, customer="ACME") for i, a in enumerate(acks[:3]))
    raised += tuple(alert(10 + i, ack_after=a) for i, a in enumerate(acks[3:]))
    support = team_week(
        "support",
        "Customer support",
        Activity(T0, T0 + timedelta(days=7), raised, raised, resolved=8, escalations=3),
    )
    quiet = team_week("infra", "Infrastructure", Activity(T0, T0 + timedelta(days=7)))
    end = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
    msg = digest_message(
        DigestSummary(start=end - timedelta(days=7), end=end, zone=PARIS, teams=(support, quiet))
    )
    validate_blocks(msg["blocks"])
    text = message_text(msg)
    assert "Weekly on-call digest: Mon 16 Nov 2026 – Mon 23 Nov 2026" in text
    assert "*Customer support*: 10 alerts · 8 resolved · 3 escalations" in text
    assert "worst 25 min, 90th percentile 18 min (over 10 acknowledged alerts)" in text
    assert "Repeat contacts (more than two alerts): *ACME* (3 alerts)" in text
    assert "*Infrastructure*: a quiet week — no alerts." in text
    assert "From Mon 16 Nov 09:00 to Mon 23 Nov 09:00 (Paris time)." in text
    assert "late" not in text.lower()


def test_digest_message_says_when_it_is_late_and_escapes_customer_names() -> None:
    raised = tuple(alert(i, customer="R&D <lab>") for i in range(3))
    week = team_week("support", "Support", Activity(T0, T0, raised, (), resolved=0, escalations=0))
    end = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
    msg = digest_message(
        DigestSummary(start=end - timedelta(days=7), end=end, zone=PARIS, teams=(week,), late=True)
    )
    validate_blocks(msg["blocks"])
    text = message_text(msg)
    assert "Sent late: the bot was down at 09:00 (Paris time)." in text
    assert "*R&amp;D &lt;lab&gt;* (3 alerts)" in text
    assert "no alert was acknowledged this week" in text
