"""When the person an alert pages is first woken, from their team's ``wake`` policy."""

from __future__ import annotations

from datetime import datetime

from bot.plan.model import WakePolicy


def first_wake(policy: WakePolicy, severity: str, now: datetime) -> datetime:
    """At once for the severities the team wakes people for now; else ``after`` later."""
    return now if severity in policy.now else now + policy.after
