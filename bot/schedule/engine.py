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
from dataclasses import dataclass, replace
from datetime import UTC, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from bot.plan.model import Layer, Team

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
    # "rotation:<name>" | "swap" | "cover" | "override" | "gap", joined by "+" where a shift has
    # several; "rotation:<name>:next" where the backup's turn fell to the pager holder.
    source: str


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
    found = _in_force((layer,), at)
    return None if found is None else layer.members[found[1] % len(layer.members)]


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


def _layer_turns(layer: Layer, start: datetime, end: datetime) -> list[tuple[datetime, int | None]]:
    """The turns of one layer over [start, end): (instant, index k of the shift under way, or
    None while the layer is idle), at every change, the first at ``start``."""
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

    turns: list[tuple[datetime, int | None]] = []
    index = 0
    for point in sorted(points):
        turn: int | None = None
        if point >= begin:
            while index + 1 < len(starts) and starts[index + 1][0] <= point:
                index += 1
            if _in_windows(layer, point):
                turn = starts[index][1]
        if not turns or turns[-1][1] != turn:
            turns.append((point, turn))
    return turns


def _stand_in(layer: Layer, k: int, busy: str) -> str | None:
    """Who of the layer backs up ``busy``, the pager holder, in turn k: the first member from
    the one whose turn it is, in the layer's order, who is not ``busy`` (None: only they)."""
    members = layer.members
    for step in range(len(members)):
        member = members[(k + step) % len(members)]
        if member != busy:
            return member
    return None


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


@dataclass(frozen=True)
class Clash:
    """A span in which the backup's turn falls to the pager holder, and who backs them up
    instead (None: nobody)."""

    user: str
    start: datetime  # UTC-aware
    end: datetime  # UTC-aware, exclusive
    backup: str | None


# One elementary piece of a schedule: start, end, who, where from, and the pager holder the
# backup's turn fell to (None: no clash).
_Piece = tuple[datetime, datetime, str | None, str, str | None]
# One piece of the layers and overrides alone: start, end, who, where from, and the layer in
# force with the index of its turn (None: every layer idle).
_Layered = tuple[datetime, datetime, str | None, str, tuple[Layer, int] | None]


def _pieces(
    team: Team, overrides: Sequence[Override], start: datetime, end: datetime, role: Role
) -> list[_Piece]:
    """The schedule of ``role`` over [start, end) in pieces within which nothing changes.

    The backup is never the pager holder: where the backup's turn (or a backup override) falls
    to them, the next member of the backup layer in force who is not holds it, or nobody."""
    layered = _layered(team, overrides, start, end, role)
    if role == "backup":
        return _apart_from_the_pager(team, overrides, layered)
    return [(s, e, user, source, None) for s, e, user, source, _ in layered]


def _layered(
    team: Team, overrides: Sequence[Override], start: datetime, end: datetime, role: Role
) -> list[_Layered]:
    """The pieces of [start, end) as the layers and overrides of ``role`` alone make them."""
    start = _aware(start, "start")
    end = _aware(end, "end")
    if end < start:
        raise ValueError(f"end {end.isoformat()} is before start {start.isoformat()}")
    layers = _layers(team, role)
    for layer in layers:
        _check_layer(layer)
    if end == start:
        return []

    turns = [_layer_turns(layer, start, end) for layer in layers]
    relevant = _relevant_overrides(overrides, role, start, end)
    points = {instant for layer_turns in turns for instant, _ in layer_turns}
    for _, o_start, o_end, _ in relevant:
        points.update(p for p in (o_start, o_end) if start <= p < end)
    ordered = sorted(points)

    by_start = sorted(relevant, key=lambda item: item[1])
    next_override = 0
    active: dict[int, tuple[datetime, Override]] = {}
    cursors = [0] * len(layers)
    pieces: list[_Layered] = []
    for i, point in enumerate(ordered):
        piece_end = ordered[i + 1] if i + 1 < len(ordered) else end
        while next_override < len(by_start) and by_start[next_override][1] <= point:
            position, _, o_end, override = by_start[next_override]
            active[position] = (o_end, override)
            next_override += 1
        for position in [p for p, (o_end, _) in active.items() if o_end <= point]:
            del active[position]
        # The layer in force: the first active one, with the index of its turn.
        in_force: tuple[Layer, int] | None = None
        for j, layer_turns in enumerate(turns):
            while cursors[j] + 1 < len(layer_turns) and layer_turns[cursors[j] + 1][0] <= point:
                cursors[j] += 1
            turn = layer_turns[cursors[j]][1]
            if turn is not None:
                in_force = (layers[j], turn)
                break

        user: str | None = None
        source = "gap"
        if active:
            # Callers pass overrides in creation order: the latest one wins.
            override = active[max(active)][1]
            user, source = override.user, override.source
        elif in_force is not None:
            layer, turn = in_force
            user, source = layer.members[turn % len(layer.members)], f"rotation:{layer.name}"
        pieces.append((point, piece_end, user, source, in_force))
    return pieces


