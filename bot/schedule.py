"""The schedule engine: who holds the pager at an instant, and the final schedule over a range.

Pure: every function takes the instant(s) it needs; nothing here reads the clock.

Hand-offs keep their local wall time: shift k of a layer starts at the wall time
``start + k * every`` in the layer's zone, resolved to an instant by :func:`resolve_wall`
(a wall time skipped by a DST change moves to the change itself, one that happens twice means
the first). Finding the shift of an instant costs the same ten years after the start as a week
after: the index comes from one division on the wall clock, corrected by at most a step or two.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from bot.plan import Layer, Team

Role = Literal["oncall", "backup"]

# How far who(), next_shift() and next_change() look around an instant. Lookups try the short
# spans first so that the common answer (a change within a day or two) stays cheap.
HORIZON = timedelta(days=35)
_LOOKS = (timedelta(days=2), timedelta(days=9), HORIZON)

_MINUTES_PER_DAY = 24 * 60
_WEEK = timedelta(weeks=1)
_SLACK = timedelta(days=1)
INSTANT = timedelta(microseconds=1)  # the finest step of a datetime


@dataclass(frozen=True)
class Override:
    """A runtime change to the plan: ``user`` holds the pager (or backup) over [start, end)."""

    user: str
    start: datetime  # UTC-aware
    end: datetime  # UTC-aware, exclusive
    source: str  # "swap" | "cover" | "override"
    role: Role = "oncall"
    id: int | None = None


@dataclass(frozen=True)
class Shift:
    """A maximal span held by one person (``user`` None: a gap)."""

    user: str | None
    start: datetime  # UTC-aware
    end: datetime  # UTC-aware, exclusive
    source: str  # "rotation:<name>" | "swap" | "cover" | "override" | "gap"


@dataclass(frozen=True)
class Holding:
    """Who holds a role at an instant, since and until when (None where unbounded)."""

    user: str | None
    since: datetime | None
    until: datetime | None
    source: str


# --- wall clock ------------------------------------------------------------------------------


def _aware(value: datetime, what: str) -> datetime:
    """``value`` as a UTC instant; a naive datetime is refused, naming ``what``."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware, got naive {value.isoformat()}")
    return value.astimezone(UTC)


def _transition(before: datetime, after: datetime, tz: ZoneInfo) -> datetime:
    """The instant in (before, after] where the UTC offset of ``tz`` changes to that at ``after``.

    The caller guarantees exactly one change of offset in that span; zone changes fall on whole
    seconds, so a bisection over whole seconds finds it exactly in a bounded number of steps.
    """
    target = after.astimezone(tz).utcoffset()
    lo = math.floor(before.timestamp())
    hi = math.ceil(after.timestamp())
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if datetime.fromtimestamp(mid, tz).utcoffset() == target:
            hi = mid
        else:
            lo = mid
    return datetime.fromtimestamp(hi, UTC)


def resolve_wall(naive: datetime, tz: ZoneInfo) -> datetime:
    """The UTC instant of a wall time in ``tz``: skipped times move to the change, doubled ones
    mean the first."""
    if naive.tzinfo is not None:
        raise ValueError(f"resolve_wall takes a naive wall time, got {naive.isoformat()}")
    first = naive.replace(tzinfo=tz, fold=0).astimezone(UTC)
    second = naive.replace(tzinfo=tz, fold=1).astimezone(UTC)
    if first <= second:
        # Equal for an ordinary time; fold=0 is the earlier reading of a doubled time.
        return first
    # In a skipped span fold=0 reads the old offset and lands after the change, fold=1 before.
    return _transition(second, first, tz)


def _wall_crossings(naive: datetime, tz: ZoneInfo) -> list[datetime]:
    """The instants at which the local clock of ``tz`` reaches, or jumps across, ``naive``."""
    first = naive.replace(tzinfo=tz, fold=0).astimezone(UTC)
    second = naive.replace(tzinfo=tz, fold=1).astimezone(UTC)
    if first == second:
        return [first]
    if first > second:
        # Skipped: the clock jumps over it at the change.
        return [_transition(second, first, tz)]
    # Doubled: reached once, jumped back across at the change, reached again.
    return [first, _transition(first, second, tz), second]


