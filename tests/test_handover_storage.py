"""Claims and alert statistics on SQLite and PostgreSQL: one claimant per (team, kind, instant),
even under a race, and the numbers a handover and a digest are made of."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from storage import alert_stats, claims
from storage.db import session_scope
from storage.models import Alert, AlertEvent, SlackMessage
from tests.support.rows import added_alert

T = datetime(2026, 11, 27, 17, 0, tzinfo=UTC)
NOW = T + timedelta(seconds=1)


# --- claims -------------------------------------------------------------------------------------


def test_the_first_claim_wins_and_the_second_gets_nothing(engine: Engine) -> None:
    with session_scope(engine) as session:
        first = claims.claim(session=session, team="support", kind="handover", instant=T, now=NOW)
        assert first is not None and first.id is not None
    with session_scope(engine) as session:
        # The same instant written in another zone is the same key.
        paris = T.astimezone(ZoneInfo("Europe/Paris"))
        again = claims.claim(
            session=session, team="support", kind="handover", instant=paris, now=NOW
        )
        assert again is None
        # The caller's transaction is still usable after losing: other keys still claim.
        other_kind = claims.claim(
            session=session, team="support", kind="reminder:U0BOB", instant=T, now=NOW
        )
        other_team = claims.claim(
            session=session, team="infra", kind="handover", instant=T, now=NOW
        )
        assert other_kind is not None and other_team is not None
    with Session(engine) as session:
        assert len(claims.list_claims(session=session)) == 3
        found = claims.get_claim(session=session, team="support", kind="handover", instant=T)
        assert found is not None and found.outcome is None and found.instant == T


def test_finishing_a_claim_records_the_outcome(engine: Engine) -> None:
    with session_scope(engine) as session:
        row = claims.claim(session=session, team="support", kind="handover", instant=T, now=NOW)
        assert row is not None and row.id is not None
        claim_id = row.id
    later = NOW + timedelta(seconds=2)
    with session_scope(engine) as session:
        claims.finish(session=session, claim_id=claim_id, takes=1, outcome=claims.LATE, now=later)
    with Session(engine) as session:
        found = claims.get_claim(session=session, team="support", kind="handover", instant=T)
        assert found is not None
        assert (found.outcome, found.sent_at, found.claimed_at) == ("late", later, NOW)


def test_a_skipped_claim_is_taken_with_its_outcome(engine: Engine) -> None:
    with session_scope(engine) as session:
        claims.claim(
            session=session,
            team="support",
            kind="handover",
            instant=T,
            now=NOW,
            outcome=claims.SKIPPED,
        )
    with Session(engine) as session:
        (row,) = claims.list_claims(session=session, team="support")
        assert (row.outcome, row.sent_at) == ("skipped", None)
        assert claims.claimed_instants(
            session=session,
            team="support",
            kind="handover",
            start=T - timedelta(hours=1),
            end=T + timedelta(hours=1),
        ) == {T}
        assert (
            claims.claimed_instants(
                session=session, team="support", kind="handover", start=T + timedelta(1), end=T
            )
            == set()
        )


@pytest.mark.parametrize(
    ("team", "kind", "instant", "outcome", "message"),
    [
        ("", "handover", T, None, "claim team must be 1 to 64"),
        ("support", "x" * 33, T, None, "claim kind must be 1 to 32"),
        ("support", "handover", T.replace(tzinfo=None), None, "must be timezone-aware"),
        ("support", "handover", T, "posted", "claim outcome must be one of"),
    ],
)
def test_a_bad_claim_key_is_refused_saying_what_is_wrong(
    engine: Engine, team: str, kind: str, instant: datetime, outcome: str | None, message: str
) -> None:
    with session_scope(engine) as session, pytest.raises(ValueError, match=message):
        claims.claim(
            session=session, team=team, kind=kind, instant=instant, now=NOW, outcome=outcome
        )


def test_a_claim_taken_again_is_finished_only_by_its_new_taker(engine: Engine) -> None:
    lease_end = NOW + timedelta(seconds=60)
    with session_scope(engine) as session:
        row = claims.claim(
            session=session, team="support", kind="handover", instant=T, now=NOW, locked_until=NOW
        )
        assert row is not None and row.id is not None
        claim_id = row.id
    with session_scope(engine) as session:
        again = claims.retake(session=session, claim_id=claim_id, now=NOW, locked_until=lease_end)
        assert again is not None and again.takes == 2
    later = NOW + timedelta(seconds=2)
    with session_scope(engine) as session:
        assert not claims.finish(
            session=session, claim_id=claim_id, takes=1, outcome=claims.FAILED, now=later
        )
    with Session(engine) as session:
        (found,) = claims.list_claims(session=session)
        assert (found.outcome, found.locked_until, found.takes) == (None, lease_end, 2)
    with session_scope(engine) as session:
        assert claims.finish(
            session=session, claim_id=claim_id, takes=2, outcome=claims.SENT, now=later
        )
        # Settled: the stale take cannot record over it either.
        assert not claims.finish(
            session=session, claim_id=claim_id, takes=1, outcome=claims.FAILED, now=later
        )
    with Session(engine) as session:
        (found,) = claims.list_claims(session=session)
        assert (found.outcome, found.sent_at, found.locked_until) == ("sent", later, None)


def test_finishing_an_unknown_claim_says_so(engine: Engine) -> None:
    with session_scope(engine) as session, pytest.raises(LookupError, match="no claim with id 9"):
        claims.finish(session=session, claim_id=9, takes=1, outcome="sent", now=NOW)


def test_racing_claimants_leave_exactly_one_winner(engine: Engine) -> None:
    contenders = 8
    barrier = threading.Barrier(contenders)
    won: list[bool] = []
    errors: list[BaseException] = []

    def contend() -> None:
        try:
            barrier.wait(timeout=10)
            with session_scope(engine) as session:
                row = claims.claim(
                    session=session, team="support", kind="handover", instant=T, now=NOW
                )
                won.append(row is not None)
        except BaseException as error:  # reported below, with the others
            errors.append(error)

    threads = [threading.Thread(target=contend) for _ in range(contenders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors
    assert sorted(won) == [False] * (contenders - 1) + [True]


def test_the_first_start_is_recorded_once_and_kept(engine: Engine) -> None:
    with session_scope(engine) as session:
        assert claims.first_start(session=session, now=T) == T
    # Later starts, and another process, read it back rather than record their own.
    with session_scope(engine) as session:
        assert claims.first_start(session=session, now=T + timedelta(days=3)) == T
    with Session(engine) as session:
        (row,) = claims.list_claims(session=session, kind=claims.FIRST_START)
        assert (row.team, row.claimed_at) == ("*", T)


def test_a_database_the_bot_used_before_gives_its_earliest_trace_as_first_start(
    engine: Engine,
) -> None:
    earliest = T - timedelta(days=40)
    with session_scope(engine) as session:
        claims.claim(session=session, team="support", kind="handover", instant=T, now=T)
        add_alert(session, key="old", first_seen=earliest)
    with session_scope(engine) as session:
        assert claims.first_start(session=session, now=T + timedelta(days=1)) == earliest


def test_racing_first_starts_agree_on_one(engine: Engine) -> None:
    contenders = 4
    barrier = threading.Barrier(contenders)
    seen: list[datetime] = []
    errors: list[BaseException] = []

    def start(offset: int) -> None:
        try:
            barrier.wait(timeout=10)
            with session_scope(engine) as session:
                seen.append(claims.first_start(session=session, now=T + timedelta(seconds=offset)))
        except BaseException as error:  # reported below, with the others
            errors.append(error)

    threads = [threading.Thread(target=start, args=(n,)) for n in range(contenders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors
    assert len(seen) == contenders and len(set(seen)) == 1
    with Session(engine) as session:
        assert len(claims.list_claims(session=session, kind=claims.FIRST_START)) == 1


# --- alert statistics ---------------------------------------------------------------------------


def add_alert(
    session: Session,
    *,
    team: str = "support",
    key: str,
    first_seen: datetime,
    acked: datetime | None = None,
    resolved: datetime | None = None,
    customer: str | None = None,
    links: list[dict[str, str]] | None = None,
    runbook: str | None = None,
) -> Alert:
    return added_alert(
        session,
        key,
        first_seen,
        acked=acked,
        resolved=resolved,
        team=team,
        title=f"Alert {key}",
        severity="critical",
        customer=customer,
        acknowledged_by="U0ALICE" if acked else None,
        links=links or [],
        runbook_url=runbook,
    )


def add_event(session: Session, alert: Alert, kind: str, at: datetime) -> None:
    assert alert.id is not None
    session.add(AlertEvent(alert_id=alert.id, at=at, kind=kind))


def test_activity_of_a_span(engine: Engine) -> None:
    start, end = T - timedelta(days=7), T
    with session_scope(engine) as session:
        # Raised before the span, acknowledged and resolved in it.
        old = add_alert(
            session,
            key="old",
            first_seen=start - timedelta(hours=2),
            acked=start + timedelta(minutes=30),
            resolved=start + timedelta(hours=1),
        )
        quick = add_alert(
            session,
            key="quick",
            first_seen=start + timedelta(days=1),
            acked=start + timedelta(days=1, minutes=3),
            resolved=start + timedelta(days=1, hours=1),
            customer="ACME",
        )
        # Raised in the span, acknowledged only after it.
        late = add_alert(
            session,
            key="late",
            first_seen=end - timedelta(minutes=10),
            acked=end + timedelta(minutes=5),
            customer="ACME",
        )
        add_alert(session, key="open", first_seen=start + timedelta(days=2))
        # Another team, and after the span: not counted.
        add_alert(session, team="infra", key="infra", first_seen=start + timedelta(days=1))
        add_alert(session, key="after", first_seen=end)
        add_event(session, quick, "escalated", start + timedelta(days=1, minutes=1))
        add_event(session, late, "escalated", end - timedelta(minutes=1))
        add_event(session, late, "leadership", end - timedelta(minutes=1))
        add_event(session, late, "escalated", end)  # at the end: the next span's
        add_event(session, old, "escalated", start - timedelta(hours=1))  # before the span
        add_event(session, quick, "acknowledged", start + timedelta(days=1, minutes=3))
    with Session(engine) as session:
        seen = alert_stats.activity(session=session, team="support", start=start, end=end)
    assert [a.title for a in seen.raised] == ["Alert quick", "Alert open", "Alert late"]
    assert [a.time_to_acknowledge for a in seen.acknowledged] == [
        timedelta(hours=2, minutes=30),
        timedelta(minutes=3),
    ]
    assert seen.resolved == 2
    assert seen.escalations == 3
    assert [a.customer for a in seen.raised] == ["ACME", None, "ACME"]


def test_open_alerts_at_an_instant_and_their_links(engine: Engine) -> None:
    with session_scope(engine) as session:
        add_alert(session, key="resolved", first_seen=T - timedelta(hours=3), resolved=T)
        still = add_alert(
            session,
            key="still",
            first_seen=T - timedelta(hours=2),
            links=[
                {"title": "not a web link", "url": "ftp://example"},
                {"title": "Grafana", "url": "https://grafana.example/d/1"},
            ],
        )
        acked = add_alert(
            session,
            key="acked",
            first_seen=T - timedelta(hours=1),
            acked=T - timedelta(minutes=50),
            runbook="https://runbooks.example/disk",
        )
        add_alert(session, key="resolved-later", first_seen=T - timedelta(hours=4), resolved=NOW)
        add_alert(session, key="future", first_seen=NOW)
        add_alert(session, team="infra", key="infra", first_seen=T - timedelta(hours=1))
        assert still.id is not None and acked.id is not None
        posted = [
            (still.id, "card", "C0SUPPORT", "C0SUPPORT", "1764259320.000100"),
            (acked.id, "dm", "U0BOB", "D0BOB", "1764259320.000200"),
        ]
        for alert_id, role, recipient, channel, ts in posted:
            session.add(
                SlackMessage(
                    subject=f"alert:{alert_id}",
                    role=role,
                    recipient=recipient,
                    channel=channel,
                    ts=ts,
                    created_at=T,
                )
            )
        still_id, acked_id = still.id, acked.id
    with Session(engine) as session:
        found = alert_stats.open_alerts(session=session, team="support", at=T)
        cards = alert_stats.card_messages(session=session, alert_ids=[a.id for a in found])
    assert [a.title for a in found] == ["Alert resolved-later", "Alert still", "Alert acked"]
    links = {a.id: a.link for a in found}
    assert links[still_id] == "https://grafana.example/d/1"
    assert links[acked_id] == "https://runbooks.example/disk"
    # Only channel cards count: the DM is nobody else's to open.
    assert cards == {still_id: ("C0SUPPORT", "1764259320.000100")}


def test_a_span_that_ends_before_it_starts_is_refused(engine: Engine) -> None:
    with Session(engine) as session, pytest.raises(ValueError, match="is before start"):
        alert_stats.activity(session=session, team="support", start=T, end=T - timedelta(1))
