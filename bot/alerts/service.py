"""What happens to alerts in the database: ingest a batch, escalate what is due, escalate one now.

Each function works in the caller's session and transaction (so a batch is all or nothing),
takes ``now`` instead of reading a clock, and queues the Slack side in the outbox: an
``alert-sync`` (coalesced) for every change, an ``alert-notify`` per person paged, an
``alert-leadership`` when bad news goes to leadership. Metrics are counted once the caller's
transaction commits, never for work that was rolled back.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlmodel import Session

from bot.alerts import policy as escalation
from bot.alerts.model import NormalizedAlert, ParsedBatch, Severity
from bot.app.metrics import Metrics, metrics_of
from bot.plan.model import Integration, Plan, Team
from bot.schedule.roster import Roster
from bot.slack.blocks.escaping import escape, who
from bot.wake.policy import first_wake
from storage import alerts as store
from storage.db import NeedsSession, after_commit
from storage.models import Alert
from storage.outbox import ALERT_LEADERSHIP, ALERT_NOTIFY, ALERT_SYNC, NORMAL, URGENT, enqueue
from storage.prepared import Tx
from storage.wakeups import queue_wakeups, stop_wakeups

if TYPE_CHECKING:
    from bot.app.services import Services

logger = logging.getLogger(__name__)

# Widths of the alert columns filled from outside a normalised alert (which fits itself).
_INTEGRATION_WIDTH = 64
_USER_WIDTH = 32
# How long an alert whose escalation failed (a broken plan, a bug) waits before another try.
ESCALATION_RETRY = timedelta(minutes=1)


class AlertNotFound(LookupError):
    """No alert has the id asked for."""

    def __init__(self, alert_id: int) -> None:
        self.alert_id = alert_id
        super().__init__(f"no alert with id {alert_id}")


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


@dataclass(frozen=True)
class EscalationOutcome:
    """What an escalation did to one alert, and a sentence saying so to whoever asked for it."""

    alert_id: int
    escalated: bool
    step: int | None = None  # 1-based step reached
    users: tuple[str, ...] = ()
    message: str = ""


@dataclass
class _Context:
    plan: Plan
    roster: Roster
    metrics: Metrics | None


def _context(
    services_or_plan: Services | Roster | Plan, session: Tx, metrics: Metrics | None
) -> _Context:
    if isinstance(services_or_plan, Plan):
        plan = services_or_plan
        return _Context(plan, Roster(lambda: plan, session.connection().engine), metrics)
    if isinstance(services_or_plan, Roster):
        return _Context(services_or_plan.plan, services_or_plan, metrics)
    services = services_or_plan
    return _Context(services.roster.plan, services.roster, metrics or metrics_of(services))


def wake_delivery(services: Services) -> None:
    """Nudge the delivery worker (call from the event loop, after the commit)."""
    # The workers poll anyway; a nudge only makes the first post (and push) quicker.
    for worker in (services.delivery, services.waker):
        if worker is not None:
            worker.wake()


def _mentions(users: Iterable[str]) -> str:
    return ", ".join(f"<@{u}>" for u in users)


def _sync(
    session: Tx, alert_id: int | None, now: datetime, *, new: bool = False, critical: bool = False
) -> None:
    # A new alert has no sync waiting to fold this one into: no need to look for one. Its card
    # waits its channel's turn after a critical alert's and after changes to cards already
    # shown (which is what a later sync mostly is).
    assert alert_id is not None
    enqueue(
        session=session,
        kind=ALERT_SYNC,
        now=now,
        subject=store.subject_of(alert_id),
        coalesce=not new,
        priority=NORMAL if new and not critical else URGENT,
    )


def _notify(
    session: Tx,
    alert_id: int | None,
    users: Sequence[str],
    reason: str,
    now: datetime,
    *,
    team: Team,
    severity: str,
) -> None:
    """Page people about an alert: a DM each, and their wake-ups (see ``bot.wake``)."""
    assert alert_id is not None
    for user in users:
        enqueue(
            session=session,
            kind=ALERT_NOTIFY,
            now=now,
            subject=store.subject_of(alert_id),
            payload={"user": user, "reason": reason},
            priority=URGENT,
        )
    policy = team.wake
    queue_wakeups(
        session=session,
        alert_id=alert_id,
        users=users,
        due=first_wake(policy, severity, now),
        times=policy.times,
        every=policy.every,
        now=now,
    )


def _responders(ctx: _Context, session: Tx, team: Team, now: datetime) -> escalation.Responders:
    oncall, backup = ctx.roster.holders(team.id, now, session)
    return escalation.Responders(
        oncall=oncall,
        backup=backup,
        leadership=tuple(ctx.plan.leadership),
    )


def page_leadership(
    *,
    session: Session,
    alert: Alert,
    leadership: Sequence[str],
    by: str | None,
    now: datetime,
    reason: str,
) -> bool:
    """Queue the leadership DMs for an alert unless they already went; True when queued now."""
    assert alert.id is not None
    if alert.leadership_escalated_at is not None or not leadership:
        return False
    alert.leadership_escalated_at = now
    alert.leadership_escalated_by = by
    session.add(alert)
    _queue_leadership(session, alert.id, leadership, by=by, now=now, reason=reason)
    return True


def _queue_leadership(
    session: Tx,
    alert_id: int,
    leadership: Sequence[str],
    *,
    by: str | None,
    now: datetime,
    reason: str,
) -> None:
    """Queue the leadership DMs of an alert marked as escalated to leadership, with its line."""
    enqueue(
        session=session,
        kind=ALERT_LEADERSHIP,
        now=now,
        subject=store.subject_of(alert_id),
        payload={"users": list(leadership), "by": by, "at": now.isoformat(), "reason": reason},
        priority=URGENT,
    )
    store.add_event(
        session=session,
        alert_id=alert_id,
        at=now,
        kind="leadership",
        actor=by,
        detail=f"{reason}: paged {_mentions(leadership)}",
    )


# --- ingest ------------------------------------------------------------------------------------


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
    ctx = _context(services_or_plan, session, metrics)
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
    ctx: _Context,
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
        _acknowledge(ctx, session, existing, integration, now)
        return IngestOutcome(key, "acknowledged", existing.id)
    raise ValueError(f"unknown alert action {action!r}")


def _create(
    ctx: _Context,
    session: Tx,
    team: Team,
    integration: str,
    key: str,
    alert: NormalizedAlert,
    now: datetime,
) -> int:
    responders = _responders(ctx, session, team, now)
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
        detail=f"received from {escape(integration)}",
    )
    _sync(session, alert_id, now, new=True, critical=alert.severity == Severity.critical)
    if choice is None:
        store.add_event(
            session=session,
            alert_id=alert_id,
            at=now,
            kind="escalated",
            detail="nobody to page: every escalation step is empty right now",
        )
    else:
        if choice.skipped:
            # A gap (or no backup at this hour): the alert goes to the next step at once.
            store.add_event(
                session=session,
                alert_id=alert_id,
                at=now,
                kind="escalated",
                detail=f"nobody on step {choice.skipped[0] + 1}: straight to step "
                f"{choice.number} ({escalation.describe_target(choice.step)}), "
                f"paged {_mentions(choice.users)}",
            )
        _notify(
            session,
            alert_id,
            choice.users,
            choice.reason,
            now,
            team=team,
            severity=str(alert.severity),
        )
    if bad_news_now:
        _queue_leadership(
            session, alert_id, ctx.plan.leadership, by=None, now=now, reason="bad news now"
        )
    return alert_id


def _links(alert: NormalizedAlert) -> list[dict[str, str]]:
    return [{"title": str(link.title), "url": str(link.url)} for link in alert.links]


def _repeat(
    ctx: _Context,
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
    detail = f"seen {count} times"
    if last is not None and last[1] == "repeated":
        store.set_event(session=session, event_id=last[0], at=now, detail=detail)
    else:
        store.add_event(session=session, alert_id=row.id, at=now, kind="repeated", detail=detail)
    if bad_news_now:
        _queue_leadership(
            session, row.id, ctx.plan.leadership, by=None, now=now, reason="bad news now"
        )
    _sync(session, row.id, now)


def resolve_alert(*, session: Session, alert: Alert, actor: str | None, now: datetime) -> bool:
    """Close an open alert and stop its escalation; False when it was already resolved."""
    assert alert.id is not None
    if alert.resolved_at is not None:
        return False
    alert.status = "resolved"
    alert.resolved_at = now
    alert.resolved_by = actor and actor[:64]
    alert.next_escalation_at = None
    session.add(alert)
    stop_wakeups(session=session, alert_id=alert.id, now=now)
    store.add_event(session=session, alert_id=alert.id, at=now, kind="resolved", actor=actor)
    _sync(session, alert.id, now)
    return True


def _locked_alert(session: Session, alert_id: int) -> Alert:
    """The alert, locked for this transaction (on PostgreSQL), or AlertNotFound."""
    alert = store.get_alert(session=session, alert_id=alert_id, lock=True)
    if alert is None:
        raise AlertNotFound(alert_id)
    return alert


@dataclass(frozen=True)
class ActionOutcome:
    """What a button did to an alert, and a sentence saying so to whoever clicked it."""

    alert_id: int
    changed: bool
    message: str


def acknowledge_now(
    *,
    session: Session,
    services_or_plan: Services | Roster | Plan,
    alert_id: int,
    actor: str,
    now: datetime,
    metrics: Metrics | None = None,
) -> ActionOutcome:
    """Acknowledge an alert (the Acknowledge button): escalation stops, the card says who."""
    ctx = _context(services_or_plan, session, metrics)
    alert = _locked_alert(session, alert_id)
    if alert.resolved_at is not None:
        return ActionOutcome(alert_id, False, "This alert is already resolved.")
    if alert.acknowledged_at is not None:
        return ActionOutcome(
            alert_id, False, f"{who(alert.acknowledged_by)} already acknowledged this alert."
        )
    _acknowledge(ctx, session, alert, actor, now)
    return ActionOutcome(
        alert_id, True, "Acknowledged: escalation stopped, the card says it is yours."
    )


def resolve_now(*, session: Session, alert_id: int, actor: str, now: datetime) -> ActionOutcome:
    """Resolve an alert (the Resolve button)."""
    alert = _locked_alert(session, alert_id)
    if not resolve_alert(session=session, alert=alert, actor=actor, now=now):
        return ActionOutcome(alert_id, False, "This alert is already resolved.")
    return ActionOutcome(alert_id, True, "Resolved.")


def escalate_to_leadership(
    *,
    session: Session,
    services_or_plan: Services | Roster | Plan,
    alert_id: int,
    actor: str,
    now: datetime,
) -> ActionOutcome:
    """Page leadership about an alert ("Escalate to CEO"): once, however often it is clicked."""
    ctx = _context(services_or_plan, session, None)
    alert = _locked_alert(session, alert_id)
    title = escape(ctx.plan.leadership_title)  # from the setup file, shown in mrkdwn
    if not ctx.plan.leadership:
        return ActionOutcome(
            alert_id,
            False,
            f"There is no {title} to escalate to: nobody is listed under `leadership` in the "
            "setup file.",
        )
    if alert.leadership_escalated_at is not None:
        by = alert.leadership_escalated_by
        who = f"by <@{by}>" if by else "automatically (bad news now)"
        return ActionOutcome(alert_id, False, f"Already escalated to the {title} {who}.")
    page_leadership(
        session=session,
        alert=alert,
        leadership=ctx.plan.leadership,
        by=actor,
        now=now,
        reason=f"escalated to the {title}",
    )
    _sync(session, alert.id, now)
    return ActionOutcome(
        alert_id, True, f"Escalated to the {title}: {_mentions(ctx.plan.leadership)} got a DM."
    )


def _acknowledge(ctx: _Context, session: Session, row: Alert, actor: str, now: datetime) -> None:
    assert row.id is not None
    if row.status != "open":
        return
    row.status = "acknowledged"
    row.acknowledged_at = now
    row.acknowledged_by = actor[:_USER_WIDTH]
    row.next_escalation_at = None
    session.add(row)
    stop_wakeups(session=session, alert_id=row.id, now=now)
    store.add_event(session=session, alert_id=row.id, at=now, kind="acknowledged", actor=actor)
    _sync(session, row.id, now)
    metrics, team, seconds = ctx.metrics, row.team, (now - row.first_seen).total_seconds()
    if metrics is not None:
        after_commit(session, lambda: metrics.acknowledged(team=team, seconds=seconds))


# --- escalation --------------------------------------------------------------------------------


def escalate_due(
    *,
    session: Session,
    services_or_plan: Services | Roster | Plan,
    now: datetime,
    limit: int = 50,
    metrics: Metrics | None = None,
) -> list[EscalationOutcome]:
    """Escalate every open, unacknowledged alert whose next escalation is due at ``now``."""
    ctx = _context(services_or_plan, session, metrics)
    outcomes = []
    for alert in store.claim_due_escalations(session=session, now=now, limit=limit):
        wait = _current_wait(ctx, alert)
        why = f"not acknowledged within {wait}" if wait else "not acknowledged"
        try:
            # One alert that cannot be escalated must not hold up the others of the batch.
            with session.begin_nested():
                outcomes.append(_advance(ctx, session, alert, now, actor=None, why=why))
        except Exception:
            logger.exception("escalation failed; trying again later", extra={"alert": alert.id})
            alert.next_escalation_at = now + ESCALATION_RETRY
            session.add(alert)
    return outcomes


def escalate_now(
    *,
    session: Session,
    services_or_plan: Services | Roster | Plan,
    alert_id: int,
    actor: str | None,
    now: datetime,
    metrics: Metrics | None = None,
) -> EscalationOutcome:
    """Move one alert to its next escalation step at once (the Escalate button)."""
    ctx = _context(services_or_plan, session, metrics)
    alert = _locked_alert(session, alert_id)
    if alert.resolved_at is not None:
        by = f" by {who(alert.resolved_by)}" if alert.resolved_by else ""
        return EscalationOutcome(
            alert_id, escalated=False, message=f"This alert is already resolved{by}."
        )
    return _advance(ctx, session, alert, now, actor=actor, why="escalated by hand")


def _current_wait(ctx: _Context, alert: Alert) -> str | None:
    team = ctx.plan.teams.get(alert.team)
    if team is None:
        return None
    steps = escalation.steps_of(team, ctx.plan.leadership)
    if 0 <= alert.escalation_step < len(steps) and steps[alert.escalation_step].wait:
        minutes = int(steps[alert.escalation_step].wait.total_seconds() // 60)  # type: ignore[union-attr]
        return f"{minutes} min"
    return None


def _advance(
    ctx: _Context,
    session: Session,
    alert: Alert,
    now: datetime,
    *,
    actor: str | None,
    why: str,
) -> EscalationOutcome:
    assert alert.id is not None
    team = ctx.plan.teams.get(alert.team)
    if team is None:
        alert.next_escalation_at = None
        session.add(alert)
        store.add_event(
            session=session,
            alert_id=alert.id,
            at=now,
            kind="escalated",
            actor=actor,
            detail=f"team '{escape(alert.team)}' is no longer in the setup file: "
            "escalation stopped",
        )
        _sync(session, alert.id, now)
        return EscalationOutcome(
            alert.id,
            escalated=False,
            message=f"Team {escape(alert.team)} is no longer in the setup file.",
        )
    steps = escalation.steps_of(team, ctx.plan.leadership)
    responders = _responders(ctx, session, team, now)
    already = store.paged_users(session=session, alert_id=alert.id)
    choice = escalation.next_step(steps, alert.escalation_step, responders, already)
    if choice is None:
        alert.next_escalation_at = None
        session.add(alert)
        store.add_event(
            session=session,
            alert_id=alert.id,
            at=now,
            kind="escalated",
            actor=actor,
            detail=f"{why}: no further escalation step, everyone in the policy was paged",
        )
        _sync(session, alert.id, now)
        return EscalationOutcome(
            alert.id,
            escalated=False,
            message="Nobody is left to escalate to: everyone in the escalation policy was paged.",
        )
    _notify(session, alert.id, choice.users, choice.reason, now, team=team, severity=alert.severity)
    alert.escalation_step = choice.index
    # An acknowledged alert escalated by hand gets more help but no timer: someone is on it.
    alert.next_escalation_at = choice.next_escalation_at(now) if alert.status == "open" else None
    session.add(alert)
    target = escalation.describe_target(choice.step)
    store.add_event(
        session=session,
        alert_id=alert.id,
        at=now,
        kind="escalated",
        actor=actor,
        detail=f"{why}: step {choice.number} ({target}), paged {_mentions(choice.users)}",
    )
    _sync(session, alert.id, now)
    metrics, team_id, number = ctx.metrics, team.id, choice.number
    if metrics is not None:
        after_commit(session, lambda: metrics.escalated(team=team_id, step=number))
    return EscalationOutcome(
        alert.id,
        escalated=True,
        step=choice.number,
        users=choice.users,
        message=f"Escalated to step {choice.number} ({target}): paged {_mentions(choice.users)}.",
    )