def _minute_of_week(at: datetime, tz: ZoneInfo) -> int:
    """Minutes since Monday 00:00 on the local clock of ``tz`` at the instant ``at``."""
    local = at.astimezone(tz)
    return local.weekday() * _MINUTES_PER_DAY + local.hour * 60 + local.minute


# --- one layer -------------------------------------------------------------------------------


def _check_layer(layer: Layer) -> None:
    """Refuse a layer the engine cannot rotate, saying which and why."""
    if not layer.members:
        raise ValueError(f"layer {layer.name!r}: no members to rotate")
    if layer.every.count <= 0:
        raise ValueError(f"layer {layer.name!r}: every must be positive, got {layer.every}")
    if layer.start.tzinfo is not None:
        raise ValueError(
            f"layer {layer.name!r}: start must be a naive wall time in {layer.timezone.key}, "
            f"got {layer.start.isoformat()}"
        )


def _shift_start(layer: Layer, k: int) -> datetime:
    """The instant shift k of the layer begins."""
    return resolve_wall(layer.start + layer.every.wall_delta(k), layer.timezone)


def _estimate_index(layer: Layer, at: datetime) -> int:
    """The shift index read off the wall clock at ``at``: right, or off by the size of a DST
    change at most (one shift for hours, days and weeks)."""
    wall = at.astimezone(layer.timezone).replace(tzinfo=None)
    return max(0, (wall - layer.start) // layer.every.wall_delta(1))


def layer_shift_at(layer: Layer, at: datetime) -> tuple[int, datetime, datetime] | None:
    """Index k and instants [start, end) of the layer's shift containing ``at`` (windows
    ignored); None before the layer starts."""
    _check_layer(layer)
    at = _aware(at, "at")
    if at < _shift_start(layer, 0):
        return None
    k = _estimate_index(layer, at)
    start = _shift_start(layer, k)
    # A DST change moves instants by at most its size against the wall clock, so these loops
    # take a step or two (a few more only for minute-long shifts), whatever the layer's age.
    while start > at:
        k -= 1
        start = _shift_start(layer, k)
    end = _shift_start(layer, k + 1)
    while end <= at:
        k += 1
        start, end = end, _shift_start(layer, k + 1)
    return k, start, end


def _in_windows(layer: Layer, at: datetime) -> bool:
    """Whether the local clock at ``at`` falls in one of the layer's weekly windows (or it has
    none)."""
    if not layer.only:
        return True
    minute = _minute_of_week(at, layer.timezone)
    return any(window.contains(minute) for window in layer.only)


def layer_holder(layer: Layer, at: datetime) -> str | None:
    """Who the layer puts on the pager at ``at``; None when idle (before start, outside its
    windows)."""
    found = layer_shift_at(layer, at)
    if found is None or not _in_windows(layer, at):
        return None
    return layer.members[found[0] % len(layer.members)]


def _window_edges(layer: Layer, start: datetime, end: datetime) -> set[datetime]:
    """The instants in (start, end) where the local clock crosses an edge of a window."""
    tz = layer.timezone
    # Over [start, end) the local clock stays within the wall times of the two ends, give or
    # take a DST change; a day each side covers the largest one in the tz database (Samoa
    # skipping 30 December 2011).
    low = start.astimezone(tz).replace(tzinfo=None) - _SLACK
    high = end.astimezone(tz).replace(tzinfo=None) + _SLACK
    # From the Monday before: a window may end at minute 10080, the next Monday 00:00.
    monday = datetime.combine(low.date() - timedelta(days=low.weekday()), time()) - _WEEK
    edges: set[datetime] = set()
    while monday <= high:
        for window in layer.only:
            for minute in (window.start, window.end):
                edge = monday + timedelta(minutes=minute)
                if not low <= edge <= high:
                    continue
                edges.update(c for c in _wall_crossings(edge, tz) if start < c < end)
        monday += _WEEK
    return edges


def _layer_timeline(
    layer: Layer, start: datetime, end: datetime
) -> list[tuple[datetime, str | None]]:
    """The holder changes of one layer over [start, end): (instant, holder or None when idle),
    the first at ``start``."""
    begin = _shift_start(layer, 0)
    # (instant, k) of every shift start in the range, the first being the shift under way.
    starts: list[tuple[datetime, int]] = []
    points = {start}
    if start < begin < end:
        points.add(begin)
    if begin < end:
        under_way = layer_shift_at(layer, max(start, begin))
        assert under_way is not None  # the instant is at or after the layer's start
        k, shift_start, shift_end = under_way
        starts.append((shift_start, k))
        while shift_end < end:
            k += 1
            starts.append((shift_end, k))
            points.add(shift_end)
            shift_end = _shift_start(layer, k + 1)
    if layer.only:
        points |= _window_edges(layer, start, end)

    timeline: list[tuple[datetime, str | None]] = []
    index = 0
    for point in sorted(points):
        holder: str | None = None
        if point >= begin:
            while index + 1 < len(starts) and starts[index + 1][0] <= point:
                index += 1
            if _in_windows(layer, point):
                holder = layer.members[starts[index][1] % len(layer.members)]
        if not timeline or timeline[-1][1] != holder:
            timeline.append((point, holder))
    return timeline


# --- a team ----------------------------------------------------------------------------------


def _layers(team: Team, role: Role) -> tuple[Layer, ...]:
    """The layers that hold ``role`` in the team."""
    if role == "oncall":
        return team.rotations
    if role == "backup":
        return team.backup
    raise ValueError(f"role must be 'oncall' or 'backup', got {role!r}")


def _relevant_overrides(
    overrides: Sequence[Override], role: Role, start: datetime, end: datetime
) -> list[tuple[int, datetime, datetime, Override]]:
    """(position, start, end, override) of the overrides of ``role`` that overlap [start, end)."""
    found = []
    for position, override in enumerate(overrides):
        o_start = _aware(override.start, f"override {position} ({override.user}) start")
        o_end = _aware(override.end, f"override {position} ({override.user}) end")
        if o_end < o_start:
            raise ValueError(
                f"override {position} ({override.user}) ends at {o_end.isoformat()}, "
                f"before it starts at {o_start.isoformat()}"
            )
        if override.role == role and o_start < end and o_end > start:
            found.append((position, o_start, o_end, override))
    return found


def shifts(
    team: Team,
    overrides: Sequence[Override],
    start: datetime,
    end: datetime,
    role: Role = "oncall",
) -> list[Shift]:
    """The final schedule of ``role`` over [start, end): maximal shifts, gaps included."""
    start = _aware(start, "start")
    end = _aware(end, "end")
    if end < start:
        raise ValueError(f"end {end.isoformat()} is before start {start.isoformat()}")
    layers = _layers(team, role)
    for layer in layers:
        _check_layer(layer)
    if end == start:
        return []

    timelines = [_layer_timeline(layer, start, end) for layer in layers]
    relevant = _relevant_overrides(overrides, role, start, end)
    points = {instant for timeline in timelines for instant, _ in timeline}
    for _, o_start, o_end, _ in relevant:
        points.update(p for p in (o_start, o_end) if start <= p < end)
    ordered = sorted(points)

    by_start = sorted(relevant, key=lambda item: item[1])
    next_override = 0
    active: dict[int, tuple[datetime, Override]] = {}
    cursors = [0] * len(layers)
    # Working pieces: [user, start, end, sources in order of appearance].
    pieces: list[tuple[str | None, datetime, datetime, list[str]]] = []
    for i, point in enumerate(ordered):
        piece_end = ordered[i + 1] if i + 1 < len(ordered) else end
        while next_override < len(by_start) and by_start[next_override][1] <= point:
            position, _, o_end, override = by_start[next_override]
            active[position] = (o_end, override)
            next_override += 1
        for position in [p for p, (o_end, _) in active.items() if o_end <= point]:
            del active[position]

        user: str | None = None
        source = "gap"
        if active:
            # Callers pass overrides in creation order: the latest one wins.
            override = active[max(active)][1]
            user, source = override.user, override.source
        else:
            for j, timeline in enumerate(timelines):
                while cursors[j] + 1 < len(timeline) and timeline[cursors[j] + 1][0] <= point:
                    cursors[j] += 1
                holder = timeline[cursors[j]][1]
                if holder is not None:
                    user, source = holder, f"rotation:{layers[j].name}"
                    break

        if pieces and pieces[-1][0] == user:
            last = pieces[-1]
            if source not in last[3]:
                last[3].append(source)
            pieces[-1] = (user, last[1], piece_end, last[3])
        else:
            pieces.append((user, point, piece_end, [source]))
    return [Shift(user, s, e, "+".join(sources)) for user, s, e, sources in pieces]


def _containing(shift_list: list[Shift], at: datetime) -> Shift:
    """The shift of a partition that contains ``at``."""
    for shift in shift_list:
        if shift.start <= at < shift.end:
            return shift
    raise AssertionError("a partition around an instant contains it")  # pragma: no cover


def who(team: Team, overrides: Sequence[Override], at: datetime, role: Role = "oncall") -> Holding:
    """Who holds ``role`` at ``at``, with the bounds of that maximal shift (None past the
    horizon)."""
    at = _aware(at, "at")
    for look in _LOOKS:
        lo, hi = at - look, at + look
        shift = _containing(shifts(team, overrides, lo, hi, role), at)
        open_before, open_after = shift.start <= lo, shift.end >= hi
        if not (open_before or open_after) or look == HORIZON:
            return Holding(
                user=shift.user,
                since=None if open_before else shift.start,
                until=None if open_after else shift.end,
                source=shift.source,
            )
    raise AssertionError("the last look returns")  # pragma: no cover


def holder(
    team: Team, overrides: Sequence[Override], at: datetime, role: Role = "oncall"
) -> str | None:
    """Who holds ``role`` at ``at`` (None: a gap): who() without the shift's bounds, for paging,
    which asks it for every alert received."""
    at = _aware(at, "at")
    # The latest override covering the instant wins, as in shifts().
    covering = _relevant_overrides(overrides, role, at, at + INSTANT)
    if covering:
        return covering[-1][3].user
    for layer in _layers(team, role):
        user = layer_holder(layer, at)
        if user is not None:
            return user
    return None


def next_shift(
    team: Team, overrides: Sequence[Override], at: datetime, role: Role = "oncall"
) -> Shift | None:
    """The first shift held by someone after the one containing ``at``, starting within the
    horizon."""
    at = _aware(at, "at")
    for look in _LOOKS:
        limit = at + look
        for shift in shifts(team, overrides, at, limit, role)[1:]:
            if shift.user is None:
                continue
            if shift.end < limit:
                return shift
            # Cut by the look-ahead: find where it really ends (within the horizon).
            return shifts(team, overrides, shift.start, shift.start + HORIZON, role)[0]
    return None


def next_change(team: Team, overrides: Sequence[Override], after: datetime) -> datetime | None:
    """The first instant after ``after`` at which the pager changes hands (gaps included),
    within the horizon."""
    after = _aware(after, "after")
    for look in _LOOKS:
        found = shifts(team, overrides, after, after + look)
        if len(found) > 1:
            return found[0].end
    return None


def gaps(team: Team, overrides: Sequence[Override], start: datetime, end: datetime) -> list[Shift]:
    """The spans of [start, end) when nobody holds the pager."""
    return [shift for shift in shifts(team, overrides, start, end) if shift.user is None]


def user_shifts(
    team: Team,
    overrides: Sequence[Override],
    user: str,
    start: datetime,
    end: datetime,
    role: Role = "oncall",
) -> list[Shift]:
    """The shifts of ``user`` for ``role`` within [start, end)."""
    return [shift for shift in shifts(team, overrides, start, end, role) if shift.user == user]
