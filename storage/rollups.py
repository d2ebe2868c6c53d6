"""Roll-ups: alerts counted in one message for a flood into a channel, or into a person's DMs.

A roll-up takes the alerts that join it while it is open (one joined less than ``open_for``
ago); after a quiet spell the next flood starts a new one. Joining is written in the
transaction that settles the delivery that joined, so a worker killed before it leaves nothing.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta

from sqlalchemy import text
from sqlmodel import Session, col, select

from storage.models import Alert, Rollup, RollupAlert

CHANNEL, DM = "channel", "dm"


def subject_of(rollup_id: int) -> str:
    """The outbox and message subject of a roll-up."""
    return f"rollup:{rollup_id}"


def rollup_id_of(subject: str | None) -> int | None:
    """The roll-up a subject names, if it names one."""
    if subject and subject.startswith("rollup:"):
        number = subject.removeprefix("rollup:")
        if number.isdigit():
            return int(number)
    return None


def join(
    *,
    session: Session,
    kind: str,
    target: str,
    alert_id: int,
    now: datetime,
    open_for: timedelta,
) -> tuple[int, bool]:
    """Count the alert in the open roll-up of ``target`` (one is started when none is open);
    returns the roll-up's id, and whether it was started now. Joining twice counts the alert
    once.

    On PostgreSQL the joiners of one target queue on a lock held until they commit, so that two
    replicas joining at once find one roll-up: the second reads the first's once it has it.
    Callers joining several targets in one transaction join them in (kind, target) order.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(_JOINING, {"key": f"{kind}:{target}"})
    rollup = session.exec(
        select(Rollup)
        .where(
            Rollup.kind == kind,
            Rollup.target == target,
            col(Rollup.last_joined_at) >= now - open_for,
        )
        .order_by(col(Rollup.id).desc())
        .limit(1)
    ).first()
    started = rollup is None
    if rollup is None:
        rollup = Rollup(kind=kind, target=target, started_at=now, last_joined_at=now)
    rollup.last_joined_at = max(rollup.last_joined_at, now)
    session.add(rollup)
    session.flush()
    assert rollup.id is not None
    if session.get(RollupAlert, (rollup.id, alert_id)) is None:
        session.add(RollupAlert(rollup_id=rollup.id, alert_id=alert_id, joined_at=now))
    return rollup.id, started


# The lock joiners of one target queue on: a key of this class, and the target's hash (two
# targets sharing a hash only queue together).
_LOCK_CLASS = 15
_JOINING = text("SELECT pg_advisory_xact_lock(:class, hashtext(:key))").bindparams(
    **{"class": _LOCK_CLASS}
)


def rollups_of(*, session: Session, alert_ids: Collection[int]) -> dict[int, list[tuple[int, str]]]:
    """The roll-ups each of these alerts joined: alert id -> [(roll-up id, kind)]."""
    found: dict[int, list[tuple[int, str]]] = {}
    if not alert_ids:
        return found
    rows = session.exec(
        select(RollupAlert.alert_id, RollupAlert.rollup_id, Rollup.kind)
        .join(Rollup, col(Rollup.id) == col(RollupAlert.rollup_id))
        .where(col(RollupAlert.alert_id).in_(list(alert_ids)))
    )
    for alert_id, rollup_id, kind in rows:
        found.setdefault(alert_id, []).append((rollup_id, kind))
    return found


def members(*, session: Session, rollup_id: int, limit: int) -> tuple[Rollup, list[Alert]] | None:
    """The roll-up and its alerts, the newest first (``limit`` at most); None when it is gone."""
    rollup = session.get(Rollup, rollup_id)
    if rollup is None:
        return None
    alerts = list(
        session.exec(
            select(Alert)
            .join(RollupAlert, col(RollupAlert.alert_id) == col(Alert.id))
            .where(RollupAlert.rollup_id == rollup_id)
            .order_by(col(RollupAlert.joined_at).desc(), col(Alert.id).desc())
            .limit(limit)
        )
    )
    return rollup, alerts
