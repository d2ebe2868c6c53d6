"""Queries on cover requests: open one, let the first volunteer take it (conditional update)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, col

from storage.db import inserted
from storage.models import CoverRequest, Override
from storage.overrides import create_override

OPEN = "open"
STATUSES = ("open", "taken", "cancelled", "stale")


def create_cover(
    *,
    session: Session,
    team: str,
    requester: str,
    start: datetime,
    end: datetime,
    now: datetime,
    note: str | None = None,
) -> CoverRequest:
    """Store an open call for a volunteer to hold the pager over [start, end)."""
    if end <= start:
        raise ValueError(f"a cover must end after it starts ({start} .. {end})")
    return inserted(
        session,
        CoverRequest(
            team=team,
            requester=requester,
            start=start,
            end=end,
            status=OPEN,
            created_at=now,
            note=note or None,
        ),
    )


def get_cover(*, session: Session, cover_id: int) -> CoverRequest | None:
    return session.get(CoverRequest, cover_id)


def claim_cover(*, session: Session, cover_id: int, by: str, now: datetime) -> bool:
    """Mark an open request taken by ``by``; False when someone else got there first.

    One conditional UPDATE: on PostgreSQL a second volunteer's UPDATE waits for the first to
    commit and then finds the row no longer open; on SQLite writers run one at a time.
    """
    result = session.exec(
        update(CoverRequest)
        .where(col(CoverRequest.id) == cover_id, col(CoverRequest.status) == OPEN)
        .values(status="taken", taken_by=by, taken_at=now)
    )
    return result.rowcount == 1


def close_cover(*, session: Session, cover_id: int, status: str) -> None:
    """Close a request that can no longer be taken (``cancelled`` or ``stale``)."""
    if status not in ("cancelled", "stale"):
        raise ValueError(f"a cover can be closed as cancelled or stale, not {status!r}")
    session.exec(
        update(CoverRequest)
        .where(col(CoverRequest.id) == cover_id)
        .values(status=status, taken_by=None, taken_at=None)
    )


def store_cover_override(
    *, session: Session, cover: CoverRequest, start: datetime, now: datetime
) -> Override:
    """The override that hands [start, cover.end) to whoever took the cover."""
    assert cover.taken_by is not None and cover.id is not None
    return create_override(
        session=session,
        team=cover.team,
        user_id=cover.taken_by,
        start=start,
        end=cover.end,
        kind="cover",
        now=now,
        requested_by=cover.requester,
        approved_by=cover.taken_by,
        cover_id=cover.id,
    )
