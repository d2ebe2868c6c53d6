"""Opsgenie's Alert API through the HTTP app: what a monitor pointed at Watchkeeper instead of
Opsgenie is answered, and what is written (alerts, timelines) — or not — for each request."""

from __future__ import annotations

import copy
import dataclasses
import json
import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.alerts.model import TITLE_LIMIT, Severity
from bot.plan.model import Integration
from bot.plan.reading import parse_plan
from handlers.intake import PARSERS
from tests.conftest import ROOT, fixture_bytes
from tests.support.failing_db import failing_commits
from tests.support.fuzz import JSON_VALUES
from tests.support.intake import (
    FRIDAY_NIGHT,
    TOKENS,
    Intake,
    intake_fixtures,
    running_intake,
    support_plan,
)

SAMPLE = "opsgenie/create_alert_request.json"
SAMPLE_ALIAS = "Life is too short for no alias"
KEYS = {
    "OPSGENIE_API_KEY": "eb243592-faa2-4ba2-a551-1afdf565c889",
    "SCRIPTS_OPSGENIE_KEY": "5d1c0b7e-83c4-4b8f-9a51-0c2f6e9d4a10",
}
KEY = KEYS["OPSGENIE_API_KEY"]


def sample() -> dict[str, Any]:
    return json.loads(fixture_bytes(SAMPLE))


def dumps(doc: Any) -> bytes:
    return json.dumps(doc).encode()


def close_url(alias: str, action: str = "close", identifier_type: str | None = "alias") -> str:
    """The URL Alertmanager and Grafana post to, alias percent-encoded as Go's url package does."""
    url = f"/v2/alerts/{quote(alias, safe='')}/{action}"
    return url if identifier_type is None else f"{url}?identifierType={identifier_type}"


@dataclasses.dataclass
class Opsgenie(Intake):
    """The intake, with helpers that speak Opsgenie's Alert API."""

    async def create(self, body: bytes, *, key: str | None = KEY) -> httpx.Response:
        headers = {"Content-Type": "application/json"}
        if key is not None:
            headers["Authorization"] = f"GenieKey {key}"
        return await self.client.post("/v2/alerts", content=body, headers=headers)

    async def act(self, url: str, body: bytes = b"", *, key: str = KEY) -> httpx.Response:
        headers = {"Content-Type": "application/json", "Authorization": f"GenieKey {key}"}
        return await self.client.post(url, content=body, headers=headers)


@asynccontextmanager
async def running_opsgenie(
    database_url: str, *, keys: Mapping[str, str] = KEYS
) -> AsyncIterator[Opsgenie]:
    """The app as `watchkeeper serve` builds it, with two opsgenie integrations, no workers."""
    plan = support_plan()
    integrations = {
        **plan.integrations,
        "opsgenie": Integration("opsgenie", "opsgenie", "support", "OPSGENIE_API_KEY"),
        "scripts": Integration("scripts", "opsgenie", "support", "SCRIPTS_OPSGENIE_KEY"),
    }
    with_keys = dataclasses.replace(plan, integrations=integrations)
    async with running_intake(database_url, plan=with_keys, env=dict(keys)) as intake:
        yield Opsgenie(intake.client, intake.services, intake.clock)


intake, sqlite_intake = intake_fixtures(running_opsgenie)


def assert_opsgenie_accepted(answer: httpx.Response) -> None:
    """A 202 shaped like Opsgenie's own (the documented sample's keys and types)."""
    assert answer.status_code == 202, answer.text
    expected = json.loads(fixture_bytes("opsgenie/create_alert_response_202.json"))
    body = answer.json()
    assert body.keys() == expected.keys()
    assert body["result"] == expected["result"]
    assert isinstance(body["took"], float | int) and body["took"] >= 0
    uuid.UUID(body["requestId"])


def assert_opsgenie_error(answer: httpx.Response, status: int, field: str) -> str:
    """An Opsgenie-shaped error naming the field; returns its message."""
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert body.keys() == {"message", "errors", "took", "requestId"}
    assert body["errors"] == {field: body["message"]}
    uuid.UUID(body["requestId"])
    message: str = body["message"]
    assert message
    return message


# --- the documented sample ----------------------------------------------------------------------


