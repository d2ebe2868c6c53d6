"""Ingest and escalation in the database: new alerts page the pager holder, gaps go to the next
step at once, repeats and resolutions update the one alert, and due escalations happen once."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.alerts.actions import (
    ESCALATION_RETRY,
    AlertNotFound,
    EscalationOutcome,
    escalate_due,
    escalate_now,
)
from bot.alerts.ingest import ingest_batch
from bot.alerts.model import AlertAction, AlertStatus, Link, NormalizedAlert, Severity
from bot.alerts.notes import say
from bot.runtime.metrics import Metrics
from bot.schedule.roster import Roster, TeamStatus
from storage.alerts import list_events
from storage.db import session_scope
from storage.models import Alert, AlertEvent, Outbox
from tests.support.intake import FRIDAY_NIGHT, PARIS, support_plan

# Tuesday 24 November 2026, 22:00 in Paris: no layer is active, a gap.
TUESDAY_NIGHT = datetime(2026, 11, 24, 22, 0, tzinfo=PARIS).astimezone(UTC)


def alert(
    key: str = "fp-1",
    *,
    title: str = "Checkout error rate above 5%",
    severity: Severity = Severity.error,
    action: AlertAction = AlertAction.trigger,
) -> NormalizedAlert:
    status = AlertStatus.resolved if action == AlertAction.resolve else AlertStatus.firing
    return NormalizedAlert(
        dedup_key=key,
        title=title,
        severity=severity,
        status=status,
        action=action,
        raw_kind="alertmanager",
    )


@pytest.fixture
def roster(engine: Engine) -> Roster:
    plan = support_plan()
    return Roster(lambda: plan, engine)


def ingest(
    engine: Engine,
    roster: Roster,
    alerts: list[NormalizedAlert],
    now: datetime,
    metrics: Metrics | None = None,
) -> list[int]:
    with session_scope(engine) as session:
        result = ingest_batch(
            session=session,
            services_or_plan=roster,
            integration=roster.plan.integrations["prometheus"],
            batch=alerts,
            now=now,
            metrics=metrics,
        )
    return result.ids


def rows(engine: Engine) -> tuple[list[Alert], list[AlertEvent], list[Outbox]]:
    with Session(engine) as session:
        return (
            list(session.exec(select(Alert).order_by(col(Alert.id)))),
            list(session.exec(select(AlertEvent).order_by(col(AlertEvent.id)))),
            list(session.exec(select(Outbox).order_by(col(Outbox.id)))),
        )


def deliveries(outbox: list[Outbox]) -> list[tuple[str, str | None, dict[str, object]]]:
    """Each row queued, a page's reason as its DM says it in English."""
    return [
        (row.kind, row.subject, {**row.payload, "reason": say(row.payload["reason"])})
        if "reason" in row.payload
        else (row.kind, row.subject, row.payload)
        for row in outbox
    ]


def words(event: AlertEvent) -> str:
    """A timeline line's words, in English."""
    return say(event.note) if event.note else event.detail


def test_the_pager_holder_is_paged_and_the_first_wait_starts(
    engine: Engine, roster: Roster
) -> None:
    assert roster.status("support", FRIDAY_NIGHT).oncall.user == "U0BOB"
    [alert_id] = ingest(engine, roster, [alert()], FRIDAY_NIGHT)
    [row], events, outbox = rows(engine)
    assert (row.id, row.status, row.count, row.oncall_user) == (alert_id, "open", 1, "U0BOB")
    assert (row.escalation_step, row.next_escalation_at) == (
        0,
        FRIDAY_NIGHT + timedelta(minutes=10),
    )
    assert row.leadership_escalated_at is None  # an error, not critical: leadership can wait
    assert [(e.kind, e.actor) for e in events] == [("received", "prometheus")]
    subject = f"alert:{alert_id}"
    assert deliveries(outbox) == [
        ("alert-sync", subject, {}),
        ("alert-notify", subject, {"user": "U0BOB", "reason": "on call"}),
    ]


