"""Heartbeats: what must keep calling in (a nightly backup, Alertmanager's Watchdog). A ping is
recorded; a silence longer than ``every`` plus ``grace`` is raised as an alert like any other
(dedup key ``heartbeat:<name>``: card, DM, escalation), and the next ping resolves it.

The watcher keeps nothing in memory: the last ping and whether its silence was raised live in the
database, so a heartbeat missed while the bot was down is raised at its first look after the
start, and every replica can run it: the silence is raised under the heartbeat's row lock, once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from bot.alerts.actions import wake_delivery
from bot.alerts.ingest import IngestOutcome, ingest_batch
from bot.alerts.model import AlertStatus, NormalizedAlert, Severity
from bot.i18n import _, speaking
from bot.plan.model import Heartbeat, Plan
from bot.runtime.rounds import run_rounds
from bot.schedule.engine import resolve_wall
from bot.schedule.timefmt import day_time
from storage import heartbeats as store
from storage.db import read_scope, session_scope
from storage.models import HeartbeatState

if TYPE_CHECKING:
    from sqlmodel import Session

    from bot.app.services import Services

logger = logging.getLogger(__name__)

INTEGRATION = "heartbeat"  # the alerts' integration, as their cards and timelines name it
# Seconds between looks: a silence is raised at most this late. Cheap: a few rows per look.
POLL_INTERVAL = 10.0


def dedup_key(name: str) -> str:
    """The dedup key of a heartbeat's alert."""
    return f"heartbeat:{name}"


def due_at(heartbeat: Heartbeat, zone: ZoneInfo, since: datetime) -> datetime:
    """When a silence since ``since`` becomes a missed heartbeat: one ``every`` later, plus the
    grace. Days and weeks are counted on the team's clock, as a daily job's cron counts them
    (23 or 25 hours across a DST change); minutes and hours as they pass."""
    if heartbeat.every.unit in ("m", "h"):
        # In UTC: an aware datetime's own arithmetic is on its wall clock.
        expected = since.astimezone(UTC) + heartbeat.every.wall_delta(1)
    else:
        wall = since.astimezone(zone).replace(tzinfo=None) + heartbeat.every.wall_delta(1)
        expected = resolve_wall(wall, zone)
    return expected + heartbeat.grace


def _zone(plan: Plan, heartbeat: Heartbeat) -> ZoneInfo:
    team = plan.teams.get(heartbeat.team)
    return team.timezone if team is not None else plan.timezone


