"""Statements run straight on the driver behave as SQLAlchemy's own would, on SQLite and
PostgreSQL: values in and out through the column types, errors as SQLAlchemy's, the session's
pending changes seen, the session's transaction kept."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlalchemy import bindparam, insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from storage import alerts, outbox
from storage.db import session_scope
from storage.models import Alert, Outbox
from storage.prepared import Prepared

NOW = datetime(2026, 10, 25, 1, 30, tzinfo=UTC)  # the night Paris goes back to winter time
_OUTBOX = Outbox.__table__  # type: ignore[attr-defined]
_BY_SUBJECT = Prepared(
    sa.select(_OUTBOX.c.id, _OUTBOX.c.payload, _OUTBOX.c.next_attempt_at, _OUTBOX.c.done_at)
    .where(_OUTBOX.c.subject == bindparam("subject"))
    .order_by(_OUTBOX.c.id)
)


def _alert(**values: object) -> dict[str, object]:
    row: dict[str, object] = {
        "team": "support",
        "integration": "helpdesk",
        "dedup_key": "refunds",
        "status": "open",
        "title": "Refunds are stuck",
        "summary": "",
        "severity": "critical",
        "links": [{"title": "Ticket", "url": "https://acme.zendesk.com/agent/tickets/42"}],
        "labels": {"queue": "billing"},
        "details": {},
        "count": 1,
        "first_seen": NOW,
        "last_seen": NOW,
        "escalation_step": 0,
    }
    row.update(values)
    return row


def test_values_go_in_and_come_back_as_the_column_types_make_them(engine: sa.Engine) -> None:
    paris = datetime(2026, 10, 25, 2, 30, fold=1, tzinfo=ZoneInfo("Europe/Paris"))  # 01:30 UTC
    payload = {"user": "U0BOB", "reason": "holds the pager", "note": "é ✓"}
    with session_scope(engine) as session:
        first = outbox.enqueue(
            session=session, kind=outbox.ALERT_NOTIFY, now=paris, subject="s", payload=payload
        )
        second = outbox.enqueue(session=session, kind=outbox.ALERT_SYNC, now=NOW, subject="s")
    with session_scope(engine) as session:
        rows = _BY_SUBJECT.all(session, {"subject": "s"})
        # What the ORM reads back agrees with what the statement wrote.
        orm = session.get(Outbox, first)
    assert [row[0] for row in rows] == [first, second]
    assert rows[0][1] == payload and rows[1][1] == {}
    assert (
        rows[0][2] == NOW
        and rows[0][2].tzinfo is not None
        and rows[0][2].utcoffset() == timedelta(0)
    )
    assert rows[0][3] is None
    assert orm is not None and orm.payload == payload and orm.next_attempt_at == NOW
    with session_scope(engine) as session:
        assert _BY_SUBJECT.first(session, {"subject": "nothing"}) is None


def test_a_naive_instant_is_refused_and_nothing_is_written(engine: sa.Engine) -> None:
    naive = datetime(2026, 10, 25)
    with (
        pytest.raises(sa.exc.StatementError, match="expected an aware datetime"),
        session_scope(engine) as session,
    ):
        outbox.enqueue(session=session, kind=outbox.ALERT_SYNC, now=naive)
    with Session(engine) as session:
        assert session.exec(select(Outbox)).all() == []


def test_a_second_open_alert_with_one_key_is_an_integrity_error(engine: sa.Engine) -> None:
    with session_scope(engine) as session:
        first = alerts.insert_alert(session=session, values=_alert())
    with pytest.raises(IntegrityError), session_scope(engine) as session:
        alerts.insert_alert(session=session, values=_alert(title="the same, again"))
    # The failed transaction left nothing behind, and the session machinery still works.
    with session_scope(engine) as session:
        found = alerts.open_alert(session=session, team="support", dedup_key="refunds")
        assert found is not None and (found.id, found.count) == (first, 1)
        assert alerts.open_alert(session=session, team="sales", dedup_key="refunds") is None
        row = session.get(Alert, first)
        assert row is not None and row.links[0]["title"] == "Ticket" and row.first_seen == NOW


def test_the_session_s_pending_changes_are_seen_and_its_transaction_is_kept(
    engine: sa.Engine,
) -> None:
    with session_scope(engine) as session:
        alert_id = alerts.insert_alert(session=session, values=_alert())
    with pytest.raises(RuntimeError), session_scope(engine) as session:
        row = session.get(Alert, alert_id)
        assert row is not None
        row.resolved_at = NOW  # not flushed yet: the look-up must still see it
        session.add(row)
        assert alerts.open_alert(session=session, team="support", dedup_key="refunds") is None
        alerts.insert_alert(session=session, values=_alert(title="a new one"))
        raise RuntimeError("the request fails after its statements ran")
    # Rolled back together: the resolve and the insert.
    with session_scope(engine) as session:
        found = alerts.open_alert(session=session, team="support", dedup_key="refunds")
        assert found is not None and found.id == alert_id
        assert len(session.exec(select(Alert)).all()) == 1


def test_an_insert_not_given_a_column_its_statement_needs_says_which() -> None:
    # SQLAlchemy would fill the columns' defaults in; a prepared insert is given every value.
    statement = Prepared(insert(_OUTBOX).values(kind=bindparam("kind"), subject=bindparam("who")))
    engine = sa.create_engine("sqlite://")
    with (
        Session(engine) as session,
        pytest.raises(
            ValueError, match="not given: attempts, claims, priority, status, unknown_errors, who$"
        ),
    ):
        statement.execute(session, {"kind": "alert-sync"})