def test_an_alert_in_a_gap_goes_to_the_backup_at_once(engine: Engine, roster: Roster) -> None:
    status = roster.status("support", TUESDAY_NIGHT)
    assert status.oncall.user is None and status.backup is not None
    assert status.backup.user == "U0LEAD2"
    [alert_id] = ingest(engine, roster, [alert()], TUESDAY_NIGHT)
    [row], events, outbox = rows(engine)
    assert row.oncall_user is None
    assert (row.escalation_step, row.next_escalation_at) == (
        1,
        TUESDAY_NIGHT + timedelta(minutes=20),
    )
    assert [e.kind for e in events] == ["received", "escalated"]
    assert "straight to step 2" in words(events[1])
    assert deliveries(outbox)[1:] == [
        (
            "alert-notify",
            f"alert:{alert_id}",
            {"user": "U0LEAD2", "reason": "escalation step 2 (backup)"},
        )
    ]


def test_critical_alerts_reach_leadership_at_once(engine: Engine, roster: Roster) -> None:
    [alert_id] = ingest(engine, roster, [alert(severity=Severity.critical)], FRIDAY_NIGHT)
    [row], events, outbox = rows(engine)
    assert (row.leadership_escalated_at, row.leadership_escalated_by) == (FRIDAY_NIGHT, None)
    assert ("leadership", None) in [(e.kind, e.actor) for e in events]
    leadership = [r for r in outbox if r.kind == "alert-leadership"]
    assert [(r.subject, r.payload["users"], r.payload["by"]) for r in leadership] == [
        (f"alert:{alert_id}", ["U0CEO"], None)
    ]
    assert datetime.fromisoformat(str(leadership[0].payload["at"])) == FRIDAY_NIGHT
    # The pager holder is paged as for any alert.
    assert [r.payload["user"] for r in outbox if r.kind == "alert-notify"] == ["U0BOB"]


def test_a_repeat_turning_critical_pages_leadership_once(engine: Engine, roster: Roster) -> None:
    ingest(engine, roster, [alert()], FRIDAY_NIGHT)
    for minutes in (1, 2, 3):
        later = FRIDAY_NIGHT + timedelta(minutes=minutes)
        ingest(engine, roster, [alert(severity=Severity.critical)], later)
    [row], _, outbox = rows(engine)
    assert row.severity == "critical"
    assert row.leadership_escalated_at == FRIDAY_NIGHT + timedelta(minutes=1)
    assert [r.kind for r in outbox].count("alert-leadership") == 1


def test_two_hundred_repeats_are_one_alert_with_one_pending_sync(
    engine: Engine, roster: Roster
) -> None:
    metrics = Metrics()
    ids = set()
    for n in range(200):
        later = FRIDAY_NIGHT + timedelta(seconds=n)
        ids.update(ingest(engine, roster, [alert(title=f"Error rate {n}%")], later, metrics))
    [row], events, outbox = rows(engine)
    assert ids == {row.id}
    assert row.count == 200
    assert (row.first_seen, row.last_seen) == (FRIDAY_NIGHT, FRIDAY_NIGHT + timedelta(seconds=199))
    assert row.title == "Error rate 199%"  # the newest sighting's words
    assert [r.kind for r in outbox if r.status == "pending"].count("alert-sync") == 1
    assert [r.kind for r in outbox].count("alert-notify") == 1  # paged once, not 200 times
    # One timeline line keeps count of the storm.
    assert [(e.kind, words(e)) for e in events][1:] == [("repeated", "seen 200 times")]
    labels = {"integration": "prometheus", "team": "support"}
    assert metrics.registry.get_sample_value("watchkeeper_alerts_received_total", labels) == 200


