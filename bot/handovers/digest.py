"""What a span of time saw, in the numbers people read: alerts, resolved, escalations, the worst
and the 90th-percentile time to acknowledge, and the customers who keep coming back.

Pure: everything here is computed from facts already loaded; nothing reads the clock.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from bot.plan.model import Digest
from bot.schedule.engine import resolve_wall

if TYPE_CHECKING:
    from storage.alert_stats import Activity

# A customer who raised more alerts than this in a week is a repeat contact: something is
# wrong at the root, not just on the day.
REPEAT_THRESHOLD = 2


@dataclass(frozen=True)
class ShiftReport:
    """What a shift saw, as the handover post says it."""

    alerts: int
    resolved: int
    escalations: int
    worst_ack: timedelta | None  # None: nothing was acknowledged during the shift


@dataclass(frozen=True)
class RepeatCustomer:
    name: str
    alerts: int


@dataclass(frozen=True)
class TeamWeek:
    """One team's week, as the digest says it."""

    team: str
    name: str
    alerts: int
    resolved: int
    escalations: int
    worst_ack: timedelta | None
    p90_ack: timedelta | None
    acknowledged: int
    repeat_customers: tuple[RepeatCustomer, ...]


def worst(values: Iterable[timedelta]) -> timedelta | None:
    """The longest of the values (None when there are none)."""
    return max(values, default=None)


def percentile(values: Sequence[timedelta], pct: float) -> timedelta | None:
    """The ``pct``-th percentile by nearest rank: the smallest value that at least ``pct``
    percent of the values do not exceed (None when there are no values)."""
    if not 0 < pct <= 100:
        raise ValueError(f"percentile must be in (0, 100], got {pct}")
    if not values:
        return None
    ordered = sorted(values)
    # Nearest rank keeps the answer one of the real values: "90% were acknowledged within 12
    # min" names a time somebody actually took.
    rank = math.ceil(pct / 100 * len(ordered))
    return ordered[rank - 1]


def repeat_customers(
    customers: Iterable[str | None], more_than: int = REPEAT_THRESHOLD
) -> tuple[RepeatCustomer, ...]:
    """Customers named by more than ``more_than`` alerts, most alerts first.

    Names are compared without case and surrounding spaces ("ACME " and "acme" are one
    customer); the spelling shown is the first one seen.
    """
    counts: Counter[str] = Counter()
    spelling: dict[str, str] = {}
    for customer in customers:
        if customer is None or not customer.strip():
            continue
        key = customer.strip().casefold()
        spelling.setdefault(key, customer.strip())
        counts[key] += 1
    found = [RepeatCustomer(spelling[key], n) for key, n in counts.items() if n > more_than]
    return tuple(sorted(found, key=lambda c: (-c.alerts, c.name.casefold())))


def _ack_times(activity: Activity) -> list[timedelta]:
    return [t for a in activity.acknowledged if (t := a.time_to_acknowledge) is not None]


def shift_report(activity: Activity) -> ShiftReport:
    """The handover's summary of a shift: alerts, resolved, escalations, worst time to ack."""
    return ShiftReport(
        alerts=len(activity.raised),
        resolved=activity.resolved,
        escalations=activity.escalations,
        worst_ack=worst(_ack_times(activity)),
    )


def team_week(team: str, name: str, activity: Activity) -> TeamWeek:
    """The digest's numbers for one team's week."""
    times = _ack_times(activity)
    return TeamWeek(
        team=team,
        name=name,
        alerts=len(activity.raised),
        resolved=activity.resolved,
        escalations=activity.escalations,
        worst_ack=worst(times),
        p90_ack=percentile(times, 90),
        acknowledged=len(times),
        repeat_customers=repeat_customers(a.customer for a in activity.raised),
    )


def digest_zone(digest: Digest, plan_zone: ZoneInfo) -> ZoneInfo:
    """The zone the digest's wall time is read in: its own, else the plan's."""
    return digest.timezone or plan_zone


def next_digest(digest: Digest, zone: ZoneInfo, after: datetime) -> datetime:
    """The first digest instant strictly after ``after``: the weekday and wall time in ``zone``
    (a wall time skipped by DST moves to the change, like hand-offs)."""
    if not 0 <= digest.weekday <= 6:
        raise ValueError(f"digest weekday must be 0 (Monday) to 6 (Sunday), got {digest.weekday}")
    local = after.astimezone(zone)
    day = local.date() + timedelta(days=(digest.weekday - local.weekday()) % 7)
    while True:
        at = resolve_wall(datetime.combine(day, digest.at), zone)
        if at > after:
            return at
        day += timedelta(days=7)


def week_before(instant: datetime, zone: ZoneInfo) -> datetime:
    """The start of the digest week that ends at ``instant``: the same wall time seven days
    earlier (a DST change makes that week an hour shorter or longer)."""
    wall = instant.astimezone(zone).replace(tzinfo=None)
    return resolve_wall(wall - timedelta(days=7), zone)
