"""What each outbox row shows: an alert's card data read in one go with its messages, a
roll-up's and a cover request's, and the fingerprints that tell whether a posted message already
shows it."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from bot.alerts.notes import Said
from bot.alerts.runbooks import runbook_for
from bot.schedule.covers import subject_of as cover_subject
from bot.slack.blocks import Message
from bot.slack.blocks.alert import AlertCard, TimelineLine, content_hash
from bot.slack.blocks.rollup import MENUS_MAX, RolledAlert, RollupSummary
from storage import alerts as alert_store
from storage import outbox, rollups
from storage.alerts import subject_of
from storage.covers import get_cover
from storage.db import read_scope
from storage.models import Alert, AlertEvent, CoverRequest, SlackMessage
from storage.slack_messages import messages_by_subject, messages_of

if TYPE_CHECKING:
    from bot.app.services import Services
    from bot.plan.model import Plan

# The roles of the messages a row makes.
CARD, DM, LEADERSHIP, ROLLUP = "card", "dm", "leadership", "rollup"
POST = "post"  # a channel post that is no alert's: a cover request's
HASH_LENGTH = 32  # content_hash's length: a stored fingerprint is two of them
# A roll-up's later rows leave its posting to the row that started it for this long.
FIRST_ROW_PATIENCE = timedelta(seconds=20)
ROLLUP_LISTED = MENUS_MAX * 100  # alerts a roll-up loads: as many as its menus can list


@dataclass(frozen=True)
class _Loaded:
    """An alert's card data, its channel, and the messages already posted for it."""

    card: AlertCard
    team: str
    channel: str | None
    messages: tuple[SlackMessage, ...]
    reasons: dict[str, Said | None]  # why each paged user was paged
    leaders: frozenset[str] = frozenset()  # whom "Escalate to CEO" pages: not offered to them
    rollups: tuple[int, ...] = ()  # the roll-ups it joined (instead of a card, or of a DM)
    in_channel_rollup: bool = False
    # Its syncs (this one among them) that an earlier try may have posted the card for.
    syncs_in_doubt: frozenset[int] = frozenset()


def card_of(services: Services, alert_id: int) -> AlertCard | None:
    """What an alert's card shows now (blocking); None when there is no such alert."""
    loaded = _read_alerts(services, [alert_id]).get(alert_id)
    return loaded.card if loaded is not None else None


def _read_alerts(services: Services, alert_ids: Collection[int]) -> dict[int, _Loaded]:
    """What delivering needs of some alerts, read in one go (five queries, however many)."""
    if not alert_ids:
        return {}
    plan = services.plans.current
    with read_scope(services.engine) as session:
        alerts = alert_store.get_alerts(session=session, alert_ids=alert_ids)
        events = alert_store.timelines(session=session, alert_ids=list(alerts))
        subjects = [subject_of(alert_id) for alert_id in alerts]
        messages = messages_by_subject(session=session, subjects=subjects)
        reasons = alert_store.pages_of(session=session, alert_ids=list(alerts))
        joined = rollups.rollups_of(session=session, alert_ids=list(alerts))
        doubtful = outbox.in_doubt(session=session, kind=outbox.ALERT_SYNC, subjects=subjects)
    return {
        alert_id: _loaded(
            plan,
            alert,
            events[alert_id],
            messages[subject_of(alert_id)],
            reasons[alert_id],
            joined.get(alert_id, []),
            doubtful.get(subject_of(alert_id), set()),
        )
        for alert_id, alert in alerts.items()
    }


