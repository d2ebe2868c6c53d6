"""The outbox on SQLite and PostgreSQL: coalescing, claims and postponing, and forgetting old
deliveries without losing who was paged for an alert still open; on PostgreSQL, a change folded
into a waiting row while another replica claims it is never lost."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, select

from storage import outbox
from storage.db import session_scope
from storage.models import Outbox
from tests.support.rows import added_alert

NOW = datetime(2026, 11, 27, 20, 0, tzinfo=UTC)


def _alert(session: Session, key: str, *, resolved: bool) -> int:
    row = added_alert(session, key, NOW, resolved=NOW if resolved else None)
    assert row.id is not None
    return row.id


def _done(session: Session, kind: str, subject: str, at: datetime) -> None:
    row_id = outbox.enqueue(
        session=session, kind=kind, now=at, subject=subject, payload={"user": "U0B"}
    )
    assert row_id is not None
    outbox.complete(session=session, outbox_ids=[row_id], now=at)


def _posts(engine: sa.Engine, *subjects: str) -> list[int | None]:
    """Queue a Slack post for each subject, due now, in one transaction; their ids."""
    with session_scope(engine) as session:
        return [
            outbox.enqueue(session=session, kind=outbox.SLACK_POST, now=NOW, subject=subject)
            for subject in subjects
        ]


def _claimed(engine: sa.Engine, now: datetime) -> list[int | None]:
    """The ids of the rows a worker claims at ``now``."""
    with session_scope(engine) as session:
        return [row.id for row in outbox.claim(session=session, now=now)]


def _rollup_sync(session: Session, *, coalesce: bool = False) -> int | None:
    """Queue the sync of roll-up 1, due now; its row's id (None: folded into a waiting one)."""
    return outbox.enqueue(
        session=session, kind=outbox.ROLLUP_SYNC, now=NOW, subject="rollup:1", coalesce=coalesce
    )


def test_prune_forgets_old_deliveries_but_keeps_pages_of_open_alerts(engine: sa.Engine) -> None:
    old, recent = NOW - timedelta(days=30), NOW - timedelta(days=1)
    with session_scope(engine) as session:
        still_open = _alert(session, "open", resolved=False)
        closed = _alert(session, "closed", resolved=True)
        _done(session, outbox.ALERT_NOTIFY, f"alert:{still_open}", old)  # kept: alert open
        _done(session, outbox.ALERT_SYNC, f"alert:{still_open}", old)  # forgotten
        _done(session, outbox.ALERT_NOTIFY, f"alert:{closed}", old)  # forgotten
        _done(session, outbox.ALERT_NOTIFY, f"alert:{closed}", recent)  # kept: recent
        outbox.enqueue(session=session, kind=outbox.ALERT_SYNC, now=old, subject="alert:9")

    with session_scope(engine) as session:
        assert outbox.prune(session=session, before=NOW - timedelta(days=14)) == 2

    with Session(engine) as session:
        left = [
            (row.kind, row.subject, row.status)
            for row in session.exec(select(Outbox).order_by(col(Outbox.id)))
        ]
    assert left == [
        (outbox.ALERT_NOTIFY, f"alert:{still_open}", "done"),
        (outbox.ALERT_NOTIFY, f"alert:{closed}", "done"),
        (outbox.ALERT_SYNC, "alert:9", "pending"),  # never done: never forgotten
    ]


def test_a_claimed_sync_does_not_swallow_a_later_change(engine: sa.Engine) -> None:
    """A change made while a worker holds the alert's sync queues another one: the worker may
    have read the alert before the change."""
    with session_scope(engine) as session:
        first = outbox.enqueue(
            session=session, kind=outbox.ALERT_SYNC, now=NOW, subject="alert:1", coalesce=True
        )
        assert first is not None
        assert (
            outbox.enqueue(
                session=session, kind=outbox.ALERT_SYNC, now=NOW, subject="alert:1", coalesce=True
            )
            is None
        )
    with session_scope(engine) as session:
        (claimed,) = outbox.claim(session=session, now=NOW)
        assert claimed.claims == 1
    with session_scope(engine) as session:
        second = outbox.enqueue(
            session=session, kind=outbox.ALERT_SYNC, now=NOW, subject="alert:1", coalesce=True
        )
        assert second is not None and second != first


def test_a_postponed_claim_is_not_counted_as_a_try(engine: sa.Engine) -> None:
    with session_scope(engine) as session:
        row_id = outbox.enqueue(session=session, kind=outbox.ALERT_SYNC, now=NOW, subject="alert:1")
        assert row_id is not None
    with session_scope(engine) as session:
        outbox.claim(session=session, now=NOW)
        outbox.postpone_many(session=session, rows=[(row_id, NOW + timedelta(seconds=2))])
    with session_scope(engine) as session:
        assert outbox.claim(session=session, now=NOW + timedelta(seconds=1)) == []
        (again,) = outbox.claim(session=session, now=NOW + timedelta(seconds=2))
        assert (again.claims, again.attempts) == (1, 0)