async def test_the_create_alert_sample_through_v2_alerts(intake: Opsgenie) -> None:
    raw = sample()

    answer = await intake.create(fixture_bytes(SAMPLE))

    assert_opsgenie_accepted(answer)
    [row] = intake.alerts()
    assert (row.team, row.integration, row.dedup_key) == ("support", "opsgenie", raw["alias"])
    assert (row.title, row.summary, row.source) == (
        raw["message"],
        raw["description"],
        raw["source"],
    )
    assert row.severity == "critical"  # P1
    assert row.labels == {
        **raw["details"],
        "tags": "OverwriteQuietHours, Critical",
        "entity": raw["entity"],
        "user": raw["user"],
        "note": raw["note"],
    }
    # The pager holder is paged; critical is bad news, so leadership hears at once.
    queued = [(r.kind, r.payload.get("user")) for r in intake.outbox(row.id)]
    assert queued == [("alert-sync", None), ("alert-notify", "U0BOB"), ("alert-leadership", None)]

    intake.clock.advance(timedelta(minutes=4))
    again = await intake.create(fixture_bytes(SAMPLE))

    assert_opsgenie_accepted(again)
    assert again.json()["requestId"] != answer.json()["requestId"]
    [row] = intake.alerts()
    assert (row.count, row.last_seen) == (2, FRIDAY_NIGHT + timedelta(minutes=4))
    assert [r.kind for r in intake.outbox(row.id)].count("alert-notify") == 1


async def test_the_sample_through_alerts_opsgenie(intake: Opsgenie) -> None:
    answer = await intake.post("opsgenie", fixture_bytes(SAMPLE), token=KEY)

    assert answer.status_code == 202, answer.text
    [row] = intake.alerts()
    assert answer.json() == {"status": "accepted", "alerts": 1, "ids": [row.id]}
    assert (row.integration, row.title, row.severity, row.dedup_key) == (
        "opsgenie",
        "An example alert message",
        "critical",
        SAMPLE_ALIAS,
    )
    assert row.summary == "Every alert needs a description"
    assert row.labels["key1"] == "value1"

    # The same alias through Opsgenie's own route is a repeat of the same alert.
    assert_opsgenie_accepted(await intake.create(fixture_bytes(SAMPLE)))
    [row] = intake.alerts()
    assert row.count == 2

    refused = await intake.post("opsgenie", b'{"description": "no message"}', token=KEY)
    assert refused.status_code == 400
    assert refused.json()["field"] == "message"
    assert intake.alerts()[0].count == 2


# --- what Alertmanager and Grafana send ---------------------------------------------------------

# Shaped as Alertmanager's opsgenie_configs and Grafana's Opsgenie contact point build them: the
# alias is a hash of the alert group, details are its common labels (Grafana adds the rule URL).
ALERTMANAGER = {
    "create": {
        "alias": "6c3b9f1f0a0d2e1f3a5b7c9d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f",
        "message": "[FIRING:1] CheckoutHighErrorRate checkout",
        "description": "Checkout 5xx rate above 5%",
        "details": {"alertname": "CheckoutHighErrorRate", "service": "checkout"},
        "source": "http://alertmanager.example.com:9093",
        "tags": ["checkout"],
        "priority": "P2",
    },
    "close": {"source": "http://alertmanager.example.com:9093"},
}
GRAFANA = {
    "create": {
        "alias": "0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a6f5e4d3c2b1a0f9e",
        "message": "[FIRING:1] HighMemory zone us-1",
        "description": "The system has high memory usage",
        "tags": ["alertname:HighMemory", "zone:us-1"],
        "source": "Grafana",
        "details": {"url": "https://grafana.example.com/alerting/list", "zone": "us-1"},
    },
    "close": {"source": "Grafana"},
}