def test_a_repeat_brings_its_news_and_keeps_what_it_does_not_say(
    engine: Engine, roster: Roster
) -> None:
    first = alert().model_copy(
        update={
            "summary": "5xx above 5% for 5 minutes",
            "customer": "Acme",
            "source": "web-1",
            "runbook_url": "https://runbooks.example.com/checkout-5xx",
            "links": [Link(title="Graph", url="https://grafana.example.com/d/checkout")],
            "labels": {"service": "checkout"},
            "details": {"value": "7.2"},
        }
    )
    ingest(engine, roster, [first], FRIDAY_NIGHT)
    # The next sighting says less, in other words, and arrives with an earlier clock (two
    # replicas' clocks differ by a little).
    terse = alert(title="Checkout error rate above 9%", severity=Severity.warning)
    ingest(engine, roster, [terse], FRIDAY_NIGHT - timedelta(seconds=2))
    [row], events, _ = rows(engine)
    assert (row.count, row.title, row.severity) == (2, "Checkout error rate above 9%", "warning")
    assert (row.summary, row.customer, row.source, row.runbook_url) == (
        "5xx above 5% for 5 minutes",
        "Acme",
        "web-1",
        "https://runbooks.example.com/checkout-5xx",
    )
    assert row.links == [{"title": "Graph", "url": "https://grafana.example.com/d/checkout"}]
    assert (row.labels, row.details) == ({"service": "checkout"}, {"value": "7.2"})
    assert (row.first_seen, row.last_seen) == (FRIDAY_NIGHT, FRIDAY_NIGHT)
    assert [(e.kind, words(e)) for e in events][1:] == [("repeated", "seen 2 times")]
    # A third sighting with facts of its own replaces them.
    newer = alert().model_copy(update={"labels": {"service": "payments"}, "customer": "Globex"})
    ingest(engine, roster, [newer], FRIDAY_NIGHT + timedelta(minutes=1))
    [row], events, _ = rows(engine)
    assert (row.count, row.customer, row.labels) == (3, "Globex", {"service": "payments"})
    assert row.last_seen == FRIDAY_NIGHT + timedelta(minutes=1)
    assert [(e.kind, words(e), e.at) for e in events][1:] == [
        ("repeated", "seen 3 times", FRIDAY_NIGHT + timedelta(minutes=1))
    ]


def test_a_batch_with_the_same_key_twice_is_one_alert_seen_twice(
    engine: Engine, roster: Roster
) -> None:
    ids = ingest(engine, roster, [alert("k"), alert("k"), alert("other")], FRIDAY_NIGHT)
    alerts, _, _ = rows(engine)
    assert [(a.dedup_key, a.count) for a in alerts] == [("k", 2), ("other", 1)]
    assert ids == [a.id for a in alerts]


def test_resolution_closes_the_alert_and_frees_its_key(engine: Engine, roster: Roster) -> None:
    [first] = ingest(engine, roster, [alert()], FRIDAY_NIGHT)
    later = FRIDAY_NIGHT + timedelta(minutes=5)
    assert ingest(engine, roster, [alert(action=AlertAction.resolve)], later) == [first]
    [row], events, outbox = rows(engine)
    assert (row.status, row.resolved_at, row.resolved_by) == ("resolved", later, "prometheus")
    assert row.next_escalation_at is None
    assert [e.kind for e in events] == ["received", "resolved"]
    # The card still has its first sync pending: the resolution rides on it.
    assert [r.kind for r in outbox].count("alert-sync") == 1
    # The same problem coming back is a new alert.
    [second] = ingest(engine, roster, [alert()], later + timedelta(minutes=1))
    assert second != first


def test_a_resolve_for_an_unknown_alert_writes_nothing(engine: Engine, roster: Roster) -> None:
    assert (
        ingest(engine, roster, [alert("never-seen", action=AlertAction.resolve)], FRIDAY_NIGHT)
        == []
    )
    assert rows(engine) == ([], [], [])


def test_an_acknowledgement_stops_escalation_and_records_time_to_ack(
    engine: Engine, roster: Roster
) -> None:
    metrics = Metrics()
    ingest(engine, roster, [alert()], FRIDAY_NIGHT)
    acked = FRIDAY_NIGHT + timedelta(minutes=4)
    ack = NormalizedAlert(
        dedup_key="fp-1", title="ack", action=AlertAction.acknowledge, raw_kind="pagerduty"
    )
    ingest(engine, roster, [ack], acked, metrics)
    [row], events, _ = rows(engine)
    assert (row.status, row.acknowledged_at, row.acknowledged_by) == (
        "acknowledged",
        acked,
        "prometheus",
    )
    assert row.next_escalation_at is None
    assert events[-1].kind == "acknowledged"
    sample = metrics.registry.get_sample_value
    assert sample("watchkeeper_time_to_acknowledge_seconds_sum", {"team": "support"}) == 240.0
    assert sample("watchkeeper_time_to_acknowledge_seconds_count", {"team": "support"}) == 1
    with session_scope(engine) as session:
        later = FRIDAY_NIGHT + timedelta(hours=2)
        assert escalate_due(session=session, services_or_plan=roster, now=later) == []