def test_two_due_syncs_of_one_alert_are_never_taken_together(engine: sa.Engine) -> None:
    """A sync that waited its turn and one queued meanwhile come due together: one is taken,
    the other once the first is done (together, both would post or edit the card)."""
    with session_scope(engine) as session:
        first_id = outbox.enqueue(
            session=session, kind=outbox.ALERT_SYNC, now=NOW, subject="alert:1"
        )
        assert first_id is not None
    with session_scope(engine) as session:
        outbox.claim(session=session, now=NOW)
        second = outbox.enqueue(
            session=session, kind=outbox.ALERT_SYNC, now=NOW, subject="alert:1", coalesce=True
        )
        assert second is not None
        outbox.postpone_many(session=session, rows=[(first_id, NOW + timedelta(seconds=2))])
    later = NOW + timedelta(seconds=3)
    with session_scope(engine) as session:
        taken = outbox.claim(session=session, now=later)
        assert [(row.kind, row.subject) for row in taken] == [(outbox.ALERT_SYNC, "alert:1")]
        outbox.complete(session=session, outbox_ids=[taken[0].id or 0], now=later)
    with session_scope(engine) as session:
        (other,) = outbox.claim(session=session, now=later)
        assert other.id != taken[0].id


def test_a_lease_is_renewed_only_for_its_holder(engine: sa.Engine) -> None:
    ids = _posts(engine, "s0", "s1", "s2")
    with session_scope(engine) as session:
        held = {row.id: row.claims for row in outbox.claim(session=session, now=NOW, limit=3)}
    assert set(held) == set(ids) and set(held.values()) == {1}
    kept, taken, settled = ids
    later = NOW + timedelta(minutes=2)  # every lease has run out
    with session_scope(engine) as session:
        # Another worker takes one row over; a third row is settled.
        (over,) = outbox.claim(session=session, now=later, limit=1)
        assert over.id == kept
        outbox.complete(session=session, outbox_ids=[settled], now=later)
    # Our worker renews: only what it still holds as it claimed it (none now: kept was taken).
    with session_scope(engine) as session:
        assert outbox.renew(session=session, held=held, until=later + timedelta(minutes=1)) == {
            taken
        }
    with Session(engine) as session:
        rows = {row.id: row for row in session.exec(select(Outbox))}
    assert rows[taken].locked_until == later + timedelta(minutes=1)
    assert rows[kept].locked_until == later + outbox.DEFAULT_LEASE  # the other worker's lease
    assert rows[settled].locked_until is None
    # A renewed row is not due for anyone else.
    with session_scope(engine) as session:
        assert outbox.claim(session=session, now=later, limit=3) == []


def test_two_pages_of_one_user_for_one_alert_are_never_taken_together(engine: sa.Engine) -> None:
    """Paged twice before the first DM went (escalation and a click, say): the first DM is
    posted, the second page updates it once the first is recorded; together, both would post."""

    def page(session: Session, user: str, reason: str) -> int:
        row_id = outbox.enqueue(
            session=session,
            kind=outbox.ALERT_NOTIFY,
            now=NOW,
            subject="alert:1",
            payload={"user": user, "reason": reason},
        )
        assert row_id is not None
        return row_id

    with session_scope(engine) as session:
        first = page(session, "U0BOB", "holds the pager")
        second = page(session, "U0BOB", "escalated by U0ALICE")
        lead = page(session, "U0LEAD", "backup")
        other_alert = outbox.enqueue(
            session=session,
            kind=outbox.ALERT_NOTIFY,
            now=NOW,
            subject="alert:2",
            payload={"user": "U0BOB", "reason": "holds the pager"},
        )
    assert _claimed(engine, NOW) == [first, lead, other_alert]
    # While the first is held by its worker, nobody takes the second.
    with session_scope(engine) as session:
        assert outbox.claim(session=session, now=NOW) == []
        outbox.complete(session=session, outbox_ids=[first], now=NOW)
    assert _claimed(engine, NOW) == [second]


def test_a_row_put_back_for_a_retry_is_not_locked_again_by_a_late_renewal(
    engine: sa.Engine,
) -> None:
    (row_id,) = _posts(engine, "s")
    with session_scope(engine) as session:
        held = {row.id: row.claims for row in outbox.claim(session=session, now=NOW)}
    retry_at = NOW + timedelta(seconds=2)
    with session_scope(engine) as session:
        assert row_id is not None
        outbox.retry_later(session=session, outbox_id=row_id, at=retry_at, error="HTTP 500")
    # The worker's renewal raced the settling, with the holdings it had read just before.
    with session_scope(engine) as session:
        assert outbox.renew(session=session, held=held, until=NOW + timedelta(minutes=1)) == set()
    assert _claimed(engine, retry_at) == [row_id]


