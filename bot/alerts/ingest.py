"""Taking alerts in: a batch from one integration, stored in the caller's transaction (all or
nothing). A new alert pages the first step of its team's policy; a repeat of an open alert (same
team, same dedup key) updates that one; a resolve closes it; PagerDuty's acknowledge acknowledges
it. The Slack side is queued in the outbox (``bot.alerts.actions``)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlmodel import Session

from bot.alerts import policy as escalation
from bot.alerts.model import NormalizedAlert, ParsedBatch, Severity
from bot.alerts.notes import Key, note, paged_for, target
from bot.plan.model import Integration, Plan, Team
from bot.runtime.metrics import Metrics
from bot.schedule.roster import Roster
from storage import alerts as store
from storage.db import NeedsSession, after_commit
from storage.prepared import Tx

if TYPE_CHECKING:
    from bot.app.services import Services
from bot.alerts.actions import (
    Context,
    acknowledge,
    context_of,
    notify,
    queue_leadership,
    resolve_alert,
    responders_of,
    sync,
)

logger = logging.getLogger(__name__)

# The width of the alert column filled from outside a normalised alert (which fits itself).
_INTEGRATION_WIDTH = 64


@dataclass(frozen=True)
class IngestOutcome:
    """What one alert of a batch did: created, repeated, acknowledged, resolved or ignored."""

    dedup_key: str
    action: str
    alert_id: int | None


@dataclass(frozen=True)
class IngestResult:
    """The outcome of a batch, alert by alert, in the order they came."""

    team: str
    integration: str
    outcomes: tuple[IngestOutcome, ...]

    @property
    def ids(self) -> list[int]:
        """The alerts the batch touched, each once, in order."""
        return list(dict.fromkeys(o.alert_id for o in self.outcomes if o.alert_id is not None))


def ingest_batch(
    *,
    session: Tx,
    services_or_plan: Services | Roster | Plan,
    integration: Integration | str,
    batch: ParsedBatch | Sequence[NormalizedAlert],
    now: datetime,
    team: str | None = None,
    metrics: Metrics | None = None,
) -> IngestResult:
    """Apply a batch of normalised alerts in the caller's transaction.

    ``integration`` is the plan's integration (or, for alerts raised from Slack, a name such as
    ``"slack"`` together with ``team``). Firing alerts open a new alert or repeat the open one
    with the same dedup key; resolved ones close it; PagerDuty acknowledgements acknowledge it.
    """
    ctx = context_of(services_or_plan, session, metrics)
    team_id: str | None
    if isinstance(integration, Integration):
        integration_id, team_id = integration.id, team or integration.team
    else:
        known = ctx.plan.integrations.get(integration)
        integration_id = integration
        team_id = team or (known.team if known is not None else None)
    if team_id is None:
        raise ValueError(f"integration {integration!r} is not in the setup file: name its team")
    team_obj = ctx.roster.team(team_id)
    alerts = batch if isinstance(batch, Sequence) else batch.alerts
    outcomes = tuple(
        _ingest_one(ctx, session, team_obj, integration_id, alert, now) for alert in alerts
    )
    received = sum(1 for o in outcomes if o.action in ("created", "repeated"))
    metrics_now = ctx.metrics
    if metrics_now is not None and received:
        after_commit(
            session,
            lambda: metrics_now.received(integration=integration_id, team=team_id, count=received),
        )
    return IngestResult(team=team_id, integration=integration_id, outcomes=outcomes)


def _ingest_one(
    ctx: Context,
    session: Tx,
    team: Team,
    integration: str,
    alert: NormalizedAlert,
    now: datetime,
) -> IngestOutcome:
    key = alert.dedup_key
    found = store.open_alert(session=session, team=team.id, dedup_key=key)
    action = str(alert.action)
    if action == "trigger" and found is None:
        created = _create(ctx, session, team, integration, key, alert, now)
        return IngestOutcome(key, "created", created)
    if found is None:
        # A resolve or acknowledge for an alert we never saw (or already closed): nothing to do.
        return IngestOutcome(key, "ignored", None)
    if action == "trigger":
        _repeat(ctx, session, team, found, alert, now)
        return IngestOutcome(key, "repeated", found.id)
    if not isinstance(session, Session):
        raise NeedsSession(f"a {action} of open alert {found.id} changes it through the ORM")
    # The look-up locked the row (PostgreSQL) for the rest of the transaction.
    existing = store.get_alert(session=session, alert_id=found.id)
    assert existing is not None
    if action == "resolve":
        resolve_alert(session=session, alert=existing, actor=integration, now=now)
        return IngestOutcome(key, "resolved", existing.id)
    if action == "acknowledge":
        acknowledge(ctx, session, existing, integration, now)
        return IngestOutcome(key, "acknowledged", existing.id)
    raise ValueError(f"unknown alert action {action!r}")


def _create(
    ctx: Context,
    session: Tx,
    team: Team,
    integration: str,
    key: str,
    alert: NormalizedAlert,
    now: datetime,
) -> int:
    responders = responders_of(ctx, session, team, now)
    steps = escalation.steps_of(team, ctx.plan.leadership)
    choice = escalation.first_step(steps, responders)
    bad_news_now = str(alert.severity) in team.leadership_now and bool(ctx.plan.leadership)
    # Everything about the new alert is known before its row is written: one insert, no update.
    alert_id = store.insert_alert(
        session=session,
        values={
            "team": team.id,
            "integration": integration[:_INTEGRATION_WIDTH],
            "dedup_key": key,
            "group_key": alert.group_key,
            "status": "open",
            "title": alert.title,
            "summary": alert.summary,
            "severity": str(alert.severity),
            "customer": alert.customer,
            "source": alert.source,
            "runbook_url": alert.runbook_url,
            "links": _links(alert),
            "labels": dict(alert.labels),
            "details": dict(alert.details),
            "count": 1,
            "first_seen": now,
            "last_seen": now,
            "oncall_user": responders.oncall,
            "acknowledged_at": None,
            "acknowledged_by": None,
            "resolved_at": None,
            "resolved_by": None,
            "escalation_step": max(len(steps) - 1, 0) if choice is None else choice.index,
            "next_escalation_at": None if choice is None else choice.next_escalation_at(now),
            "leadership_escalated_at": now if bad_news_now else None,
            "leadership_escalated_by": None,
        },
    )
    store.add_event(
        session=session,
        alert_id=alert_id,
        at=now,
        kind="received",
        actor=integration,
        note=note(Key.received, integration=integration),
    )
    sync(session, alert_id, now, new=True, critical=alert.severity == Severity.critical)
    if choice is None:
        store.add_event(
            session=session,
            alert_id=alert_id,
            at=now,
            kind="escalated",
            note=note(Key.nobody_to_page),
        )
    else:
        if choice.skipped:
            # A gap (or no backup at this hour): the alert goes to the next step at once.
            store.add_event(
                session=session,
                alert_id=alert_id,
                at=now,
                kind="escalated",
                note=note(
                    Key.skipped,
                    skipped=choice.skipped[0] + 1,
                    number=choice.number,
                    target=target(choice.step),
                    users=list(choice.users),
                ),
            )
        notify(
            session,
            alert_id,
            choice.users,
            paged_for(choice),
            now,
            team=team,
            severity=str(alert.severity),
        )
    if bad_news_now:
        queue_leadership(
            session, alert_id, ctx.plan.leadership, by=None, now=now, reason=note(Key.bad_news_now)
        )
    return alert_id


def _links(alert: NormalizedAlert) -> list[dict[str, str]]:
    return [{"title": str(link.title), "url": str(link.url)} for link in alert.links]


def _repeat(
    ctx: Context,
    session: Tx,
    team: Team,
    row: store.OpenAlert,
    alert: NormalizedAlert,
    now: datetime,
) -> None:
    count = row.count + 1
    # The newest sighting says best what is going on now.
    changes = {
        "count": count,
        "last_seen": max(row.last_seen, now),
        "title": alert.title,
        "summary": alert.summary or row.summary,
        "severity": str(alert.severity),
        "customer": alert.customer or row.customer,
        "source": alert.source or row.source,
        "runbook_url": alert.runbook_url or row.runbook_url,
        "links": _links(alert) or row.links,
        "labels": dict(alert.labels) or row.labels,
        "details": dict(alert.details) or row.details,
    }
    bad_news_now = (
        str(alert.severity) in team.leadership_now
        and row.leadership_escalated_at is None
        and bool(ctx.plan.leadership)
    )
    if bad_news_now:
        changes |= {"leadership_escalated_at": now, "leadership_escalated_by": None}
    store.update_alert(session=session, alert_id=row.id, values=changes)
    # A storm of repeats is one line of the timeline that keeps count, not a line per repeat.
    last = store.last_event(session=session, alert_id=row.id)
    seen = note(Key.repeated, count=count)
    if last is not None and last[1] == "repeated":
        store.set_event(session=session, event_id=last[0], at=now, note=seen)
    else:
        store.add_event(session=session, alert_id=row.id, at=now, kind="repeated", note=seen)
    if bad_news_now:
        queue_leadership(
            session, row.id, ctx.plan.leadership, by=None, now=now, reason=note(Key.bad_news_now)
        )
    sync(session, row.id, now)
