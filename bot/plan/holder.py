"""The plan in force: read from the setup file at start, replaced when a reload validates a new
one (see bot.app.reload)."""

from __future__ import annotations

from pathlib import Path

from bot.plan.model import Plan
from bot.plan.reading import load_plan


class PlanHolder:
    """Holds the plan in force and the file it came from."""

    def __init__(self, plan: Plan, path: str | Path | None = None) -> None:
        self._plan = plan
        self._path = Path(path) if path is not None else None

    @classmethod
    def from_file(cls, path: str | Path) -> PlanHolder:
        return cls(load_plan(path), path)

    @property
    def current(self) -> Plan:
        return self._plan

    def __call__(self) -> Plan:
        return self._plan

    @property
    def path(self) -> Path | None:
        return self._path

    def replace(self, plan: Plan) -> None:
        """Put ``plan`` in force (already validated)."""
        self._plan = plan