def _escalate(
    engine: Engine, roster: Roster, now: datetime, metrics: Metrics | None = None
) -> list[EscalationOutcome]:
    with session_scope(engine) as session:
        return escalate_due(session=session, services_or_plan=roster, now=now, metrics=metrics)


def test_the_worker_escalates_step_by_step_then_stops(engine: Engine, roster: Roster) -> None:
    metrics = Metrics()
    [alert_id] = ingest(engine, roster, [alert()], FRIDAY_NIGHT)
    assert _escalate(engine, roster, FRIDAY_NIGHT + timedelta(minutes=9, seconds=59)) == []

    step2 = FRIDAY_NIGHT + timedelta(minutes=10)
    [outcome] = _escalate(engine, roster, step2, metrics)
    assert (outcome.alert_id, outcome.step, outcome.users) == (alert_id, 2, ("U0LEAD2",))
    [row], _, outbox = rows(engine)
    assert (row.escalation_step, row.next_escalation_at) == (1, step2 + timedelta(minutes=20))
    assert _escalate(engine, roster, step2 + timedelta(minutes=19)) == []

    step3 = step2 + timedelta(minutes=20)
    [outcome] = _escalate(engine, roster, step3, metrics)
    assert (outcome.step, outcome.users) == (3, ("U0CEO",))
    [row], events, outbox = rows(engine)
    assert (row.escalation_step, row.next_escalation_at) == (2, None)  # the last step
    assert _escalate(engine, roster, step3 + timedelta(days=1)) == []

    notified = [
        (r.payload["user"], say(r.payload["reason"])) for r in outbox if r.kind == "alert-notify"
    ]
    assert notified == [
        ("U0BOB", "on call"),
        ("U0LEAD2", "escalation step 2 (backup)"),
        ("U0CEO", "escalation step 3 (leadership)"),
    ]
    escalated = [e for e in events if e.kind == "escalated"]
    assert [e.at for e in escalated] == [step2, step3]
    assert "not acknowledged within 10 min" in words(escalated[0])
    for step in ("2", "3"):
        labels = {"team": "support", "step": step}
        assert metrics.registry.get_sample_value("watchkeeper_alerts_escalated_total", labels) == 1


def test_escalate_now_moves_on_at_once_and_refuses_a_resolved_alert(
    engine: Engine, roster: Roster
) -> None:
    [alert_id] = ingest(engine, roster, [alert()], FRIDAY_NIGHT)
    clicked = FRIDAY_NIGHT + timedelta(minutes=1)

    def click(session: Session, alert_id: int) -> EscalationOutcome:
        """Alice's click on Escalate, a minute after the alert came."""
        return escalate_now(
            session=session,
            services_or_plan=roster,
            alert_id=alert_id,
            actor="U0ALICE",
            now=clicked,
        )

    with session_scope(engine) as session:
        outcome = click(session, alert_id)
    assert (outcome.escalated, outcome.step, outcome.users) == (True, 2, ("U0LEAD2",))
    assert "<@U0LEAD2>" in outcome.message
    [row], events, _ = rows(engine)
    assert row.next_escalation_at == clicked + timedelta(minutes=20)
    assert (events[-1].kind, events[-1].actor) == ("escalated", "U0ALICE")

    ingest(engine, roster, [alert(action=AlertAction.resolve)], clicked + timedelta(minutes=1))
    with session_scope(engine) as session:
        refused = click(session, alert_id)
        assert not refused.escalated and "already resolved" in refused.message
        with pytest.raises(AlertNotFound):
            click(session, 999)


