"""Alert cards as the alert's messages are built from them, without a database."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bot.slack.blocks.alert import AlertCard

SEEN = datetime(2026, 11, 27, 20, 0, tzinfo=UTC)


def alert_card_of(**fields: Any) -> AlertCard:
    """An open critical Grafana alert of team Support, seen once at SEEN; `fields` change it."""
    defaults: dict[str, Any] = {
        "id": 1,
        "team_name": "Support",
        "title": "Disk full",
        "severity": "critical",
        "status": "open",
        "integration": "grafana",
        "first_seen": SEEN,
        "last_seen": SEEN,
    }
    return AlertCard(**(defaults | fields))
