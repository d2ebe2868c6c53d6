"""PagerDuty Events API v2: one trigger, acknowledge or resolve event per request.

Refuses what PagerDuty refuses (a missing routing key, an unknown severity, ...) so that a tool
that works with PagerDuty works with us, and the other way round. The messages are meant to go
into the ``errors`` list of PagerDuty's 400 answer.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from bot.alerts.model import (
    KEY_LIMIT,
    TITLE_LIMIT,
    AlertAction,
    AlertStatus,
    IntakeError,
    Link,
    NormalizedAlert,
    ParsedBatch,
    Severity,
    bounded_key,
    trim,
)
from handlers.intake.parsing import (
    describe,
    detail_text,
    expect_object,
    first_text,
    instant,
    link,
    links,
    load_json,
    optional_str,
    required_choice,
    required_str,
)

KIND = "pagerduty"
ROUTING_KEY_LIMIT = 100  # PagerDuty's keys are 32 characters; ours are whatever the admin set
SUMMARY_LIMIT = 1024  # PagerDuty keeps the first 1,024 characters of payload.summary
PAYLOAD_LABELS = ("component", "group", "class")


def new_dedup_key() -> str:
    """A fresh dedup key for a trigger that names none, shaped like PagerDuty's own (32 hex)."""
    return uuid.uuid4().hex


def parse(body: bytes, *, new_key: Callable[[], str] = new_dedup_key) -> ParsedBatch:
    """The one event of a PagerDuty Events API v2 body."""
    doc = load_json(body)
    if not isinstance(doc, dict):
        raise IntakeError(
            f"The body must be a JSON object (an event), not {describe(doc)}.",
            "body",
            unparseable=True,
        )
    routing_key = _routing_key(doc)
    action = _action(doc)
    dedup_key = _dedup_key(doc, action, new_key)
    if action == AlertAction.trigger:
        alert = _trigger(doc, dedup_key)
    else:
        alert = _acknowledge_or_resolve(doc, dedup_key, action)
    return ParsedBatch(
        kind=KIND, alerts=[alert], routing_key=routing_key, dedup_key=alert.dedup_key
    )


def _routing_key(doc: dict[str, Any]) -> str:
    key = required_str(doc, "routing_key", "routing_key").strip()
    if len(key) > ROUTING_KEY_LIMIT:
        raise IntakeError(
            f"routing_key is {len(key)} characters long; at most {ROUTING_KEY_LIMIT} are accepted.",
            "routing_key",
        )
    return key


def _action(doc: dict[str, Any]) -> AlertAction:
    return required_choice(
        doc, "event_action", "event_action", AlertAction, "trigger, acknowledge or resolve"
    )


def _dedup_key(doc: dict[str, Any], action: AlertAction, new_key: Callable[[], str]) -> str:
    value = optional_str(doc, "dedup_key", "dedup_key")
    if value is not None and len(value) > KEY_LIMIT:
        raise IntakeError(
            f"dedup_key is {len(value)} characters long; at most {KEY_LIMIT} are accepted.",
            "dedup_key",
        )
    if value is not None and bounded_key(value, KEY_LIMIT):
        return value
    if action != AlertAction.trigger:
        raise IntakeError(
            f"dedup_key is required to {action.value}: the key the trigger was sent "
            "(or answered) with.",
            "dedup_key",
        )
    return new_key()


def _trigger(doc: dict[str, Any], dedup_key: str) -> NormalizedAlert:
    if doc.get("payload") is None:
        raise IntakeError("payload is required to trigger an alert.", "payload")
    payload = expect_object(doc["payload"], "payload")
    summary = trim(required_str(payload, "summary", "payload.summary").strip(), SUMMARY_LIMIT)
    source = required_str(payload, "source", "payload.source")
    severity = _severity(payload)
    details = _custom_details(payload)
    custom = payload.get("custom_details")
    customer = custom.get("customer") if isinstance(custom, dict) else None
    if isinstance(customer, str):
        details.pop("customer", None)  # shown as the customer, not twice
    else:
        customer = None
    labels = {
        name: value
        for name in PAYLOAD_LABELS
        if (value := optional_str(payload, name, f"payload.{name}"))
    }
    client = optional_str(doc, "client", "client")
    client_url = optional_str(doc, "client_url", "client_url")
    return NormalizedAlert(
        dedup_key=dedup_key,
        title=summary,
        # The title holds the whole summary unless it had to be cut.
        summary=summary if len(summary) > TITLE_LIMIT else "",
        severity=severity,
        status=AlertStatus.firing,
        action=AlertAction.trigger,
        customer=customer,
        source=source,
        links=links(*_links(doc), link(client or "Client", client_url)),
        labels=labels,
        details=details,
        starts_at=instant(payload, "timestamp", "payload.timestamp"),
        raw_kind=KIND,
    )


def _acknowledge_or_resolve(
    doc: dict[str, Any], dedup_key: str, action: AlertAction
) -> NormalizedAlert:
    # PagerDuty ignores the payload of these events; a summary, if any, still makes a better title.
    payload = doc.get("payload")
    summary = payload.get("summary") if isinstance(payload, dict) else None
    title = first_text(summary if isinstance(summary, str) else None) or f"Event {dedup_key}"
    resolved = action == AlertAction.resolve
    return NormalizedAlert(
        dedup_key=dedup_key,
        title=title,
        status=AlertStatus.resolved if resolved else AlertStatus.firing,
        action=action,
        raw_kind=KIND,
    )


def _severity(payload: dict[str, Any]) -> Severity:
    return required_choice(
        payload,
        "severity",
        "payload.severity",
        Severity,
        "one of critical, error, warning or info",
    )


def _custom_details(payload: dict[str, Any]) -> dict[str, str]:
    """payload.custom_details as text lines; free text (PagerDuty allows it) under "details"."""
    details = payload.get("custom_details")
    if details is None:
        return {}
    if isinstance(details, dict):
        return {name: detail_text(value) for name, value in details.items() if value is not None}
    return {"details": detail_text(details)}


def _links(doc: dict[str, Any]) -> list[Link | None]:
    """The event's ``links[]`` ({href, text}); images are left out, a card has no room for them."""
    value = doc.get("links")
    if value is None:
        return []
    if not isinstance(value, list):
        raise IntakeError(f"links must be a list, not {describe(value)}.", "links")
    result: list[Link | None] = []
    for index, item in enumerate(value):
        entry = expect_object(item, f"links[{index}]")
        href = required_str(entry, "href", f"links[{index}].href")
        text = optional_str(entry, "text", f"links[{index}].text")
        result.append(link(text or href, href))
    return result
