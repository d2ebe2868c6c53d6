"""Wake-ups: people's wake-up methods, the wake-ups due for alerts (claimed with a lease, as the
outbox is), and what was said once about them.

A ``wake_up`` row is one person paged for one alert. It is queued in the transaction that pages
them, and stopped in the one that acknowledges or resolves the alert. A worker claims what is
due under a lease (``FOR UPDATE SKIP LOCKED`` on PostgreSQL; SQLite's write lock serialises the
claimers); a worker killed mid-send loses its lease and the row is taken again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import and_, bindparam, exists, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col
from sqlmodel import select as sm_select

from storage.models import Alert, WakeMethod, WakeNotice, WakeTest, WakeUp
from storage.prepared import Prepared, Tx

PENDING, DONE, STOPPED, FAILED = "pending", "done", "stopped", "failed"
_Leased = TypeVar("_Leased", WakeUp, WakeTest)
DEFAULT_LEASE = timedelta(seconds=60)

_TABLE = WakeUp.__table__  # type: ignore[attr-defined]
# Queue one person's wake-ups for an alert unless they are queued already (paged twice).
_QUEUE = Prepared(
    insert(_TABLE).from_select(
        [
            "alert_id",
            "user_id",
            "status",
            "sent",
            "times",
            "every_s",
            "attempts",
            "reached",
            "claims",
            "next_attempt_at",
            "created_at",
        ],
        select(
            bindparam("alert_id"),
            bindparam("user_id"),
            bindparam("status"),
            bindparam("zero"),
            bindparam("times"),
            bindparam("every_s"),
            bindparam("zero"),
            bindparam("reached", type_=_TABLE.c.reached.type),
            bindparam("zero"),
            bindparam("due", type_=_TABLE.c.next_attempt_at.type),
            bindparam("now", type_=_TABLE.c.created_at.type),
        ).where(
            ~exists().where(
                and_(
                    _TABLE.c.alert_id == bindparam("alert_id"),
                    _TABLE.c.user_id == bindparam("user_id"),
                )
            )
        ),
    )
)


def fingerprint(url: str) -> str:
    """A URL's hash: what a method is known by in logs, notices and the database."""
    return hashlib.sha256(url.encode()).hexdigest()[:16]


def queue_wakeups(
    *,
    session: Tx,
    alert_id: int,
    users: Iterable[str],
    due: datetime,
    times: int,
    every: timedelta,
    now: datetime,
) -> None:
    """Queue the wake-ups of the people an alert pages, the first at ``due``, in the caller's
    transaction (a person already queued for the alert is not queued again)."""
    for user in users:
        _QUEUE.execute(
            session,
            {
                "alert_id": alert_id,
                "user_id": user,
                "times": times,
                "every_s": int(every.total_seconds()),
                "status": PENDING,
                "zero": 0,
                "reached": [],
                "due": due,
                "now": now,
            },
        )


