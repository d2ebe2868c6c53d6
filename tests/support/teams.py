"""Team support as the tests set it up: its name, channel and time zone, their rotations."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from bot.plan.model import Layer, Team

PARIS = ZoneInfo("Europe/Paris")


def support_team(*rotations: Layer, **fields: Any) -> Team:
    """Team support ("Customer support", channel C0SUPPORT) taking turns by `rotations`, in the
    first one's time zone (Paris without any); `fields` set the rest (backup, escalation, …)."""
    named: dict[str, Any] = {
        "id": "support",
        "name": "Customer support",
        "channel": "C0SUPPORT",
        "timezone": rotations[0].timezone if rotations else PARIS,
        "rotations": rotations,
    }
    return Team(**(named | fields))