def test_failed_deliveries_are_listed_latest_first_and_forgotten_like_done_ones(
    engine: sa.Engine,
) -> None:
    ids = _posts(engine, "s0", "s1", "s2")
    first, second, fine = ids
    assert first is not None and second is not None and fine is not None
    with session_scope(engine) as session:
        outbox.claim(session=session, now=NOW, limit=3)
        outbox.fail(session=session, failures={first: "C0SUPPORT: not_in_channel"}, now=NOW)
        outbox.fail(
            session=session,
            failures={second: "C0SUPPORT: is_archived"},
            now=NOW + timedelta(minutes=1),
        )
        outbox.complete(session=session, outbox_ids=[fine], now=NOW)
    with Session(engine) as session:
        listed = [(row.id, row.last_error) for row in outbox.failed_deliveries(session=session)]
        assert outbox.pending_count(session=session) == 0
    assert listed == [(second, "C0SUPPORT: is_archived"), (first, "C0SUPPORT: not_in_channel")]
    # Failed rows are never taken again, and are forgotten with the done ones.
    with session_scope(engine) as session:
        assert outbox.claim(session=session, now=NOW + timedelta(hours=1)) == []
        assert outbox.prune(session=session, before=NOW + timedelta(days=15)) == 3


def test_a_try_that_posted_nothing_leaves_no_doubt_and_one_that_may_have_does(
    engine: sa.Engine,
) -> None:
    sure, unsure = _posts(engine, "a", "b")
    assert sure is not None and unsure is not None
    with session_scope(engine) as session:
        outbox.claim(session=session, now=NOW, limit=2)
        # An error answer (nothing done), and a post whose answer was lost.
        outbox.retry_later(
            session=session, outbox_id=sure, at=NOW, error="service_unavailable", in_doubt=False
        )
        outbox.retry_later(session=session, outbox_id=unsure, at=NOW, error="HTTP 500")
    with session_scope(engine) as session:
        claims = {row.id: row.claims for row in outbox.claim(session=session, now=NOW, limit=2)}
    # A second claim after a lost answer is one that may find its post already made.
    assert claims == {sure: 1, unsure: 2}


def test_a_delivery_meeting_unknown_errors_fails_after_the_limit(engine: sa.Engine) -> None:
    (row_id,) = _posts(engine, "s")
    assert row_id is not None
    outcomes = []
    for n in range(3):
        with session_scope(engine) as session:
            outbox.claim(session=session, now=NOW + timedelta(seconds=n))
            outcomes.append(
                outbox.retry_later(
                    session=session,
                    outbox_id=row_id,
                    at=NOW + timedelta(seconds=n + 1),
                    error="brand_new_error",
                    in_doubt=False,
                    unknown=True,
                    max_unknown=3,
                )
            )
    assert outcomes == [False, False, True]
    with Session(engine) as session:
        (failed,) = outbox.failed_deliveries(session=session)
    assert (failed.id, failed.attempts, failed.last_error) == (row_id, 3, "brand_new_error")


def test_a_change_folded_into_a_waiting_row_is_never_lost_to_a_replica_claiming_it(
    pg_engine: sa.Engine,
) -> None:
    with session_scope(pg_engine) as session:
        waiting = _rollup_sync(session)
    # One replica folds a change into the waiting row; until it commits, the other replica's
    # claim leaves that row alone (taken now, it would be delivered without the change).
    with session_scope(pg_engine) as folding:
        assert _rollup_sync(folding, coalesce=True) is None
        with session_scope(pg_engine) as other:
            assert outbox.claim(session=other, now=NOW) == []
    with session_scope(pg_engine) as other:
        assert [row.id for row in outbox.claim(session=other, now=NOW)] == [waiting]


def test_a_change_made_while_a_replica_claims_the_waiting_row_queues_a_row_of_its_own(
    pg_engine: sa.Engine,
) -> None:
    with session_scope(pg_engine) as session:
        waiting = _rollup_sync(session)
    queued: list[int | None] = []

    def fold() -> None:
        with session_scope(pg_engine) as folding:
            queued.append(_rollup_sync(folding, coalesce=True))

    with session_scope(pg_engine) as claiming:
        assert [row.id for row in outbox.claim(session=claiming, now=NOW)] == [waiting]
        # The change comes while the claim is not yet committed: it waits for it, then finds
        # the row taken (its worker may read the subject before the change) and queues its own.
        folder = threading.Thread(target=fold)
        folder.start()
        folder.join(0.5)
    folder.join(30)
    assert len(queued) == 1 and queued[0] not in (None, waiting)