def _apart_from_the_pager(
    team: Team, overrides: Sequence[Override], backup: list[_Layered]
) -> list[_Piece]:
    """The backup's pieces, where they fall to the pager holder handed to the next member of
    the backup layer in force who is not (or nobody)."""
    if not backup:
        return []
    # The pager's schedule costs more than the backup's: it is worked out only over the spans
    # whose backup could hold the pager (a member of a rotation, or of an override).
    could_hold = {m for layer in team.rotations for m in layer.members}
    could_hold |= {
        o.user for *_, o in _relevant_overrides(overrides, "oncall", backup[0][0], backup[-1][1])
    }
    pieces: list[_Piece] = []
    i = 0
    while i < len(backup):
        run = i
        while run < len(backup) and backup[run][2] in could_hold:
            run += 1
        if run == i:
            start, end, user, source, _ = backup[i]
            pieces.append((start, end, user, source, None))
            i += 1
            continue
        pager = shifts(team, overrides, backup[i][0], backup[run - 1][1])
        k = 0
        for start, end, user, source, in_force in backup[i:run]:
            cut = start
            while cut < end:
                while pager[k].end <= cut:
                    k += 1
                piece_end = min(end, pager[k].end)
                if user is None or user != pager[k].user:
                    pieces.append((cut, piece_end, user, source, None))
                else:
                    stand_in = _stand_in(*in_force, user) if in_force else None
                    instead = (
                        f"rotation:{in_force[0].name}:next" if in_force and stand_in else "gap"
                    )
                    pieces.append((cut, piece_end, stand_in, instead, user))
                cut = piece_end
        i = run
    return pieces


def shifts(
    team: Team,
    overrides: Sequence[Override],
    start: datetime,
    end: datetime,
    role: Role = "oncall",
) -> list[Shift]:
    """The final schedule of ``role`` over [start, end): maximal shifts, gaps included (the
    backup never being the pager holder)."""
    # Working pieces: [user, start, end, sources in order of appearance].
    merged: list[tuple[str | None, datetime, datetime, list[str]]] = []
    for point, piece_end, user, source, _ in _pieces(team, overrides, start, end, role):
        if merged and merged[-1][0] == user:
            last = merged[-1]
            if source not in last[3]:
                last[3].append(source)
            merged[-1] = (user, last[1], piece_end, last[3])
        else:
            merged.append((user, point, piece_end, [source]))
    return [Shift(user, s, e, "+".join(sources)) for user, s, e, sources in merged]


def whole_shifts(
    team: Team,
    overrides: Sequence[Override],
    start: datetime,
    end: datetime,
    role: Role = "oncall",
) -> list[Shift]:
    """The shifts that overlap [start, end), whole: the first from its real start, the last to
    its real end (as far as who() sees them, within the horizon)."""
    found = shifts(team, overrides, start, end, role)
    if not found:
        return found
    first = who(team, overrides, found[0].start, role)
    found[0] = replace(found[0], start=first.since or found[0].start, source=first.source)
    last = who(team, overrides, found[-1].end - INSTANT, role)
    found[-1] = replace(found[-1], end=last.until or found[-1].end, source=last.source)
    return found


def backup_clashes(
    team: Team, overrides: Sequence[Override], start: datetime, end: datetime
) -> list[Clash]:
    """The spans of [start, end) in which the backup's turn falls to the pager holder, with who
    backs them up instead; adjacent spans of the same two people are one."""
    found: list[Clash] = []
    for point, piece_end, user, _, clash in _pieces(team, overrides, start, end, "backup"):
        if clash is None:
            continue
        last = found[-1] if found else None
        if last and last.end == point and (last.user, last.backup) == (clash, user):
            found[-1] = Clash(clash, last.start, piece_end, user)
        else:
            found.append(Clash(clash, point, piece_end, user))
    return found


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
    in_force = None if covering else _in_force(_layers(team, role), at)
    if covering:
        user = covering[-1][3].user
    elif in_force is not None:
        layer, turn = in_force
        user = layer.members[turn % len(layer.members)]
    else:
        return None
    if role == "backup" and user == holder(team, overrides, at):
        # Never the pager holder's own backup, as in shifts().
        in_force = in_force or _in_force(team.backup, at)
        return None if in_force is None else _stand_in(*in_force, user)
    return user


def _in_force(layers: Sequence[Layer], at: datetime) -> tuple[Layer, int] | None:
    """The first of ``layers`` active at ``at``, with the index of its turn (None: all idle)."""
    for layer in layers:
        found = layer_shift_at(layer, at)
        if found is not None and _in_windows(layer, at):
            return layer, found[0]
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