@pytest.mark.parametrize("sender", [ALERTMANAGER, GRAFANA], ids=["alertmanager", "grafana"])
async def test_a_monitor_creates_then_closes_by_alias(
    intake: Opsgenie, sender: dict[str, Any]
) -> None:
    create = sender["create"]
    assert_opsgenie_accepted(await intake.create(dumps(create)))
    [row] = intake.alerts()
    assert (row.dedup_key, row.title, row.summary) == (
        create["alias"],
        create["message"],
        create["description"],
    )
    # P2 is an error; no priority is Opsgenie's default P3, a warning.
    assert row.severity == ("error" if "priority" in create else "warning")

    intake.clock.advance(timedelta(minutes=6))
    answer = await intake.act(close_url(create["alias"]), dumps(sender["close"]))

    assert_opsgenie_accepted(answer)
    [row] = intake.alerts()
    assert (row.status, row.resolved_by) == ("resolved", "opsgenie")
    assert row.resolved_at == FRIDAY_NIGHT + timedelta(minutes=6)
    assert row.next_escalation_at is None
    assert intake.events(row.id) == [("received", "opsgenie"), ("resolved", "opsgenie")]

    # Firing again after the close opens a new alert, as in Opsgenie.
    assert_opsgenie_accepted(await intake.create(dumps(create)))
    assert [a.status for a in intake.alerts()] == ["resolved", "open"]


async def test_grafanas_rule_url_is_the_cards_link(sqlite_intake: Opsgenie) -> None:
    assert_opsgenie_accepted(await sqlite_intake.create(dumps(GRAFANA["create"])))

    [row] = sqlite_intake.alerts()
    assert [link["url"] for link in row.links] == ["https://grafana.example.com/alerting/list"]
    assert row.labels["tags"] == "alertname:HighMemory, zone:us-1"


async def test_acknowledge_by_alias_stops_escalation_then_close_resolves(
    intake: Opsgenie,
) -> None:
    assert_opsgenie_accepted(await intake.create(fixture_bytes(SAMPLE)))
    [row] = intake.alerts()
    assert row.next_escalation_at is not None

    intake.clock.advance(timedelta(minutes=2))
    body = dumps({"user": "Monitoring Script", "source": "AWS Lambda", "note": "Action executed"})
    acknowledged = await intake.act(close_url(SAMPLE_ALIAS, "acknowledge"), body)

    assert_opsgenie_accepted(acknowledged)
    [row] = intake.alerts()
    assert (row.status, row.acknowledged_by) == ("acknowledged", "opsgenie")
    assert (row.acknowledged_at, row.next_escalation_at) == (
        FRIDAY_NIGHT + timedelta(minutes=2),
        None,
    )

    # Opsgenie's identifierType is not case-sensitive, and the body may be left out.
    closed = await intake.act(close_url(SAMPLE_ALIAS, identifier_type="ALIAS"))

    assert_opsgenie_accepted(closed)
    [row] = intake.alerts()
    assert row.status == "resolved"
    assert intake.events(row.id) == [
        ("received", "opsgenie"),
        ("leadership", None),
        ("acknowledged", "opsgenie"),
        ("resolved", "opsgenie"),
    ]


async def test_an_alias_with_a_slash_is_closed_whole(sqlite_intake: Opsgenie) -> None:
    for alias in ("srv01/mysql", "srv01/redis"):
        body = dumps({"message": f"Disk full on {alias}", "alias": alias})
        assert_opsgenie_accepted(await sqlite_intake.create(body))

    assert_opsgenie_accepted(await sqlite_intake.act(close_url("srv01/mysql")))

    assert [(a.dedup_key, a.status) for a in sqlite_intake.alerts()] == [
        ("srv01/mysql", "resolved"),
        ("srv01/redis", "open"),
    ]


async def test_closing_an_alias_nobody_sent_is_accepted_and_changes_nothing(
    sqlite_intake: Opsgenie,
) -> None:
    assert_opsgenie_accepted(await sqlite_intake.create(fixture_bytes(SAMPLE)))
    before = sqlite_intake.counts()

    # As in Opsgenie, which accepts the request and finds no alert later.
    for action in ("close", "acknowledge"):
        assert_opsgenie_accepted(await sqlite_intake.act(close_url("never-sent", action)))

    assert sqlite_intake.counts() == before
    assert sqlite_intake.alerts()[0].status == "open"


async def test_closing_needs_identifier_type_alias(sqlite_intake: Opsgenie) -> None:
    assert_opsgenie_accepted(await sqlite_intake.create(fixture_bytes(SAMPLE)))
    before = sqlite_intake.counts()

    for identifier_type in (None, "id", "tiny"):
        answer = await sqlite_intake.act(close_url(SAMPLE_ALIAS, identifier_type=identifier_type))
        message = assert_opsgenie_error(answer, 422, "identifierType")
        assert "identifierType=alias" in message

    assert sqlite_intake.counts() == before
    assert sqlite_intake.alerts()[0].status == "open"


