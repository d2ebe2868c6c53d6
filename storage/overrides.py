"""Queries on overrides: the runtime changes to the plan (swaps, covers, manual overrides)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import bindparam, func, literal_column
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from storage.db import inserted
from storage.models import Override
from storage.prepared import Prepared, Tx

KINDS = ("swap", "cover", "manual")


@dataclass(frozen=True)
class LiveOverride:
    """A stored override not cancelled: ``user_id`` holds the pager (or backup) over
    [start, end)."""

    id: int
    user_id: str
    start: datetime  # UTC-aware
    end: datetime  # UTC-aware, exclusive
    kind: str  # one of KINDS
    role: str  # "oncall" | "backup"


def create_override(
    *,
    session: Session,
    team: str,
    user_id: str,
    start: datetime,
    end: datetime,
    kind: str,
    now: datetime,
    role: str = "oncall",
    requested_by: str | None = None,
    approved_by: str | None = None,
    reason: str | None = None,
    swap_id: int | None = None,
    cover_id: int | None = None,
) -> Override:
    """Store a new override; it wins over the rotations and over older overrides."""
    if kind not in KINDS:
        raise ValueError(f"override kind must be one of {', '.join(KINDS)}, got {kind!r}")
    if role not in ("oncall", "backup"):
        raise ValueError(f"override role must be oncall or backup, got {role!r}")
    if end <= start:
        raise ValueError(f"an override must end after it starts ({start} .. {end})")
    return inserted(
        session,
        Override(
            team=team,
            user_id=user_id,
            role=role,
            kind=kind,
            start=start,
            end=end,
            requested_by=requested_by,
            approved_by=approved_by,
            reason=reason,
            swap_id=swap_id,
            cover_id=cover_id,
            created_at=now,
        ),
    )


def list_overrides(
    *,
    session: Session,
    team: str,
    start: datetime | None = None,
    end: datetime | None = None,
    role: str | None = None,
) -> list[Override]:
    """Live overrides of a team overlapping [start, end), oldest first (later ones win)."""
    query = select(Override).where(Override.team == team, col(Override.cancelled_at).is_(None))
    if start is not None:
        query = query.where(col(Override.end) > start)
    if end is not None:
        query = query.where(col(Override.start) < end)
    if role is not None:
        query = query.where(Override.role == role)
    return list(session.exec(query.order_by(col(Override.id))))


def cancel_override(*, session: Session, override_id: int, now: datetime) -> Override | None:
    """Cancel an override (tests only so far: the running bot only ever adds overrides, and
    ``overrides_version`` counts on it)."""
    row = session.get(Override, override_id)
    if row is None or row.cancelled_at is not None:
        return None
    row.cancelled_at = now
    session.add(row)
    return row


def live_overrides(
    *,
    session: Tx,
    team: str,
    start: datetime | None = None,
    end: datetime | None = None,
) -> list[LiveOverride]:
    """The live overrides of a team overlapping [start, end), oldest first (every alert
    received asks this, to know whom to page)."""
    params = {"team": team, "start": start or _EARLIEST, "end": end or _LATEST}
    return [LiveOverride(*row) for row in _LIVE_BETWEEN.all(session, params)]


_EARLIEST = datetime.min.replace(tzinfo=UTC)
_LATEST = datetime.max.replace(tzinfo=UTC)
_OVERRIDE = Override.__table__  # type: ignore[attr-defined]
_LIVE_BETWEEN = Prepared(
    sa_select(
        _OVERRIDE.c.id,
        _OVERRIDE.c.user_id,
        _OVERRIDE.c.start,
        _OVERRIDE.c.end,
        _OVERRIDE.c.kind,
        _OVERRIDE.c.role,
    )
    .where(
        _OVERRIDE.c.team == bindparam("team"),
        _OVERRIDE.c.cancelled_at.is_(None),
        _OVERRIDE.c.end > bindparam("start"),
        _OVERRIDE.c.start < bindparam("end"),
    )
    .order_by(_OVERRIDE.c.id)
)


# How far below the largest id an insert may still be waiting for its commit on PostgreSQL
# (ids are taken at insert, in order; commits come in any order): far more overrides than
# people ever store at once.
_LATE_COMMITS = 100


def overrides_version(*, session: Tx) -> tuple[int, int]:
    """What changes whenever an override is stored: the largest id, and how many of the ids just
    below it are there (an insert committed after a later one moves the count, not the id)."""
    row = _VERSION.first(session, {"late": _LATE_COMMITS})
    assert row is not None  # an aggregate always has its row
    return int(row[0]), int(row[1])


_HIGHEST = sa_select(func.coalesce(func.max(_OVERRIDE.c.id), literal_column("0"))).scalar_subquery()
_VERSION = Prepared(
    sa_select(
        _HIGHEST,
        sa_select(func.count())
        .select_from(_OVERRIDE)
        .where(_OVERRIDE.c.id > _HIGHEST - bindparam("late"))
        .scalar_subquery(),
    )
)
