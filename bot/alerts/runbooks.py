"""Which runbook of the setup file an alert is shown with: the first whose conditions all hold.

Pure: the plan's runbooks and the alert's team, severity, customer and labels. A condition on
``team``, ``severity`` or ``customer`` holds when the alert's own value meets it, or a label of
that name does (Grafana's ``team`` label names the sender's team, ours is the plan's); any other
key is a label. An alert without the label does not meet the condition.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from bot.plan.model import RUNBOOK_FIELDS, Condition, Plan, Runbook


class Matchable(Protocol):
    """What a runbook is matched against: a stored alert has all of it."""

    @property
    def team(self) -> str: ...

    @property
    def severity(self) -> str: ...

    @property
    def customer(self) -> str | None: ...

    @property
    def labels(self) -> Mapping[str, Any]: ...


def runbook_for(alert: Matchable, plan: Plan | Sequence[Runbook]) -> Runbook | None:
    """The first runbook of the plan whose every condition the alert meets, or None."""
    runbooks = plan.runbooks if isinstance(plan, Plan) else plan
    return next((r for r in runbooks if all(_holds(c, alert) for c in r.match)), None)


def _holds(condition: Condition, alert: Matchable) -> bool:
    found: list[str] = []
    if condition.key in RUNBOOK_FIELDS:
        own = getattr(alert, condition.key)
        if own is not None:
            found.append(str(own))
    label = (alert.labels or {}).get(condition.key)
    if label is not None:
        found.append(str(label))
    return any(condition.holds_for(value) for value in found)