def _loaded(
    plan: Plan,
    alert: Alert,
    events: list[AlertEvent],
    messages: list[SlackMessage],
    reasons: dict[str, Said | None],
    joined: Collection[tuple[int, str]] = (),
    syncs_in_doubt: Collection[int] = (),
) -> _Loaded:
    assert alert.id is not None
    team = plan.teams.get(alert.team)
    card = AlertCard(
        id=alert.id,
        team_name=team.name if team is not None else alert.team,
        title=alert.title,
        severity=alert.severity,
        status=alert.status,
        integration=alert.integration,
        first_seen=alert.first_seen,
        last_seen=alert.last_seen,
        count=alert.count,
        summary=alert.summary,
        customer=alert.customer,
        source=alert.source,
        runbook_url=alert.runbook_url,
        runbook=runbook_for(alert, plan),
        links=tuple((link.get("title", ""), link.get("url", "")) for link in alert.links),
        labels=tuple(sorted((str(k), str(v)) for k, v in (alert.labels or {}).items())),
        details=tuple((str(k), str(v)) for k, v in (alert.details or {}).items()),
        acknowledged_at=alert.acknowledged_at,
        acknowledged_by=alert.acknowledged_by,
        resolved_at=alert.resolved_at,
        resolved_by=alert.resolved_by,
        leadership_at=alert.leadership_escalated_at,
        leadership_by=alert.leadership_escalated_by,
        timeline=tuple(TimelineLine(e.at, e.kind, e.actor, e.detail, e.note) for e in events),
        leadership_title=plan.leadership_title,
    )
    channel = team.channel if team is not None else None
    return _Loaded(
        card,
        alert.team,
        channel,
        tuple(messages),
        reasons,
        frozenset(plan.leadership),
        rollups=tuple(rollup_id for rollup_id, _ in joined),
        in_channel_rollup=any(kind == rollups.CHANNEL for _, kind in joined),
        syncs_in_doubt=frozenset(syncs_in_doubt),
    )


def load_rollup(
    services: Services, rollup_id: int, job_id: int
) -> tuple[str, str, RollupSummary, SlackMessage | None, bool] | None:
    """A roll-up's kind, target, what it shows, its message (once posted), and whether the
    row that started it is still to deliver (it is the one that posts it)."""
    plan = services.plans.current
    with read_scope(services.engine) as session:
        found = rollups.members(session=session, rollup_id=rollup_id, limit=ROLLUP_LISTED)
        if found is None:
            return None
        rollup, alerts = found
        posted = messages_of(session=session, subject=rollups.subject_of(rollup_id))
        # Not for ever: a first row that keeps failing must not leave the roll-up unposted.
        young = services.clock.now() - rollup.started_at < FIRST_ROW_PATIENCE
        first_waiting = young and any(
            row.id != job_id and (row.payload or {}).get("first")
            for row in outbox.pending_of(
                session=session, kind=outbox.ROLLUP_SYNC, subject=rollups.subject_of(rollup_id)
            )
        )
    summary = RollupSummary(
        in_dm=rollup.kind == rollups.DM,
        since=rollup.started_at,
        alerts=tuple(
            RolledAlert(
                id=alert.id or 0,
                title=alert.title,
                severity=alert.severity,
                status=alert.status,
                team_name=team.name if (team := plan.teams.get(alert.team)) else alert.team,
            )
            for alert in alerts
        ),
    )
    message = next((m for m in posted if m.role == ROLLUP), None)
    return rollup.kind, rollup.target, summary, message, first_waiting


def load_cover(
    services: Services, cover_id: int
) -> tuple[CoverRequest | None, SlackMessage | None]:
    """A cover request and its channel post, if it was posted."""
    with read_scope(services.engine) as session:
        cover = get_cover(session=session, cover_id=cover_id)
        found = messages_of(session=session, subject=cover_subject(cover_id))
    return cover, next((m for m in found if m.role == POST), None)


def fingerprint(content: Message, calm: Message) -> str:
    """What a message shows, as stored with it: the hash of its calm form (without what repeats
    change), then the hash of the whole."""
    return content_hash(calm) + content_hash(content)


def as_posted(content: Message) -> str:
    """A message as our post of it and Slack's copy of that post both show it: without the
    block ids Slack gives the blocks that have none."""
    blocks = [{k: v for k, v in block.items() if k != "block_id"} for block in content["blocks"]]
    return content_hash(Message(text=content["text"], blocks=blocks))


def calm_hash(stored: str | None) -> str:
    """The hash of a stored fingerprint's calm form (what repeats do not change)."""
    return (stored or "")[:HASH_LENGTH]


def full_hash(stored: str | None) -> str:
    """The hash of the whole message, from a stored fingerprint."""
    return (stored or "")[HASH_LENGTH:]
