"""Everything the listeners, routes and workers share, built once by the app factory."""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections.abc import Awaitable, Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.engine import Engine

from bot.app.settings import Settings
from bot.plan.holder import PlanHolder
from bot.runtime.clock import Clock
from bot.schedule.roster import Roster
from storage.db import NoWaitWriter, is_sqlite

if TYPE_CHECKING:
    from bot.alerts.escalation_worker import Escalator
    from bot.alerts.heartbeats import Watcher
    from bot.app.reload import Reloader
    from bot.handovers.planner import HandoverPlanner
    from bot.runtime.metrics import Metrics
    from bot.slack.delivery.worker import Delivery
    from bot.slack.gateway import SlackGateway
    from bot.slack.users import UserDirectory
    from bot.wake.worker import Waker

T = TypeVar("T")
# PostgreSQL answers several connections at once; the threads wait on the network in parallel.
POSTGRES_THREADS = 8


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
    # Awaited when the app starts (before the workers) and when it stops.
    startup: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    shutdown: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    # The workers, made by the app factory (bot.app.factory); None before it has run.
    delivery: Delivery | None = None
    escalator: Escalator | None = None
    handovers: HandoverPlanner | None = None
    reloader: Reloader | None = None
    waker: Waker | None = None
    heartbeats: Watcher | None = None
    # Made on first use: the Prometheus metrics, the one way to call Slack, Slack's people, and
    # the calendar's names.
    metrics: Metrics | None = None
    gateway: SlackGateway | None = None
    users: UserDirectory | None = None
    calendar_names: dict[str, str] = field(default_factory=dict)
    # The threads that do the intake's and the delivery worker's database work. SQLite has one
    # writer at a time: one thread doing every write and read in turn waits for no lock and
    # leaves the event loop alone with the interpreter, where several would take turns at both.
    database_threads: ThreadPoolExecutor = field(init=False, repr=False)
    _writer: NoWaitWriter | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self.database_threads = ThreadPoolExecutor(
            max_workers=1 if is_sqlite(self.engine) else POSTGRES_THREADS,
            thread_name_prefix="database",
        )

    def writer_now(self) -> NoWaitWriter | None:
        """SQLite: the writer for short writes on the event loop, which never waits (None on
        PostgreSQL, whose writes wait for their row locks on the database threads)."""
        if not is_sqlite(self.engine):
            return None
        if self._writer is None or self._writer.engine is not self.engine:
            self.close_writer()
            self._writer = NoWaitWriter(self.engine)
        return self._writer

    def close_writer(self) -> None:
        """Give the event loop's SQLite connection back (at shutdown)."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    async def in_database(self, work: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run blocking database work on the database threads, off the event loop: the one way
        async code reads or writes the database."""
        loop = asyncio.get_running_loop()
        # The caller's context goes along, as with asyncio.to_thread: the language being spoken
        # (bot.i18n) is read in the thread too.
        context = contextvars.copy_context()
        return await loop.run_in_executor(
            self.database_threads, functools.partial(context.run, work, *args, **kwargs)
        )

    async def plan_changed(self, team: str | None = None) -> None:
        """Tell every listener that the plan of ``team`` (None: every team) changed."""
        for hook in list(self.plan_changed_hooks):
            await hook(team)
