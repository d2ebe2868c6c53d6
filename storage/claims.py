"""Claims on scheduled sends (handovers, reminders, digests): one claimant per key.

A send is claimed before it is made, by inserting its row under the unique constraint
``uq_claim``: whoever inserts first owns it, every other process or restart gets an
IntegrityError and leaves it alone. That holds on SQLite (one writer at a time) and on
PostgreSQL (a second insert waits for the first transaction, then fails).

A claim is held under a lease (``locked_until``) that its sender renews while it works. One left
with no outcome once its lease has run out was cut short (its sender stopped or died while
sending): ``retake`` hands it to one process only, by a conditional update whose row count says
who won (on PostgreSQL a second update waits for the first, then finds the lease running).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from sqlalchemy import bindparam, func, tuple_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from storage.models import Alert, Claim, Outbox

# What became of a claimed send. A claim with no outcome yet is being sent while its lease runs;
# once the lease has run out, its sender stopped or died while sending, and it is taken again
# (the send looks for the post its sender may have made before posting, so as not to double it).
SENT = "sent"  # sent on time
LATE = "late"  # sent late, saying so: the bot was down at the instant
SKIPPED = "skipped"  # not sent: missed by too much to still be useful, or no longer due
FAILED = "failed"  # Slack refused it, or kept failing after the retries
OUTCOMES = (SENT, LATE, SKIPPED, FAILED)

TEAM_WIDTH = 64
KIND_WIDTH = 32

# The bot's first start on a database is kept as a claim of its own, under a fixed key: the
# first process to start takes it, and its time says since when the bot has been watching.
FIRST_START_TEAM = "*"
FIRST_START = "first-start"
_FIRST_START_KEY = datetime(1970, 1, 1, tzinfo=UTC)


def _check_key(team: str, kind: str, instant: datetime) -> None:
    """Refuse a claim key the table cannot hold, saying which part is wrong."""
    if not team or len(team) > TEAM_WIDTH:
        raise ValueError(f"claim team must be 1 to {TEAM_WIDTH} characters, got {team!r}")
    if not kind or len(kind) > KIND_WIDTH:
        raise ValueError(f"claim kind must be 1 to {KIND_WIDTH} characters, got {kind!r}")
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"claim instant must be timezone-aware, got {instant.isoformat()}")


def claim(
    *,
    session: Session,
    team: str,
    kind: str,
    instant: datetime,
    now: datetime,
    outcome: str | None = None,
    locked_until: datetime | None = None,
) -> Claim | None:
    """Take (team, kind, instant) for this process, held until ``locked_until`` (None: for
    good): a new claim, or one its sender left unfinished taken again (as ``retake``; its
    ``takes`` then above one); None when someone holds it, or it is done.

    The insert runs in a savepoint so that losing the race leaves the caller's transaction
    usable. The caller commits to make the claim visible to others before sending.
    """
    _check_key(team, kind, instant)
    _check_outcome(outcome)
    row = Claim(
        team=team,
        kind=kind,
        instant=instant.astimezone(UTC),
        claimed_at=now,
        outcome=outcome,
        sent_at=now if outcome in (SENT, LATE) else None,
        locked_until=None if outcome is not None else locked_until,
        takes=1,
    )
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        # The savepoint's rollback also drops the row from the session.
        held = get_claim(session=session, team=team, kind=kind, instant=instant)
        if held is None or held.id is None:
            return None
        return retake(
            session=session, claim_id=held.id, now=now, locked_until=locked_until, outcome=outcome
        )
    return row


def _check_outcome(outcome: str | None) -> None:
    if outcome is not None and outcome not in OUTCOMES:
        raise ValueError(f"claim outcome must be one of {', '.join(OUTCOMES)}, got {outcome!r}")


def retake(
    *,
    session: Session,
    claim_id: int,
    now: datetime,
    locked_until: datetime | None,
    outcome: str | None = None,
) -> Claim | None:
    """Take again a claim its sender left with no outcome, its lease run out by ``now``:
    held until ``locked_until``, or settled at once with ``outcome``. None when it is not to be
    taken: settled, its lease still running, or held for good (no lease). One process only wins
    a race for it. The caller commits."""
    _check_outcome(outcome)
    until = None if outcome is not None else locked_until
    values = {"claim_id": claim_id, "now": now, "until": until, "settled": outcome}
    if getattr(session.execute(_RETAKE, values), "rowcount", 0) != 1:
        return None
    row = session.get(Claim, claim_id)
    assert row is not None
    session.refresh(row)
    return row


def renew(*, session: Session, held: Mapping[int, int], until: datetime) -> set[int]:
    """Extend to ``until`` the leases of the claims a sender still holds (by id, with the take
    its claim left them at); the ids renewed. One settled, or taken again since, is not."""
    if not held:
        return set()
    rows = session.execute(_RENEW, {"held": list(held.items()), "until": until})
    return {int(claim_id) for (claim_id,) in rows}


def release(*, session: Session, claim_id: int, takes: int, now: datetime) -> bool:
    """End now the lease of a claim whose sender stopped before it was done, so that the next
    start takes it again at once; whether the sender still held it."""
    released = session.execute(
        update(Claim)
        .where(
            col(Claim.id) == claim_id,
            col(Claim.takes) == takes,
            col(Claim.outcome).is_(None),
            col(Claim.locked_until).is_not(None),
        )
        .values(locked_until=now)
    )
    return bool(getattr(released, "rowcount", 0))


def release_leases(*, session: Session, now: datetime) -> int:
    """End now every lease still running, for a process that knows it is the only sender
    (SQLite) and starts: what a dead process held is taken again at once rather than when its
    lease runs out. How many."""
    released = session.execute(
        update(Claim)
        .where(col(Claim.outcome).is_(None), col(Claim.locked_until) > now)
        .values(locked_until=now)
    )
    return int(getattr(released, "rowcount", 0) or 0)


def unfinished(*, session: Session, now: datetime, since: datetime) -> list[Claim]:
    """Claims of sends due from ``since`` on that their senders left with no outcome, their
    leases run out by ``now``: to be taken again. Oldest instant first."""
    return list(
        session.exec(
            select(Claim)
            .where(
                col(Claim.outcome).is_(None),
                col(Claim.locked_until).is_not(None),
                col(Claim.locked_until) <= now,
                col(Claim.instant) >= since.astimezone(UTC),
            )
            .order_by(col(Claim.instant), col(Claim.id))
        )
    )


_TABLE = Claim.__table__  # type: ignore[attr-defined]
_RETAKE = (
    update(_TABLE)
    .where(
        _TABLE.c.id == bindparam("claim_id"),
        _TABLE.c.outcome.is_(None),
        _TABLE.c.locked_until.is_not(None),
        _TABLE.c.locked_until <= bindparam("now"),
    )
    .values(
        locked_until=bindparam("until"),
        outcome=bindparam("settled"),
        takes=_TABLE.c.takes + 1,
    )
)
_RENEW = (
    update(_TABLE)
    .where(
        tuple_(_TABLE.c.id, _TABLE.c.takes).in_(bindparam("held", expanding=True)),
        _TABLE.c.outcome.is_(None),
        _TABLE.c.locked_until.is_not(None),
    )
    .values(locked_until=bindparam("until"))
    .returning(_TABLE.c.id)
)


def finish(*, session: Session, claim_id: int, takes: int, outcome: str, now: datetime) -> bool:
    """Record what became of a claimed send (sent, late, skipped or failed), by the sender that
    holds it with the take ``takes``; its lease ends. Whether it was recorded: not when the claim
    was taken again since (its new taker records its own) or settled already."""
    _check_outcome(outcome)
    if session.get(Claim, claim_id) is None:
        raise LookupError(f"no claim with id {claim_id}")
    finished = session.execute(
        update(Claim)
        .where(col(Claim.id) == claim_id, col(Claim.takes) == takes, col(Claim.outcome).is_(None))
        .values(
            outcome=outcome,
            locked_until=None,
            sent_at=now if outcome in (SENT, LATE) else None,
        )
    )
    return bool(getattr(finished, "rowcount", 0))


def get_claim(*, session: Session, team: str, kind: str, instant: datetime) -> Claim | None:
    """The claim on (team, kind, instant), if anyone took it."""
    return session.exec(
        select(Claim).where(
            Claim.team == team, Claim.kind == kind, Claim.instant == instant.astimezone(UTC)
        )
    ).first()


def claimed_instants(
    *, session: Session, team: str, kind: str, start: datetime, end: datetime
) -> set[datetime]:
    """The instants in [start, end) already claimed for (team, kind)."""
    rows = session.exec(
        select(Claim.instant).where(
            Claim.team == team,
            Claim.kind == kind,
            col(Claim.instant) >= start.astimezone(UTC),
            col(Claim.instant) < end.astimezone(UTC),
        )
    )
    return set(rows)


def list_claims(
    *, session: Session, team: str | None = None, kind: str | None = None
) -> list[Claim]:
    """Claims, oldest instant first (every team and kind unless narrowed)."""
    query = select(Claim)
    if team is not None:
        query = query.where(Claim.team == team)
    if kind is not None:
        query = query.where(Claim.kind == kind)
    return list(session.exec(query.order_by(col(Claim.instant), col(Claim.id))))


def first_start(*, session: Session, now: datetime) -> datetime:
    """When the bot first started on this database; the first call records ``now``.

    Before it nobody was watching, so nothing then was missed while the bot was down. A database
    the bot used before this was recorded gives the earliest trace the bot left in it (a claim,
    an alert, a delivery) instead. Commit the session to keep what was recorded.
    """
    recorded = _first_start_claim(session)
    if recorded is None:
        traces = [
            session.exec(select(func.min(Claim.claimed_at))).one(),
            session.exec(select(func.min(Alert.first_seen))).one(),
            session.exec(select(func.min(Outbox.created_at))).one(),
        ]
        earliest = min((t for t in traces if t is not None), default=now)
        recorded = claim(
            session=session,
            team=FIRST_START_TEAM,
            kind=FIRST_START,
            instant=_FIRST_START_KEY,
            now=min(earliest, now),
        ) or _first_start_claim(session)  # another process recorded it since our look
    assert recorded is not None
    return recorded.claimed_at


def _first_start_claim(session: Session) -> Claim | None:
    return get_claim(
        session=session, team=FIRST_START_TEAM, kind=FIRST_START, instant=_FIRST_START_KEY
    )
