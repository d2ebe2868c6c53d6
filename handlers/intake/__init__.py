"""Alert intake parsers: from a request body to normalised alerts, one module per kind of sender."""

from __future__ import annotations

from collections.abc import Callable

from bot.alerts.model import IntakeError, ParsedBatch
from handlers.intake import alertmanager, generic, grafana, opsgenie, pagerduty

Parser = Callable[[bytes], ParsedBatch]

# The parser for each integration ``kind`` of the setup file.
PARSERS: dict[str, Parser] = {
    alertmanager.KIND: alertmanager.parse,
    grafana.KIND: grafana.parse,
    pagerduty.KIND: pagerduty.parse,
    opsgenie.KIND: opsgenie.parse,
    generic.KIND: generic.parse,
}

__all__ = ["PARSERS", "IntakeError", "ParsedBatch", "Parser"]