# --- repeats without an alias -------------------------------------------------------------------


async def test_without_an_alias_the_same_message_is_the_same_alert(
    sqlite_intake: Opsgenie,
) -> None:
    body = {"message": "Nightly backup failed", "priority": "P4"}
    for _ in range(3):
        assert_opsgenie_accepted(await sqlite_intake.create(dumps(body)))
    assert_opsgenie_accepted(
        await sqlite_intake.create(dumps({**body, "message": "Nightly backup is late"}))
    )

    alerts = sqlite_intake.alerts()
    assert [(a.title, a.count, a.severity) for a in alerts] == [
        ("Nightly backup failed", 3, "info"),
        ("Nightly backup is late", 1, "info"),
    ]


# --- who may send -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("authorization", "status", "integration"),
    [
        (f"GenieKey {KEY}", 202, "opsgenie"),
        (f"geniekey   {KEY} ", 202, "opsgenie"),
        (
            f"GenieKey {KEYS['SCRIPTS_OPSGENIE_KEY']}",
            202,
            "scripts",
        ),  # the key picks the integration
        (None, 401, None),
        ("GenieKey", 401, None),
        (f"Bearer {KEY}", 401, None),  # Opsgenie's routes read GenieKey only
        (f"GenieKey {KEY[:-1]}x", 401, None),
        (f"GenieKey {TOKENS['HELPDESK_ALERT_TOKEN']}", 401, None),  # a generic integration's token
        (f"GenieKey {TOKENS['PAGERDUTY_ROUTING_KEY']}", 401, None),  # a pagerduty routing key
        (b"GenieKey \xc3\xa9b243592", 401, None),  # not ASCII
    ],
)
async def test_genie_keys(
    sqlite_intake: Opsgenie,
    authorization: str | bytes | None,
    status: int,
    integration: str | None,
) -> None:
    headers: dict[str, Any] = {"Content-Type": "application/json"}
    if authorization is not None:
        headers["Authorization"] = authorization

    answer = await sqlite_intake.client.post(
        "/v2/alerts", content=fixture_bytes(SAMPLE), headers=headers
    )

    if status == 202:
        assert_opsgenie_accepted(answer)
        assert [a.integration for a in sqlite_intake.alerts()] == [integration]
        return
    message = assert_opsgenie_error(answer, 401, "Authorization")
    assert "GenieKey" in answer.headers["www-authenticate"]
    assert "authenticate" in message
    assert sqlite_intake.counts() == (0, 0, 0)


async def test_a_wrong_key_closes_nothing(sqlite_intake: Opsgenie) -> None:
    assert_opsgenie_accepted(await sqlite_intake.create(fixture_bytes(SAMPLE)))
    before = sqlite_intake.counts()

    for action in ("close", "acknowledge"):
        answer = await sqlite_intake.act(close_url(SAMPLE_ALIAS, action), key="not-the-key")
        assert_opsgenie_error(answer, 401, "Authorization")
        # Authentication comes first, even when the request is wrong in other ways too.
        wrong_type = await sqlite_intake.act(
            close_url(SAMPLE_ALIAS, action, identifier_type="id"), key="not-the-key"
        )
        assert_opsgenie_error(wrong_type, 401, "Authorization")

    assert sqlite_intake.counts() == before
    assert sqlite_intake.alerts()[0].status == "open"


async def test_an_opsgenie_integration_without_its_key_set_accepts_no_key(sqlite_url: str) -> None:
    async with running_opsgenie(sqlite_url, keys={}) as intake:
        for key in ("", " ", "None", KEY):
            answer = await intake.create(fixture_bytes(SAMPLE), key=key)
            assert_opsgenie_error(answer, 401, "Authorization")
        assert intake.counts() == (0, 0, 0)


# --- bad input ----------------------------------------------------------------------------------


def edited(change: dict[str, Any] | None = None, *, drop: str | None = None) -> bytes:
    doc = sample()
    doc.update(change or {})
    if drop is not None:
        del doc[drop]
    return dumps(doc)


