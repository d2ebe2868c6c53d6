"""Read-only queries over alerts and their timelines for a span: what was raised, acknowledged
and resolved, how many escalations, which alerts are still open, and where their cards are."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import ColumnElement, func, or_
from sqlmodel import Session, col, select

from storage.alerts import subject_of
from storage.models import Alert, AlertEvent, SlackMessage

# Timeline kinds that count as an escalation: a step of the policy taken (by the worker or by
# hand) and leadership paged.
ESCALATION_KINDS = ("escalated", "leadership")
CARD_ROLE = "card"


@dataclass(frozen=True)
class AlertFacts:
    """One alert as the reports see it."""

    id: int
    title: str
    severity: str
    customer: str | None
    first_seen: datetime
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None
    resolved_at: datetime | None = None
    link: str | None = None  # where to read about it: the alert's source or first link

    @property
    def time_to_acknowledge(self) -> timedelta | None:
        """From the first sighting to the acknowledgement (None: never acknowledged)."""
        if self.acknowledged_at is None:
            return None
        return max(self.acknowledged_at - self.first_seen, timedelta(0))


@dataclass(frozen=True)
class Activity:
    """The raw facts of the span [start, end) for one team."""

    start: datetime
    end: datetime
    raised: tuple[AlertFacts, ...] = ()  # first seen in the span
    acknowledged: tuple[AlertFacts, ...] = ()  # acknowledged in the span
    resolved: int = 0  # alerts resolved in the span
    escalations: int = 0  # escalation steps taken in the span (leadership pages included)


def _link(alert: Alert) -> str | None:
    """Where to read about an alert: its first link (the sender's own page), else its runbook."""
    for link in alert.links or []:
        url = link.get("url") if isinstance(link, dict) else None
        if isinstance(url, str) and url.startswith(("https://", "http://")):
            return url
    return alert.runbook_url or None


def facts_of(alert: Alert) -> AlertFacts:
    """The report's view of an alert row."""
    assert alert.id is not None
    return AlertFacts(
        id=alert.id,
        title=alert.title,
        severity=alert.severity,
        customer=alert.customer,
        first_seen=alert.first_seen,
        acknowledged_at=alert.acknowledged_at,
        acknowledged_by=alert.acknowledged_by,
        resolved_at=alert.resolved_at,
        link=_link(alert),
    )


def _check_span(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    for name, value in (("start", start), ("end", end)):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"{name} must be timezone-aware, got {value.isoformat()}")
    if end < start:
        raise ValueError(f"end {end.isoformat()} is before start {start.isoformat()}")
    return start.astimezone(UTC), end.astimezone(UTC)


def activity(*, session: Session, team: str, start: datetime, end: datetime) -> Activity:
    """What the team's alerts did over [start, end): raised, acknowledged, resolved, escalated."""
    start, end = _check_span(start, end)

    def within(column: datetime | None) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
        return col(column) >= start, col(column) < end

    raised = session.exec(
        select(Alert)
        .where(Alert.team == team, *within(Alert.first_seen))
        .order_by(col(Alert.first_seen), col(Alert.id))
    )
    acknowledged = session.exec(
        select(Alert)
        .where(Alert.team == team, *within(Alert.acknowledged_at))
        .order_by(col(Alert.acknowledged_at), col(Alert.id))
    )
    resolved = session.exec(
        select(func.count())
        .select_from(Alert)
        .where(Alert.team == team, *within(Alert.resolved_at))
    ).one()
    escalations = session.exec(
        select(func.count())
        .select_from(AlertEvent)
        .join(Alert, col(Alert.id) == col(AlertEvent.alert_id))
        .where(
            Alert.team == team,
            col(AlertEvent.kind).in_(ESCALATION_KINDS),
            *within(AlertEvent.at),
        )
    ).one()
    return Activity(
        start=start,
        end=end,
        raised=tuple(facts_of(a) for a in raised),
        acknowledged=tuple(facts_of(a) for a in acknowledged),
        resolved=int(resolved),
        escalations=int(escalations),
    )


def open_alerts(*, session: Session, team: str, at: datetime) -> list[AlertFacts]:
    """The team's alerts open at ``at`` (raised by then, not resolved by then), oldest first."""
    at = at.astimezone(UTC)
    rows = session.exec(
        select(Alert)
        .where(
            Alert.team == team,
            col(Alert.first_seen) <= at,
            or_(col(Alert.resolved_at).is_(None), col(Alert.resolved_at) > at),
        )
        .order_by(col(Alert.first_seen), col(Alert.id))
    )
    return [facts_of(a) for a in rows]


def card_messages(*, session: Session, alert_ids: Iterable[int]) -> dict[int, tuple[str, str]]:
    """Where each alert's card sits in the team channel: alert id → (channel, ts), when known."""
    subjects = {subject_of(alert_id): alert_id for alert_id in alert_ids}
    if not subjects:
        return {}
    rows = session.exec(
        select(SlackMessage).where(
            col(SlackMessage.subject).in_(list(subjects)), SlackMessage.role == CARD_ROLE
        )
    )
    return {subjects[row.subject]: (row.channel, row.ts) for row in rows}
