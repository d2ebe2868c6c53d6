"""The alert intake through the HTTP app, fed the real payloads: what is answered, and what is
written (alerts, timelines, outbox deliveries) — or not written — for each request."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event

from bot.runtime.metrics import metrics_of
from storage.db import make_engine
from tests.conftest import fixture_bytes
from tests.support.failing_db import failing_commits
from tests.support.intake import FRIDAY_NIGHT, TOKENS, Intake, intake_fixtures, running_intake
from tests.support.sqlite_lock import another_writer

ONE_MIB = 1024 * 1024


intake, sqlite_intake = intake_fixtures(running_intake)


# --- the real payloads -------------------------------------------------------------------------


async def test_each_accepted_request_is_logged_once_with_its_integration_and_team(
    sqlite_intake: Intake, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="handlers.intake")
    body = fixture_bytes("alertmanager/v0.25-firing.json")
    assert (await sqlite_intake.post("prometheus", body)).status_code == 202
    assert (await sqlite_intake.post("prometheus", b"{", token="env")).status_code == 400
    pd = await sqlite_intake.enqueue(fixture_bytes("pagerduty/trigger_openapi_example.json"))
    assert pd.status_code == 202
    lines = [
        (r.getMessage(), getattr(r, "integration", None), getattr(r, "team", None))
        for r in caplog.records
        if r.getMessage().endswith("accepted")
    ]
    assert lines == [
        ("alerts accepted", "prometheus", "support"),
        ("pagerduty event accepted", "datapipe", None),
    ]


async def test_alertmanager_firing_then_resolved(intake: Intake) -> None:
    answer = await intake.post("prometheus", fixture_bytes("alertmanager/v0.25-firing.json"))
    assert answer.status_code == 202, answer.text
    [row] = intake.alerts()
    assert answer.json() == {"status": "accepted", "alerts": 1, "ids": [row.id]}
    assert (row.team, row.integration, row.dedup_key) == (
        "support",
        "prometheus",
        "b831258b13ac607a",
    )
    assert (row.title, row.severity, row.source) == (
        "Checkout 5xx rate above 5%",
        "critical",
        "web-1",
    )
    assert row.group_key == '{}:{alertname="CheckoutHighErrorRate", service="checkout"}'
    assert row.runbook_url == "https://runbooks.example.com/checkout-5xx"
    assert {
        "title": "Source",
        "url": "http://prometheus.example.com:9090/graph?g0.expr=x&g0.tab=1",
    } in row.links
    assert row.labels["service"] == "checkout"
    assert (row.status, row.oncall_user, row.first_seen) == ("open", "U0BOB", FRIDAY_NIGHT)
    # Critical is bad news: leadership hears at once, the pager holder is paged.
    assert row.leadership_escalated_at == FRIDAY_NIGHT
    queued = [(r.kind, r.payload.get("user")) for r in intake.outbox(row.id)]
    assert queued == [("alert-sync", None), ("alert-notify", "U0BOB"), ("alert-leadership", None)]

    intake.clock.advance(timedelta(minutes=3))
    token = TOKENS["PROMETHEUS_ALERT_TOKEN"]
    resolved = await intake.post(
        "prometheus",
        fixture_bytes("alertmanager/v0.25-resolved.json"),
        token=None,
        params={"token": token},
    )
    assert resolved.status_code == 202, resolved.text
    assert resolved.json()["ids"] == [row.id]
    [row] = intake.alerts()
    assert (row.status, row.resolved_by) == ("resolved", "prometheus")
    assert row.resolved_at == FRIDAY_NIGHT + timedelta(minutes=3)
    assert row.next_escalation_at is None
    assert intake.events(row.id) == [
        ("received", "prometheus"),
        ("leadership", None),
        ("resolved", "prometheus"),
    ]


async def test_grafana_makes_one_alert_per_entry(intake: Intake) -> None:
    answer = await intake.post("grafana", fixture_bytes("grafana/webhook-docs-example.json"))
    assert answer.status_code == 202, answer.text
    alerts = intake.alerts()
    assert answer.json() == {"status": "accepted", "alerts": 2, "ids": [a.id for a in alerts]}
    assert [(a.dedup_key, a.title, a.summary) for a in alerts] == [
        (
            "c6eadffa33fcdf37",
            "This alert was triggered for zone us-1",
            "The system has high memory usage",
        ),
        (
            "bc97ff14869b13e3",
            "This alert was triggered for zone eu-1",
            "The system has high CPU usage",
        ),
    ]
    assert all(a.integration == "grafana" and a.severity == "warning" for a in alerts)
    # Each alert pages the pager holder once; a warning does not go to leadership.
    kinds = [r.kind for r in intake.outbox()]
    assert kinds.count("alert-notify") == 2 and "alert-leadership" not in kinds


async def test_pagerduty_events_trigger_acknowledge_resolve(intake: Intake) -> None:
    answer = await intake.enqueue(fixture_bytes("pagerduty/trigger_openapi_example.json"))
    assert answer.status_code == 202, answer.text
    expected = json.loads(fixture_bytes("pagerduty/response_success_openapi_example.json"))
    assert answer.json() == {**expected, "dedup_key": "srv01/mysql"}
    [disk] = intake.alerts()
    assert (disk.integration, disk.dedup_key, disk.severity) == (
        "datapipe",
        "srv01/mysql",
        "critical",
    )
    assert disk.title == "DISK at 99% on machine prod-datapipe03.example.com"

    # PagerDuty's acknowledge and resolve samples name the dedup key "dedupkeyhere": trigger it
    # with the docs' own trigger sample, sent to that key.
    trigger = json.loads(fixture_bytes("pagerduty/trigger_devdocs.json"))
    trigger.update(routing_key="routingkeyhere", dedup_key="dedupkeyhere")
    answer = await intake.enqueue(json.dumps(trigger).encode())
    assert answer.status_code == 202 and answer.json()["dedup_key"] == "dedupkeyhere"
    example = next(a for a in intake.alerts() if a.dedup_key == "dedupkeyhere")
    assert (example.integration, example.severity) == ("pagerduty", "info")

    intake.clock.advance(timedelta(minutes=2))
    answer = await intake.enqueue(fixture_bytes("pagerduty/acknowledge_devdocs.json"))
    assert answer.status_code == 202
    assert answer.json() == {
        "status": "success",
        "message": "Event processed",
        "dedup_key": "dedupkeyhere",
    }
    example = next(a for a in intake.alerts() if a.id == example.id)
    assert (example.status, example.acknowledged_by) == ("acknowledged", "pagerduty")
    assert (example.acknowledged_at, example.next_escalation_at) == (
        FRIDAY_NIGHT + timedelta(minutes=2),
        None,
    )

    intake.clock.advance(timedelta(minutes=5))
    answer = await intake.enqueue(fixture_bytes("pagerduty/resolve_devdocs.json"))
    assert answer.status_code == 202 and answer.json()["dedup_key"] == "dedupkeyhere"
    example = next(a for a in intake.alerts() if a.id == example.id)
    assert (example.status, example.resolved_by) == ("resolved", "pagerduty")
    assert intake.events(example.id) == [
        ("received", "pagerduty"),
        ("acknowledged", "pagerduty"),
        ("resolved", "pagerduty"),
    ]
    # The other integration's alert is untouched.
    assert next(a for a in intake.alerts() if a.id == disk.id).status == "open"


async def test_pagerduty_refusals_answer_as_pagerduty_and_write_nothing(intake: Intake) -> None:
    # The docs' trigger sample carries a routing key no integration has.
    unknown_key = await intake.enqueue(fixture_bytes("pagerduty/trigger_devdocs.json"))
    assert unknown_key.status_code == 400
    assert unknown_key.json() == {
        "status": "invalid event",
        "message": "Event object is invalid",
        "errors": ["Invalid routing key."],
    }

    not_json = await intake.enqueue(b"{'routing_key': nope")
    assert not_json.status_code == 400
    shape = json.loads(fixture_bytes("pagerduty/response_error_openapi_example.json"))
    assert {k: not_json.json()[k] for k in ("status", "message")} == {
        k: shape[k] for k in ("status", "message")
    }
    assert "not valid JSON" in not_json.json()["errors"][0]

    event_doc = json.loads(fixture_bytes("pagerduty/trigger_openapi_example.json"))
    event_doc["payload"]["severity"] = "apocalyptic"
    bad_severity = await intake.enqueue(json.dumps(event_doc).encode())
    assert bad_severity.status_code == 400
    body = bad_severity.json()
    assert (body["status"], body["message"]) == ("invalid event", "Event object is invalid")
    assert "severity" in body["errors"][0]

    assert intake.counts() == (0, 0, 0)


async def test_a_zendesk_trigger_and_an_opsgenie_body_through_the_generic_intake(
    intake: Intake,
) -> None:
    # What a Zendesk trigger sends with the body documented in docs/generic-webhook.md.
    zendesk = {
        "title": "Cannot pay with a card since this morning",
        "summary": "Ticket #4711 from Acme Corp",
        "severity": "Urgent",
        "customer": "Acme Corp",
        "link": "acme.zendesk.com/agent/tickets/4711",
        "dedup_key": "zendesk-4711",
        "source": "Zendesk",
    }
    answer = await intake.post("helpdesk", json.dumps(zendesk).encode())
    assert answer.status_code == 202, answer.text
    [ticket] = intake.alerts()
    assert (ticket.dedup_key, ticket.customer, ticket.severity) == (
        "zendesk-4711",
        "Acme Corp",
        "critical",
    )
    assert [link["url"] for link in ticket.links] == ["https://acme.zendesk.com/agent/tickets/4711"]

    answer = await intake.post("helpdesk", fixture_bytes("opsgenie/create_alert_request.json"))
    assert answer.status_code == 202, answer.text
    opsgenie = intake.alerts()[1]
    assert (opsgenie.title, opsgenie.dedup_key) == (
        "An example alert message",
        "Life is too short for no alias",
    )

    solved = {"title": zendesk["title"], "dedup_key": "zendesk-4711", "status": "resolved"}
    answer = await intake.post("helpdesk", json.dumps(solved).encode())
    assert answer.status_code == 202 and answer.json()["ids"] == [ticket.id]
    assert intake.alerts()[0].status == "resolved"


# --- who may send -------------------------------------------------------------------------------

GENERIC = json.dumps({"title": "Refunds are stuck", "dedup_key": "refunds"}).encode()


@pytest.mark.parametrize(
    ("headers", "params", "status", "says"),
    [
        ({"Authorization": "Bearer help-5c8d2e9a"}, {}, 202, ""),
        ({"Authorization": "bearer   help-5c8d2e9a  "}, {}, 202, ""),
        ({}, {"token": "help-5c8d2e9a"}, 202, ""),
        ({"Authorization": "Bearer help-5c8d2e9b"}, {}, 401, "wrong token"),
        ({}, {"token": "prom-3f9a0c1d"}, 401, "wrong token"),  # another integration's token
        ({}, {}, 401, "missing token"),
        ({"Authorization": "Basic aGVscDpoZWxw"}, {}, 401, "missing token"),
        ({"Authorization": "Bearer"}, {}, 401, "missing token"),
        ({}, {"token": "h\u00e9lp-5c8d2e9a"}, 401, "wrong token"),  # not ASCII
        ({"Authorization": b"Bearer h\xc3\xa9lp"}, {}, 401, "wrong token"),
    ],
)
async def test_tokens(
    sqlite_intake: Intake, headers: dict[str, str], params: dict[str, str], status: int, says: str
) -> None:
    answer = await sqlite_intake.post(
        "helpdesk", GENERIC, token=None, headers=headers, params=params
    )
    assert answer.status_code == status, answer.text
    if status == 202:
        assert sqlite_intake.counts()[0] == 1
        return
    assert answer.json()["field"] == "token" and says in answer.json()["error"]
    assert answer.headers["www-authenticate"].startswith("Bearer")
    assert sqlite_intake.counts() == (0, 0, 0)


async def test_an_integration_without_its_secret_refuses_everything(sqlite_intake: Intake) -> None:
    for params in ({}, {"token": ""}, {"token": "anything"}, {"token": "None"}):
        answer = await sqlite_intake.post("forgotten", GENERIC, token=None, params=params)
        assert answer.status_code == 401
        assert "no token configured" in answer.json()["error"]
        assert "FORGOTTEN_ALERT_TOKEN" in answer.json()["error"]
    assert sqlite_intake.counts() == (0, 0, 0)


async def test_an_unknown_integration_is_not_found(sqlite_intake: Intake) -> None:
    answer = await sqlite_intake.post("nagios", GENERIC)
    assert answer.status_code == 404
    assert answer.json()["field"] == "integration"
    assert "'nagios'" in answer.json()["error"] and "prometheus" in answer.json()["error"]


# --- bad input ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("integration", "body", "field"),
    [
        ("prometheus", b"", "body"),
        ("prometheus", b"\xff\xfe{}", "body"),
        ("prometheus", b'{"alerts": []}', "alerts"),
        ("prometheus", b'{"alerts": {"status": "firing"}}', "alerts"),
        ("grafana", b"[1, 2, 3]", "body"),
        ("helpdesk", b'{"summary": "no title"}', "title"),
        ("helpdesk", b'{"title": ["a", "list"]}', "title"),
        ("helpdesk", b'{"title": "x", "status": "maybe"}', "status"),
    ],
)
async def test_bad_payloads_name_the_field_and_write_nothing(
    sqlite_intake: Intake, integration: str, body: bytes, field: str
) -> None:
    answer = await sqlite_intake.post(integration, body)
    assert answer.status_code == 400, answer.text
    assert answer.json()["field"] == field
    assert answer.json()["error"]
    assert sqlite_intake.counts() == (0, 0, 0)


async def test_a_bad_alert_in_a_batch_refuses_the_whole_batch(sqlite_intake: Intake) -> None:
    doc = json.loads(fixture_bytes("grafana/webhook-docs-example.json"))
    doc["alerts"][1]["status"] = 42
    answer = await sqlite_intake.post("grafana", json.dumps(doc).encode())
    assert answer.status_code == 400
    assert answer.json()["field"].startswith("alerts[1]")
    assert sqlite_intake.counts() == (0, 0, 0)


async def test_oversized_bodies_are_refused(sqlite_intake: Intake) -> None:
    padding = json.dumps({"title": "big", "summary": "x" * ONE_MIB}).encode()
    declared = await sqlite_intake.post("helpdesk", padding)
    assert declared.status_code == 413
    assert declared.json()["field"] == "body"

    async def chunks() -> AsyncIterator[bytes]:
        # No Content-Length: the body is sent in chunks and counted as it comes.
        for start in range(0, len(padding), 64 * 1024):
            yield padding[start : start + 64 * 1024]

    headers = {"Authorization": f"Bearer {TOKENS['HELPDESK_ALERT_TOKEN']}"}
    chunked = await sqlite_intake.client.post("/alerts/helpdesk", content=chunks(), headers=headers)
    assert chunked.status_code == 413
    pd = await sqlite_intake.client.post("/v2/enqueue", content=padding)
    assert pd.status_code == 413 and pd.json()["status"] == "invalid event"
    assert sqlite_intake.counts() == (0, 0, 0)
    # Just under the limit is fine (the summary is cut, not refused).
    fits = json.dumps({"title": "big", "summary": "x" * (ONE_MIB - 100)}).encode()
    assert (await sqlite_intake.post("helpdesk", fits)).status_code == 202


# --- our own trouble ----------------------------------------------------------------------------


async def test_a_failing_commit_answers_503_and_writes_nothing(intake: Intake) -> None:
    with failing_commits(intake.services.engine):
        answer = await intake.post("prometheus", fixture_bytes("alertmanager/v0.25-firing.json"))
    assert answer.status_code == 503
    assert int(answer.headers["retry-after"]) > 0
    assert intake.counts() == (0, 0, 0)
    # The sender's retry goes through.
    again = await intake.post("prometheus", fixture_bytes("alertmanager/v0.25-firing.json"))
    assert again.status_code == 202
    assert intake.counts()[0] == 1


async def test_a_database_another_process_keeps_locked_answers_503_and_writes_nothing(
    sqlite_intake: Intake,
) -> None:
    # Another writer (the command line, a second process) holds SQLite's write lock for longer
    # than the busy timeout: the intake says "try again", it does not fail or half-write.
    engine = sqlite_intake.services.engine
    engine.dispose()
    event.listen(engine, "connect", lambda dbapi, _record: dbapi.execute("PRAGMA busy_timeout=50"))
    with another_writer(engine):
        answer = await sqlite_intake.post("helpdesk", GENERIC)
    assert answer.status_code == 503
    assert answer.json()["error"] == "the database is unavailable; try again shortly"
    assert int(answer.headers["retry-after"]) > 0
    assert sqlite_intake.counts() == (0, 0, 0)
    assert (await sqlite_intake.post("helpdesk", GENERIC)).status_code == 202
    assert sqlite_intake.counts()[0] == 1


async def test_an_alert_waits_for_another_writer_without_holding_up_the_server(
    sqlite_intake: Intake,
) -> None:
    # The command line writes an override while an alert comes in: the alert waits for the
    # write lock (and is stored once it is free), and meanwhile the server answers everything
    # else: the wait is not done on the event loop.
    engine = sqlite_intake.services.engine
    with another_writer(engine) as other:
        posting = asyncio.create_task(sqlite_intake.post("helpdesk", GENERIC))
        await asyncio.sleep(0.3)
        health = await asyncio.wait_for(sqlite_intake.client.get("/healthz"), 5.0)
        assert health.status_code == 200
        assert not posting.done()
        assert other.execute("SELECT count(*) FROM alert").fetchone() == (0,)
    answer = await asyncio.wait_for(posting, 10.0)
    assert answer.status_code == 202
    assert sqlite_intake.counts()[0] == 1


async def test_a_database_that_is_away_answers_503(sqlite_intake: Intake) -> None:
    sqlite_intake.services.engine = make_engine(
        "postgresql://postgres@127.0.0.1:9/nowhere", connect_args={"connect_timeout": 2}
    )
    answer = await sqlite_intake.post("helpdesk", GENERIC)
    assert answer.status_code == 503
    assert answer.headers["retry-after"]
    pd = await sqlite_intake.enqueue(fixture_bytes("pagerduty/trigger_openapi_example.json"))
    assert pd.status_code == 503 and pd.headers["retry-after"]


# --- repeats ------------------------------------------------------------------------------------


async def test_two_hundred_repeats_make_one_alert_and_one_pending_card_update(
    sqlite_intake: Intake,
) -> None:
    body = fixture_bytes("alertmanager/v0.25-firing.json")
    for _ in range(200):
        sqlite_intake.clock.advance(timedelta(seconds=1))
        answer = await sqlite_intake.post("prometheus", body)
        assert answer.status_code == 202
    [row] = sqlite_intake.alerts()
    assert row.count == 200
    assert row.last_seen == FRIDAY_NIGHT + timedelta(seconds=200)
    pending_syncs = [
        r for r in sqlite_intake.outbox(row.id) if r.kind == "alert-sync" and r.status == "pending"
    ]
    assert len(pending_syncs) == 1
    assert [r.kind for r in sqlite_intake.outbox(row.id)].count("alert-notify") == 1


async def test_batches_that_open_alerts_and_change_open_ones_are_written_once_whole(
    intake: Intake,
) -> None:
    firing = fixture_bytes("alertmanager/v0.25-firing.json")
    assert (await intake.post("prometheus", firing)).status_code == 202

    def group(*alerts: dict[str, Any]) -> bytes:
        body = json.loads(firing)
        body["alerts"] = list(alerts)
        return json.dumps(body).encode()

    def another(instance: str, fingerprint: str) -> dict[str, Any]:
        seen = json.loads(firing)["alerts"][0]
        labels = {**seen["labels"], "instance": instance}
        return {**seen, "labels": labels, "fingerprint": fingerprint}

    # Alertmanager's next notifications of the group: a new alert first, then the open one
    # again; then another new one, and the open one resolved.
    [seen_again] = json.loads(firing)["alerts"]
    [resolved] = json.loads(fixture_bytes("alertmanager/v0.25-resolved.json"))["alerts"]
    intake.clock.advance(timedelta(minutes=1))
    repeat = await intake.post(
        "prometheus", group(another("web-2", "5c1e4d7f2a9b3e60"), seen_again)
    )
    intake.clock.advance(timedelta(minutes=1))
    resolve = await intake.post("prometheus", group(another("web-3", "0a7d2c9e4b1f3568"), resolved))
    assert (repeat.status_code, resolve.status_code) == (202, 202), (repeat.text, resolve.text)

    first, second, third = intake.alerts()
    assert repeat.json()["ids"] == [second.id, first.id]
    assert resolve.json()["ids"] == [third.id, first.id]
    assert (first.dedup_key, first.count, first.status) == ("b831258b13ac607a", 2, "resolved")
    assert (second.dedup_key, second.count, second.status) == ("5c1e4d7f2a9b3e60", 1, "open")
    assert (third.dedup_key, third.count, third.status) == ("0a7d2c9e4b1f3568", 1, "open")
    assert third.first_seen == FRIDAY_NIGHT + timedelta(minutes=2)
    assert intake.events(first.id) == [
        ("received", "prometheus"),
        ("leadership", None),
        ("repeated", None),
        ("resolved", "prometheus"),
    ]
    for opened in (second, third):
        assert [r.kind for r in intake.outbox(opened.id)].count("alert-notify") == 1
        assert intake.events(opened.id)[0] == ("received", "prometheus")
    labels = {"integration": "prometheus", "team": "support"}
    received = metrics_of(intake.services).registry.get_sample_value(
        "watchkeeper_alerts_received_total", labels
    )
    assert received == 4


async def test_simultaneous_first_sightings_make_one_alert(intake: Intake) -> None:
    body = fixture_bytes("alertmanager/v0.25-firing.json")
    answers = await asyncio.gather(*(intake.post("prometheus", body) for _ in range(8)))
    assert [a.status_code for a in answers] == [202] * 8
    [row] = intake.alerts()
    assert row.count == 8
    assert {tuple(a.json()["ids"]) for a in answers} == {(row.id,)}
