"""What is done to alerts in the database once they are in: acknowledge, resolve, escalate (what is
due, or one now), page leadership, and queue the Slack side of each change.

Each function works in the caller's session and transaction, takes ``now`` instead of reading a
clock, and queues the Slack side in the outbox: an ``alert-sync`` (coalesced) for every change, an
``alert-notify`` per person paged, an ``alert-leadership`` when bad news goes to leadership.
Metrics are counted once the caller's transaction commits, never for work that was rolled back.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlmodel import Session

from bot.alerts import policy as escalation
from bot.alerts.notes import (
    Key,
    Note,
    mentions,
    not_acknowledged,
    note,
    paged_for,
    say,
    someone,
    target,
)
from bot.i18n import _
from bot.plan.model import Plan, Team
from bot.runtime.metrics import Metrics, metrics_of
from bot.schedule.roster import Roster
from bot.text.escaping import escape
from storage import alerts as store
from storage.db import after_commit
from storage.models import Alert
from storage.outbox import ALERT_LEADERSHIP, ALERT_NOTIFY, ALERT_SYNC, NORMAL, URGENT, enqueue
from storage.prepared import Tx
from storage.wakeups import queue_wakeups, stop_wakeups

if TYPE_CHECKING:
    from bot.app.services import Services

logger = logging.getLogger(__name__)

# Widths of the alert columns filled from outside a normalised alert (which fits itself).
_USER_WIDTH = 32
# How long an alert whose escalation failed (a broken plan, a bug) waits before another try.
ESCALATION_RETRY = timedelta(minutes=1)


class AlertNotFound(LookupError):
    """No alert has the id asked for."""

    def __init__(self, alert_id: int) -> None:
        self.alert_id = alert_id
        super().__init__(f"no alert with id {alert_id}")


@dataclass(frozen=True)
class EscalationOutcome:
    """What an escalation did to one alert, and a sentence saying so to whoever asked for it."""

    alert_id: int
    escalated: bool
    step: int | None = None  # 1-based step reached
    users: tuple[str, ...] = ()
    message: str = ""


@dataclass
class Context:
    plan: Plan
    roster: Roster
    metrics: Metrics | None


def context_of(
    services_or_plan: Services | Roster | Plan, session: Tx, metrics: Metrics | None
) -> Context:
    if isinstance(services_or_plan, Plan):
        plan = services_or_plan
        return Context(plan, Roster(lambda: plan, session.connection().engine), metrics)
    if isinstance(services_or_plan, Roster):
        return Context(services_or_plan.plan, services_or_plan, metrics)
    services = services_or_plan
    return Context(services.roster.plan, services.roster, metrics or metrics_of(services))


def wake_delivery(services: Services) -> None:
    """Nudge the delivery worker (call from the event loop, after the commit)."""
    # The workers poll anyway; a nudge only makes the first post (and push) quicker.
    for worker in (services.delivery, services.waker):
        if worker is not None:
            worker.wake()


def sync(
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


def notify(
    session: Tx,
    alert_id: int | None,
    users: Sequence[str],
    reason: Note,
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
        due=escalation.first_wake(policy, severity, now),
        times=policy.times,
        every=policy.every,
        now=now,
    )


def responders_of(ctx: Context, session: Tx, team: Team, now: datetime) -> escalation.Responders:
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
    reason: Note,
) -> bool:
    """Queue the leadership DMs for an alert unless they already went; True when queued now."""
    assert alert.id is not None
    if alert.leadership_escalated_at is not None or not leadership:
        return False
    alert.leadership_escalated_at = now
    alert.leadership_escalated_by = by
    session.add(alert)
    queue_leadership(session, alert.id, leadership, by=by, now=now, reason=reason)
    return True


def queue_leadership(
    session: Tx,
    alert_id: int,
    leadership: Sequence[str],
    *,
    by: str | None,
    now: datetime,
    reason: Note,
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
        note=note(Key.leadership, why=reason, users=list(leadership)),
    )


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
    sync(session, alert.id, now)
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
    ctx = context_of(services_or_plan, session, metrics)
    alert = _locked_alert(session, alert_id)
    if alert.resolved_at is not None:
        return ActionOutcome(alert_id, False, _("This alert is already resolved."))
    if alert.acknowledged_at is not None:
        return ActionOutcome(
            alert_id,
            False,
            _("{who} already acknowledged this alert.").format(who=someone(alert.acknowledged_by)),
        )
    acknowledge(ctx, session, alert, actor, now)
    return ActionOutcome(
        alert_id, True, _("Acknowledged: escalation stopped, the card says it is yours.")
    )


def resolve_now(*, session: Session, alert_id: int, actor: str, now: datetime) -> ActionOutcome:
    """Resolve an alert (the Resolve button)."""
    alert = _locked_alert(session, alert_id)
    if not resolve_alert(session=session, alert=alert, actor=actor, now=now):
        return ActionOutcome(alert_id, False, _("This alert is already resolved."))
    return ActionOutcome(alert_id, True, _("Resolved."))


def escalate_to_leadership(
    *,
    session: Session,
    services_or_plan: Services | Roster | Plan,
    alert_id: int,
    actor: str,
    now: datetime,
) -> ActionOutcome:
    """Page leadership about an alert ("Escalate to CEO"): once, however often it is clicked."""
    ctx = context_of(services_or_plan, session, None)
    alert = _locked_alert(session, alert_id)
    title = escape(ctx.plan.leadership_title)  # from the setup file, shown in mrkdwn
    if not ctx.plan.leadership:
        return ActionOutcome(
            alert_id,
            False,
            _(
                "There is no {title} to escalate to: nobody is listed under `leadership` in the "
                "setup file."
            ).format(title=title),
        )
    if alert.leadership_escalated_at is not None:
        by = alert.leadership_escalated_by
        said = (
            _("Already escalated to the {title} by <@{user}>.").format(title=title, user=by)
            if by
            else _("Already escalated to the {title} automatically (bad news now).").format(
                title=title
            )
        )
        return ActionOutcome(alert_id, False, said)
    page_leadership(
        session=session,
        alert=alert,
        leadership=ctx.plan.leadership,
        by=actor,
        now=now,
        reason=note(Key.escalated_to, title=ctx.plan.leadership_title),
    )
    sync(session, alert.id, now)
    return ActionOutcome(
        alert_id,
        True,
        _("Escalated to the {title}: {users} got a DM.").format(
            title=title, users=mentions(ctx.plan.leadership)
        ),
    )


def acknowledge(ctx: Context, session: Session, row: Alert, actor: str, now: datetime) -> None:
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
    sync(session, row.id, now)
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
    ctx = context_of(services_or_plan, session, metrics)
    outcomes = []
    for alert in store.claim_due_escalations(session=session, now=now, limit=limit):
        why = not_acknowledged(_current_wait(ctx, alert))
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
    ctx = context_of(services_or_plan, session, metrics)
    alert = _locked_alert(session, alert_id)
    if alert.resolved_at is not None:
        said = (
            _("This alert is already resolved by {who}.").format(who=someone(alert.resolved_by))
            if alert.resolved_by
            else _("This alert is already resolved.")
        )
        return EscalationOutcome(alert_id, escalated=False, message=said)
    return _advance(ctx, session, alert, now, actor=actor, why=note(Key.by_hand))


def _current_wait(ctx: Context, alert: Alert) -> timedelta | None:
    team = ctx.plan.teams.get(alert.team)
    if team is None:
        return None
    steps = escalation.steps_of(team, ctx.plan.leadership)
    if 0 <= alert.escalation_step < len(steps):
        return steps[alert.escalation_step].wait
    return None


def _advance(
    ctx: Context,
    session: Session,
    alert: Alert,
    now: datetime,
    *,
    actor: str | None,
    why: Note,
) -> EscalationOutcome:
    assert alert.id is not None
    team = ctx.plan.teams.get(alert.team)
    if team is None:
        _stop_escalation(
            session,
            alert,
            now,
            actor=actor,
            said=note(Key.team_gone, team=alert.team),
        )
        return EscalationOutcome(
            alert.id,
            escalated=False,
            message=_("Team {team} is no longer in the setup file.").format(
                team=escape(alert.team)
            ),
        )
    steps = escalation.steps_of(team, ctx.plan.leadership)
    responders = responders_of(ctx, session, team, now)
    already = store.paged_users(session=session, alert_id=alert.id)
    choice = escalation.next_step(steps, alert.escalation_step, responders, already)
    if choice is None:
        _stop_escalation(
            session,
            alert,
            now,
            actor=actor,
            said=note(Key.no_further_step, why=why),
        )
        return EscalationOutcome(
            alert.id,
            escalated=False,
            message=_(
                "Nobody is left to escalate to: everyone in the escalation policy was paged."
            ),
        )
    reason = paged_for(choice)
    notify(session, alert.id, choice.users, reason, now, team=team, severity=alert.severity)
    alert.escalation_step = choice.index
    # An acknowledged alert escalated by hand gets more help but no timer: someone is on it.
    alert.next_escalation_at = choice.next_escalation_at(now) if alert.status == "open" else None
    session.add(alert)
    store.add_event(
        session=session,
        alert_id=alert.id,
        at=now,
        kind="escalated",
        actor=actor,
        note=note(
            Key.escalated,
            why=why,
            number=choice.number,
            target=target(choice.step),
            users=list(choice.users),
        ),
    )
    sync(session, alert.id, now)
    metrics, team_id, number = ctx.metrics, team.id, choice.number
    if metrics is not None:
        after_commit(session, lambda: metrics.escalated(team=team_id, step=number))
    return EscalationOutcome(
        alert.id,
        escalated=True,
        step=choice.number,
        users=choice.users,
        message=_("Escalated to step {number} ({target}): paged {users}.").format(
            number=choice.number, target=say(target(choice.step)), users=mentions(choice.users)
        ),
    )


def _stop_escalation(
    session: Session, alert: Alert, now: datetime, *, actor: str | None, said: Note
) -> None:
    """End the alert's escalation, with a timeline line saying why."""
    assert alert.id is not None
    alert.next_escalation_at = None
    session.add(alert)
    store.add_event(
        session=session, alert_id=alert.id, at=now, kind="escalated", actor=actor, note=said
    )
    sync(session, alert.id, now)
