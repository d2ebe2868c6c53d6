"""The normalised alert: what every intake kind is turned into before it is stored and relayed.

Pure: the standard library, pydantic and bot.text only. Every text field is cleaned and trimmed
here, so an alert built anywhere (an intake parser, the /escalate command) fits the database and a
Slack card.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bot.text.urls import http_url

TITLE_LIMIT = 150
SUMMARY_LIMIT = 2000
CUSTOMER_LIMIT = 200
SOURCE_LIMIT = 300
KEY_LIMIT = 255  # dedup keys: PagerDuty's limit, and the database column's
GROUP_KEY_LIMIT = 1000
LINK_TITLE_LIMIT = 150
LABEL_KEY_LIMIT = 200
LABEL_VALUE_LIMIT = 1000
LABELS_LIMIT = 100  # more than any real alert carries; bounds what a card has to show
ELLIPSIS = "…"


class Severity(StrEnum):
    """How bad an alert is, from worst to mildest."""

    critical = "critical"
    error = "error"
    warning = "warning"
    info = "info"

    @property
    def rank(self) -> int:
        """How bad this severity is: 3 for critical down to 0 for info."""
        return _RANK[self]

    def at_least(self, other: Severity) -> bool:
        """Whether this severity is as bad as ``other`` or worse."""
        return self.rank >= other.rank

    @classmethod
    def worst(cls, severities: Iterable[Severity]) -> Severity | None:
        """The worst of some severities, or None when there are none."""
        return max(severities, key=lambda severity: severity.rank, default=None)


_RANK = {Severity.critical: 3, Severity.error: 2, Severity.warning: 1, Severity.info: 0}


class AlertStatus(StrEnum):
    """Whether the problem is still there."""

    firing = "firing"
    resolved = "resolved"


class AlertAction(StrEnum):
    """What the sender asks for, in PagerDuty's verbs."""

    trigger = "trigger"
    acknowledge = "acknowledge"
    resolve = "resolve"


# The words senders use for how bad something is: Prometheus rule labels, Opsgenie priorities
# (P1-P5), Zendesk priorities (urgent/high/normal/low), syslog levels, incident "sev" levels.
_SEVERITY_SYNONYMS: dict[Severity, str] = {
    Severity.critical: "critical crit p0 p1 sev0 sev1 page fatal high urgent emergency emerg alert"
    " disaster",
    Severity.error: "error err p2 sev2 major severe",
    Severity.warning: "warning warn p3 sev3 medium minor normal moderate",
    Severity.info: "info informational information p4 p5 sev4 sev5 low ok notice debug none",
}
_SEVERITY_WORDS = {
    word: severity for severity, words in _SEVERITY_SYNONYMS.items() for word in words.split()
}


def severity_from(word: object) -> Severity:
    """The severity a sender's word stands for; anything unknown is a warning, never an error."""
    if isinstance(word, Severity):
        return word
    if not isinstance(word, str):
        return Severity.warning
    # "Sev-1", "P 1" and "sev_1" are the same word.
    normal = re.sub(r"[\s_-]+", "", word).lower()
    return _SEVERITY_WORDS.get(normal, Severity.warning)


