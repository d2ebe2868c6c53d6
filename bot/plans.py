"""The current plan, reloadable at run time: a broken file keeps the old plan and says why."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from bot.config import ConfigError, load_plan
from bot.plan import Plan

logger = logging.getLogger(__name__)


class PlanHolder:
    """Holds the plan in force and tells listeners when a reload changed it."""

    def __init__(self, plan: Plan, path: str | Path | None = None) -> None:
        self._plan = plan
        self._path = Path(path) if path is not None else None
        self._listeners: list[Callable[[Plan], None]] = []

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

    def on_change(self, listener: Callable[[Plan], None]) -> None:
        self._listeners.append(listener)

    def replace(self, plan: Plan) -> None:
        self._plan = plan
        for listener in self._listeners:
            listener(plan)

    def reload(self) -> ConfigError | None:
        """Load the file again; on errors keep the plan in force and return the error."""
        if self._path is None:
            return None
        try:
            plan = load_plan(self._path)
        except ConfigError as error:
            logger.error(
                "setup file rejected, keeping the plan in force", extra={"error": str(error)}
            )
            return error
        logger.info("setup file reloaded", extra={"teams": len(plan.teams)})
        self.replace(plan)
        return None