def _span(delta: timedelta) -> str:
    """A grace as the setup file writes it: 10m, 2h, 1d."""
    minutes = int(delta.total_seconds() // 60)
    for unit, size in (("d", 1440), ("h", 60)):
        if minutes and minutes % size == 0:
            return f"{minutes // size}{unit}"
    return f"{minutes}m"


def _local(at: datetime, zone: ZoneInfo) -> str:
    return at.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")


def missed_alert(
    heartbeat: Heartbeat,
    zone: ZoneInfo,
    *,
    last_ping: datetime | None,
    watched_since: datetime,
    due: datetime,
) -> NormalizedAlert:
    """The alert that says a heartbeat missed its ping, and when the last one came (in the
    language being spoken: its team's)."""
    since = last_ping or watched_since
    local, local_due = since.astimezone(zone), due.astimezone(zone)
    # The time alone when it is the same day on the team's clock; the day too when it is not.
    shown = f"{local:%H:%M}" if local.date() == local_due.date() else day_time(since, zone)
    name = heartbeat.name
    if last_ping is not None:
        title = _("Heartbeat {name} missed, last ping {when}").format(name=name, when=shown)
        last = _("The last came at {when}.").format(when=_local(last_ping, zone))
    else:
        title = _("Heartbeat {name} missed, no ping since {when}").format(name=name, when=shown)
        last = _("None came since it is watched, {when}.").format(when=_local(watched_since, zone))
    summary = _(
        "{name} pings at least every {every}, give or take {grace}: one was due by {due}. "
        "{last} The next ping to /heartbeat/{name} resolves this alert."
    ).format(
        name=name,
        every=heartbeat.every,
        grace=_span(heartbeat.grace),
        due=_local(due, zone),
        last=last,
    )
    return NormalizedAlert(
        dedup_key=dedup_key(heartbeat.name),
        title=title,
        summary=summary,
        severity=Severity.error,
        source=f"heartbeat {heartbeat.name}",
        labels={"heartbeat": heartbeat.name},
        details={
            "last ping": last_ping.isoformat() if last_ping else "never",
            "due by": due.isoformat(),
            "every": str(heartbeat.every),
            "grace": _span(heartbeat.grace),
        },
        raw_kind=INTEGRATION,
    )


def _resolved_alert(heartbeat: Heartbeat) -> NormalizedAlert:
    return NormalizedAlert(
        dedup_key=dedup_key(heartbeat.name),
        title=f"Heartbeat {heartbeat.name} pinged",
        status=AlertStatus.resolved,
        raw_kind=INTEGRATION,
    )


def _overdue(plan: Plan, heartbeat: Heartbeat, state: HeartbeatState, now: datetime) -> bool:
    """Whether the heartbeat's silence is due at ``now`` and not raised yet."""
    if state.missed_at is not None:
        return False
    since = state.last_ping_at or state.watched_since
    return now >= due_at(heartbeat, _zone(plan, heartbeat), since)


# --- in the caller's transaction ------------------------------------------------------------


def raise_if_missed(
    *, session: Session, services_or_plan: Services | Plan, heartbeat: Heartbeat, now: datetime
) -> int | None:
    """Raise the heartbeat's silence if it is overdue at ``now`` and not raised yet; the id of
    the alert raised, else None."""
    plan = (
        services_or_plan if isinstance(services_or_plan, Plan) else services_or_plan.plans.current
    )
    state = store.watch(session=session, name=heartbeat.name, now=now)
    if not _overdue(plan, heartbeat, state, now):
        return None
    zone = _zone(plan, heartbeat)
    due = due_at(heartbeat, zone, state.last_ping_at or state.watched_since)
    state.missed_at = due
    session.add(state)
    team = plan.teams.get(heartbeat.team)
    with speaking(team.language if team is not None else None):
        alert = missed_alert(
            heartbeat,
            zone,
            last_ping=state.last_ping_at,
            watched_since=state.watched_since,
            due=due,
        )
    return _take_in(session, services_or_plan, heartbeat, alert, now).alert_id


@dataclass(frozen=True)
class Ping:
    """A recorded ping: when, and the alert of the silence it ended (None: there was none)."""

    at: datetime
    resolved: int | None


def record_ping(
    *, session: Session, services_or_plan: Services | Plan, heartbeat: Heartbeat, now: datetime
) -> Ping:
    """Record a ping of the heartbeat at ``now``, resolving the alert of its silence if raised."""
    if not store.ping(session=session, name=heartbeat.name, now=now):
        return Ping(now, None)
    outcome = _take_in(session, services_or_plan, heartbeat, _resolved_alert(heartbeat), now)
    return Ping(now, outcome.alert_id if outcome.action == "resolved" else None)


def _take_in(
    session: Session,
    services_or_plan: Services | Plan,
    heartbeat: Heartbeat,
    alert: NormalizedAlert,
    now: datetime,
) -> IngestOutcome:
    """Take in one alert of the heartbeat's, for its team, as the intake takes in any other."""
    (outcome,) = ingest_batch(
        session=session,
        services_or_plan=services_or_plan,
        integration=INTEGRATION,
        team=heartbeat.team,
        batch=[alert],
        now=now,
    ).outcomes
    return outcome


# --- the worker -------------------------------------------------------------------------------


class Watcher:
    """Looks for overdue heartbeats at the start, then every few seconds."""

    def __init__(self, services: Services, *, interval: float = POLL_INTERVAL) -> None:
        self.services = services
        self.interval = interval

    def raise_missed_now(self) -> list[tuple[str, int]]:
        """Raise every overdue heartbeat at the services' clock, one transaction each (blocking);
        the (heartbeat, alert id) of each raised."""
        plan = self.services.plans.current
        # A look without a write lock first: on SQLite the intake needs that lock, and most looks
        # find nothing to do.
        with read_scope(self.services.engine) as session:
            states = store.all_states(session=session)
        now = self.services.clock.now()
        raised = []
        for heartbeat in list(plan.heartbeats.values()):
            state = states.get(heartbeat.name)
            if state is not None and not _overdue(plan, heartbeat, state, now):
                continue
            try:
                with session_scope(self.services.engine) as session:
                    alert_id = raise_if_missed(
                        session=session,
                        services_or_plan=self.services,
                        heartbeat=heartbeat,
                        now=self.services.clock.now(),
                    )
            except Exception:  # one heartbeat that cannot be raised must not hold up the others
                logger.exception("heartbeat check failed", extra={"heartbeat": heartbeat.name})
                continue
            if alert_id is not None:
                raised.append((heartbeat.name, alert_id))
        return raised

    async def run_once(self) -> list[tuple[str, int]]:
        """Raise what is overdue now without blocking the event loop."""
        raised = await self.services.in_database(self.raise_missed_now)
        for name, alert_id in raised:
            logger.info("heartbeat missed", extra={"heartbeat": name, "alert": alert_id})
        if raised:
            wake_delivery(self.services)
        return raised

    async def run(self) -> None:
        """Run until cancelled; the first look is at once (what was missed while down)."""
        await run_rounds(
            self.run_once, interval=self.interval, failed="heartbeat round failed", log=logger
        )


def ping_now(services: Services, heartbeat: Heartbeat) -> Ping:
    """Record a ping at the services' clock, in its own transaction (blocking)."""
    with session_scope(services.engine) as session:
        return record_ping(
            session=session,
            services_or_plan=services,
            heartbeat=heartbeat,
            now=services.clock.now(),
        )
