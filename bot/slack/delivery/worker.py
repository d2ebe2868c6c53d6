"""The delivery worker: drains the outbox into Slack, so that every accepted alert is relayed.

It claims due rows (``bot.slack.delivery.queue``), delivers up to PARALLEL at once, each as its
kind says (``bot.slack.delivery.kinds``), and settles what became of them: rows settling at the
same moment share one transaction. It looks when woken (a new alert) and about twice a second,
renews the leases of the rows it still holds, and forgets old rows once an hour.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot.slack.delivery.flood import FLOOD_BACKLOG, FloodWatch
from bot.slack.delivery.jobs import Failed, Job, Outcome, RetryLater
from bot.slack.delivery.kinds import CARD_INTERVAL, Kinds
from bot.slack.delivery.posting import Posting
from bot.slack.delivery.queue import BACKOFF_S, LEASE, MAX_BACKOFF_S, OutboxQueue
from storage.db import is_sqlite

if TYPE_CHECKING:
    from bot.app.services import Services

logger = logging.getLogger(__name__)

POLL_INTERVAL = 0.5  # seconds between looks at the outbox when nobody wakes the worker
BATCH = 50
PARALLEL = 8  # rows delivered at once
# A live worker renews the lease of the rows it still holds this often: a slow Slack (each call may
# take ONCE.timeout, a row makes several, and rows wait their turn among PARALLEL) must not let
# another worker take a row that is still being delivered.
RENEW_EVERY = LEASE / 3
PRUNE_EVERY = timedelta(hours=1)


class Delivery:
    """Delivers due outbox rows as they come due: it looks when woken (a new alert) and about
    twice a second, and delivers up to PARALLEL rows at once."""

    def __init__(
        self,
        services: Services,
        *,
        interval: float = POLL_INTERVAL,
        batch: int = BATCH,
        card_interval: timedelta = CARD_INTERVAL,
        backoff: float = BACKOFF_S,
        max_backoff: float = MAX_BACKOFF_S,
        flood_backlog: int | None = None,
    ) -> None:
        self.services = services
        self.interval = interval
        self.batch = batch
        self.queue = OutboxQueue(services, backoff=backoff, max_backoff=max_backoff)
        self.flood = FloodWatch(FLOOD_BACKLOG if flood_backlog is None else flood_backlog)
        self.kinds = Kinds(services, Posting(services), self.flood, card_interval)
        self._wakeup: asyncio.Event | None = None
        self._gate = asyncio.Semaphore(PARALLEL)
        self._settling: list[tuple[Job, Outcome, asyncio.Future[None]]] = []
        self._flushing: set[asyncio.Future[None]] = set()
        # Rows claimed and not yet settled: id -> the claim count our claim left them at.
        self._held: dict[int, int] = {}

    @property
    def flood_backlog(self) -> int:
        """New alerts waiting for one conversation's turn that make a flood (rolled up)."""
        return self.flood.backlog

    @flood_backlog.setter
    def flood_backlog(self, backlog: int) -> None:
        self.flood.backlog = backlog

    def _claim(self, limit: int, look_first: bool = True) -> list[Job]:
        """Claim what is due (blocking): the rows, read with their alerts."""
        return self.queue.claim(limit, look_first)

    async def _handle(self, job: Job) -> Outcome:
        """Deliver one claimed row, leaving it unsettled: what became of it."""
        return await self.kinds.handle(job)

    def wake(self) -> None:
        """Look at the outbox now rather than at the next poll (call from the event loop)."""
        if self._wakeup is not None:
            self._wakeup.set()

    async def run(self) -> None:
        """Run until cancelled: take what is due, deliver up to PARALLEL rows at once, and look
        again when woken (a new alert) or at the next poll; a failed look is logged and retried."""
        self._wakeup = asyncio.Event()
        running: set[asyncio.Task[None]] = set()
        pruned_at: datetime | None = None
        renewed_at = self.services.clock.now()
        if is_sqlite(self.services.engine):
            try:
                await self.services.in_database(self.queue.release_leases)
            except Exception:  # the rows then come back when their leases run out
                logger.exception("delivery: taking over a stopped process's rows failed")
        try:
            await self.services.in_database(self.queue.read_troubled)
        except Exception:  # read again at the next prune
            logger.exception("delivery: reading the known problems failed")
        try:
            woken = False
            while True:
                self._wakeup.clear()
                jobs: list[Job] = []
                try:
                    now = self.services.clock.now()
                    if pruned_at is None or now - pruned_at >= PRUNE_EVERY:
                        pruned_at = now
                        await self.services.in_database(self.queue.prune, now)
                    if now - renewed_at >= RENEW_EVERY:
                        renewed_at = now
                        await self._renew(now)
                    jobs = await self._take(self.batch, not woken)
                except asyncio.CancelledError:
                    raise
                except Exception:  # the database may be briefly away; the next look tries again
                    logger.exception("delivery: looking at the outbox failed")
                for job in jobs:
                    task = asyncio.create_task(self._deliver(job), name=f"delivery-{job.id}")
                    running.add(task)
                    task.add_done_callback(running.discard)
                woken = len(jobs) == self.batch  # more may be due
                if woken:
                    continue
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wakeup.wait(), timeout=self.interval)
                woken = self._wakeup.is_set()
        finally:
            # Rows under way are left to their lease: another worker, or this one restarted,
            # takes them again and finds what they had posted.
            for task in running:
                task.cancel()

    async def run_once(self) -> int:
        """Deliver what is due now, all of it before returning; returns how many rows."""
        jobs = await self._take(self.batch)
        await asyncio.gather(*(self._deliver(job) for job in jobs))
        return len(jobs)

    async def drain(self, *, max_rounds: int = 1000) -> int:
        """Deliver until nothing is due now (tests, the sandbox); returns the rows taken."""
        total = 0
        for _ in range(max_rounds):
            handled = await self.run_once()
            total += handled
            if handled == 0:
                return total
        return total

    async def _take(self, limit: int, look_first: bool = True) -> list[Job]:
        """Claim what is due and hold it (its lease renewed) until it is settled."""
        jobs = await self.services.in_database(self.queue.claim, limit, look_first)
        self._held.update((job.id, job.claims) for job in jobs)
        return jobs

    async def _renew(self, now: datetime) -> None:
        """Extend the leases of the rows still being delivered."""
        held = dict(self._held)
        if not held:
            return
        renewed = await self.services.in_database(self.queue.renew, held, now + LEASE)
        lost = sorted(set(held) - renewed)
        # Settled meanwhile, or (the database away longer than a lease) taken by another worker.
        lost = [row for row in lost if row in self._held]
        if lost:
            logger.warning(
                "delivery: rows still being delivered were taken over after their lease ran out",
                extra={"outbox": lost},
            )

    async def _deliver(self, job: Job) -> None:
        try:
            async with self._gate:
                outcome = await self._outcome(job)
            await self._settle(job, outcome)
        finally:
            # Settled, or its settling failed: either way it is no longer ours to keep.
            self._held.pop(job.id, None)

    async def _outcome(self, job: Job) -> Outcome:
        """Deliver one row; what became of it: done (None), postponed, to try again, or failed."""
        try:
            outcome = await self._handle(job)
        except Exception as error:  # a bug or a broken row must not stop the other deliveries
            logger.exception("delivery failed", extra={"outbox": job.id, "kind": job.kind})
            # A few tries, as for an error Slack does not document, then it shows as failed.
            outcome = RetryLater(None, repr(error), may_have_posted=True, unknown=True)
        if outcome is None and job.refusals:
            first = job.refusals[0].failure
            errors = "; ".join(f"{r.target}: {r.failure}" for r in job.refusals)
            outcome = Failed(errors, first.code)
        if isinstance(outcome, RetryLater):
            if outcome.at is None:
                at = self.services.clock.now() + self.queue.wait(job.attempts)
                outcome = dataclasses.replace(outcome, at=at)
            logger.warning(
                "delivery failed, will retry",
                extra={
                    "outbox": job.id,
                    "kind": job.kind,
                    "error": outcome.error,
                    "at": outcome.at,
                },
            )
        return outcome

    async def _settle(self, job: Job, outcome: Outcome) -> None:
        """Record the row's outcome and its messages; rows settling at the same moment share
        one transaction (SQLite has one writer: fewer, larger commits keep its queue short)."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._settling.append((job, outcome, done))
        if len(self._settling) == 1:
            asyncio.get_running_loop().call_soon(self._flush_settles)
        await done

    def _flush_settles(self) -> None:
        batch, self._settling = self._settling, []

        async def write() -> None:
            try:
                settled = await self.services.in_database(
                    self.queue.settle, [(job, out) for job, out, _ in batch]
                )
            except Exception as error:  # the rows keep their lease and come back; say why
                logger.exception("delivery: recording outcomes failed", extra={"rows": len(batch)})
                for _, _, done in batch:
                    if not done.done():
                        done.set_exception(error)
                return
            self.queue.tell(settled)
            for _, _, done in batch:
                if not done.done():
                    done.set_result(None)

        task = asyncio.ensure_future(write())
        self._flushing.add(task)
        task.add_done_callback(self._flushing.discard)
