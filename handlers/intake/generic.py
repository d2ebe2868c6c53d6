"""The generic JSON alert (docs/generic-webhook.md): one alert, in a shape any webhook can send.

Zendesk triggers, Intercom workflows and home-made scripts write this body themselves, so the
parser is forgiving about spelling (``description`` for ``summary``, ``url`` for ``link``,
``resolved: true``, Opsgenie's ``message``/``alias``/``priority``/``details``) but still refuses
a body it cannot make one clear alert of.
"""

from __future__ import annotations

import re
from typing import Any

from bot.alerts.model import (
    AlertStatus,
    IntakeError,
    NormalizedAlert,
    ParsedBatch,
    severity_from,
    stable_hash,
)
from bot.text.urls import http_url
from handlers.intake.parsing import (
    describe,
    details_of,
    first_text,
    link,
    links,
    load_object,
    optional_str,
    scalar_map,
    scalar_text,
    text_or_number,
)

KIND = "generic"


def parse(body: bytes) -> ParsedBatch:
    """The one alert of a generic JSON body."""
    doc = load_object(body)
    title_field = _first_key(doc, "title", "message")
    title = first_text(optional_str(doc, title_field, title_field))
    if title is None:
        raise IntakeError("title is required: one line saying what is wrong.", "title")
    summary_field = _first_key(doc, "summary", "description")
    severity_field = _first_key(doc, "severity", "priority")
    link_field = _first_key(doc, "link", "url")
    customer = optional_str(doc, "customer", "customer")
    dedup_field = _first_key(doc, "dedup_key", "alias")
    dedup_key = _key(doc, dedup_field)
    runbook = optional_str(doc, "runbook_url", "runbook_url")
    alert = NormalizedAlert(
        # Without a key, the same title for the same customer is the same alert.
        dedup_key=dedup_key or stable_hash(title.strip(), (customer or "").strip()),
        title=title,
        summary=optional_str(doc, summary_field, summary_field) or "",
        severity=severity_from(_severity_word(doc, severity_field)),
        status=_status(doc),
        customer=first_text(customer),
        source=first_text(optional_str(doc, "source", "source")),
        links=links(link("Link", _with_scheme(optional_str(doc, link_field, link_field)))),
        runbook_url=http_url(runbook) if runbook else None,
        labels=scalar_map(doc, "labels", "labels"),
        details=details_of(doc),
        raw_kind=KIND,
    )
    return ParsedBatch(kind=KIND, alerts=[alert])


def _first_key(doc: dict[str, Any], name: str, alias: str) -> str:
    """The documented key, or its alias when only the alias is given."""
    return alias if doc.get(name) is None and doc.get(alias) is not None else name


# "acme.zendesk.com/agent/tickets/42": a host name, maybe a port, then a path or nothing.
_BARE_HOST = re.compile(r"[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}(:\d{1,5})?(/\S*)?")


def _with_scheme(url: str | None) -> str | None:
    """The link with https:// in front when it names a host without a scheme."""
    # Zendesk's {{ticket.url}} is written without one.
    if url is not None and _BARE_HOST.fullmatch(url.strip()):
        return "https://" + url.strip()
    return url


def _key(doc: dict[str, Any], field: str) -> str | None:
    """The sender's dedup key; a number is fine (an unquoted ``{{ticket.id}}``)."""
    value = text_or_number(doc, field)
    return None if value is None else first_text(scalar_text(value))


def _severity_word(doc: dict[str, Any], field: str) -> str | None:
    """The sender's word for how bad it is (any word; unknown ones mean warning)."""
    value = text_or_number(doc, field)
    if value is None:
        return None
    # A bare number is a priority: 1 is P1.
    return value if isinstance(value, str) else f"p{value}"


def _status(doc: dict[str, Any]) -> AlertStatus:
    """Firing or resolved, from ``status`` or ``resolved: true`` (which must agree)."""
    text = optional_str(doc, "status", "status")
    status: AlertStatus | None = None
    if text is not None and text.strip():
        try:
            status = AlertStatus(text.strip().lower())
        except ValueError:
            raise IntakeError(
                f'status must be "firing" or "resolved", not {text[:40]!r}.', "status"
            ) from None
    resolved = doc.get("resolved")
    if resolved is None:
        return status or AlertStatus.firing
    if not isinstance(resolved, bool):
        raise IntakeError(f"resolved must be true or false, not {describe(resolved)}.", "resolved")
    implied = AlertStatus.resolved if resolved else AlertStatus.firing
    if status is not None and status != implied:
        raise IntakeError(
            f'status says "{status}" but resolved is {str(resolved).lower()}; send one of them.',
            "resolved",
        )
    return implied
