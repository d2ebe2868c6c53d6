"""The outbox: Slack deliveries committed with the change that caused them, drained by workers.

Rows are claimed with a lease (``locked_until``): a worker that dies mid-delivery loses its
lease and another worker (or the restarted process) picks the row up again; a live worker
renews the lease of what it still holds, however long Slack keeps it. On PostgreSQL the
claim uses ``FOR UPDATE SKIP LOCKED`` so that replicas never claim the same row; on SQLite the
write transaction (``BEGIN IMMEDIATE``) serialises claimers.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import String, bindparam, cast, delete, insert, literal, or_, tuple_, update
from sqlalchemy.orm import aliased
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col, select

from storage.models import Alert, Outbox
from storage.prepared import Prepared, Tx

# Kinds of delivery (the payload each carries is documented where it is enqueued).
ALERT_SYNC = "alert-sync"  # bring every Slack message of subject "alert:<id>" up to date
ALERT_NOTIFY = "alert-notify"  # DM payload["user"] about the alert (reason in payload["reason"])
ALERT_LEADERSHIP = (
    "alert-leadership"  # DM payload["users"]: escalated by payload["by"] at payload["at"]
)
COVER_SYNC = "cover-sync"  # post or update the channel post of subject "cover:<id>" (reason)
# Post the text/blocks given to payload["channel"], or DM them to payload["user"]; payload["team"]
# names whose pager holder hears of a channel that refuses them.
SLACK_POST = "slack-post"
ROLLUP_SYNC = "rollup-sync"  # post or update the roll-up message of subject "rollup:<id>"

# A row's status: waiting to be delivered (or being delivered), delivered, or given up on (Slack
# refused it for good, or kept answering errors it does not document): last_error says why.
PENDING, DONE, FAILED = "pending", "done", "failed"

DEFAULT_LEASE = timedelta(seconds=60)

# Which due rows are taken first. URGENT: what someone waits on now (a critical alert's card,
# a change to a card or DM already shown, a page, a roll-up of a flood); NORMAL: the first post
# of a card, a channel post; BACKLOG: the cards of a flood, reachable from its roll-up already,
# posted in its thread at the channel's pace.
URGENT, NORMAL, BACKLOG = 0, 1, 2


def enqueue(
    *,
    session: Tx,
    kind: str,
    now: datetime,
    subject: str | None = None,
    payload: dict[str, Any] | None = None,
    not_before: datetime | None = None,
    coalesce: bool = False,
    priority: int = NORMAL,
) -> int | None:
    """Queue a delivery in the caller's transaction; returns the new row's id.

    With ``coalesce``, nothing is queued when a pending delivery of the same kind and subject
    waits unclaimed (a storm of repeats needs one card update, not one per repeat); returns None
    then. One a worker holds does not count: it may have read the alert before this change.
    The waiting row keeps its priority: a repeat of an alert whose card waits its turn in a
    flood is no reason for it to go first.
    """
    if coalesce and subject is not None:
        waiting = {"kind": kind, "subject": subject, "pending": "pending", "now": now}
        if _WAITING.first(session, waiting) is not None:
            return None
    values = {
        "kind": kind,
        "subject": subject,
        "payload": payload or {},
        "status": "pending",
        "attempts": 0,
        "unknown_errors": 0,
        "claims": 0,
        "priority": priority,
        "next_attempt_at": not_before or now,
        "created_at": now,
    }
    row = _INSERT.first(session, values)
    assert row is not None
    return int(row[0])


def claim(
    *,
    session: Session,
    now: datetime,
    limit: int = 20,
    lease: timedelta = DEFAULT_LEASE,
    kinds: tuple[str, ...] | None = None,
) -> list[Outbox]:
    """Take up to ``limit`` due deliveries under a lease; commit the session to make it stick.

    An alert's sync is not taken while another worker holds one of the same alert, nor a DM of
    an alert to a user while another of the same is held: two at once would both find no card
    (or no DM) yet, and post two.
    """
    query = _DUE.where(col(Outbox.kind).in_(kinds)) if kinds else _DUE
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    rows = []
    taking: set[tuple[str, str | None, Any]] = set()
    for row in session.exec(query, params={"now": now, "limit": limit}):
        # Two syncs of one alert can both be due (one waited its turn while the other was
        # queued), or two pages of one user: take one now, the other after it.
        if row.kind in _ONE_AT_A_TIME:
            key = (row.kind, row.subject, (row.payload or {}).get("user"))
            if key in taking:
                continue
            taking.add(key)
        rows.append(row)
    if rows:
        # One statement for the batch; the rows in hand are told what it wrote.
        until = now + lease
        session.execute(_TAKE, {"ids": [row.id for row in rows], "until": until})
        for row in rows:
            set_committed_value(row, "locked_until", until)
            set_committed_value(row, "claims", row.claims + 1)
    return rows


# Kinds of which one row at a time is delivered: of one alert or cover request (a sync), or of
# one alert to one user (a DM).
_ONE_AT_A_TIME = (ALERT_SYNC, ALERT_NOTIFY, COVER_SYNC, ROLLUP_SYNC)
# The statements every look at the outbox runs, built once: building and compiling one costs
# several times what running it does.
_held = aliased(Outbox)
_DUE = (
    select(Outbox)
    .where(
        Outbox.status == "pending",
        col(Outbox.next_attempt_at) <= bindparam("now"),
        or_(col(Outbox.locked_until).is_(None), col(Outbox.locked_until) <= bindparam("now")),
        or_(
            col(Outbox.kind).not_in(_ONE_AT_A_TIME),
            ~select(_held.id)
            .where(
                _held.kind == Outbox.kind,
                _held.subject == Outbox.subject,
                _held.status == "pending",
                col(_held.locked_until) > bindparam("now"),
                or_(
                    col(_held.kind) != ALERT_NOTIFY,
                    col(_held.payload)["user"].as_string()
                    == col(Outbox.payload)["user"].as_string(),
                ),
            )
            .exists(),
        ),
    )
    .order_by(col(Outbox.priority), col(Outbox.next_attempt_at), col(Outbox.id))
    .limit(bindparam("limit"))
)
_TABLE = Outbox.__table__  # type: ignore[attr-defined]
_INSERT = Prepared(insert(_TABLE).returning(_TABLE.c.id))  # every alert queues two or more
# A pending delivery of this kind and subject nobody holds, locked (PostgreSQL) until the caller
# commits: a worker claiming it meanwhile would read the subject without the caller's change and
# settle the row, the change never shown. Locked, the claim skips it until the change is in; and
# a row claimed while this waits for its lock no longer matches (read committed reads the claimed
# row again), so a new row is queued.
_WAITING = Prepared(
    select(_TABLE.c.id)
    .where(
        _TABLE.c.kind == bindparam("kind"),
        _TABLE.c.subject == bindparam("subject"),
        _TABLE.c.status == bindparam("pending"),
        or_(_TABLE.c.locked_until.is_(None), _TABLE.c.locked_until <= bindparam("now")),
    )
    .with_for_update()
)
_TAKE = (
    update(_TABLE)
    .where(_TABLE.c.id.in_(bindparam("ids", expanding=True)))
    .values(locked_until=bindparam("until"), claims=_TABLE.c.claims + 1)
)
_RENEW = (
    update(_TABLE)
    .where(
        tuple_(_TABLE.c.id, _TABLE.c.claims).in_(bindparam("held", expanding=True)),
        _TABLE.c.status == "pending",
        # Settled (put back for a retry, postponed, done) frees the row: not to be locked again.
        _TABLE.c.locked_until.is_not(None),
    )
    .values(locked_until=bindparam("until"))
    .returning(_TABLE.c.id)
)
_POSTPONE = (
    update(_TABLE)
    .where(_TABLE.c.id == bindparam("row_id"))
    .values(next_attempt_at=bindparam("at"), locked_until=None, claims=bindparam("claims"))
)
_FAIL = (
    update(_TABLE)
    .where(_TABLE.c.id == bindparam("row_id"))
    .values(
        status=FAILED,
        last_error=bindparam("error"),
        done_at=bindparam("at"),
        locked_until=None,
        attempts=_TABLE.c.attempts + 1,
    )
)
_DONE = (
    update(_TABLE)
    .where(_TABLE.c.id.in_(bindparam("ids", expanding=True)))
    .values(status="done", done_at=bindparam("at"), locked_until=None)
)


def renew(*, session: Session, held: Mapping[int, int], until: datetime) -> set[int]:
    """Extend to ``until`` the lease of the rows a worker still holds (by id, with the claim count
    its claim left them at); the ids renewed. A row taken over since (claimed again after its
    lease ran out) or settled (even if put back for a retry) is not renewed."""
    if not held:
        return set()
    rows = session.execute(_RENEW, {"held": list(held.items()), "until": until})
    return {int(row_id) for (row_id,) in rows}


def release_leases(*, session: Session, now: datetime) -> int:
    """Free every row a worker holds, for a process that knows it is the only worker (SQLite)
    and starts: what the dead process held is taken at once rather than when its lease ends."""
    result = session.execute(
        update(Outbox)
        .where(col(Outbox.status) == "pending", col(Outbox.locked_until) > now)
        .values(locked_until=None)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def any_due(*, session: Session, now: datetime) -> bool:
    """Whether some delivery is due and free to take (a read: no lock is taken for it)."""
    return (
        session.exec(
            select(Outbox.id)
            .where(
                Outbox.status == "pending",
                col(Outbox.next_attempt_at) <= now,
                or_(col(Outbox.locked_until).is_(None), col(Outbox.locked_until) <= now),
            )
            .limit(1)
        ).first()
        is not None
    )


def complete(*, session: Session, outbox_ids: Collection[int], now: datetime) -> None:
    """Mark deliveries done (in the same transaction that records what they posted)."""
    if outbox_ids:
        session.execute(_DONE, {"ids": list(outbox_ids), "at": now})


def retry_later(
    *,
    session: Session,
    outbox_id: int,
    at: datetime,
    error: str,
    in_doubt: bool = True,
    unknown: bool = False,
    max_unknown: int | None = None,
    now: datetime | None = None,
) -> bool:
    """Put a delivery back for another try at ``at`` after a failed one; True when it failed
    for good instead (``max_unknown`` tries ended in errors Slack does not document).

    ``in_doubt``: a post of the row may have been made without its answer being read (a 5xx, a
    timeout, or such a doubt left from before that this try did not settle): the next claim
    then looks for it first. Else every failure on the way said that nothing was done.
    """
    row = session.get(Outbox, outbox_id)
    if row is None:
        return False
    row.attempts += 1
    row.last_error = error[:2000]
    row.locked_until = None
    row.next_attempt_at = at
    row.claims = 1 if in_doubt else 0
    if unknown:
        row.unknown_errors += 1
    failed = max_unknown is not None and row.unknown_errors >= max_unknown
    if failed:
        row.status = FAILED
        row.done_at = now or at
    session.add(row)
    return failed


def fail(*, session: Session, failures: Mapping[int, str], now: datetime) -> None:
    """Mark deliveries failed for good, each with its error (id -> error): Slack refused them
    with an error no retry can mend."""
    if failures:
        session.execute(
            _FAIL,
            [
                {"row_id": row_id, "error": error[:2000], "at": now}
                for row_id, error in failures.items()
            ],
        )


def failed_deliveries(*, session: Session, limit: int = 100) -> list[Outbox]:
    """The deliveries that failed for good, the latest first (with their errors)."""
    return list(
        session.exec(
            select(Outbox)
            .where(Outbox.status == FAILED)
            .order_by(col(Outbox.done_at).desc(), col(Outbox.id).desc())
            .limit(limit)
        )
    )


def postpone_many(
    *, session: Session, rows: Sequence[tuple[int, datetime]], in_doubt: Collection[int] = ()
) -> None:
    """Put deliveries back (id, until when), unfailed and untried, in one statement: a card
    updated a moment ago waits its turn, a busy channel's turn puts back many rows of each
    batch, and so does Slack's Retry-After. The claims that end here posted nothing, so they do
    not count; a doubt left from an earlier try (ids in ``in_doubt``) is kept."""
    if rows:
        doubtful = set(in_doubt)
        session.execute(
            _POSTPONE,
            [
                {"row_id": row_id, "at": at, "claims": 1 if row_id in doubtful else 0}
                for row_id, at in rows
            ],
        )


def prune(*, session: Session, before: datetime) -> int:
    """Forget deliveries done (or failed) before ``before``; returns how many. The pages of an
    alert still open are kept: escalation reads them to know who was paged already."""
    open_subjects = select(literal("alert:") + cast(col(Alert.id), String)).where(
        col(Alert.resolved_at).is_(None)
    )
    result = session.execute(
        delete(Outbox).where(
            col(Outbox.status).in_((DONE, FAILED)),
            col(Outbox.done_at) < before,
            or_(col(Outbox.kind) != ALERT_NOTIFY, col(Outbox.subject).not_in(open_subjects)),
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)


def pending_of(*, session: Session, kind: str, subject: str) -> list[Outbox]:
    """The deliveries of this kind and subject still to make (held or not)."""
    return list(
        session.exec(
            select(Outbox).where(
                Outbox.kind == kind, Outbox.subject == subject, Outbox.status == PENDING
            )
        )
    )


def in_doubt(*, session: Session, kind: str, subjects: Collection[str]) -> dict[str, set[int]]:
    """The pending deliveries of this kind, by subject, that a try may have posted for (its
    answer lost, not yet looked for), or that a worker holds: subject -> their ids."""
    found: dict[str, set[int]] = {}
    if not subjects:
        return found
    rows = session.exec(
        select(Outbox.subject, Outbox.id).where(
            Outbox.kind == kind,
            col(Outbox.subject).in_(list(subjects)),
            Outbox.status == PENDING,
            col(Outbox.claims) > 0,
        )
    )
    for subject, row_id in rows:
        if subject is not None and row_id is not None:
            found.setdefault(subject, set()).add(row_id)
    return found


def pending_count(*, session: Session) -> int:
    return len(session.exec(select(Outbox.id).where(Outbox.status == "pending")).all())
