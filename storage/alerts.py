"""Queries on alerts and their timelines (keyword-only, in the caller's session and transaction)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, update
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from storage.db import grouped
from storage.models import Alert, AlertEvent, Outbox
from storage.outbox import ALERT_NOTIFY
from storage.prepared import Prepared, Tx


def subject_of(alert_id: int) -> str:
    """The outbox and Slack-message subject of an alert: ``alert:<id>``."""
    return f"alert:{alert_id}"


def _locked(
    session: Session, query: SelectOfScalar[Alert], *, skip_locked: bool = False
) -> SelectOfScalar[Alert]:
    # Row locks exist on PostgreSQL only; on SQLite every write transaction starts with
    # BEGIN IMMEDIATE and so already holds the database's single write lock.
    if session.get_bind().dialect.name == "postgresql":
        return query.with_for_update(skip_locked=skip_locked)
    return query


@dataclass(frozen=True, slots=True)
class OpenAlert:
    """What a repeat of an open alert reads of it: its count, and what the repeat may keep."""

    id: int
    count: int
    last_seen: datetime
    summary: str
    customer: str | None
    source: str | None
    runbook_url: str | None
    links: list[dict[str, str]]
    labels: dict[str, str]
    details: dict[str, str] | None
    leadership_escalated_at: datetime | None


def open_alert(*, session: Tx, team: str, dedup_key: str) -> OpenAlert | None:
    """The team's open alert with this dedup key, locked for update on PostgreSQL."""
    row = _OPEN_ALERT.first(session, {"team": team, "dedup_key": dedup_key})
    return None if row is None else OpenAlert(*row)


_ALERT = Alert.__table__  # type: ignore[attr-defined]
_EVENT = AlertEvent.__table__  # type: ignore[attr-defined]
# Every alert received asks it. FOR UPDATE locks the row on PostgreSQL; SQLite has no row
# locks to take (a writer holds the whole database).
_OPEN_ALERT = Prepared(
    sa_select(*(_ALERT.c[field.name] for field in fields(OpenAlert)))
    .where(
        _ALERT.c.team == bindparam("team"),
        _ALERT.c.dedup_key == bindparam("dedup_key"),
        _ALERT.c.resolved_at.is_(None),
    )
    .with_for_update()
)


def update_alert(*, session: Tx, alert_id: int, values: dict[str, Any]) -> None:
    """Set the columns of an alert that ``values`` names (a repeat sets a dozen)."""
    _UPDATE_ALERT.execute(session, {**values, "alert_id": alert_id})


_UPDATE_ALERT = Prepared(update(_ALERT).where(_ALERT.c.id == bindparam("alert_id")))


def insert_alert(*, session: Tx, values: dict[str, Any]) -> int:
    """Insert a new alert, every column given in ``values`` but its id; returns the id."""
    row = _INSERT_ALERT.first(session, values)
    assert row is not None
    return int(row[0])


# An insert without the ORM's unit of work: the intake writes one for every new alert.
_INSERT_ALERT = Prepared(insert(_ALERT).returning(_ALERT.c.id))


def get_alert(*, session: Session, alert_id: int, lock: bool = False) -> Alert | None:
    """One alert by id (locked for update on PostgreSQL when asked)."""
    query = select(Alert).where(Alert.id == alert_id)
    if lock:
        query = _locked(session, query)
    return session.exec(query).first()


def get_alerts(*, session: Session, alert_ids: Collection[int]) -> dict[int, Alert]:
    """The alerts of these ids that exist, by id."""
    if not alert_ids:
        return {}
    found = session.exec(_ALERTS, params={"ids": list(alert_ids)})
    return {alert.id: alert for alert in found if alert.id is not None}


def claim_due_escalations(*, session: Session, now: datetime, limit: int = 50) -> list[Alert]:
    """Open, unacknowledged alerts whose next escalation is due, locked for this transaction.

    On PostgreSQL rows another worker holds are skipped (``FOR UPDATE SKIP LOCKED``), so two
    replicas never escalate the same alert at once; the caller moves ``next_escalation_at`` on
    before committing, which is what keeps the alert from being claimed again.
    """
    query = (
        select(Alert)
        .where(
            Alert.status == "open",
            col(Alert.resolved_at).is_(None),
            col(Alert.acknowledged_at).is_(None),
            col(Alert.next_escalation_at).is_not(None),
            col(Alert.next_escalation_at) <= now,
        )
        .order_by(col(Alert.next_escalation_at), col(Alert.id))
        .limit(limit)
    )
    return list(session.exec(_locked(session, query, skip_locked=True)))


def add_event(
    *,
    session: Tx,
    alert_id: int,
    at: datetime,
    kind: str,
    actor: str | None = None,
    note: dict[str, Any] | None = None,
) -> None:
    """Append a line to the alert's timeline; ``note`` is what it says (as data)."""
    values = {
        "alert_id": alert_id,
        "at": at,
        "kind": kind,
        "actor": actor and actor[:64],
        "detail": "",
        "note": note,
    }
    _INSERT_EVENT.execute(session, values)