MALFORMED: list[tuple[str, bytes, int, str]] = [
    # (name, body, status, the field the error names)
    ("empty body", b"", 400, "body"),
    ("not json", b"message: disk full", 400, "body"),
    ("not utf-8", b'{"message": "\xff"}', 400, "body"),
    ("a list", b'[{"message": "disk full"}]', 422, "body"),
    ("no message", edited(drop="message"), 422, "message"),
    ("blank message", edited({"message": " \u0000 "}), 422, "message"),
    ("message a number", edited({"message": 42}), 422, "message"),
    ("alias an object", edited({"alias": {"id": 1}}), 422, "alias"),
    ("description a list", edited({"description": ["a"]}), 422, "description"),
    ("priority P6", edited({"priority": "P6"}), 422, "priority"),
    ("priority a word", edited({"priority": "critical"}), 422, "priority"),
    ("priority a number", edited({"priority": 1}), 422, "priority"),
    ("tags text", edited({"tags": "a,b"}), 422, "tags"),
    ("a tag a number", edited({"tags": ["a", 2]}), 422, "tags[1]"),
    ("details a list", edited({"details": ["a"]}), 422, "details"),
    ("entity a number", edited({"entity": 7}), 422, "entity"),
    ("source a list", edited({"source": []}), 422, "source"),
    ("user an object", edited({"user": {}}), 422, "user"),
    ("note true", edited({"note": True}), 422, "note"),
]


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [case[1:] for case in MALFORMED],
    ids=[case[0] for case in MALFORMED],
)
async def test_bad_bodies_name_the_field_and_write_nothing(
    sqlite_intake: Opsgenie, body: bytes, status: int, field: str
) -> None:
    answer = await sqlite_intake.create(body)

    message = assert_opsgenie_error(answer, status, field)
    assert field in message or field == "body"
    assert sqlite_intake.counts() == (0, 0, 0)
    # The same body through /alerts/{integration} is refused the same way, in our own shape.
    ours = await sqlite_intake.post("opsgenie", body, token=KEY)
    assert ours.status_code == 400
    assert ours.json() == {"error": message, "field": field}
    assert sqlite_intake.counts() == (0, 0, 0)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"{not json", "body"),
        (b'"close it"', "body"),
        (b'{"note": ["a"]}', "note"),
        (b'{"user": 5}', "user"),
        (b'{"source": {}}', "source"),
    ],
)
async def test_bad_close_bodies_name_the_field_and_change_nothing(
    sqlite_intake: Opsgenie, body: bytes, field: str
) -> None:
    assert_opsgenie_accepted(await sqlite_intake.create(fixture_bytes(SAMPLE)))
    before = sqlite_intake.counts()

    answer = await sqlite_intake.act(close_url(SAMPLE_ALIAS), body)

    assert_opsgenie_error(answer, 400 if body.startswith(b"{not") else 422, field)
    assert sqlite_intake.counts() == before
    assert sqlite_intake.alerts()[0].status == "open"


async def test_an_oversized_body_is_refused(sqlite_intake: Opsgenie) -> None:
    body = edited({"description": "x" * (1024 * 1024)})

    assert_opsgenie_error(await sqlite_intake.create(body), 413, "body")
    assert sqlite_intake.counts() == (0, 0, 0)


def test_a_long_message_is_cut_as_opsgenie_does_and_kept_whole_in_the_summary() -> None:
    message = "Checkout error rate above 5% on " + ", ".join(f"web-{n}" for n in range(40))
    body = dumps({"message": message, "description": "Since 14:05."})

    [alert] = PARSERS["opsgenie"](body).alerts

    assert len(alert.title) == 130 < TITLE_LIMIT and alert.title.endswith("…")
    assert message.startswith(alert.title[:-1])
    assert alert.summary == f"{message}\n\nSince 14:05."


@pytest.mark.parametrize(
    ("priority", "severity"),
    [
        ("P1", Severity.critical),
        ("P2", Severity.error),
        ("P3", Severity.warning),
        ("P4", Severity.info),
        ("P5", Severity.info),
        ("p1", Severity.critical),
        ("", Severity.warning),
        (None, Severity.warning),
    ],
)
def test_priorities(priority: str | None, severity: Severity) -> None:
    doc: dict[str, Any] = {"message": "Disk full"}
    if priority is not None:
        doc["priority"] = priority

    [alert] = PARSERS["opsgenie"](dumps(doc)).alerts

    assert alert.severity is severity


