"""The escalation worker: escalates every open, unacknowledged alert whose time has come.

All its state lives in the database (``alert.next_escalation_at``), so a restart loses nothing
and several replicas can run it at once: each due alert is claimed under a row lock
(``FOR UPDATE SKIP LOCKED`` on PostgreSQL; SQLite's write lock serialises the claimers).
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from bot.alerts.actions import EscalationOutcome, escalate_due, wake_delivery
from bot.runtime.rounds import run_rounds
from storage.db import session_scope

if TYPE_CHECKING:
    from bot.app.services import Services

logger = logging.getLogger(__name__)

POLL_INTERVAL = 1.0  # seconds between looks at the database when nobody wakes the worker
BATCH = 50  # alerts escalated per transaction; a longer backlog is worked through at once


class Escalator:
    """Polls for due escalations about once a second, or at once when woken."""

    def __init__(self, services: Services, *, interval: float = POLL_INTERVAL) -> None:
        self.services = services
        self.interval = interval
        self._wakeup: asyncio.Event | None = None

    def wake(self) -> None:
        """Look for due escalations now rather than at the next poll (call from the loop)."""
        if self._wakeup is not None:
            self._wakeup.set()

    def escalate_due_now(self) -> list[EscalationOutcome]:
        """Escalate what is due at the services' clock, in one transaction per batch (blocking)."""
        outcomes: list[EscalationOutcome] = []
        while True:
            now = self.services.clock.now()
            with session_scope(self.services.engine) as session:
                batch = escalate_due(
                    session=session, services_or_plan=self.services, now=now, limit=BATCH
                )
            outcomes.extend(batch)
            if len(batch) < BATCH:
                return outcomes

    async def run_once(self) -> list[EscalationOutcome]:
        """Escalate what is due now without blocking the event loop."""
        outcomes = await self.services.in_database(self.escalate_due_now)
        for outcome in outcomes:
            logger.info(
                "alert escalated",
                extra={
                    "alert": outcome.alert_id,
                    "step": outcome.step,
                    "users": ",".join(outcome.users),
                },
            )
        if outcomes:
            wake_delivery(self.services)
        return outcomes

    async def run(self) -> None:
        """Run until cancelled; a failed round is logged and retried at the next poll."""
        self._wakeup = asyncio.Event()
        await run_rounds(
            self.run_once,
            interval=self.interval,
            failed="escalation round failed",
            log=logger,
            wakeup=self._wakeup,
        )
