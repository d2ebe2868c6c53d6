"""Grafana unified alerting's webhook contact point (``version: "1"``): Alertmanager's shape, plus
dashboard, panel, silence and image links, the query values, and the organisation."""

from __future__ import annotations

from typing import Any

from bot.alerts.model import ParsedBatch
from handlers.intake.alertmanager import Extras, parse_webhook
from handlers.intake.parsing import (
    detail_text,
    expect_object,
    link,
    load_object,
    optional_int,
    optional_str,
)

KIND = "grafana"


def parse(body: bytes) -> ParsedBatch:
    """The alerts of a Grafana webhook body."""
    doc = load_object(body)
    org_id = optional_int(doc, "orgId", "orgId")

    def extras(entry: dict[str, Any], path: str) -> Extras:
        return Extras(
            links=[
                link("Dashboard", optional_str(entry, "dashboardURL", f"{path}.dashboardURL")),
                link("Panel", optional_str(entry, "panelURL", f"{path}.panelURL")),
                link("Silence", optional_str(entry, "silenceURL", f"{path}.silenceURL")),
                link("Image", optional_str(entry, "imageURL", f"{path}.imageURL")),
            ],
            # The organisation tells apart alerts of different Grafana orgs with equal labels.
            labels={} if org_id is None else {"orgId": str(org_id)},
            details=_values(entry, f"{path}.values"),
        )

    batch = parse_webhook(doc, kind=KIND, extras=extras, silence_links=False)
    return batch.model_copy(update={"org_id": org_id})


def _values(entry: dict[str, Any], field: str) -> dict[str, str]:
    """The query values that made the rule fire (``{"B": 44.2, "C": 1}``), as text."""
    values = entry.get("values")
    if values is None:
        return {}
    return {
        name: detail_text(value)
        for name, value in expect_object(values, field).items()
        if value is not None
    }