# Every alert received writes at least one line.
_INSERT_EVENT = Prepared(insert(_EVENT))


def last_event(*, session: Tx, alert_id: int) -> tuple[int, str] | None:
    """The id and kind of the newest line of the alert's timeline."""
    row = _LAST_EVENT.first(session, {"alert_id": alert_id})
    return None if row is None else (int(row[0]), str(row[1]))


def set_event(*, session: Tx, event_id: int, at: datetime, note: dict[str, Any]) -> None:
    """Change the time and what a line of a timeline says (the repeats' counting line)."""
    _UPDATE_EVENT.execute(session, {"event_id": event_id, "at": at, "detail": "", "note": note})


_LAST_EVENT = Prepared(  # read up to its first row: an alert's timeline is a few lines
    sa_select(_EVENT.c.id, _EVENT.c.kind)
    .where(_EVENT.c.alert_id == bindparam("alert_id"))
    .order_by(_EVENT.c.id.desc())
)
_UPDATE_EVENT = Prepared(update(_EVENT).where(_EVENT.c.id == bindparam("event_id")))


def list_events(*, session: Session, alert_id: int) -> list[AlertEvent]:
    """The alert's timeline, oldest first."""
    return timelines(session=session, alert_ids=[alert_id])[alert_id]


def timelines(*, session: Session, alert_ids: Collection[int]) -> dict[int, list[AlertEvent]]:
    """The timelines of several alerts in one query, each oldest first."""
    return grouped(
        alert_ids,
        lambda ids: session.exec(_TIMELINES, params={"ids": ids}),
        lambda event: event.alert_id,
    )


def pages(*, session: Session, alert_id: int) -> dict[str, Any]:
    """Everyone a DM about the alert was queued for (delivered or not), in the order they were
    paged, with why (from their first page: a note, text from before notes, or None)."""
    return pages_of(session=session, alert_ids=[alert_id])[alert_id]


def pages_of(*, session: Session, alert_ids: Collection[int]) -> dict[int, dict[str, Any]]:
    """``pages`` of several alerts in one query."""
    found: dict[int, dict[str, Any]] = {alert_id: {} for alert_id in alert_ids}
    if not found:
        return found
    subjects = {subject_of(alert_id): alert_id for alert_id in found}
    for subject, payload in session.exec(_PAGES, params={"subjects": list(subjects)}):
        if isinstance(payload, dict) and payload.get("user") and subject in subjects:
            paged = found[subjects[subject]]
            paged.setdefault(str(payload["user"]), payload.get("reason") or None)
    return found


def paged_users(*, session: Session, alert_id: int) -> set[str]:
    """Everyone a DM about the alert was queued for (delivered or not)."""
    return set(pages(session=session, alert_id=alert_id))


def open_key_among(*, session: Session, team: str, keys: Collection[str]) -> str | None:
    """The dedup key of the team's open alert whose key is one of ``keys`` (the first of
    ``keys`` that has one)."""
    if not keys:
        return None
    query = select(Alert.dedup_key).where(
        Alert.team == team, col(Alert.resolved_at).is_(None), col(Alert.dedup_key).in_(keys)
    )
    found = set(session.exec(query))
    return next((key for key in keys if key in found), None)


def open_key_titled(
    *, session: Session, team: str, integration: str, title: str, key_prefix: str
) -> str | None:
    """The dedup key of the integration's latest open alert with this title and a key that
    starts with ``key_prefix``."""
    query = (
        select(Alert.dedup_key)
        .where(
            Alert.team == team,
            Alert.integration == integration,
            Alert.title == title,
            col(Alert.resolved_at).is_(None),
            col(Alert.dedup_key).startswith(key_prefix, autoescape=True),
        )
        .order_by(col(Alert.id).desc())
        .limit(1)
    )
    return session.exec(query).first()


ALERT_STATUSES = ("open", "acknowledged", "resolved")


def alerts_page(
    *, session: Session, status: str | None, team: str | None, before: int | None, limit: int
) -> list[Alert]:
    """At most ``limit`` alerts, newest first, older than the alert ``before`` when given."""
    query = select(Alert).order_by(col(Alert.id).desc()).limit(limit)
    if status is not None:
        query = query.where(Alert.status == status)
    if team is not None:
        query = query.where(Alert.team == team)
    if before is not None:
        query = query.where(col(Alert.id) < before)
    return list(session.exec(query))


# What the delivery worker reads of a batch of alerts, built once.
_ALERTS = select(Alert).where(col(Alert.id).in_(bindparam("ids", expanding=True)))
_TIMELINES = (
    select(AlertEvent)
    .where(col(AlertEvent.alert_id).in_(bindparam("ids", expanding=True)))
    .order_by(col(AlertEvent.id))
)
_PAGES = (
    select(Outbox.subject, Outbox.payload)
    .where(
        Outbox.kind == ALERT_NOTIFY, col(Outbox.subject).in_(bindparam("subjects", expanding=True))
    )
    .order_by(col(Outbox.id))
)