def test_the_setup_file_accepts_the_opsgenie_kind() -> None:
    example = (ROOT / "oncall.example.yaml").read_text(encoding="utf-8")
    head = example[: example.index("integrations:")]
    plan = parse_plan(
        head + "integrations:\n  monitors:\n    kind: opsgenie\n    team: support\n"
        "    token_env: OPSGENIE_API_KEY\n",
        "oncall.yaml",
    )

    assert plan.integrations["monitors"] == Integration(
        "monitors", "opsgenie", "support", "OPSGENIE_API_KEY"
    )


# --- our own trouble ----------------------------------------------------------------------------


async def test_a_failing_commit_answers_503_and_writes_nothing(intake: Opsgenie) -> None:
    with failing_commits(intake.services.engine):
        answer = await intake.create(fixture_bytes(SAMPLE))

    assert answer.status_code == 503
    assert int(answer.headers["retry-after"]) > 0
    assert answer.json().keys() == {"message", "took", "requestId"}
    assert intake.counts() == (0, 0, 0)
    # The sender's retry goes through.
    assert_opsgenie_accepted(await intake.create(fixture_bytes(SAMPLE)))
    assert intake.counts()[0] == 1


# --- whatever arrives ---------------------------------------------------------------------------

FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
ROUTES = ["/v2/alerts", "/alerts/opsgenie", "close", "acknowledge"]


@st.composite
def mutated_sample(draw: st.DrawFn) -> bytes:
    """The sample with one of its values replaced by anything, or removed."""
    doc = copy.deepcopy(sample())
    name = draw(st.sampled_from(sorted(doc)))
    if draw(st.booleans()):
        del doc[name]
    else:
        doc[name] = draw(JSON_VALUES)
    return dumps(doc)


@st.composite
def broken_sample(draw: st.DrawFn) -> bytes:
    """The sample made unusable: cut short, without its message, or a field of the wrong type."""
    raw = fixture_bytes(SAMPLE).rstrip()
    choice = draw(st.sampled_from(["cut", "no message", "wrong type"]))
    if choice == "cut":
        return raw[: draw(st.integers(0, len(raw) - 1))]
    doc = sample()
    if choice == "no message":
        del doc["message"]
    else:
        name = draw(st.sampled_from(["message", "alias", "description", "priority", "tags"]))
        # Wrong for each of these fields: none is a list of text where text is wanted, or text.
        doc[name] = draw(st.sampled_from([[1], {}, 3, 2.5, True]))
    return dumps(doc)


async def send(intake: Opsgenie, route: str, body: bytes) -> httpx.Response:
    if route == "/v2/alerts":
        return await intake.create(body)
    if route == "/alerts/opsgenie":
        return await intake.post("opsgenie", body, token=KEY)
    return await intake.act(close_url(SAMPLE_ALIAS, route), body)


@pytest.mark.parametrize("route", ["/v2/alerts", "/alerts/opsgenie"])
@FUZZ
@given(data=st.data())
async def test_malformed_create_bodies_are_refused_and_write_nothing(
    sqlite_intake: Opsgenie, route: str, data: st.DataObject
) -> None:
    not_an_object = JSON_VALUES.filter(lambda v: not isinstance(v, dict)).map(dumps)
    body = data.draw(not_an_object | broken_sample(), label="body")
    before = sqlite_intake.counts()

    answer = await send(sqlite_intake, route, body)

    assert 400 <= answer.status_code < 500, answer.text
    assert sqlite_intake.counts() == before


@pytest.mark.parametrize("route", ROUTES)
@FUZZ
@given(data=st.data())
async def test_no_body_makes_a_server_error(
    sqlite_intake: Opsgenie, route: str, data: st.DataObject
) -> None:
    if not sqlite_intake.alerts():
        # An open alert for the close and acknowledge routes to find.
        assert_opsgenie_accepted(await sqlite_intake.create(fixture_bytes(SAMPLE)))
    objects = st.dictionaries(st.sampled_from(sorted(sample())), JSON_VALUES, max_size=6).map(dumps)
    body = data.draw(st.binary(max_size=300) | objects | mutated_sample(), label="body")
    before = sqlite_intake.counts()
    status_before = [a.status for a in sqlite_intake.alerts()]

    answer = await send(sqlite_intake, route, body)

    assert answer.status_code < 500, answer.text
    if answer.status_code >= 400:
        assert sqlite_intake.counts() == before
        assert [a.status for a in sqlite_intake.alerts()] == status_before
    else:
        assert answer.status_code == 202
