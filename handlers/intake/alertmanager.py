"""Prometheus Alertmanager's webhook (version 4): one normalised alert per entry of ``alerts[]``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from bot.alerts.model import (
    AlertStatus,
    IntakeError,
    Link,
    NormalizedAlert,
    ParsedBatch,
    severity_from,
    stable_hash,
)
from bot.text.urls import http_url
from handlers.intake.parsing import (
    alert_list,
    expect_object,
    first_text,
    instant,
    link,
    links,
    load_object,
    optional_int,
    optional_str,
    string_map,
)

KIND = "alertmanager"


@dataclass
class Extras:
    """What a flavour of the webhook adds to one alert (Grafana's dashboard links, values)."""

    links: list[Link | None] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)
    details: dict[str, str] = field(default_factory=dict)


# Reads the flavour's own fields of one entry of alerts[]; given the entry and its field path.
ExtrasReader = Callable[[dict[str, Any], str], Extras]


def parse(body: bytes) -> ParsedBatch:
    """The alerts of an Alertmanager webhook body."""
    return parse_webhook(load_object(body), kind=KIND)


def parse_webhook(
    doc: dict[str, Any],
    *,
    kind: str,
    extras: ExtrasReader | None = None,
    silence_links: bool = True,
) -> ParsedBatch:
    """The alerts of an Alertmanager-shaped webhook document (Alertmanager's or Grafana's).

    ``silence_links``: build a "new silence" link from ``externalURL`` (Alertmanager's UI);
    Grafana sends its own ``silenceURL`` instead.
    """
    entries = alert_list(doc)
    receiver = optional_str(doc, "receiver", "receiver")
    group_status = _status(doc, "status")
    group_key = optional_str(doc, "groupKey", "groupKey")
    external = optional_str(doc, "externalURL", "externalURL")
    truncated = optional_int(doc, "truncatedAlerts", "truncatedAlerts") or 0
    external_url = http_url(external) if external else None
    alerts = [
        _alert(
            expect_object(entry, f"alerts[{index}]"),
            f"alerts[{index}]",
            kind=kind,
            group_status=group_status,
            group_key=group_key,
            silence_base=external_url if silence_links else None,
            extras=extras,
        )
        for index, entry in enumerate(entries)
    ]
    return ParsedBatch(
        kind=kind,
        alerts=alerts,
        receiver=receiver,
        group_key=group_key or None,
        external_url=external_url,
        truncated_alerts=max(truncated, 0),
    )


def _status(obj: dict[str, Any], field_path: str) -> AlertStatus | None:
    """obj["status"] as firing or resolved; None when absent."""
    value = optional_str(obj, "status", field_path)
    if value is None:
        return None
    try:
        return AlertStatus(value.strip().lower())
    except ValueError:
        raise IntakeError(
            f'{field_path} must be "firing" or "resolved", not {value[:40]!r}.', field_path
        ) from None


def _alert(
    entry: dict[str, Any],
    path: str,
    *,
    kind: str,
    group_status: AlertStatus | None,
    group_key: str | None,
    silence_base: str | None,
    extras: ExtrasReader | None,
) -> NormalizedAlert:
    labels = string_map(entry, "labels", f"{path}.labels")
    annotations = string_map(entry, "annotations", f"{path}.annotations")
    status = _entry_status(entry, path, group_status)
    fingerprint = optional_str(entry, "fingerprint", f"{path}.fingerprint")
    generator = optional_str(entry, "generatorURL", f"{path}.generatorURL")
    starts_at = instant(entry, "startsAt", f"{path}.startsAt")
    ends_at = instant(entry, "endsAt", f"{path}.endsAt")
    extra = extras(entry, path) if extras else Extras()
    all_labels = {**extra.labels, **labels}

    runbook = annotations.get("runbook_url") or annotations.get("runbook")
    alertname = labels.get("alertname")
    title = first_text(annotations.get("summary"), annotations.get("title"), alertname)
    return NormalizedAlert(
        # The fingerprint is Alertmanager's own hash of the labels; without one, ours.
        dedup_key=first_text(fingerprint) or _labels_hash(all_labels),
        title=title or f"Unnamed alert from {kind}",
        summary=first_text(annotations.get("description"), annotations.get("message")) or "",
        severity=severity_from(labels.get("severity")),
        status=status,
        customer=first_text(
            labels.get("customer"),
            annotations.get("customer"),
            labels.get("tenant"),
            annotations.get("tenant"),
        ),
        source=first_text(labels.get("instance"), labels.get("service"), labels.get("job")),
        links=links(
            link("Source", generator),
            *extra.links,
            link("Silence", _silence_url(silence_base, labels)) if silence_base else None,
        ),
        runbook_url=http_url(runbook) if runbook else None,
        labels=all_labels,
        details={**extra.details},
        group_key=group_key or None,
        starts_at=starts_at,
        ends_at=ends_at if status == AlertStatus.resolved else None,
        raw_kind=kind,
    )


def _entry_status(
    entry: dict[str, Any], path: str, group_status: AlertStatus | None
) -> AlertStatus:
    """The alert's own status, or the group's when a hand-written body only says it once."""
    field_path = f"{path}.status"
    status = _status(entry, field_path) or group_status
    if status is None:
        raise IntakeError(f'{field_path} is required: "firing" or "resolved".', field_path)
    return status


def _labels_hash(labels: dict[str, str]) -> str:
    """A stable dedup key from the labels, for senders that give no fingerprint."""
    return stable_hash(*(f"{name}={labels[name]}" for name in sorted(labels)))


def _silence_url(external_url: str, labels: dict[str, str]) -> str | None:
    """Alertmanager's "new silence" page, pre-filled with matchers for exactly these labels."""
    if not labels:
        return None
    matchers = ", ".join(f"{name}={_quoted(labels[name])}" for name in sorted(labels))
    return f"{external_url.rstrip('/')}/#/silences/new?filter={quote('{' + matchers + '}')}"


def _quoted(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'
