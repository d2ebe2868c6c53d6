"""Properties of the schedule engine on random teams, checked against a brute-force holder."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.plan.model import Every, Layer, Team, Window
from bot.schedule.engine import (
    Override,
    Role,
    _estimate_index,
    holder,
    layer_shift_at,
    next_change,
    shifts,
    who,
)

ZONES = [
    ZoneInfo(key) for key in ("Europe/Paris", "America/New_York", "Australia/Lord_Howe", "UTC")
]
# Days on or next to a DST change in one of the zones, so that random teams meet them often.
ANCHORS = [
    datetime(2026, 3, 8),
    datetime(2026, 3, 29),
    datetime(2026, 4, 5),
    datetime(2026, 10, 4),
    datetime(2026, 10, 25),
    datetime(2026, 11, 1),
]
MEMBERS = ["U0A", "U0B", "U0C", "U0D"]
WEEK_MINUTES = 7 * 1440
TINY = timedelta(microseconds=1)
# The engine looks 35 days ahead at the most; the brute force lists shifts a day further.
PAST_THE_HORIZON = timedelta(days=36)


def brute_resolve(naive: datetime, tz: ZoneInfo) -> datetime:
    """The first wall minute at or after ``naive`` that exists in ``tz``, its first occurrence."""
    candidate = naive
    while True:
        aware = candidate.replace(tzinfo=tz, fold=0)
        if aware.astimezone(UTC).astimezone(tz).replace(tzinfo=None) == candidate:
            return aware.astimezone(UTC)
        candidate += timedelta(minutes=1)


@dataclass
class BruteLayer:
    """A layer with all its shift starts up to a limit listed out, the slow and obvious way."""

    layer: Layer
    starts: list[datetime]

    @classmethod
    def build(cls, layer: Layer, until: datetime) -> BruteLayer:
        starts: list[datetime] = []
        k = 0
        while True:
            starts.append(brute_resolve(layer.start + layer.every.wall_delta(k), layer.timezone))
            if starts[-1] > until:
                return cls(layer, starts)
            k += 1

    def index(self, at: datetime) -> int | None:
        """The shift index at ``at`` (None before the start)."""
        position = bisect_right(self.starts, at)
        return None if position == 0 else position - 1

    def holder(self, at: datetime) -> str | None:
        k = self.index(at)
        if k is None:
            return None
        local = at.astimezone(self.layer.timezone)
        minute = local.weekday() * 1440 + local.hour * 60 + local.minute
        if self.layer.only and not any(w.contains(minute) for w in self.layer.only):
            return None
        return self.layer.members[k % len(self.layer.members)]


def brute_layers(layers: Iterable[Layer], until: datetime) -> list[BruteLayer]:
    return [BruteLayer.build(layer, until) for layer in layers]


def brute_holder(
    layers: list[BruteLayer], overrides: list[Override], at: datetime, role: Role = "oncall"
) -> str | None:
    """Who holds the pager at ``at``: the last covering override, else the first active layer."""
    for override in reversed(overrides):
        if override.role == role and override.start <= at < override.end:
            return override.user
    for layer in layers:
        holder = layer.holder(at)
        if holder is not None:
            return holder
    return None


def brute_backup(
    pager: list[BruteLayer], backup: list[BruteLayer], overrides: list[Override], at: datetime
) -> str | None:
    """Who backs up the pager holder at ``at``: the backup's holder, unless that is the pager
    holder, then the next member of the backup layer in force who is not, from the one whose
    turn it is."""
    user = brute_holder(backup, overrides, at, "backup")
    busy = brute_holder(pager, overrides, at)
    if user is None or user != busy:
        return user
    for layer in backup:
        k = layer.index(at)
        if k is not None and layer.holder(at) is not None:
            members = layer.layer.members
            turns = [members[(k + step) % len(members)] for step in range(len(members))]
            return next((m for m in turns if m != busy), None)
    return None


@st.composite
def layers(draw: st.DrawFn, zone: ZoneInfo, anchor: datetime) -> Layer:
    unit = draw(st.sampled_from(["h", "d", "w"]))
    count = draw({"h": st.integers(1, 36), "d": st.integers(1, 3), "w": st.integers(1, 2)}[unit])
    windows = draw(
        st.lists(
            st.tuples(
                st.integers(0, WEEK_MINUTES // 10 - 1), st.integers(0, WEEK_MINUTES // 10 - 1)
            )
            .filter(lambda pair: pair[0] != pair[1])
            .map(lambda pair: Window(pair[0] * 10, pair[1] * 10)),
            max_size=2,
        )
    )
    start = anchor + timedelta(
        days=draw(st.integers(-10, 10)),
        hours=draw(st.integers(0, 23)),
        minutes=draw(st.sampled_from([0, 10, 30, 45])),
    )
    return Layer(
        name=draw(st.sampled_from(["primary", "secondary", "nights"])),
        members=tuple(draw(st.lists(st.sampled_from(MEMBERS), min_size=1, max_size=4))),
        start=start,
        every=Every(count, unit),  # type: ignore[arg-type]
        timezone=zone,
        only=tuple(windows),
    )


Scenario = tuple[Team, list[Override], datetime, datetime]


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    """A random team near a DST change, random overrides, and a range to look at."""
    zone = draw(st.sampled_from(ZONES))
    anchor = draw(st.sampled_from(ANCHORS))
    rotations = tuple(draw(st.lists(layers(zone, anchor), min_size=1, max_size=3)))
    anchor_instant = anchor.replace(tzinfo=UTC)
    overrides = [
        Override(
            user=draw(st.sampled_from([*MEMBERS, "U0X"])),
            start=(
                begin := anchor_instant + timedelta(minutes=10 * draw(st.integers(-2000, 2000)))
            ),
            end=begin + timedelta(minutes=10 * draw(st.integers(1, 432))),
            source=draw(st.sampled_from(["swap", "cover", "override"])),
            role=draw(st.sampled_from(["oncall", "oncall", "backup"])),
        )
        for _ in range(draw(st.integers(0, 4)))
    ]
    start = anchor_instant + timedelta(minutes=draw(st.integers(-15 * 1440, 15 * 1440)))
    end = start + timedelta(minutes=draw(st.integers(1, 21 * 1440)))
    team = Team(id="t", name="T", channel="C0T", timezone=zone, rotations=rotations)
    return team, overrides, start, end


@st.composite
def moments(draw: st.DrawFn) -> tuple[Team, list[Override], datetime]:
    """A scenario's team and overrides, and an instant in its range, either end included."""
    team, overrides, start, end = draw(scenarios())
    return team, overrides, start + (end - start) * draw(st.floats(0, 1))


