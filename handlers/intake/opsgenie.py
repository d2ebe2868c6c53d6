"""Opsgenie's Alert API bodies: the create-alert request, and the close or acknowledge by alias.

Alertmanager's and Grafana's Opsgenie integrations, and scripts written against Opsgenie, send
these bodies; a team leaving Opsgenie points them at Watchkeeper unchanged (docs/opsgenie.md).
Routing fields (``responders``, ``visibleTo``) and ``actions`` are accepted and ignored: the
integration's team is who gets paged.
"""

from __future__ import annotations

from typing import Any

from bot.alerts.model import (
    AlertAction,
    AlertStatus,
    IntakeError,
    NormalizedAlert,
    ParsedBatch,
    Severity,
    clean_text,
    severity_from,
    stable_hash,
    trim,
)
from handlers.intake.parsing import (
    blank,
    describe,
    details_of,
    first_text,
    link,
    links,
    load_object,
    optional_str,
    required_str,
)

KIND = "opsgenie"
MESSAGE_LIMIT = 130  # Opsgenie's limit for an alert's message
PRIORITIES = ("P1", "P2", "P3", "P4", "P5")
DEFAULT_PRIORITY = "P3"  # what Opsgenie assumes when a request names none
# The one identifier a sender can know here: alerts are created asynchronously, so the sender
# never learns an Opsgenie id or tiny id, only the alias it chose.
IDENTIFIER_TYPE = "alias"
# Fields kept as labels, shown on the card with the sender's details.
LABEL_FIELDS = ("entity", "user", "note")


def parse(body: bytes) -> ParsedBatch:
    """The one alert of an Opsgenie create-alert body."""
    doc = load_object(body)
    message = clean_text(required_str(doc, "message", "message"), one_line=True)
    title = trim(message, MESSAGE_LIMIT)
    description = optional_str(doc, "description", "description") or ""
    details = details_of(doc)
    alert = NormalizedAlert(
        dedup_key=_dedup_key(doc, message),
        title=title,
        # A message cut to fit is kept whole at the top of the summary.
        summary=f"{message}\n\n{description}" if title != message else description,
        severity=_severity(doc),
        status=AlertStatus.firing,
        action=AlertAction.trigger,
        source=first_text(optional_str(doc, "source", "source")),
        links=links(link("Source", details.get("url"))),
        labels={**details, **_tags(doc), **_label_fields(doc)},
        raw_kind=KIND,
    )
    return ParsedBatch(kind=KIND, alerts=[alert])


def parse_alias_action(
    body: bytes, *, alias: str, action: AlertAction, identifier_type: str
) -> ParsedBatch:
    """A close (``resolve``) or ``acknowledge`` request for the open alert with this alias.

    The body is optional; its ``user``, ``source`` and ``note`` are checked and not kept.
    """
    if action == AlertAction.trigger:
        raise ValueError("create alerts with parse(), not by alias")
    if identifier_type.strip().lower() != IDENTIFIER_TYPE:
        raise IntakeError(
            f"identifierType must be alias, not {identifier_type[:40]!r}: alerts are known here "
            "by the alias they were created with (send ?identifierType=alias).",
            "identifierType",
        )
    if body.strip():
        doc = load_object(body)
        for name in ("user", "source", "note"):
            optional_str(doc, name, name)
    if blank(alias):
        raise IntakeError(
            "identifier is required: the alias the alert was created with.", "identifier"
        )
    resolved = action == AlertAction.resolve
    alert = NormalizedAlert(
        dedup_key=alias,
        title=f"Alert {alias}",
        status=AlertStatus.resolved if resolved else AlertStatus.firing,
        action=action,
        raw_kind=KIND,
    )
    return ParsedBatch(kind=KIND, alerts=[alert])


def _dedup_key(doc: dict[str, Any], message: str) -> str:
    """The alias; without one, a key derived from the message, so that repeats are one alert."""
    alias = optional_str(doc, "alias", "alias")
    if alias is not None and not blank(alias):
        return alias
    # Opsgenie would give every alias-less request a new alert; a repeat pages nobody twice here.
    return "message:" + stable_hash(message)


def _severity(doc: dict[str, Any]) -> Severity:
    """The severity of ``priority`` (P1 critical … P5 info); P3 when absent, as in Opsgenie."""
    value = doc.get("priority")
    if value is None:
        return severity_from(DEFAULT_PRIORITY)
    if not isinstance(value, str):
        raise IntakeError(
            f"priority must be one of P1, P2, P3, P4 or P5, not {describe(value)}.", "priority"
        )
    word = value.strip().upper()
    if not word:
        return severity_from(DEFAULT_PRIORITY)
    if word not in PRIORITIES:
        raise IntakeError(
            f"priority must be one of P1, P2, P3, P4 or P5, not {value[:40]!r}.", "priority"
        )
    return severity_from(word)


def _tags(doc: dict[str, Any]) -> dict[str, str]:
    """``tags`` (a list of text) as one label, ``{"tags": "a, b"}``; {} when there are none."""
    value = doc.get("tags")
    if value is None:
        return {}
    if not isinstance(value, list):
        raise IntakeError(f"tags must be a list of text, not {describe(value)}.", "tags")
    tags = []
    for index, tag in enumerate(value):
        if not isinstance(tag, str):
            field = f"tags[{index}]"
            raise IntakeError(f"{field} must be text, not {describe(tag)}.", field)
        if not blank(tag):
            tags.append(clean_text(tag, one_line=True))
    return {"tags": ", ".join(tags)} if tags else {}


def _label_fields(doc: dict[str, Any]) -> dict[str, str]:
    """``entity``, ``user`` and ``note``, those that are given, as labels."""
    found = {name: optional_str(doc, name, name) for name in LABEL_FIELDS}
    return {name: text for name, text in found.items() if text is not None and not blank(text)}
