"""Intake parsers: real payloads normalise to what they say; anything else is refused clearly."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from bot.alerts.model import (
    SUMMARY_LIMIT,
    TITLE_LIMIT,
    AlertAction,
    AlertStatus,
    IntakeError,
    NormalizedAlert,
    ParsedBatch,
    Severity,
    severity_from,
)
from handlers.intake import PARSERS, pagerduty
from tests.conftest import fixture_bytes

ROOT = Path(__file__).resolve().parents[1]


def fixture_json(relative: str) -> Any:
    return json.loads(fixture_bytes(relative))


def dumps(doc: Any) -> bytes:
    return json.dumps(doc).encode()


def link_urls(alert: NormalizedAlert) -> list[str]:
    return [link.url for link in alert.links]


# --- Alertmanager -------------------------------------------------------------------------------


def test_alertmanager_capture_normalises_to_what_it_says() -> None:
    raw = fixture_json("alertmanager/v0.25-firing.json")
    entry = raw["alerts"][0]

    batch = PARSERS["alertmanager"](fixture_bytes("alertmanager/v0.25-firing.json"))

    assert batch.kind == "alertmanager"
    assert batch.receiver == raw["receiver"]
    assert batch.group_key == raw["groupKey"]
    [alert] = batch.alerts
    assert alert.dedup_key == entry["fingerprint"]
    assert alert.title == entry["annotations"]["summary"]
    assert alert.severity is Severity(entry["labels"]["severity"])
    assert alert.status is AlertStatus.firing
    assert alert.action is AlertAction.trigger
    assert alert.source == entry["labels"]["instance"]
    assert alert.runbook_url == entry["annotations"]["runbook_url"]
    assert alert.labels == entry["labels"]
    assert alert.group_key == raw["groupKey"]
    assert alert.starts_at is not None
    assert alert.starts_at.isoformat().startswith(entry["startsAt"][:19])
    assert alert.ends_at is None  # Go's zero time means "still firing"
    assert alert.raw_kind == "alertmanager"
    # The Prometheus graph it came from, and Alertmanager's silence page for exactly these labels.
    assert link_urls(alert)[0] == entry["generatorURL"]
    silence = next(link for link in alert.links if link.title == "Silence")
    assert silence.url.startswith(raw["externalURL"] + "/#/silences/new?filter=")
    for name, value in entry["labels"].items():
        assert f"{name}%3D%22{value}%22" in silence.url


def test_alertmanager_firing_then_resolved_is_one_alert_closing() -> None:
    firing = PARSERS["alertmanager"](fixture_bytes("alertmanager/v0.25-firing.json")).alerts[0]
    resolved = PARSERS["alertmanager"](fixture_bytes("alertmanager/v0.25-resolved.json")).alerts[0]
    raw_resolved = fixture_json("alertmanager/v0.25-resolved.json")["alerts"][0]

    assert firing.dedup_key == resolved.dedup_key
    assert firing.group_key == resolved.group_key
    assert (firing.status, firing.action) == (AlertStatus.firing, AlertAction.trigger)
    assert (resolved.status, resolved.action) == (AlertStatus.resolved, AlertAction.resolve)
    assert resolved.ends_at is not None
    assert resolved.ends_at.isoformat().startswith(raw_resolved["endsAt"].rstrip("Z"))


def test_alertmanager_route_prefixed_group_key_and_escaped_generator_url() -> None:
    raw = fixture_json("alertmanager/v4-route-prefixed-groupkey.json")
    entry = raw["alerts"][0]

    batch = PARSERS["alertmanager"](fixture_bytes("alertmanager/v4-route-prefixed-groupkey.json"))

    [alert] = batch.alerts
    assert (
        batch.group_key == raw["groupKey"] == '{}/{severity="critical"}:{alertname="ProbeFailure"}'
    )
    assert alert.dedup_key == entry["fingerprint"]
    assert alert.title == entry["annotations"]["summary"]
    assert alert.summary == entry["annotations"]["description"]
    assert alert.severity is Severity.critical
    assert alert.source == entry["labels"]["instance"]
    # The sample's doubled escape would leave a backslash in the link; it must open the graph.
    source = link_urls(alert)[0]
    assert "\\" not in source
    assert source == entry["generatorURL"].replace("\\u0026", "&")
    assert source.endswith("&g0.tab=1")


def test_alertmanager_without_fingerprint_dedups_by_labels() -> None:
    raw = fixture_json("alertmanager/v0.25-firing.json")
    del raw["alerts"][0]["fingerprint"]
    reordered = copy.deepcopy(raw)
    reordered["alerts"][0]["labels"] = dict(reversed(list(raw["alerts"][0]["labels"].items())))
    other = copy.deepcopy(raw)
    other["alerts"][0]["labels"]["instance"] = "web-2"

    key = PARSERS["alertmanager"](dumps(raw)).alerts[0].dedup_key
    assert PARSERS["alertmanager"](dumps(raw)).alerts[0].dedup_key == key
    assert PARSERS["alertmanager"](dumps(reordered)).alerts[0].dedup_key == key
    assert PARSERS["alertmanager"](dumps(other)).alerts[0].dedup_key != key


def test_alertmanager_reads_customer_title_and_source_fallbacks() -> None:
    raw = fixture_json("alertmanager/v0.25-firing.json")
    entry = raw["alerts"][0]
    entry["annotations"] = {"message": "Payments answer 502", "tenant": "Acme"}
    entry["labels"] = {"alertname": "PaymentsDown", "job": "payments", "severity": "P2"}

    [alert] = PARSERS["alertmanager"](dumps(raw)).alerts

    assert alert.title == "PaymentsDown"
    assert alert.summary == "Payments answer 502"
    assert alert.customer == "Acme"
    assert alert.source == "payments"
    assert alert.severity is Severity.error
    assert alert.runbook_url is None


def test_alertmanager_one_alert_per_entry_each_with_its_own_status() -> None:
    raw = fixture_json("alertmanager/v0.25-firing.json")
    second = copy.deepcopy(raw["alerts"][0])
    second.update(status="resolved", fingerprint="0000000000000002", endsAt="2026-11-22T11:00:00Z")
    raw["alerts"].append(second)

    alerts = PARSERS["alertmanager"](dumps(raw)).alerts

    assert [(a.dedup_key, a.status) for a in alerts] == [
        (raw["alerts"][0]["fingerprint"], AlertStatus.firing),
        ("0000000000000002", AlertStatus.resolved),
    ]


def test_alertmanager_accepts_a_thousand_alerts_and_refuses_more() -> None:
    raw = fixture_json("alertmanager/v0.25-firing.json")
    entry = raw["alerts"][0]
    raw["alerts"] = [{**entry, "fingerprint": f"{i:016x}"} for i in range(1000)]
    assert len(PARSERS["alertmanager"](dumps(raw)).alerts) == 1000

    raw["alerts"].append({**entry, "fingerprint": "overflow"})
    with pytest.raises(IntakeError) as refused:
        PARSERS["alertmanager"](dumps(raw))
    assert refused.value.field == "alerts"
    assert "1,001" in refused.value.message and "1,000" in refused.value.message


# --- Grafana ------------------------------------------------------------------------------------


def test_grafana_docs_example_normalises_each_alert() -> None:
    raw = fixture_json("grafana/webhook-docs-example.json")

    batch = PARSERS["grafana"](fixture_bytes("grafana/webhook-docs-example.json"))

    assert batch.kind == "grafana"
    assert batch.receiver == raw["receiver"]
    assert batch.group_key == raw["groupKey"]
    assert batch.org_id == raw["orgId"]
    assert len(batch.alerts) == len(raw["alerts"]) == 2
    for alert, entry in zip(batch.alerts, raw["alerts"], strict=True):
        assert alert.dedup_key == entry["fingerprint"]
        assert alert.title == entry["annotations"]["summary"]
        assert alert.summary == entry["annotations"]["description"]
        assert alert.status is AlertStatus(entry["status"])
        assert alert.severity is Severity.warning  # its labels name no severity
        assert alert.runbook_url == entry["annotations"]["runbook_url"]
        assert alert.labels["orgId"] == str(raw["orgId"])
        assert alert.labels["zone"] == entry["labels"]["zone"]
        assert alert.details == {name: str(value) for name, value in entry["values"].items()}
        # Rule and silence links; the empty dashboard and panel URLs are no links at all.
        assert link_urls(alert) == [entry["generatorURL"], entry["silenceURL"]]
        assert [link.title for link in alert.links] == ["Source", "Silence"]


def test_grafana_dashboard_and_panel_links_when_given() -> None:
    raw = fixture_json("grafana/webhook-docs-example.json")
    entry = raw["alerts"][0]
    entry["dashboardURL"] = "https://play.grafana.org/d/abc"
    entry["panelURL"] = "https://play.grafana.org/d/abc?viewPanel=2"

    alert = PARSERS["grafana"](dumps(raw)).alerts[0]

    titles = {link.title: link.url for link in alert.links}
    assert titles["Dashboard"] == entry["dashboardURL"]
    assert titles["Panel"] == entry["panelURL"]


# --- PagerDuty ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "relative", ["pagerduty/trigger_openapi_example.json", "pagerduty/trigger_devdocs.json"]
)
def test_pagerduty_trigger_examples(relative: str) -> None:
    raw = fixture_json(relative)
    payload = raw["payload"]

    batch = PARSERS["pagerduty"](fixture_bytes(relative))

    [alert] = batch.alerts
    assert batch.routing_key == raw["routing_key"]
    assert batch.dedup_key == alert.dedup_key == raw["dedup_key"]
    assert alert.title == payload["summary"]
    assert alert.severity is Severity(payload["severity"])
    assert alert.source == payload["source"]
    assert alert.action is AlertAction.trigger
    assert alert.status is AlertStatus.firing
    assert alert.labels == {name: payload[name] for name in ("component", "group", "class")}
    assert alert.details == {name: str(v) for name, v in payload["custom_details"].items()}
    assert alert.starts_at is not None and alert.starts_at.year == 2015
    # Its links, then the client's; images are not links.
    expected = [(link["text"], link["href"]) for link in raw["links"]]
    expected.append((raw["client"], raw["client_url"]))
    assert [(link.title, link.url) for link in alert.links] == expected
    assert not {image["src"] for image in raw["images"]} & set(link_urls(alert))


@pytest.mark.parametrize(
    ("relative", "action", "status"),
    [
        ("pagerduty/acknowledge_devdocs.json", AlertAction.acknowledge, AlertStatus.firing),
        ("pagerduty/resolve_devdocs.json", AlertAction.resolve, AlertStatus.resolved),
    ],
)
def test_pagerduty_acknowledge_and_resolve(
    relative: str, action: AlertAction, status: AlertStatus
) -> None:
    raw = fixture_json(relative)

    batch = PARSERS["pagerduty"](fixture_bytes(relative))

    [alert] = batch.alerts
    assert batch.routing_key == raw["routing_key"]
    assert batch.dedup_key == alert.dedup_key == raw["dedup_key"]
    assert (alert.action, alert.status) == (action, status)


def test_pagerduty_trigger_without_dedup_key_gets_a_fresh_one() -> None:
    raw = fixture_json("pagerduty/trigger_openapi_example.json")
    del raw["dedup_key"]

    first = PARSERS["pagerduty"](dumps(raw))
    second = PARSERS["pagerduty"](dumps(raw))

    assert first.dedup_key == first.alerts[0].dedup_key
    assert re.fullmatch(r"[0-9a-f]{32}", first.dedup_key or "")
    assert first.dedup_key != second.dedup_key
    given_key = pagerduty.parse(dumps(raw), new_key=lambda: "chosen-key")
    assert given_key.dedup_key == "chosen-key"


def test_pagerduty_customer_from_custom_details() -> None:
    raw = fixture_json("pagerduty/trigger_openapi_example.json")
    raw["payload"]["custom_details"]["customer"] = "Acme"

    alert = PARSERS["pagerduty"](dumps(raw)).alerts[0]

    assert alert.customer == "Acme"
    assert "customer" not in alert.details


def test_pagerduty_long_summary_is_cut_not_refused() -> None:
    raw = fixture_json("pagerduty/trigger_openapi_example.json")
    raw["payload"]["summary"] = "disk full " * 200  # 2,000 characters

    alert = PARSERS["pagerduty"](dumps(raw)).alerts[0]

    assert len(alert.title) == TITLE_LIMIT and alert.title.endswith("…")
    assert len(alert.summary) <= 1024 and alert.summary.startswith("disk full disk full")


@pytest.mark.parametrize("severity", ["high", "Sev1", "P1", "fatal", ""])
def test_pagerduty_refuses_severities_pagerduty_refuses(severity: str) -> None:
    raw = fixture_json("pagerduty/trigger_openapi_example.json")
    raw["payload"]["severity"] = severity

    with pytest.raises(IntakeError) as refused:
        PARSERS["pagerduty"](dumps(raw))

    assert refused.value.field == "payload.severity"
    assert "payload.severity" in str(refused.value)


def test_pagerduty_tells_a_broken_body_from_an_invalid_event() -> None:
    with pytest.raises(IntakeError) as broken:
        PARSERS["pagerduty"](b'{"routing_key": ')
    assert broken.value.unparseable

    with pytest.raises(IntakeError) as invalid:
        PARSERS["pagerduty"](b'{"event_action": "trigger"}')
    assert not invalid.value.unparseable
    assert invalid.value.field == "routing_key"


# --- Generic ------------------------------------------------------------------------------------


ZENDESK_VALUES = {
    "ticket.title": 'Cannot pay: card "declined"',
    "ticket.id": "4711",
    "ticket.requester.name": "Acme Corp",
    "ticket.priority": "Urgent",
    "ticket.url": "acme.zendesk.com/agent/tickets/4711",
    "conversation.title": "Refund please",
    "conversation.id": "215",
    "company.name": "Acme Corp",
}


def documented_bodies() -> list[str]:
    """The alert bodies of docs/generic-webhook.md, as written there (with placeholders)."""
    text = (ROOT / "docs" / "generic-webhook.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```json\n(.*?)```", text, flags=re.DOTALL)
    return [block for block in blocks if '"title":' in block]


def filled(template: str) -> bytes:
    """The body a sender posts: each placeholder replaced by a value, escaped inside its string."""
    return re.sub(
        r"\{\{([\w.]+)\}\}",
        lambda match: json.dumps(ZENDESK_VALUES[match.group(1)])[1:-1],
        template,
    ).encode()


def test_every_documented_body_is_accepted() -> None:
    bodies = documented_bodies()
    assert len(bodies) >= 4  # the full example, Zendesk's two triggers, Intercom's
    for body in bodies:
        [alert] = PARSERS["generic"](filled(body)).alerts
        assert alert.title


def test_zendesk_trigger_body_pages_and_the_solved_trigger_resolves_it() -> None:
    page, solved = (body for body in documented_bodies() if "{{ticket." in body)

    [alert] = PARSERS["generic"](filled(page)).alerts
    [closing] = PARSERS["generic"](filled(solved)).alerts

    assert alert.title == ZENDESK_VALUES["ticket.title"]
    assert alert.summary == "Ticket #4711 from Acme Corp"
    assert alert.severity is Severity.critical  # Zendesk's "Urgent"
    assert alert.customer == "Acme Corp"
    assert alert.source == "Zendesk"
    assert link_urls(alert) == ["https://acme.zendesk.com/agent/tickets/4711"]
    assert alert.status is AlertStatus.firing and alert.action is AlertAction.trigger
    assert closing.dedup_key == alert.dedup_key == "zendesk-4711"
    assert closing.status is AlertStatus.resolved and closing.action is AlertAction.resolve


def test_generic_aliases_and_derived_dedup_key() -> None:
    body = {
        "title": "Refund stuck",
        "description": "Stripe says pending since Friday",
        "url": "https://billing.example.com/refunds/9",
        "customer": "Acme",
        "severity": "low",
        "resolved": True,
        "labels": {"plan": "enterprise", "seats": 40, "trial": False},
    }

    [alert] = PARSERS["generic"](dumps(body)).alerts
    [again] = PARSERS["generic"](dumps({**body, "summary": "other words"})).alerts
    [other] = PARSERS["generic"](dumps({**body, "customer": "Globex"})).alerts

    assert alert.summary == body["description"]
    assert link_urls(alert) == [body["url"]]
    assert alert.severity is Severity.info
    assert alert.status is AlertStatus.resolved
    assert alert.labels == {"plan": "enterprise", "seats": "40", "trial": "false"}
    # Same title for the same customer: the same alert; another customer: another alert.
    assert again.dedup_key == alert.dedup_key
    assert other.dedup_key != alert.dedup_key


def test_generic_reads_an_opsgenie_create_alert_body() -> None:
    raw = fixture_json("opsgenie/create_alert_request.json")

    [alert] = PARSERS["generic"](fixture_bytes("opsgenie/create_alert_request.json")).alerts

    assert alert.title == raw["message"]
    assert alert.dedup_key == raw["alias"]
    assert alert.summary == raw["description"]
    assert alert.severity is Severity.critical  # P1
    assert alert.source == raw["source"]
    assert alert.details == raw["details"]


def test_generic_refuses_zendesk_event_envelopes_for_lack_of_a_title() -> None:
    for relative in (
        "zendesk/ticket_created_webhook_prismatic_sample.json",
        "zendesk/event_webhook_envelope_docs_user.active_changed.json",
    ):
        with pytest.raises(IntakeError) as refused:
            PARSERS["generic"](fixture_bytes(relative))
        assert refused.value.field == "title"


def test_generic_long_text_is_trimmed_and_odd_characters_cleaned() -> None:
    body = {
        "title": "Checkout\x00 down\n" + "x" * 500,
        "summary": "y" * 5000,
        "customer": "Ac\ud800me",
    }

    [alert] = PARSERS["generic"](json.dumps(body).encode()).alerts

    assert len(alert.title) == TITLE_LIMIT and alert.title.endswith("…")
    assert alert.title.startswith("Checkout down x")
    assert len(alert.summary) == SUMMARY_LIMIT and alert.summary.endswith("…")
    assert alert.customer == "Ac\ufffdme"
    alert.model_dump_json().encode("utf-8")  # fit for the database and Slack


# --- Severity words -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("word", "severity"),
    [
        *[(w, Severity.critical) for w in ["critical", "CRIT", "p1", "page", "fatal", "High"]],
        *[(w, Severity.error) for w in ["error", "err", "P2", "major", "sev-2"]],
        *[(w, Severity.warning) for w in ["warning", "warn", "p3", "medium", "minor", "normal"]],
        *[(w, Severity.info) for w in ["info", "informational", "p4", "P5", "low", "ok"]],
        *[(w, Severity.warning) for w in ["", "purple", "12", None, 3, ["critical"]]],
    ],
)
def test_severity_words(word: object, severity: Severity) -> None:
    assert severity_from(word) is severity


def test_severity_ranks() -> None:
    assert Severity.critical.at_least(Severity.error)
    assert not Severity.info.at_least(Severity.warning)
    assert Severity.worst([Severity.info, Severity.critical, Severity.warning]) is Severity.critical
    assert Severity.worst([]) is None


# --- Malformed bodies ---------------------------------------------------------------------------


def am(mutate: Callable[[dict[str, Any]], Any]) -> bytes:
    """The Alertmanager capture with three alerts, changed by ``mutate``."""
    raw = fixture_json("alertmanager/v0.25-firing.json")
    raw["alerts"] = [copy.deepcopy(raw["alerts"][0]) for _ in range(3)]
    mutate(raw)
    return dumps(raw)


def gf(mutate: Callable[[dict[str, Any]], Any]) -> bytes:
    raw = fixture_json("grafana/webhook-docs-example.json")
    mutate(raw)
    return dumps(raw)


def pd(mutate: Callable[[dict[str, Any]], Any]) -> bytes:
    raw = fixture_json("pagerduty/trigger_openapi_example.json")
    mutate(raw)
    return dumps(raw)


def test_a_body_behind_a_byte_order_mark_is_read_and_bad_bytes_are_placed() -> None:
    body = dumps({"title": "Checkout fails for Acme", "severity": "error"})
    assert PARSERS["generic"](b"\xef\xbb\xbf" + body).alerts[0].title == "Checkout fails for Acme"
    # The position is the byte's in the body as sent, mark included.
    for prefix in (b"", b"\xef\xbb\xbf"):
        with pytest.raises(IntakeError) as refused:
            PARSERS["generic"](prefix + b'{"title": "caf\xe9"}')
        assert refused.value.unparseable
        assert str(refused.value) == (
            f"The body is not UTF-8 text (bad byte at position {len(prefix) + 14})."
        )


MALFORMED: list[tuple[str, str, bytes, str]] = [
    # (name, kind, body, the field the error names)
    ("empty body", "alertmanager", b"", "body"),
    ("not utf-8", "alertmanager", b'{"receiver": "\xff"}', "body"),
    ("utf-16", "generic", '{"title": "x"}'.encode("utf-16"), "body"),
    ("not json", "grafana", b"alerts: []", "body"),
    ("NaN", "generic", b'{"title": "x", "labels": {"a": NaN}}', "body"),
    ("deep nesting", "generic", b"[" * 100_000 + b"]" * 100_000, "body"),
    ("huge number", "generic", b'{"title": "x", "dedup_key": ' + b"9" * 5000 + b"}", "body"),
    ("a list", "alertmanager", b"[]", "body"),
    ("no alerts", "alertmanager", b'{"receiver": "x"}', "alerts"),
    ("empty alerts", "alertmanager", am(lambda r: r.update(alerts=[])), "alerts"),
    ("alerts text", "grafana", gf(lambda r: r.update(alerts="none")), "alerts"),
    ("alert not object", "alertmanager", am(lambda r: r["alerts"].__setitem__(1, 7)), "alerts[1]"),
    (
        "labels a list",
        "alertmanager",
        am(lambda r: r["alerts"][2].update(labels=["a"])),
        "alerts[2].labels",
    ),
    (
        "label a number",
        "alertmanager",
        am(lambda r: r["alerts"][0]["labels"].update(severity=5)),
        "alerts[0].labels.severity",
    ),
    (
        "bad status",
        "alertmanager",
        am(lambda r: r["alerts"][1].update(status="burning")),
        "alerts[1].status",
    ),
    (
        "no status anywhere",
        "alertmanager",
        am(lambda r: (r.pop("status"), r["alerts"][0].pop("status"))),
        "alerts[0].status",
    ),
    (
        "bad startsAt",
        "alertmanager",
        am(lambda r: r["alerts"][0].update(startsAt="yesterday")),
        "alerts[0].startsAt",
    ),
    ("receiver a number", "alertmanager", am(lambda r: r.update(receiver=3)), "receiver"),
    ("groupKey a list", "alertmanager", am(lambda r: r.update(groupKey=[])), "groupKey"),
    (
        "truncated text",
        "alertmanager",
        am(lambda r: r.update(truncatedAlerts="0")),
        "truncatedAlerts",
    ),
    ("orgId text", "grafana", gf(lambda r: r.update(orgId="one")), "orgId"),
    (
        "values a list",
        "grafana",
        gf(lambda r: r["alerts"][1].update(values=[1])),
        "alerts[1].values",
    ),
    (
        "dashboardURL number",
        "grafana",
        gf(lambda r: r["alerts"][0].update(dashboardURL=1)),
        "alerts[0].dashboardURL",
    ),
    ("no routing key", "pagerduty", pd(lambda r: r.pop("routing_key")), "routing_key"),
    ("blank routing key", "pagerduty", pd(lambda r: r.update(routing_key=" ")), "routing_key"),
    ("long routing key", "pagerduty", pd(lambda r: r.update(routing_key="k" * 101)), "routing_key"),
    ("no action", "pagerduty", pd(lambda r: r.pop("event_action")), "event_action"),
    ("bad action", "pagerduty", pd(lambda r: r.update(event_action="explode")), "event_action"),
    (
        "resolve without key",
        "pagerduty",
        pd(lambda r: (r.pop("dedup_key"), r.update(event_action="resolve"))),
        "dedup_key",
    ),
    ("long dedup key", "pagerduty", pd(lambda r: r.update(dedup_key="d" * 256)), "dedup_key"),
    ("no payload", "pagerduty", pd(lambda r: r.pop("payload")), "payload"),
    ("payload a list", "pagerduty", pd(lambda r: r.update(payload=[])), "payload"),
    ("no summary", "pagerduty", pd(lambda r: r["payload"].pop("summary")), "payload.summary"),
    ("no source", "pagerduty", pd(lambda r: r["payload"].pop("source")), "payload.source"),
    ("no severity", "pagerduty", pd(lambda r: r["payload"].pop("severity")), "payload.severity"),
    (
        "bad timestamp",
        "pagerduty",
        pd(lambda r: r["payload"].update(timestamp="soon")),
        "payload.timestamp",
    ),
    ("links an object", "pagerduty", pd(lambda r: r.update(links={})), "links"),
    ("link without href", "pagerduty", pd(lambda r: r["links"][0].pop("href")), "links[0].href"),
    ("no title", "generic", b'{"summary": "x"}', "title"),
    ("blank title", "generic", b'{"title": " \\u0000 "}', "title"),
    ("title a number", "generic", b'{"title": 5}', "title"),
    ("bad status", "generic", b'{"title": "x", "status": "maybe"}', "status"),
    ("resolved text", "generic", b'{"title": "x", "resolved": "yes"}', "resolved"),
    (
        "status disagrees",
        "generic",
        b'{"title": "x", "status": "firing", "resolved": true}',
        "resolved",
    ),
    ("nested label", "generic", b'{"title": "x", "labels": {"a": [1]}}', "labels.a"),
    ("link a number", "generic", b'{"title": "x", "link": 5}', "link"),
    ("dedup key object", "generic", b'{"title": "x", "dedup_key": {}}', "dedup_key"),
    ("severity a list", "generic", b'{"title": "x", "severity": ["p1"]}', "severity"),
]


@pytest.mark.parametrize(
    ("kind", "body", "field"),
    [case[1:] for case in MALFORMED],
    ids=[f"{case[1]}: {case[0]}" for case in MALFORMED],
)
def test_malformed_bodies_are_refused_naming_the_field(kind: str, body: bytes, field: str) -> None:
    with pytest.raises(IntakeError) as refused:
        PARSERS[kind](body)

    assert refused.value.field == field
    assert refused.value.to_dict() == {"error": refused.value.message, "field": field}
    # The message says where, in words a person reads (the whole body, or the field).
    assert field in refused.value.message or field == "body"


# --- Whatever arrives: a batch or an IntakeError, never anything else ---------------------------

FIXTURES = {
    "alertmanager": [
        "alertmanager/v0.25-firing.json",
        "alertmanager/v0.25-resolved.json",
        "alertmanager/v4-route-prefixed-groupkey.json",
    ],
    "grafana": ["grafana/webhook-docs-example.json"],
    "pagerduty": [
        "pagerduty/trigger_openapi_example.json",
        "pagerduty/trigger_devdocs.json",
        "pagerduty/acknowledge_devdocs.json",
        "pagerduty/resolve_devdocs.json",
    ],
    "generic": ["opsgenie/create_alert_request.json"],
    "opsgenie": ["opsgenie/create_alert_request.json"],
}

# Keys the parsers look for, so that random documents reach past the first check.
KNOWN_KEYS = [
    "receiver",
    "status",
    "alerts",
    "groupKey",
    "externalURL",
    "truncatedAlerts",
    "version",
    "orgId",
    "labels",
    "annotations",
    "fingerprint",
    "generatorURL",
    "startsAt",
    "endsAt",
    "values",
    "dashboardURL",
    "panelURL",
    "silenceURL",
    "imageURL",
    "summary",
    "description",
    "message",
    "alertname",
    "severity",
    "customer",
    "tenant",
    "instance",
    "service",
    "job",
    "runbook_url",
    "routing_key",
    "event_action",
    "dedup_key",
    "payload",
    "source",
    "timestamp",
    "custom_details",
    "links",
    "href",
    "text",
    "images",
    "client",
    "client_url",
    "component",
    "group",
    "class",
    "title",
    "link",
    "url",
    "resolved",
    "alias",
    "priority",
    "details",
    "tags",
    "entity",
    "user",
    "note",
]

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
    | st.sampled_from(
        [
            "firing",
            "resolved",
            "trigger",
            "acknowledge",
            "resolve",
            "critical",
            "info",
            "",
            " ",
            "\x00",
            "https://example.com/x",
            "javascript:alert(1)",
            "http://[::1",
            "0001-01-01T00:00:00Z",
            "9999-12-31T23:59:59-05:00",
            "2026-11-22T10:10:14.264512442Z",
            "x" * 3000,
        ]
    )
)
keys = st.sampled_from(KNOWN_KEYS) | st.text(max_size=8)
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(keys, children, max_size=6),
    max_leaves=25,
)


def check_outcome(kind: str, body: bytes) -> None:
    """Parsing ends in a sound batch or an IntakeError; any other exception fails the test."""
    try:
        batch = PARSERS[kind](body)
    except IntakeError as error:
        assert error.message and error.field
        event(f"refused ({error.field.split('[')[0].split('.')[0]})")
        return
    event("accepted")
    assert isinstance(batch, ParsedBatch) and batch.alerts
    for alert in batch.alerts:
        assert 0 < len(alert.title) <= TITLE_LIMIT
        assert len(alert.summary) <= SUMMARY_LIMIT
        assert 0 < len(alert.dedup_key) <= 255
        assert all(link.url.startswith(("http://", "https://")) for link in alert.links)
        assert "\x00" not in alert.model_dump_json()
        alert.model_dump_json().encode("utf-8")


def slots(holder: list[Any]) -> list[tuple[Any, Any]]:
    """Every (container, key or index) of the JSON document in ``holder``, the whole one last."""
    found: list[tuple[Any, Any]] = [(holder, 0)]
    position = 0
    while position < len(found):
        parent, slot = found[position]
        node = parent[slot]
        if isinstance(node, dict):
            found.extend((node, key) for key in node)
        elif isinstance(node, list):
            found.extend((node, index) for index in range(len(node)))
        position += 1
    # Hypothesis favours early choices: the whole document goes last, or it would be replaced often.
    return found[1:] + found[:1]


def mutate(doc: Any, data: st.DataObject) -> Any:
    """The document with one value anywhere in it replaced, removed, or given a new sibling."""
    holder = [copy.deepcopy(doc)]
    parent, slot = data.draw(st.sampled_from(slots(holder)))
    action = data.draw(st.sampled_from(["replace", "remove", "add"]))
    if action == "replace" or parent is holder:
        parent[slot] = data.draw(json_values)
    elif action == "remove":
        del parent[slot]
    elif isinstance(parent, dict):
        parent[data.draw(keys)] = data.draw(json_values)
    else:
        parent.append(data.draw(json_values))
    return holder[0]


FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.parametrize("kind", sorted(PARSERS))
@FUZZ
@given(data=st.data())
def test_mutated_fixtures_parse_or_are_refused(kind: str, data: st.DataObject) -> None:
    relative = data.draw(st.sampled_from(FIXTURES[kind]))
    doc = fixture_json(relative)
    for _ in range(data.draw(st.integers(min_value=1, max_value=3))):
        doc = mutate(doc, data)
    check_outcome(kind, json.dumps(doc).encode())


@pytest.mark.parametrize("kind", sorted(PARSERS))
@FUZZ
@given(
    body=st.one_of(
        json_values.map(lambda value: json.dumps(value).encode()),
        st.dictionaries(keys, json_values, max_size=8).map(lambda d: json.dumps(d).encode()),
        st.binary(max_size=200),
        st.text(max_size=100).map(str.encode),
    )
)
def test_arbitrary_bodies_parse_or_are_refused(kind: str, body: bytes) -> None:
    check_outcome(kind, body)


@pytest.mark.parametrize("kind", sorted(PARSERS))
@FUZZ
@given(data=st.data())
def test_corrupted_fixture_bytes_parse_or_are_refused(kind: str, data: st.DataObject) -> None:
    body = bytearray(fixture_bytes(data.draw(st.sampled_from(FIXTURES[kind]))))
    for _ in range(data.draw(st.integers(min_value=1, max_value=4))):
        position = data.draw(st.integers(min_value=0, max_value=len(body) - 1))
        body[position] = data.draw(st.integers(min_value=0, max_value=255))
    check_outcome(kind, bytes(body))