def spots(max_size: int) -> st.SearchStrategy[list[float]]:
    """Where to look in a range: fractions of its length from its start, short of its end."""
    return st.lists(st.floats(0, 1, exclude_max=True), max_size=max_size)


@settings(max_examples=150, deadline=None)
@given(scenarios(), spots(20))
def test_shifts_partition_the_range_and_match_the_brute_force(
    scenario: Scenario, samples: list[float]
) -> None:
    team, overrides, start, end = scenario
    found = shifts(team, overrides, start, end)
    brute = brute_layers(team.rotations, end)

    # A partition of [start, end): sorted, contiguous, non-empty pieces.
    assert found[0].start == start
    assert found[-1].end == end
    assert all(s.start < s.end for s in found)
    assert all(a.end == b.start for a, b in zip(found, found[1:], strict=False))
    # Maximal: the pager changes hands at every boundary.
    assert all(a.user != b.user for a, b in zip(found, found[1:], strict=False))

    # Rounding can carry a fraction just under 1 onto ``end`` itself, which is outside the range.
    instants = [min(start + (end - start) * f, end - TINY) for f in samples]
    for shift in found:
        instants += [shift.start, shift.start + (shift.end - shift.start) / 2, shift.end - TINY]
    for instant in instants:
        shift = next(s for s in found if s.start <= instant < s.end)
        assert shift.user == brute_holder(brute, overrides, instant), instant
        if shift.user is None:
            # A gap only where no layer is active and no override applies.
            assert shift.source == "gap"
            assert all(layer.holder(instant) is None for layer in brute)
            assert not any(o.role == "oncall" and o.start <= instant < o.end for o in overrides)
        else:
            assert shift.source != "gap"


@settings(max_examples=100, deadline=None)
@given(moments())
def test_who_bounds_are_where_the_holder_changes(
    moment: tuple[Team, list[Override], datetime],
) -> None:
    team, overrides, instant = moment
    holding = who(team, overrides, instant)
    brute = brute_layers(team.rotations, instant + PAST_THE_HORIZON)
    assert holding.user == brute_holder(brute, overrides, instant)
    if holding.since is not None:
        assert holding.since <= instant
        assert brute_holder(brute, overrides, holding.since) == holding.user
        assert brute_holder(brute, overrides, holding.since - TINY) != holding.user
    if holding.until is not None:
        assert holding.until > instant
        assert brute_holder(brute, overrides, holding.until - TINY) == holding.user
        assert brute_holder(brute, overrides, holding.until) != holding.user


