"""Overrides stored as the bot stores them (a swap, a cover, an admin's override), for tests
that need one in the database before they act."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.engine import Engine

from storage.db import session_scope
from storage.overrides import create_override


def store_override(
    engine: Engine,
    user: str,
    start: datetime,
    end: datetime,
    *,
    kind: str,
    now: datetime,
    team: str = "support",
) -> int | None:
    """``user`` holds the team's pager from ``start`` to ``end``, stored at ``now``: the
    override's id."""
    with session_scope(engine) as session:
        return create_override(
            session=session, team=team, user_id=user, start=start, end=end, kind=kind, now=now
        ).id
