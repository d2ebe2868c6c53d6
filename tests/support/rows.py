"""Table rows that tests write by hand."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from storage.models import Alert


def alert_row(
    key: str,
    at: datetime,
    *,
    acked: datetime | None = None,
    resolved: datetime | None = None,
    **fields: Any,
) -> Alert:
    """Team support's Prometheus alert `key` (its title too), first and last seen at `at`,
    acknowledged and resolved when given (its status follows); `fields` change the rest."""
    columns: dict[str, Any] = {
        "team": "support",
        "integration": "prometheus",
        "dedup_key": key,
        "title": key,
        "first_seen": at,
        "last_seen": at,
        "acknowledged_at": acked,
        "resolved_at": resolved,
        "status": "resolved" if resolved else "acknowledged" if acked else "open",
    }
    return Alert(**(columns | fields))


def added_alert(session: Session, key: str, at: datetime, **fields: Any) -> Alert:
    """alert_row(key, at, **fields), added to `session` and flushed: it has its id."""
    row = alert_row(key, at, **fields)
    session.add(row)
    session.flush()
    assert row.id is not None
    return row
