"""Everything the listeners, routes and workers share, built once by the app factory."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.engine import Engine

from bot.clock import Clock
from bot.plans import PlanHolder
from bot.roster import Roster
from bot.settings import Settings


@dataclass
class Services:
    settings: Settings
    engine: Engine
    plans: PlanHolder
    roster: Roster
    clock: Clock
    slack: AsyncWebClient
    # Called (awaited) whenever the plan changes at run time: a swap, a cover, an override,
    # a reload of the setup file. The handover scheduler re-plans its jobs from it.
    plan_changed_hooks: list[Callable[[str | None], Awaitable[None]]] = field(default_factory=list)
    # Background tasks started with the app (workers): async functions run until cancelled.
    workers: list[Callable[[], Coroutine[Any, Any, None]]] = field(default_factory=list)
    extras: dict[str, Any] = field(default_factory=dict)

    async def plan_changed(self, team: str | None = None) -> None:
        """Tell every listener that the plan of ``team`` (None: every team) changed."""
        for hook in list(self.plan_changed_hooks):
            await hook(team)