class IntakeError(Exception):
    """An alert payload we refuse: what is wrong (``message``) and where (``field``)."""

    def __init__(self, message: str, field: str, *, unparseable: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        # True when the body is not a JSON document at all (PagerDuty answers those differently).
        self.unparseable = unparseable

    def __str__(self) -> str:
        return self.message

    def to_dict(self) -> dict[str, str]:
        """The JSON error body an intake endpoint answers with."""
        return {"error": self.message, "field": self.field}


# C0 and C1 control characters except tab and newline: PostgreSQL refuses NUL in text, and the
# others only garble a Slack message.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def clean_text(value: str, limit: int | None = None, *, one_line: bool = False) -> str:
    """The text without control characters or lone surrogates, cut to ``limit`` with an ellipsis."""
    # A JSON "\ud800" escape decodes to a lone surrogate, which no UTF-8 encoder accepts.
    text = _SURROGATE.sub("\ufffd", value)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL.sub("", text)
    text = " ".join(text.split()) if one_line else text.strip()
    return text if limit is None else trim(text, limit)


def trim(text: str, limit: int) -> str:
    """The text cut to at most ``limit`` characters, ending with an ellipsis when cut."""
    if len(text) <= limit:
        return text
    return text[: limit - 1].rstrip() + ELLIPSIS


def stable_hash(*parts: str) -> str:
    """A short hex digest of the parts that is the same on every run and every machine."""
    digest = hashlib.sha256(json.dumps(parts, ensure_ascii=False).encode("utf-8", "replace"))
    return digest.hexdigest()[:16]


def bounded_key(value: str, limit: int) -> str:
    """A key that fits ``limit``: itself when short enough, else a digest that stays unique."""
    text = clean_text(value)
    if len(text) <= limit:
        return text
    # Trimming would make different long keys collide; a digest keeps them apart.
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def _require_url(value: str) -> str:
    url = http_url(value)
    if url is None:
        raise ValueError(f"not an http(s) URL: {value[:80]!r}")
    return url


class Link(BaseModel):
    """A link shown with an alert: its text and an http(s) URL."""

    model_config = ConfigDict(frozen=True)

    title: str
    url: str

    @field_validator("title")
    @classmethod
    def _title(cls, value: str) -> str:
        return clean_text(value, LINK_TITLE_LIMIT, one_line=True) or "Link"

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return _require_url(value)


def _aware_utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("instants must carry a time zone")
    return value.astimezone(UTC)


class NormalizedAlert(BaseModel):
    """One alert as every sender's payload is turned into: enough to store, relay and dedup it."""

    model_config = ConfigDict(frozen=True)

    dedup_key: str
    title: str
    summary: str = ""
    severity: Severity = Severity.warning
    status: AlertStatus = AlertStatus.firing
    action: AlertAction = AlertAction.trigger
    customer: str | None = None
    source: str | None = None
    links: list[Link] = Field(default_factory=list)
    runbook_url: str | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    details: dict[str, str] = Field(default_factory=dict)  # other facts: values, custom_details
    group_key: str | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    raw_kind: str

    @model_validator(mode="before")
    @classmethod
    def _action_from_status(cls, data: Any) -> Any:
        # Firing means "trigger" and resolved means "resolve" unless the sender said otherwise.
        if isinstance(data, dict) and data.get("action") is None:
            resolved = data.get("status") == AlertStatus.resolved
            data = {**data, "action": AlertAction.resolve if resolved else AlertAction.trigger}
        return data

    @field_validator("dedup_key")
    @classmethod
    def _dedup_key(cls, value: str) -> str:
        key = bounded_key(value, KEY_LIMIT)
        if not key:
            raise ValueError("the dedup key is empty")
        return key

    @field_validator("group_key")
    @classmethod
    def _group_key(cls, value: str | None) -> str | None:
        if value is None:
            return None
        return bounded_key(value, GROUP_KEY_LIMIT) or None

    @field_validator("title")
    @classmethod
    def _title(cls, value: str) -> str:
        title = clean_text(value, TITLE_LIMIT, one_line=True)
        if not title:
            raise ValueError("the title is empty")
        return title

    @field_validator("summary")
    @classmethod
    def _summary(cls, value: str) -> str:
        return clean_text(value, SUMMARY_LIMIT)

    @field_validator("customer")
    @classmethod
    def _customer(cls, value: str | None) -> str | None:
        return (clean_text(value, CUSTOMER_LIMIT, one_line=True) or None) if value else None

    @field_validator("source")
    @classmethod
    def _source(cls, value: str | None) -> str | None:
        return (clean_text(value, SOURCE_LIMIT, one_line=True) or None) if value else None

    @field_validator("runbook_url")
    @classmethod
    def _runbook_url(cls, value: str | None) -> str | None:
        return None if value is None else _require_url(value)

    @field_validator("labels", "details")
    @classmethod
    def _string_map(cls, value: dict[str, str]) -> dict[str, str]:
        cleaned: dict[str, str] = {}
        for key in sorted(value)[:LABELS_LIMIT]:
            name = clean_text(key, LABEL_KEY_LIMIT, one_line=True)
            if name:
                cleaned[name] = clean_text(value[key], LABEL_VALUE_LIMIT)
        return cleaned

    @field_validator("starts_at", "ends_at")
    @classmethod
    def _instant(cls, value: datetime | None) -> datetime | None:
        return _aware_utc(value)

    @model_validator(mode="after")
    def _consistent(self) -> NormalizedAlert:
        if (self.status == AlertStatus.resolved) != (self.action == AlertAction.resolve):
            raise ValueError(f"status {self.status} does not go with action {self.action}")
        return self

    @property
    def firing(self) -> bool:
        """Whether the problem is still there."""
        return self.status == AlertStatus.firing


class ParsedBatch(BaseModel):
    """What one intake request carried: its alerts, and what the sender said about them."""

    model_config = ConfigDict(frozen=True)

    kind: str
    alerts: list[NormalizedAlert] = Field(min_length=1)
    receiver: str | None = None  # Alertmanager/Grafana: the receiver that sent it
    group_key: str | None = None  # Alertmanager/Grafana: the group the alerts were sent in
    external_url: str | None = None  # Alertmanager/Grafana: where the sender itself lives
    truncated_alerts: int = 0  # Alertmanager: alerts it left out because of its max_alerts
    org_id: int | None = None  # Grafana: the organisation that sent it
    routing_key: str | None = None  # PagerDuty: the integration key the event was sent to
    dedup_key: str | None = None  # PagerDuty: the key to answer with