@settings(max_examples=100, deadline=None)
@given(moments())
def test_next_change_is_the_first_change_of_holder(
    moment: tuple[Team, list[Override], datetime],
) -> None:
    team, overrides, after = moment
    change = next_change(team, overrides, after)
    brute = brute_layers(team.rotations, after + PAST_THE_HORIZON)
    holder = brute_holder(brute, overrides, after)
    if change is None:
        return
    assert change > after
    assert brute_holder(brute, overrides, change) != holder
    assert brute_holder(brute, overrides, change - TINY) == holder
    # No change in between either: the whole of [after, change) is one holder.
    assert shifts(team, overrides, after, change)[0].end == change


@settings(max_examples=150, deadline=None)
@given(
    st.sampled_from(ZONES),
    st.sampled_from(ANCHORS),
    st.sampled_from([Every(1, "h"), Every(12, "h"), Every(1, "d"), Every(2, "d"), Every(1, "w")]),
    st.integers(0, 15 * 365 * 24 * 60),
)
def test_shift_index_is_found_next_to_the_wall_clock_estimate(
    zone: ZoneInfo, anchor: datetime, every: Every, minutes: int
) -> None:
    # The cost of a lookup does not grow with the rotation's age: the index read off the wall
    # clock is never more than one shift away from the right one, even years later.
    layer = Layer("r", ("U0A", "U0B", "U0C"), anchor + timedelta(hours=2), every, zone)
    instant = brute_resolve(layer.start, zone) + timedelta(minutes=minutes)
    found = layer_shift_at(layer, instant)
    assert found is not None
    k, begins, ends = found
    assert abs(k - _estimate_index(layer, instant)) <= 1
    assert begins <= instant < ends
    assert begins == brute_resolve(layer.start + every.wall_delta(k), zone)
    assert ends == brute_resolve(layer.start + every.wall_delta(k + 1), zone)


@settings(max_examples=150, deadline=None)
@given(scenarios(), spots(10))
def test_holder_at_an_instant_is_the_holder_of_its_shift(
    scenario: Scenario, samples: list[float]
) -> None:
    # Paging asks holder() alone; it must name whoever who() and shifts() name, at hand-offs,
    # override edges and DST changes included, for the pager and for the backup.
    team, overrides, start, end = scenario
    team = replace(team, backup=team.rotations[-1:])
    instants = [start + (end - start) * f for f in samples]
    for shift in shifts(team, overrides, start, end):
        instants += [shift.start, shift.end - TINY]
    for override in overrides:
        instants += [override.start - TINY, override.start, override.end - TINY, override.end]
    pager = brute_layers(team.rotations, end + PAST_THE_HORIZON)
    backups = brute_layers(team.backup, end + PAST_THE_HORIZON)
    for instant in instants:
        assert holder(team, overrides, instant) == who(team, overrides, instant).user, instant
        assert holder(team, overrides, instant, "backup") == brute_backup(
            pager, backups, overrides, instant
        ), instant


@settings(max_examples=150, deadline=None)
@given(scenarios(), spots(10), st.booleans())
def test_the_backup_is_never_the_pager_holder(
    scenario: Scenario, samples: list[float], shared: bool
) -> None:
    # A backup layer of the same people as a pager layer (or one of them) meets the pager
    # often; the backup's schedule then names the next of its members, or nobody.
    team, overrides, start, end = scenario
    backup = team.rotations[-1] if shared else replace(team.rotations[0], members=("U0A", "U0B"))
    team = replace(team, backup=(backup,))
    found = shifts(team, overrides, start, end, "backup")
    assert found[0].start == start and found[-1].end == end
    assert all(
        a.end == b.start and a.user != b.user for a, b in zip(found, found[1:], strict=False)
    )

    pager = brute_layers(team.rotations, end + PAST_THE_HORIZON)
    backups = brute_layers([backup], end + PAST_THE_HORIZON)
    instants = [min(start + (end - start) * f, end - TINY) for f in samples]
    for shift in found:
        instants += [shift.start, shift.end - TINY]
    for instant in instants:
        shift = next(s for s in found if s.start <= instant < s.end)
        assert shift.user == brute_backup(pager, backups, overrides, instant), instant
        if shift.user is not None:
            assert shift.user != brute_holder(pager, overrides, instant), instant
        holding = who(team, overrides, instant, "backup")
        assert holding.user == shift.user
        if holding.since is not None:
            assert brute_backup(pager, backups, overrides, holding.since - TINY) != shift.user