def stop_wakeups(*, session: Session, alert_id: int, now: datetime) -> int:
    """Stop every wake-up still to come for an alert (acknowledged or resolved); how many."""
    result = session.execute(
        update(_TABLE)
        .where(_TABLE.c.alert_id == alert_id, _TABLE.c.status == PENDING)
        .values(status=STOPPED, done_at=now, locked_until=None)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def claim_due(
    *, session: Session, now: datetime, limit: int = 50, lease: timedelta = DEFAULT_LEASE
) -> list[tuple[WakeUp, Alert]]:
    """Take up to ``limit`` due wake-ups of open, unacknowledged alerts under a lease, with their
    alerts; commit to make it stick. A due one whose alert was acknowledged or resolved meanwhile
    is stopped instead."""
    query = (
        sm_select(WakeUp, Alert)
        .join(Alert, col(Alert.id) == col(WakeUp.alert_id))
        .where(*_due(WakeUp, now))
        .order_by(col(WakeUp.next_attempt_at), col(WakeUp.id))
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True, of=WakeUp)
    taken = []
    for wake, alert in session.exec(query).all():
        if alert.status != "open" or alert.resolved_at is not None:
            wake.status, wake.done_at, wake.locked_until = STOPPED, now, None
        else:
            wake.locked_until = now + lease
            wake.claims += 1
            taken.append((wake, alert))
        session.add(wake)
    return taken


def settle_sent(*, session: Session, wake_id: int, claims: int, now: datetime) -> WakeUp | None:
    """Record a wake-up made: the next one is due ``every`` later, or none is left. None when
    the row was taken over meanwhile (the lease ran out) or stopped."""
    wake = _held(WakeUp, session, wake_id, claims)
    if wake is None:
        return None
    wake.sent += 1
    wake.attempts = 0
    wake.reached = []
    wake.locked_until = None
    wake.last_error = None
    if wake.sent >= wake.times:
        wake.status, wake.done_at = DONE, now
    else:
        wake.next_attempt_at = now + timedelta(seconds=wake.every_s)
    session.add(wake)
    return wake


def settle_retry(
    *,
    session: Session,
    wake_id: int,
    claims: int,
    at: datetime,
    error: str,
    reached: Collection[str],
) -> WakeUp | None:
    """Put a wake-up back for another try at ``at``, remembering the methods it reached."""
    wake = _held(WakeUp, session, wake_id, claims)
    if wake is None:
        return None
    wake.attempts += 1
    wake.last_error = error[:500]
    wake.reached = sorted(set(wake.reached or []) | set(reached))
    wake.next_attempt_at = at
    wake.locked_until = None
    session.add(wake)
    return wake


def settle_failed(
    *, session: Session, wake_id: int, claims: int, error: str, now: datetime
) -> WakeUp | None:
    """Give up on a person's wake-ups for an alert: no method of theirs can be used."""
    wake = _held(WakeUp, session, wake_id, claims)
    if wake is None:
        return None
    wake.status, wake.done_at, wake.locked_until = FAILED, now, None
    wake.last_error = error[:500]
    session.add(wake)
    return wake


def _held(model: type[_Leased], session: Session, row_id: int, claims: int) -> _Leased | None:
    """The row, locked, while still pending and held by the claim that counted ``claims``."""
    row = session.get(model, row_id, with_for_update=True)
    if row is None or row.status != PENDING or row.claims != claims:
        return None
    return row


def release_leases(*, session: Session) -> int:
    """Free every wake-up and test wake-up a worker holds (one process on SQLite, starting: the
    dead one's)."""
    released = 0
    for table in (_TABLE, WakeTest.__table__):  # type: ignore[attr-defined]
        result = session.execute(
            update(table)
            .where(table.c.status == PENDING, table.c.locked_until.is_not(None))
            .values(locked_until=None)
        )
        released += int(getattr(result, "rowcount", 0) or 0)
    return released


def _due(model: type[WakeUp] | type[WakeTest], now: datetime) -> tuple[Any, ...]:
    """Where a pending row of ``model`` is due and held by no live lease."""
    held_until = col(model.locked_until)
    return (
        col(model.status) == PENDING,
        col(model.next_attempt_at) <= now,
        held_until.is_(None) | (held_until <= now),
    )


def next_due(*, session: Session) -> datetime | None:
    """When the earliest pending wake-up is due (the worker sleeps until then)."""
    return session.exec(
        sm_select(WakeUp.next_attempt_at)
        .where(WakeUp.status == PENDING)
        .order_by(col(WakeUp.next_attempt_at))
        .limit(1)
    ).first()


def wakeups_of(*, session: Session, alert_id: int) -> list[WakeUp]:
    """The wake-ups of an alert, one per person paged."""
    return list(
        session.exec(sm_select(WakeUp).where(WakeUp.alert_id == alert_id).order_by(col(WakeUp.id)))
    )


# --- methods added in the App Home ---------------------------------------------------------------


def add_method(*, session: Session, user_id: str, url: str, now: datetime) -> bool:
    """Keep a wake-up method of a person; False when they have it already."""
    found = session.exec(
        sm_select(WakeMethod).where(
            WakeMethod.user_id == user_id, WakeMethod.fingerprint == fingerprint(url)
        )
    ).first()
    if found is not None:
        return False
    session.add(WakeMethod(user_id=user_id, url=url, fingerprint=fingerprint(url), created_at=now))
    return True


def remove_method(*, session: Session, user_id: str, method_id: int) -> bool:
    """Forget one of a person's wake-up methods (theirs only); whether there was one."""
    method = session.get(WakeMethod, method_id)
    if method is None or method.user_id != user_id:
        return False
    session.delete(method)
    return True


def methods_of(*, session: Session, user_id: str) -> list[WakeMethod]:
    """The wake-up methods a person added, oldest first."""
    return list(
        session.exec(
            sm_select(WakeMethod).where(WakeMethod.user_id == user_id).order_by(col(WakeMethod.id))
        )
    )


def users_with_methods(*, session: Session) -> set[str]:
    """Everyone who added a wake-up method."""
    return set(session.exec(sm_select(WakeMethod.user_id).distinct()))


def any_method(*, session: Session) -> bool:
    """Whether anyone added a wake-up method."""
    return session.exec(sm_select(WakeMethod.id).limit(1)).first() is not None


# --- test wake-ups asked for in the App Home ------------------------------------------------------


def queue_test(*, session: Session, user_id: str, method: str, now: datetime) -> WakeTest:
    """Queue one test wake-up of a person through the method of fingerprint ``method``."""
    test = WakeTest(user_id=user_id, method=method, next_attempt_at=now, created_at=now)
    session.add(test)
    return test


def claim_tests(
    *, session: Session, now: datetime, limit: int = 50, lease: timedelta = DEFAULT_LEASE
) -> list[WakeTest]:
    """Take up to ``limit`` due test wake-ups under a lease; commit to make it stick."""
    query = (
        sm_select(WakeTest)
        .where(*_due(WakeTest, now))
        .order_by(col(WakeTest.next_attempt_at), col(WakeTest.id))
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    taken = list(session.exec(query).all())
    for test in taken:
        test.locked_until = now + lease
        test.claims += 1
        session.add(test)
    return taken


def settle_test(
    *,
    session: Session,
    test_id: int,
    claims: int,
    now: datetime,
    status: str,
    error: str | None = None,
    retry_at: datetime | None = None,
) -> WakeTest | None:
    """Record a test wake-up's end (``status`` done or failed), or put it back for another try
    at ``retry_at``. None when the row was taken over meanwhile (its lease ran out)."""
    test = _held(WakeTest, session, test_id, claims)
    if test is None:
        return None
    test.locked_until = None
    test.last_error = error[:500] if error else None
    if retry_at is not None:
        test.attempts += 1
        test.next_attempt_at = retry_at
    else:
        test.status, test.done_at = status, now
    session.add(test)
    return test


# --- said once ----------------------------------------------------------------------------------


def notice_once(*, session: Session, user_id: str, about: str, now: datetime) -> bool:
    """Record that ``about`` is being said to a person; False when it was said before."""
    if session.exec(
        sm_select(WakeNotice.id).where(WakeNotice.user_id == user_id, WakeNotice.about == about)
    ).first():
        return False
    try:
        with session.begin_nested():
            session.add(WakeNotice(user_id=user_id, about=about[:80], at=now))
    except IntegrityError:  # another replica said it at the same instant
        return False
    return True


def forget_notice(*, session: Session, user_id: str, about: str) -> None:
    """Let something be said again (a person added a method after being told they had none)."""
    for notice in session.exec(
        sm_select(WakeNotice).where(WakeNotice.user_id == user_id, WakeNotice.about == about)
    ):
        session.delete(notice)
