"""Queries on swap requests: create, decide once (conditional updates), apply both halves."""

from __future__ import annotations

import zlib
from datetime import datetime

from sqlalchemy import or_, update
from sqlmodel import Session, col, select

from storage.db import inserted
from storage.models import Override, SwapRequest
from storage.overrides import create_override

PENDING = "pending"
STATUSES = ("pending", "accepted", "declined", "stale")


def lock_team_schedule(*, session: Session, team: str) -> None:
    """Serialise the transactions that change a team's schedule until this one ends.

    SQLite already runs one writer at a time (every transaction begins IMMEDIATE); PostgreSQL
    takes a transaction-scoped advisory lock keyed by the team, so a swap and a cover checked
    against the same schedule cannot both apply.
    """
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        key = zlib.crc32(f"schedule:{team}".encode())
        session.connection().exec_driver_sql("SELECT pg_advisory_xact_lock(%s)", (key,))


def create_swap(
    *,
    session: Session,
    team: str,
    requester: str,
    requester_start: datetime,
    requester_end: datetime,
    target: str,
    target_start: datetime,
    target_end: datetime,
    now: datetime,
) -> SwapRequest:
    """Store a pending request: ``requester`` offers their shift for ``target``'s."""
    if requester == target:
        raise ValueError("a swap needs two different people")
    if requester_end <= requester_start or target_end <= target_start:
        raise ValueError("a swapped shift must end after it starts")
    return inserted(
        session,
        SwapRequest(
            team=team,
            requester=requester,
            requester_start=requester_start,
            requester_end=requester_end,
            target=target,
            target_start=target_start,
            target_end=target_end,
            status=PENDING,
            created_at=now,
        ),
    )


def get_swap(*, session: Session, swap_id: int) -> SwapRequest | None:
    return session.get(SwapRequest, swap_id)


def set_swap_message(*, session: Session, swap_id: int, channel: str, ts: str) -> None:
    """Remember the DM that carries the request's buttons, to update it when decided."""
    session.exec(
        update(SwapRequest)
        .where(col(SwapRequest.id) == swap_id)
        .values(dm_channel=channel, dm_ts=ts)
    )


def _decide(*, session: Session, swap_id: int, status: str, now: datetime) -> bool:
    """Move a pending request to ``status``; False when it was no longer pending."""
    result = session.exec(
        update(SwapRequest)
        .where(col(SwapRequest.id) == swap_id, col(SwapRequest.status) == PENDING)
        .values(status=status, decided_at=now)
    )
    # An ORM-enabled UPDATE also refreshes the copies this session already holds.
    return result.rowcount == 1


def decline_swap(*, session: Session, swap_id: int, now: datetime) -> bool:
    """Decline a pending request; False when it was already decided."""
    return _decide(session=session, swap_id=swap_id, status="declined", now=now)


def mark_swap_stale(*, session: Session, swap_id: int, now: datetime) -> bool:
    """Close a pending request whose shifts changed meanwhile; False when already decided."""
    return _decide(session=session, swap_id=swap_id, status="stale", now=now)


def accept_swap(
    *, session: Session, swap_id: int, by: str, now: datetime
) -> tuple[Override, Override] | None:
    """Accept a pending request and store both halves as swap overrides, in the caller's
    transaction; None when it was already decided (a second click, or a lost race)."""
    if not _decide(session=session, swap_id=swap_id, status="accepted", now=now):
        return None
    row = session.get(SwapRequest, swap_id)
    assert row is not None and row.id is not None
    # The requester's shift goes to the target, and the target's to the requester.
    to_target, to_requester = (
        create_override(
            session=session,
            team=row.team,
            user_id=user,
            start=start,
            end=end,
            kind="swap",
            now=now,
            requested_by=row.requester,
            approved_by=by,
            swap_id=row.id,
        )
        for user, start, end in (
            (row.target, row.requester_start, row.requester_end),
            (row.requester, row.target_start, row.target_end),
        )
    )
    return to_target, to_requester


def pending_swaps(*, session: Session, user: str) -> list[SwapRequest]:
    """Pending requests the user made or received, oldest first."""
    query = (
        select(SwapRequest)
        .where(
            col(SwapRequest.status) == PENDING,
            or_(col(SwapRequest.requester) == user, col(SwapRequest.target) == user),
        )
        .order_by(col(SwapRequest.id))
    )
    return list(session.exec(query))
