"""What the bot knows of each heartbeat: since when it watches it, its last ping, and whether its
silence was raised (keyword-only, in the caller's session and transaction).

A row is locked (PostgreSQL) for the transaction that pings or raises it, so that two replicas
never both raise one silence, and a ping never slips between a look and a raise.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from storage.models import HeartbeatState

NAME_WIDTH = 64


def watch(*, session: Session, name: str, now: datetime) -> HeartbeatState:
    """The heartbeat's row, locked; the first call records that the bot watches it from ``now``."""
    found = get(session=session, name=name, lock=True)
    if found is not None:
        return found
    row = HeartbeatState(name=name[:NAME_WIDTH], watched_since=now)
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        # Another process recorded it since our look: theirs holds.
        found = get(session=session, name=name, lock=True)
        assert found is not None
        return found
    return row


def get(*, session: Session, name: str, lock: bool = False) -> HeartbeatState | None:
    """The heartbeat's row, if the bot ever watched it (locked for the transaction if asked)."""
    query = select(HeartbeatState).where(HeartbeatState.name == name)
    if lock and session.get_bind().dialect.name == "postgresql":
        # SQLite's write transactions hold the whole database's lock already.
        query = query.with_for_update()
    return session.exec(query).first()


def ping(*, session: Session, name: str, now: datetime) -> bool:
    """Record a ping at ``now``; True when it ends a silence that was raised as an alert."""
    row = watch(session=session, name=name, now=now)
    raised = row.missed_at is not None
    # A replica whose clock is a little behind must not move the last ping back.
    if row.last_ping_at is None or row.last_ping_at < now:
        row.last_ping_at = now
    row.missed_at = None
    session.add(row)
    return raised


def all_states(*, session: Session) -> dict[str, HeartbeatState]:
    """Every heartbeat row, by name."""
    return {row.name: row for row in session.exec(select(HeartbeatState))}