def test_a_failed_transaction_counts_nothing(engine: Engine, roster: Roster) -> None:
    metrics = Metrics()
    with pytest.raises(RuntimeError), session_scope(engine) as session:
        ingest_batch(
            session=session,
            services_or_plan=roster,
            integration="prometheus",
            batch=[alert()],
            now=FRIDAY_NIGHT,
            metrics=metrics,
        )
        raise RuntimeError("the request failed after ingest")
    assert rows(engine) == ([], [], [])
    assert "watchkeeper_alerts_received_total{" not in metrics.render().decode()


class RosterWithABrokenTeam(Roster):
    """A roster that cannot answer for the billing team (as with a plan the engine chokes on)."""

    def status(self, team_id: str, at: datetime, session: Session | None = None) -> TeamStatus:
        if team_id == "billing":
            raise RuntimeError("the schedule of billing cannot be computed")
        return super().status(team_id, at, session)

    def holders(
        self, team_id: str, at: datetime, session: Session | None = None
    ) -> tuple[str | None, str | None]:
        if team_id == "billing":
            raise RuntimeError("the schedule of billing cannot be computed")
        return super().holders(team_id, at, session)


def test_an_alert_that_cannot_be_escalated_does_not_hold_up_the_others(engine: Engine) -> None:
    support = support_plan()
    billing = dataclasses.replace(support.teams["support"], id="billing", channel="C0BILLING")
    plan = dataclasses.replace(support, teams={**support.teams, "billing": billing})
    healthy = Roster(lambda: plan, engine)
    with session_scope(engine) as session:
        [support_id] = ingest_batch(
            session=session,
            services_or_plan=healthy,
            integration="prometheus",
            batch=[alert("a")],
            now=FRIDAY_NIGHT,
        ).ids
        # An alert raised from Slack: no integration of the plan, the team named instead.
        [billing_id] = ingest_batch(
            session=session,
            services_or_plan=healthy,
            integration="slack",
            team="billing",
            batch=[alert("b")],
            now=FRIDAY_NIGHT,
        ).ids

    due = FRIDAY_NIGHT + timedelta(minutes=10)
    outcomes = _escalate(engine, RosterWithABrokenTeam(lambda: plan, engine), due)
    assert [o.alert_id for o in outcomes] == [support_id]
    with Session(engine) as session:
        stuck = session.get(Alert, billing_id)
        assert stuck is not None and (stuck.team, stuck.integration) == ("billing", "slack")
        assert (stuck.escalation_step, stuck.next_escalation_at) == (0, due + ESCALATION_RETRY)
        assert "escalated" not in [
            e.kind for e in list_events(session=session, alert_id=billing_id)
        ]
    # Once the schedule can be computed again, the alert escalates at the next try.
    [retried] = _escalate(engine, healthy, due + ESCALATION_RETRY)
    assert (retried.alert_id, retried.step) == (billing_id, 2)


@pytest.fixture
def many_due(engine: Engine, roster: Roster) -> Iterator[list[int]]:
    ids = ingest(engine, roster, [alert(f"fp-{n}") for n in range(30)], FRIDAY_NIGHT)
    yield ids


def test_two_workers_escalate_each_due_alert_once(
    engine: Engine, roster: Roster, many_due: list[int]
) -> None:
    due = FRIDAY_NIGHT + timedelta(minutes=10)
    start = threading.Barrier(2)
    results: list[list[int]] = [[], []]
    errors: list[BaseException] = []

    def worker(slot: int) -> None:
        try:
            start.wait()
            while True:
                with session_scope(engine) as session:
                    batch = escalate_due(session=session, services_or_plan=roster, now=due, limit=4)
                if not batch:
                    return
                results[slot].extend(o.alert_id for o in batch)
        except BaseException as error:  # reported by the main thread
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(slot,)) for slot in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    escalated = results[0] + results[1]
    assert sorted(escalated) == sorted(many_due)  # every due alert, each exactly once
    with Session(engine) as session:
        for alert_id in many_due:
            kinds = [e.kind for e in list_events(session=session, alert_id=alert_id)]
            assert kinds.count("escalated") == 1, alert_id
        notify = session.exec(select(Outbox).where(Outbox.kind == "alert-notify")).all()
        assert len(notify) == 2 * len(many_due)  # the pager holder, then the backup, once each
