"""The delivery worker: drains the outbox into Slack, so that every accepted alert is relayed.

Each row is claimed under a lease, delivered, then marked done in the same transaction that
records the message it posted; a failure puts it back for a later try (``Retry-After`` on a 429,
growing waits otherwise) and a worker that dies loses its lease, so the row comes back. Nothing
is dropped. An alert's messages are posted once and then updated in place (``chat.update``); a
card updated a moment ago waits its turn, so a storm of repeats costs a bounded number of calls,
and the cards of one team channel keep to Slack's posting pace of about one a second (replicas
sharing PostgreSQL keep it together: ``storage.pace``).

A worker killed between Slack's answer and its own commit, or a post whose answer was lost, cannot
know whether the post went through; every post carries the outbox row's id in its metadata, and a
row taken again after that first looks for that post in the conversation instead of posting twice.
A failure that says nothing was done (an error answer, a 429) needs no such look.

Slack's errors are sorted by ``bot.slack.errors``. A 429 holds back what Slack applies it to (one
channel for chat.postMessage, the method otherwise) until its Retry-After, and counts as no
failure. One the bot cannot mend by trying again (not a member of the channel, an archived one,
blocks Slack refuses) ends the delivery at once as failed; what is wrong is recorded once per
channel (or user) and problem, and the pager holder gets a DM saying what to do, once. An alert's
card and its DMs are delivered step by step: a card that cannot be posted, or waits its turn,
holds up none of its DMs.

A flood is rolled up. When more new alerts wait for a channel's turn than it can take in a few
seconds (FLOOD_BACKLOG), the next ones join the channel's roll-up instead of waiting for a card of
their own: one message counting them, updated in place at most every ROLLUP_INTERVAL, whose
menus open each alert's card with its buttons. Pages waiting so for one person's DM fold the same
way into one DM, whichever teams they come from. An alert joins in the transaction that settles
its delivery, so a worker killed before that leaves it to be delivered again; the roll-up itself
is posted once as any message is.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import threading
from collections.abc import Awaitable, Collection, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from bot.alerts.model import Severity
from bot.alerts.notes import Said
from bot.alerts.runbooks import runbook_for
from bot.i18n import speaking
from bot.runtime.metrics import count_relayed, metrics_of
from bot.schedule.covers import cover_id_of, withdraw
from bot.schedule.covers import subject_of as cover_subject
from bot.slack.blocks import Message
from bot.slack.blocks.alert import (
    AlertCard,
    TimelineLine,
    alert_card,
    alert_dm,
    content_hash,
    leadership_dm,
    steady,
)
from bot.slack.blocks.cover import cover_post, cover_withdrawn_notice
from bot.slack.blocks.problems import problem_notice
from bot.slack.blocks.rollup import MENUS_MAX, RolledAlert, RollupSummary, rollup_message
from bot.slack.errors import Kind, Problem, SlackFailure
from bot.slack.gateway import CHANNEL_BURST, ONCE, SlackCallError, gateway
from bot.slack.language import language_in, person_language, team_language
from bot.slack.users import directory
from storage import alerts as alert_store
from storage import outbox, problems, rollups
from storage.alerts import subject_of
from storage.covers import get_cover
from storage.db import is_sqlite, read_scope, session_scope
from storage.models import Alert, AlertEvent, CoverRequest, SlackMessage
from storage.slack_messages import (
    Posted,
    messages_by_subject,
    messages_of,
    note_update,
    record_posts,
)

if TYPE_CHECKING:
    from sqlmodel import Session

    from bot.app.services import Services
    from bot.plan.model import Plan

logger = logging.getLogger(__name__)

POLL_INTERVAL = 0.5  # seconds between looks at the outbox when nobody wakes the worker
BATCH = 50
PARALLEL = 8  # rows delivered at once
# A replica that dies leaves its rows to the others once this has passed: short, for the DMs
# behind them. A live worker renews the lease of the rows it still holds every RENEW_EVERY: a
# slow Slack (each call may take ONCE.timeout, a row makes several, and rows wait their turn
# among PARALLEL) must not let another worker take a row that is still being delivered.
LEASE = timedelta(seconds=30)
RENEW_EVERY = LEASE / 3
# Slack takes about one message a second per channel, with short bursts: a card is updated at
# most this often, whatever the storm of repeats behind it.
CARD_INTERVAL = timedelta(seconds=2)
DM_INTERVAL = timedelta(seconds=10)
HASH_LENGTH = 32  # content_hash's length: a stored fingerprint is two of them
# A failed delivery is tried again after 1, 2, 4... seconds, then every half minute: a page must
# not wait minutes for its next try because Slack failed a few times in a row. Slack's own
# "slow down" (429) is honoured apart, for as long as its Retry-After says.
BACKOFF_S = 1.0
MAX_BACKOFF_S = 30.0
# Done deliveries are kept this long (to look into what was sent), then forgotten.
KEEP_DONE = timedelta(days=14)
PRUNE_EVERY = timedelta(hours=1)
METADATA_EVENT = "watchkeeper_delivery"
HISTORY_LIMIT = 200  # messages per page of conversations.history
HISTORY_PAGES = 10
# Our clock and Slack's may disagree: an earlier try's post is looked for from this long before
# its row was made (the row's id in the post's metadata says which post is ours).
CLOCK_SKEW = timedelta(minutes=10)

# A delivery whose tries keep ending in errors Slack does not document is given up on after this
# many (passing troubles, 5xx and timeouts, are tried until they pass: nothing is dropped).
MAX_UNKNOWN_ERRORS = 5
# A channel found refusing the bot (not a member, archived...) is not asked again for this long:
# a storm into it costs one refused call a minute, not one per alert.
RECHECK_REFUSED = timedelta(minutes=1)
# What a refusal of these says about the channel itself, whatever is posted there.
CHANNEL_PROBLEMS = frozenset(
    {Problem.not_member, Problem.unknown_channel, Problem.archived, Problem.restricted}
)

# More new alerts than this waiting for one channel's (or DM's) turn make a flood: the next ones
# join its roll-up. A waiting alert counts until it has not been refused a turn for FLOOD_WINDOW.
FLOOD_BACKLOG = CHANNEL_BURST + 1
FLOOD_WINDOW = timedelta(seconds=3)
# A roll-up is updated at most this often (chat.update is Tier 3: about 50 a minute for the whole
# workspace), and takes new alerts while one joined it less than ROLLUP_OPEN ago.
ROLLUP_INTERVAL = timedelta(seconds=2)
ROLLUP_OPEN = timedelta(minutes=10)
# A roll-up's later rows leave its posting to the row that started it for this long.
FIRST_ROW_PATIENCE = timedelta(seconds=20)
ROLLUP_LISTED = MENUS_MAX * 100  # alerts a roll-up loads: as many as its menus can list

CARD, DM, LEADERSHIP, ROLLUP = "card", "dm", "leadership", "rollup"
POST = "post"  # a channel post that is no alert's: a cover request's


@dataclass
class Job:
    """One claimed outbox row, detached from its session."""

    id: int
    kind: str
    subject: str | None
    payload: dict[str, Any]
    attempts: int
    claims: int
    created_at: datetime
    # What to record of the messages made for this row, written with its outcome: a retry of a
    # row that posted to some of its recipients finds those posts recorded.
    posts: list[Posted] = field(default_factory=list, compare=False)
    edits: list[Edited] = field(default_factory=list, compare=False)
    # Refusals no retry can mend, met on the way (recorded, and said once, with the outcome),
    # and targets a message went through to (their known problems are over).
    refusals: list[Refusal] = field(default_factory=list, compare=False)
    reached: set[str] = field(default_factory=set, compare=False)
    # Whether this try looked in the conversation for an earlier try's post (the doubt is over),
    # and for which recipients' posts it did.
    looked: bool = field(default=False, compare=False)
    searched: set[str] = field(default_factory=set, compare=False)
    # The alert as read just after the claim (with the others of its batch, in one read).
    loaded: _Loaded | None = field(default=None, compare=False)
    # Alerts that join a roll-up instead of waiting for a message of their own, and roll-ups to
    # bring up to date (an alert of theirs changed): written with the outcome.
    joins: list[Join] = field(default_factory=list, compare=False)
    touched: set[int] = field(default_factory=set, compare=False)

    @property
    def may_have_posted(self) -> bool:
        """Whether an earlier try may have posted: its worker died, or Slack's answer to a post
        was lost (a timeout, a dropped connection, a 5xx) after the message was made."""
        return self.claims > 1

    @property
    def alert_id(self) -> int | None:
        if self.subject and self.subject.startswith("alert:"):
            with contextlib.suppress(ValueError):
                return int(self.subject.removeprefix("alert:"))
        return None


@dataclass(frozen=True)
class Join:
    """An alert joining the roll-up of a channel, or of a user's DMs (``kind``: rollups.CHANNEL
    or rollups.DM)."""

    kind: str
    target: str
    alert_id: int


@dataclass(frozen=True)
class Edited:
    """A message edited to show the content hashed as ``content_hash``."""

    message_id: int
    content_hash: str
    at: datetime


@dataclass(frozen=True)
class Refusal:
    """Slack refusing, for good, a message to ``target`` (a channel, or a user's DM) of ``team``."""

    failure: SlackFailure
    target: str
    team: str | None


@dataclass(frozen=True)
class Postpone:
    """Nothing failed; deliver at ``at`` instead (a card's turn, Slack's Retry-After)."""

    at: datetime


@dataclass(frozen=True)
class RetryLater:
    """A try that failed, to make again at ``at`` (None: after the row's growing wait).

    ``may_have_posted``: a post's answer was lost, so the next try looks for it first;
    ``unknown``: the error is none Slack documents (a few such tries, and the row is failed).
    """

    at: datetime | None
    error: str
    may_have_posted: bool = False
    unknown: bool = False


@dataclass(frozen=True)
class Failed:
    """Given up on: Slack refused the delivery for good (``code``: its error)."""

    error: str
    code: str


Outcome = Postpone | RetryLater | Failed | None


@dataclass(frozen=True)
class _Loaded:
    """An alert's card data, its channel, and the messages already posted for it."""

    card: AlertCard
    team: str
    channel: str | None
    messages: tuple[SlackMessage, ...]
    reasons: dict[str, Said | None]  # why each paged user was paged
    leaders: frozenset[str] = frozenset()  # whom "Escalate to CEO" pages: not offered to them
    rollups: tuple[int, ...] = ()  # the roll-ups it joined (instead of a card, or of a DM)
    in_channel_rollup: bool = False
    # Its syncs (this one among them) that an earlier try may have posted the card for.
    syncs_in_doubt: frozenset[int] = frozenset()


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
        # New alerts waiting for one conversation's turn that make a flood (rolled up).
        self.flood_backlog = FLOOD_BACKLOG if flood_backlog is None else flood_backlog
        self.interval = interval
        self.batch = batch
        self.card_interval = card_interval
        self.backoff = backoff
        self.max_backoff = max_backoff
        self._wakeup: asyncio.Event | None = None
        self._slack = gateway(services)
        # Channels found refusing the bot, with the refusal and when to ask them again.
        self._refused: dict[str, tuple[SlackFailure, datetime]] = {}
        # Channels and users with a problem on record (forgotten once a message gets through);
        # replaced whole, never changed in place: the database threads read it.
        self._troubled: frozenset[str] = frozenset()
        self._troubled_lock = threading.Lock()
        self._gate = asyncio.Semaphore(PARALLEL)
        self._settling: list[tuple[Job, Outcome, asyncio.Future[None]]] = []
        self._flushing: set[asyncio.Future[None]] = set()
        # Rows claimed and not yet settled: id -> the claim count our claim left them at.
        self._held: dict[int, int] = {}
        # New alerts refused a turn lately, by channel (a DM's too): alert id -> when; and when an
        # alert last joined the roll-up of each.
        self._waiting: dict[str, dict[int, datetime]] = {}
        self._joined: dict[str, datetime] = {}

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
                await self.services.in_database(self._release_leases)
            except Exception:  # the rows then come back when their leases run out
                logger.exception("delivery: taking over a stopped process's rows failed")
        try:
            await self.services.in_database(self._read_troubled)
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
                        await self.services.in_database(self.prune, now)
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

    def _release_leases(self) -> None:
        # On SQLite this process is the only worker: rows still held were held by a process
        # that died (a crash, kill -9). Taken again now, they first look for what they posted.
        with session_scope(self.services.engine) as session:
            count = outbox.release_leases(session=session, now=self.services.clock.now())
        if count:
            logger.info("deliveries of a stopped process taken over", extra={"rows": count})

    def prune(self, now: datetime) -> int:
        """Forget deliveries done more than KEEP_DONE ago (blocking); returns how many."""
        with session_scope(self.services.engine) as session:
            count = outbox.prune(session=session, before=now - KEEP_DONE)
        if count:
            logger.info("old deliveries forgotten", extra={"rows": count})
        # Another replica may have recorded or forgotten problems meanwhile.
        self._read_troubled()
        return count

    def _read_troubled(self) -> None:
        with read_scope(self.services.engine) as session:
            known = frozenset(p.target for p in problems.known_problems(session=session))
        with self._troubled_lock:
            self._troubled = known

    async def drain(self, *, max_rounds: int = 1000) -> int:
        """Deliver until nothing is due now (tests, the sandbox); returns the rows taken."""
        total = 0
        for _ in range(max_rounds):
            handled = await self.run_once()
            total += handled
            if handled == 0:
                return total
        return total

    # ------------------------------------------------------------------ one row

    async def _take(self, limit: int, look_first: bool = True) -> list[Job]:
        """Claim what is due and hold it (its lease renewed) until it is settled."""
        jobs = await self.services.in_database(self._claim, limit, look_first)
        self._held.update((job.id, job.claims) for job in jobs)
        return jobs

    async def _renew(self, now: datetime) -> None:
        """Extend the leases of the rows still being delivered."""
        held = dict(self._held)
        if not held:
            return
        renewed = await self.services.in_database(self._renew_rows, held, now + LEASE)
        lost = sorted(set(held) - renewed)
        # Settled meanwhile, or (the database away longer than a lease) taken by another worker.
        lost = [row for row in lost if row in self._held]
        if lost:
            logger.warning(
                "delivery: rows still being delivered were taken over after their lease ran out",
                extra={"outbox": lost},
            )

    def _renew_rows(self, held: dict[int, int], until: datetime) -> set[int]:
        with session_scope(self.services.engine) as session:
            return outbox.renew(session=session, held=held, until=until)

    def _claim(self, limit: int, look_first: bool = True) -> list[Job]:
        now = self.services.clock.now()
        # Most polls find nothing: they need not queue for the write lock to learn it (a look
        # after a wake-up, for a new alert, skips this).
        if look_first:
            with read_scope(self.services.engine) as session:
                if not outbox.any_due(session=session, now=now):
                    return []
        with session_scope(self.services.engine) as session:
            rows = outbox.claim(session=session, now=now, limit=limit, lease=LEASE)
            jobs = [
                Job(
                    id=row.id or 0,
                    kind=row.kind,
                    subject=row.subject,
                    payload=dict(row.payload or {}),
                    attempts=row.attempts,
                    claims=row.claims,
                    created_at=row.created_at,
                )
                for row in rows
            ]
        # Read after the claim commits: what an earlier row of the same alert recorded is seen.
        loaded = self._load_alerts({job.alert_id for job in jobs if job.alert_id is not None})
        return [
            dataclasses.replace(job, loaded=loaded.get(job.alert_id)) if job.alert_id else job
            for job in jobs
        ]

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
                at = self.services.clock.now() + self._wait(job.attempts)
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
                    self._settle_rows, [(job, out) for job, out, _ in batch]
                )
            except Exception as error:  # the rows keep their lease and come back; say why
                logger.exception("delivery: recording outcomes failed", extra={"rows": len(batch)})
                for _, _, done in batch:
                    if not done.done():
                        done.set_exception(error)
                return
            self._tell(settled)
            for _, _, done in batch:
                if not done.done():
                    done.set_result(None)

        task = asyncio.ensure_future(write())
        self._flushing.add(task)
        task.add_done_callback(self._flushing.discard)

    def _settle_rows(self, rows: list[tuple[Job, Outcome]]) -> _Settled:
        now = self.services.clock.now()
        settled = _Settled()
        with session_scope(self.services.engine) as session:
            record_posts(session=session, posts=[post for job, _ in rows for post in job.posts])
            for job, _ in rows:
                for edit in job.edits:
                    note_update(
                        session=session,
                        message_id=edit.message_id,
                        content_hash=edit.content_hash,
                        now=edit.at,
                    )
            done = []
            postponed = []
            doubtful: list[int] = []
            failed: dict[int, str] = {}
            for job, outcome in rows:
                if isinstance(outcome, RetryLater):
                    gave_up = outbox.retry_later(
                        session=session,
                        outbox_id=job.id,
                        at=outcome.at or now + self._wait(job.attempts),
                        error=outcome.error,
                        in_doubt=self._in_doubt(job, outcome),
                        unknown=outcome.unknown,
                        max_unknown=MAX_UNKNOWN_ERRORS,
                        now=now,
                    )
                    if gave_up:
                        settled.failed.append((job, outcome.error, "unknown"))
                elif isinstance(outcome, Postpone):
                    postponed.append((job.id, outcome.at))
                    if self._in_doubt(job, outcome):
                        doubtful.append(job.id)
                elif isinstance(outcome, Failed):
                    failed[job.id] = outcome.error
                    settled.failed.append((job, outcome.error, outcome.code))
                else:
                    done.append(job.id)
            outbox.postpone_many(session=session, rows=postponed, in_doubt=doubtful)
            outbox.complete(session=session, outbox_ids=done, now=now)
            outbox.fail(session=session, failures=failed, now=now)
            reached = {target for job, _ in rows for target in job.reached} & self._troubled
            if reached:
                problems.clear_problems(session=session, targets=reached)
                settled.cleared = reached
            self._settle_rollups(session, [job for job, _ in rows], now)
            for job, _ in rows:
                for refusal in job.refusals:
                    new, told = self._record_problem(session, refusal, now)
                    if new:
                        settled.problems.append((refusal, told))
        return settled

    @staticmethod
    def _settle_rollups(session: Session, jobs: list[Job], now: datetime) -> None:
        """Write the jobs' alerts joining roll-ups, and queue the roll-ups' updates (once each).

        Roll-ups are joined in (kind, target) order, then their updates queued in id order:
        replicas settling at once lock what they share in one order, and never deadlock."""
        touched = dict.fromkeys((rollup_id for job in jobs for rollup_id in job.touched), False)
        joins = sorted(
            {join for job in jobs for join in job.joins},
            key=lambda join: (join.kind, join.target, join.alert_id),
        )
        for join in joins:
            rollup_id, started = rollups.join(
                session=session,
                kind=join.kind,
                target=join.target,
                alert_id=join.alert_id,
                now=now,
                open_for=ROLLUP_OPEN,
            )
            touched[rollup_id] = touched.get(rollup_id, False) or started
        for rollup_id, started in sorted(touched.items()):
            # The row of a roll-up just started posts it; later ones look for it first when they
            # find it not recorded.
            outbox.enqueue(
                session=session,
                kind=outbox.ROLLUP_SYNC,
                now=now,
                subject=rollups.subject_of(rollup_id),
                payload={"first": True} if started else None,
                coalesce=not started,
                priority=outbox.URGENT,
            )

    @staticmethod
    def _in_doubt(job: Job, outcome: Outcome) -> bool:
        """Whether a post of the row may be in Slack without its answer read, after this try: a
        post's answer lost now, or an earlier doubt this try did not settle by looking."""
        if isinstance(outcome, RetryLater) and outcome.may_have_posted:
            return True
        return job.may_have_posted and not job.looked

    def _record_problem(
        self, session: Session, refusal: Refusal, now: datetime
    ) -> tuple[bool, str | None]:
        """Keep a refusal's problem; when it is new, queue the DM that tells the pager holder
        (in this transaction: it is sent like any delivery). Whether it was new, and who is
        told (nobody: no one holds the pager, or there is nothing to say or no way to say it)."""
        problem = refusal.failure.problem
        if problem is None:
            return False, None
        new = problems.record_problem(
            session=session,
            target=refusal.target,
            problem=problem.value,
            error=refusal.failure.code,
            team=refusal.team,
            now=now,
        )
        with self._troubled_lock:
            self._troubled = self._troubled | {refusal.target}
        if not new or refusal.team is None:
            return new, None
        team = self.services.plans.current.teams.get(refusal.team)
        holder = None
        if team is not None:
            holder, _ = self.services.roster.holders(team.id, now, session)
        language = language_in(self.services, session, holder, team) if holder else None
        with speaking(language):
            notice = problem_notice(
                problem, refusal.target, team.name if team else refusal.team, refusal.failure.code
            )
        # The holder's own DM refusing cannot carry the news to them.
        if holder is None or notice is None or holder == refusal.target:
            return new, None
        outbox.enqueue(
            session=session,
            kind=outbox.SLACK_POST,
            now=now,
            subject=f"problem:{refusal.target}",
            payload={"user": holder, "team": team.id if team else None, **notice},
            priority=outbox.URGENT,
        )
        return new, holder

    def _tell(self, settled: _Settled) -> None:
        """Log and count what a settling found failed for good, and the problems met anew."""
        metrics = metrics_of(self.services)
        if settled.cleared:
            with self._troubled_lock:
                self._troubled = self._troubled - settled.cleared
        for target in settled.cleared:
            logger.info("a channel refusing deliveries takes them again", extra={"target": target})
        for refusal, told in settled.problems:
            failure = refusal.failure
            problem = failure.problem.value if failure.problem else ""
            metrics.delivery_problem(problem=problem, error=failure.code)
            logger.error(
                "Slack refuses deliveries for good",
                extra={
                    "target": refusal.target,
                    "team": refusal.team,
                    "problem": problem,
                    "error": failure.code,
                    "told": told,
                },
            )
        for job, error, code in settled.failed:
            metrics.delivery_failed(kind=job.kind, error=code)
            logger.warning(
                "delivery failed for good",
                extra={"outbox": job.id, "kind": job.kind, "error": error},
            )

    async def _handle(self, job: Job) -> Outcome:
        if job.kind == outbox.ALERT_SYNC:
            return await self._sync(job)
        if job.kind == outbox.ALERT_NOTIFY:
            return await self._notify(job)
        if job.kind == outbox.ALERT_LEADERSHIP:
            return await self._leadership(job)
        if job.kind == outbox.SLACK_POST:
            return await self._plain_post(job)
        if job.kind == outbox.COVER_SYNC:
            return await self._cover(job)
        if job.kind == outbox.ROLLUP_SYNC:
            return await self._rollup(job)
        logger.error("outbox row of an unknown kind left as done", extra={"kind": job.kind})
        return None

    async def _step(
        self, job: Job, work: Awaitable[Postpone | None], target: str | None, team: str | None
    ) -> Outcome:
        """One part of a delivery (the card, one DM), its failure kept apart from the others':
        a refusal is noted on the job and the other parts go on."""
        try:
            return await work
        except SlackCallError as failed:
            failure = failed.failure
            if failure.kind is Kind.rate_limited:
                assert failed.until is not None
                return Postpone(failed.until)
            if failure.kind is Kind.permanent and target is not None:
                job.refusals.append(Refusal(failure, target, team))
                if failure.problem in CHANNEL_PROBLEMS and failure.method != "conversations.open":
                    until = self.services.clock.now() + RECHECK_REFUSED
                    self._refused[target] = (failure, until)
                return None
            return RetryLater(
                None,
                str(failure),
                may_have_posted=failure.may_have_succeeded and failure.method == "chat.postMessage",
                unknown=failure.kind is not Kind.transient,
            )

    # ------------------------------------------------------------------ kinds

    async def _sync(self, job: Job) -> Outcome:
        """Bring every message of the alert up to date, each on its own (a card that cannot be
        posted holds up none of its DMs); post the card if it has none yet."""
        loaded = self._load(job)
        if loaded is None:
            return None
        job.touched.update(loaded.rollups)  # they show its state
        now = self.services.clock.now()
        outcomes = [
            await self._step(job, self._sync_card(job, loaded, now), loaded.channel, loaded.team)
        ]
        # A DM follows a change of state at once, and a storm of sightings every DM_INTERVAL:
        # Slack's budget goes to the card the whole team looks at.
        card, calm = loaded.card, steady(loaded.card)
        waiting = False
        for row in loaded.messages:
            if row.role == DM:
                reason = loaded.reasons.get(row.recipient)
                leader = row.recipient in loaded.leaders
                with speaking(await self._language(row.recipient, loaded.team)):
                    work = self._update(
                        job,
                        row,
                        alert_dm(card, reason, to_leader=leader),
                        alert_dm(calm, reason, to_leader=leader),
                        DM_INTERVAL,
                    )
            elif row.role == LEADERSHIP and card.leadership_at is not None:
                by, at = card.leadership_by, card.leadership_at
                with speaking(await self._language(row.recipient, loaded.team)):
                    work = self._update(
                        job,
                        row,
                        leadership_dm(card, by, at),
                        leadership_dm(calm, by, at),
                        DM_INTERVAL,
                    )
            else:
                continue
            outcome = await self._step(job, work, row.recipient, loaded.team)
            waiting = waiting or isinstance(outcome, Postpone)
            outcomes.append(outcome)
        if waiting:
            # Come back for the card too if more repeats arrive meanwhile (they fold into this
            # row while it waits).
            outcomes.append(Postpone(now + self.card_interval))
        return _merged(outcomes)

    async def _sync_card(self, job: Job, loaded: _Loaded, now: datetime) -> Postpone | None:
        """Post the alert's card, or bring it up to date, in its channel's turn."""
        card_row = next((m for m in loaded.messages if m.role == CARD), None)
        if card_row is not None:
            last = card_row.updated_at or card_row.created_at
            if now < last + self.card_interval:
                return Postpone(last + self.card_interval)
        with speaking(team_language(self.services.plans.current.teams.get(loaded.team))):
            card_message = alert_card(loaded.card)
        if card_row is None:
            if loaded.channel is None:
                logger.error(
                    "alert's team is no longer in the setup file: no card posted",
                    extra={"alert": loaded.card.id, "team": loaded.team},
                )
                return None
            if loaded.in_channel_rollup:
                return None  # shown by its roll-up, brought up to date with the job's outcome
            self._check("chat.postMessage", loaded.channel, now)
            # A card an earlier try posted is not rolled up as well; it is brought up to date
            # in its next turn if the alert changed since.
            if await self._earlier_post(job, CARD, loaded.channel, loaded.channel, card_message):
                if _full(job.posts[-1].content_hash) != content_hash(card_message):
                    return Postpone(now + self.card_interval)
                return None
            if loaded.syncs_in_doubt - {job.id}:
                # Another sync of the alert may have posted the card, its answer lost: that row
                # looks for its post when tried again (only it can tell it by its id), and this
                # one brings the card up to date after, as a roll-up's later rows do.
                return Postpone(now + self.card_interval)
            critical = loaded.card.severity == Severity.critical
            if self._flooded(job, rollups.CHANNEL, loaded.channel, now, critical=critical):
                return None
            ready_at = await self._slack.turn(loaded.channel, now)
            if ready_at is not None:
                return self._wait_or_join(
                    job, rollups.CHANNEL, loaded.channel, ready_at, now, critical=critical
                )
            await self._post_once(
                job, loaded.team, CARD, loaded.channel, loaded.channel, card_message
            )
            self._waiting.get(_waiting_key(loaded.channel, critical), {}).pop(loaded.card.id, None)
            return None
        if _full(card_row.content_hash) != content_hash(card_message):
            self._check("chat.update", card_row.channel, now)
            ready_at = await self._slack.turn(card_row.channel, now)
            if ready_at is not None:
                return Postpone(ready_at)
        return await self._update(job, card_row, card_message)

    async def _notify(self, job: Job) -> Outcome:
        """DM the paged user the alert (once; a second page updates the same DM)."""
        user = str(job.payload.get("user") or "")
        reason = job.payload.get("reason") or None
        loaded = self._load(job)
        if loaded is None or not user:
            return None
        with speaking(await self._language(user, loaded.team)):
            content = alert_dm(loaded.card, reason, to_leader=user in loaded.leaders)
        existing = next((m for m in loaded.messages if m.role == DM and m.recipient == user), None)
        if existing is not None:
            return await self._step(job, self._update(job, existing, content), user, loaded.team)
        return await self._step(job, self._first_dm(job, loaded, user, content), user, loaded.team)

    async def _first_dm(
        self, job: Job, loaded: _Loaded, user: str, content: Message
    ) -> Postpone | None:
        """DM a page in the DM's turn; a page that waits among many folds into the user's
        roll-up DM instead."""
        channel = await self._dm_channel(user)
        now = self.services.clock.now()
        self._check("chat.postMessage", channel, now)
        if await self._earlier_post(job, DM, user, channel, content):
            return None
        critical = loaded.card.severity == Severity.critical
        if self._flooded(job, rollups.DM, user, now, pace_key=channel, critical=critical):
            return None
        ready_at = await self._slack.turn(channel, now)
        if ready_at is not None:
            return self._wait_or_join(
                job, rollups.DM, user, ready_at, now, pace_key=channel, critical=critical
            )
        await self._post_once(job, loaded.team, DM, user, channel, content)
        self._waiting.get(_waiting_key(channel, critical), {}).pop(loaded.card.id, None)
        return None

    def _wait_or_join(
        self,
        job: Job,
        kind: str,
        target: str,
        ready_at: datetime,
        now: datetime,
        pace_key: str | None = None,
        critical: bool = False,
    ) -> Postpone | None:
        """A new alert refused its turn in ``target``: it waits for the next one, or, when more
        than a few wait there, it joins the roll-up of ``target`` (done: the roll-up shows it).
        Critical alerts are counted apart: one is never buried in a flood of milder ones."""
        assert job.alert_id is not None
        waiting = self._waiting.setdefault(_waiting_key(pace_key or target, critical), {})
        waiting[job.alert_id] = now
        for alert_id, at in list(waiting.items()):
            if at < now - FLOOD_WINDOW:
                del waiting[alert_id]
        if len(waiting) < self.flood_backlog:
            return Postpone(ready_at)
        job.joins.append(Join(kind, target, job.alert_id))
        self._joined[_waiting_key(pace_key or target, critical)] = now
        return None

    def _flooded(
        self,
        job: Job,
        kind: str,
        target: str,
        now: datetime,
        pace_key: str | None = None,
        critical: bool = False,
    ) -> bool:
        """While a flood goes on (an alert joined the roll-up of ``target`` less than
        FLOOD_WINDOW ago), a new alert joins it too, even in a free turn: the turns are the
        roll-up's, and the conversation stays readable."""
        key = _waiting_key(pace_key or target, critical)
        joined = self._joined.get(key)
        if joined is None or joined < now - FLOOD_WINDOW:
            self._joined.pop(key, None)
            return False
        assert job.alert_id is not None
        job.joins.append(Join(kind, target, job.alert_id))
        self._joined[key] = now
        return True

    async def _leadership(self, job: Job) -> Outcome:
        """DM each leader the alert with who escalated it and when (each once)."""
        loaded = self._load(job)
        if loaded is None:
            return None
        by = job.payload.get("by")
        at = _instant(job.payload.get("at")) or loaded.card.leadership_at or job.created_at
        done = {m.recipient for m in loaded.messages if m.role == LEADERSHIP}
        outcomes = []
        for user in _strings(job.payload.get("users")):
            if user in done:
                continue
            with speaking(await self._language(user, loaded.team)):
                content = leadership_dm(loaded.card, str(by) if by else None, at)
            outcomes.append(
                await self._step(
                    job,
                    self._dm_once(job, loaded.team, LEADERSHIP, user, content),
                    user,
                    loaded.team,
                )
            )
        return _merged(outcomes)

    async def _language(self, user: str, team: str) -> str:
        """The language ``user`` reads the alert of ``team`` in."""
        return await person_language(
            self.services, user, self.services.plans.current.teams.get(team)
        )

    async def _cover(self, job: Job) -> Outcome:
        """Post a cover request in its team's channel, or bring the post up to date; a request
        Slack refuses to post is withdrawn, and its requester told."""
        cover_id = cover_id_of(job.subject)
        if cover_id is None:
            logger.error("cover delivery without a cover request", extra={"outbox": job.id})
            return None
        cover, posted = await self.services.in_database(self._load_cover, cover_id)
        team = self.services.plans.current.teams.get(cover.team) if cover else None
        if cover is None or team is None:
            logger.error(
                "cover delivery for a request or team that is gone", extra={"outbox": job.id}
            )
            return None
        with speaking(team_language(team)):
            content = cover_post(cover, team, str(job.payload.get("reason") or ""))
        work = self._sync_post(job, team.id, team.channel, posted, content, cover.status == "open")
        outcome = await self._step(job, work, team.channel, team.id)
        if posted is None and job.refusals:
            with speaking(await person_language(self.services, cover.requester, team)):
                notice = cover_withdrawn_notice(cover, team, job.refusals[-1].failure.code)
            now = self.services.clock.now()
            await self.services.in_database(withdraw, self.services.engine, cover_id, notice, now)
        return outcome

    def _load_cover(self, cover_id: int) -> tuple[CoverRequest | None, SlackMessage | None]:
        """A cover request and its channel post, if it was posted."""
        with read_scope(self.services.engine) as session:
            cover = get_cover(session=session, cover_id=cover_id)
            found = messages_of(session=session, subject=cover_subject(cover_id))
        return cover, next((m for m in found if m.role == POST), None)

    async def _sync_post(
        self,
        job: Job,
        team: str,
        channel: str,
        posted: SlackMessage | None,
        content: Message,
        wanted: bool,
    ) -> Postpone | None:
        """Post ``content`` in ``channel`` in its turn if it is ``wanted`` and not posted yet,
        or update the post to show it."""
        now = self.services.clock.now()
        if posted is None:
            if not wanted:
                return None
            self._check("chat.postMessage", channel, now)
            ready_at = await self._slack.turn(channel, now)
            if ready_at is not None:
                return Postpone(ready_at)
            await self._post_once(job, team, POST, channel, channel, content)
            return None
        if _full(posted.content_hash) == content_hash(content):
            return None
        self._check("chat.update", posted.channel, now)
        ready_at = await self._slack.turn(posted.channel, now)
        if ready_at is not None:
            return Postpone(ready_at)
        return await self._update(job, posted, content)

    async def _plain_post(self, job: Job) -> Outcome:
        """Post the row's text and blocks to its channel, or DM them to its user."""
        user = str(job.payload.get("user") or "")
        target = user or str(job.payload.get("channel") or "")
        team = job.payload.get("team")
        if not target:
            logger.error("outbox post without a channel left as done", extra={"outbox": job.id})
            return None
        content = Message(
            text=str(job.payload.get("text") or ""), blocks=list(job.payload.get("blocks") or [])
        )
        return await self._step(
            job, self._post_plain(job, target, bool(user), content), target, team and str(team)
        )

    async def _post_plain(
        self, job: Job, target: str, is_user: bool, content: Message
    ) -> Postpone | None:
        channel = await self._dm_channel(target) if is_user else target
        now = self.services.clock.now()
        self._check("chat.postMessage", channel, now)
        if not is_user:
            ready_at = await self._slack.turn(channel, now)
            if ready_at is not None:
                return Postpone(ready_at)
        if job.may_have_posted and await self._find_posted(job, channel, target):
            return None
        await self._call(
            "chat.postMessage", channel=channel, metadata=_metadata(job, target), **content
        )
        job.reached.add(target)
        return None

    # ------------------------------------------------------------------ Slack, recorded

    async def _dm_once(
        self, job: Job, team: str, role: str, user: str, content: Message
    ) -> Postpone | None:
        """Open the app's DM with ``user`` and post ``content`` there once."""
        channel = await self._dm_channel(user)
        await self._post_once(job, team, role, user, channel, content)
        return None

    async def _post_once(
        self, job: Job, team: str, role: str, recipient: str, channel: str, content: Message
    ) -> bool:
        """Post ``content`` and remember it, unless an earlier try's post of this row is found;
        whether the message then shows something else than ``content`` (the earlier try's)."""
        if await self._earlier_post(job, role, recipient, channel, content):
            return _full(job.posts[-1].content_hash) != content_hash(content)
        answer = await self._call(
            "chat.postMessage", channel=channel, metadata=_metadata(job, recipient), **content
        )
        if role in (CARD, DM, LEADERSHIP):
            count_relayed(self.services, team=team)
        self._remember(job, role, recipient, (str(answer["channel"]), str(answer["ts"])), content)
        return False

    async def _earlier_post(
        self, job: Job, role: str, recipient: str, channel: str, content: Message
    ) -> bool:
        """Whether an earlier try of the row may have posted to ``recipient`` and did: then that
        post is remembered as this one, with what it shows (the alert may have changed since
        that try: the next update brings it up to date), looked for once a try."""
        if not job.may_have_posted or recipient in job.searched:
            return False
        job.searched.add(recipient)
        posted = await self._find_posted(job, channel, recipient)
        if posted is None:
            return False
        channel_id, ts, shown = posted
        # Told apart from ``content`` by what Slack adds (block ids), it is remembered as it is.
        current = _as_posted(shown) == _as_posted(content)
        self._remember(job, role, recipient, (channel_id, ts), content if current else shown)
        return True

    def _remember(
        self, job: Job, role: str, recipient: str, posted: tuple[str, str], content: Message
    ) -> None:
        assert job.subject is not None
        job.reached.add(recipient)
        job.posts.append(
            Posted(
                subject=job.subject,
                role=role,
                recipient=recipient,
                channel=posted[0],
                ts=posted[1],
                content_hash=fingerprint(content, content),
                at=self.services.clock.now(),
            )
        )

    async def _update(
        self,
        job: Job,
        row: SlackMessage,
        content: Message,
        calm: Message | None = None,
        interval: timedelta | None = None,
    ) -> Postpone | None:
        """Edit a posted message to show ``content``; nothing is sent when it already does.

        With ``calm`` (the message without what repeats change) and ``interval``, a change of
        repeats alone waits until ``interval`` after the last edit: returns when to try again.
        """
        digest = fingerprint(content, calm or content)
        if _full(row.content_hash) == _full(digest):
            return None
        if (
            calm is not None
            and interval is not None
            and _steady(row.content_hash) == _steady(digest)
        ):
            due = (row.updated_at or row.created_at) + interval
            if self.services.clock.now() < due:
                return Postpone(due)
        await self._call("chat.update", channel=row.channel, ts=row.ts, **content)
        job.reached.add(row.recipient)
        job.edits.append(Edited(row.id or 0, digest, self.services.clock.now()))
        return None

    async def _find_posted(
        self, job: Job, channel: str, recipient: str
    ) -> tuple[str, str, Message] | None:
        """The message this row posted on an earlier try, looked up by its metadata: its
        channel, ts, and what it shows."""
        oldest = f"{(job.created_at - CLOCK_SKEW).timestamp():.6f}"
        cursor = None
        for _ in range(HISTORY_PAGES):
            answer = await self._call(
                "conversations.history",
                channel=channel,
                oldest=oldest,
                limit=HISTORY_LIMIT,
                include_all_metadata=True,
                cursor=cursor,
            )
            for found in answer.get("messages") or []:
                meta = found.get("metadata") or {}
                payload = meta.get("event_payload") or {}
                if (
                    meta.get("event_type") == METADATA_EVENT
                    and payload.get("outbox_id") == job.id
                    and payload.get("recipient") == recipient
                ):
                    logger.info(
                        "found the post of an earlier try; not posting again",
                        extra={"outbox": job.id, "channel": channel},
                    )
                    job.looked = True
                    shown = Message(
                        text=str(found.get("text") or ""), blocks=list(found.get("blocks") or [])
                    )
                    return str(answer.get("channel") or channel), str(found["ts"]), shown
            cursor = (answer.get("response_metadata") or {}).get("next_cursor")
            if not answer.get("has_more") or not cursor:
                job.looked = True
                return None
        job.looked = True
        logger.warning(
            "earlier try's post not found in the pages looked at; posting",
            extra={"outbox": job.id, "channel": channel},
        )
        return None

    async def _dm_channel(self, user: str) -> str:
        return await directory(self.services).dm_channel(user)

    def _check(self, method: str, channel: str | None, now: datetime) -> None:
        """Refuse at once (SlackCallError) a call Slack would refuse: one whose Retry-After is
        still running, or to a channel found refusing the bot a moment ago."""
        self._slack.check(method, channel, now)
        refused = self._refused.get(channel) if channel else None
        if refused is not None:
            if now < refused[1]:
                raise SlackCallError(refused[0])
            self._refused.pop(channel or "", None)

    async def _call(self, method: str, **args: Any) -> Any:
        """One Slack call, made once (the row is tried again later); a failure is a
        SlackCallError saying what kind it is."""
        channel = args.get("channel")
        self._check(method, channel, self.services.clock.now())
        answer = await self._slack.call(method, policy=ONCE, **args)
        if channel is not None:
            self._refused.pop(channel, None)
        return answer

    def _wait(self, attempts: int) -> timedelta:
        """How long a row that failed ``attempts`` times before waits: doubling, capped."""
        return timedelta(seconds=min(self.backoff * 2**attempts, self.max_backoff))

    # ------------------------------------------------------------------ database

    def _load(self, job: Job) -> _Loaded | None:
        """The job's alert as read with its claim; None (and logged) when there is none."""
        if job.alert_id is None:
            logger.error("alert delivery without an alert", extra={"outbox": job.id})
        elif job.loaded is None:
            logger.error("alert delivery for an alert that is gone", extra={"alert": job.alert_id})
        return job.loaded

    def _load_alerts(self, alert_ids: Collection[int]) -> dict[int, _Loaded]:
        """What delivering needs of some alerts, read in one go."""
        return _read_alerts(self.services, alert_ids)

    # ------------------------------------------------------------------ roll-ups

    async def _rollup(self, job: Job) -> Outcome:
        """Post a roll-up, or bring it up to date (at most every ROLLUP_INTERVAL), in its
        conversation's turn."""
        rollup_id = rollups.rollup_id_of(job.subject)
        found = None
        if rollup_id is not None:
            found = await self.services.in_database(self._load_rollup, rollup_id, job.id)
        if found is None:
            logger.error("roll-up delivery without a roll-up", extra={"outbox": job.id})
            return None
        kind, target, summary, posted, first_waiting = found
        if posted is None and first_waiting:
            # The row that started the roll-up posts it (its answer may have been lost, and only
            # it looks for its post): this one updates it after.
            return Postpone(self.services.clock.now() + ROLLUP_INTERVAL)
        team = None
        if kind == rollups.CHANNEL:
            team = next(
                (t.id for t in self.services.plans.current.teams.values() if t.channel == target),
                None,
            )
        # A channel's roll-up speaks its team's language; a DM's, its reader's.
        if kind == rollups.CHANNEL:
            language = team_language(self.services.plans.current.teams.get(team or ""))
        else:
            language = await person_language(self.services, target)
        with speaking(language):
            content = rollup_message(summary)
        work = self._sync_rollup(job, kind, target, content, posted)
        return await self._step(job, work, target, team)

    async def _sync_rollup(
        self, job: Job, kind: str, target: str, content: Message, posted: SlackMessage | None
    ) -> Postpone | None:
        now = self.services.clock.now()
        if posted is None:
            channel = await self._dm_channel(target) if kind == rollups.DM else target
            self._check("chat.postMessage", channel, now)
            ready_at = await self._slack.turn(channel, now)
            if ready_at is not None:
                return Postpone(ready_at)
            if await self._post_once(job, "", ROLLUP, target, channel, content):
                return Postpone(now + ROLLUP_INTERVAL)  # an earlier try's, to bring up to date
            return None
        if _full(posted.content_hash) == content_hash(content):
            return None
        due = (posted.updated_at or posted.created_at) + ROLLUP_INTERVAL
        if now < due:
            return Postpone(due)
        self._check("chat.update", posted.channel, now)
        ready_at = await self._slack.turn(posted.channel, now)
        if ready_at is not None:
            return Postpone(ready_at)
        return await self._update(job, posted, content)

    def _load_rollup(
        self, rollup_id: int, job_id: int
    ) -> tuple[str, str, RollupSummary, SlackMessage | None, bool] | None:
        """A roll-up's kind, target, what it shows, its message (once posted), and whether the
        row that started it is still to deliver (it is the one that posts it)."""
        plan = self.services.plans.current
        with read_scope(self.services.engine) as session:
            found = rollups.members(session=session, rollup_id=rollup_id, limit=ROLLUP_LISTED)
            if found is None:
                return None
            rollup, alerts = found
            posted = messages_of(session=session, subject=rollups.subject_of(rollup_id))
            # Not for ever: a first row that keeps failing must not leave the roll-up unposted.
            young = self.services.clock.now() - rollup.started_at < FIRST_ROW_PATIENCE
            first_waiting = young and any(
                row.id != job_id and (row.payload or {}).get("first")
                for row in outbox.pending_of(
                    session=session, kind=outbox.ROLLUP_SYNC, subject=rollups.subject_of(rollup_id)
                )
            )
        summary = RollupSummary(
            in_dm=rollup.kind == rollups.DM,
            since=rollup.started_at,
            alerts=tuple(
                RolledAlert(
                    id=alert.id or 0,
                    title=alert.title,
                    severity=alert.severity,
                    status=alert.status,
                    team_name=team.name if (team := plan.teams.get(alert.team)) else alert.team,
                )
                for alert in alerts
            ),
        )
        message = next((m for m in posted if m.role == ROLLUP), None)
        return rollup.kind, rollup.target, summary, message, first_waiting


def card_of(services: Services, alert_id: int) -> AlertCard | None:
    """What an alert's card shows now (blocking); None when there is no such alert."""
    loaded = _read_alerts(services, [alert_id]).get(alert_id)
    return loaded.card if loaded is not None else None


def _read_alerts(services: Services, alert_ids: Collection[int]) -> dict[int, _Loaded]:
    """What delivering needs of some alerts, read in one go (five queries, however many)."""
    if not alert_ids:
        return {}
    plan = services.plans.current
    with read_scope(services.engine) as session:
        alerts = alert_store.get_alerts(session=session, alert_ids=alert_ids)
        events = alert_store.timelines(session=session, alert_ids=list(alerts))
        subjects = [subject_of(alert_id) for alert_id in alerts]
        messages = messages_by_subject(session=session, subjects=subjects)
        reasons = alert_store.pages_of(session=session, alert_ids=list(alerts))
        joined = rollups.rollups_of(session=session, alert_ids=list(alerts))
        doubtful = outbox.in_doubt(session=session, kind=outbox.ALERT_SYNC, subjects=subjects)
    return {
        alert_id: _loaded(
            plan,
            alert,
            events[alert_id],
            messages[subject_of(alert_id)],
            reasons[alert_id],
            joined.get(alert_id, []),
            doubtful.get(subject_of(alert_id), set()),
        )
        for alert_id, alert in alerts.items()
    }


def _loaded(
    plan: Plan,
    alert: Alert,
    events: list[AlertEvent],
    messages: list[SlackMessage],
    reasons: dict[str, Said | None],
    joined: Collection[tuple[int, str]] = (),
    syncs_in_doubt: Collection[int] = (),
) -> _Loaded:
    assert alert.id is not None
    team = plan.teams.get(alert.team)
    card = AlertCard(
        id=alert.id,
        team_name=team.name if team is not None else alert.team,
        title=alert.title,
        severity=alert.severity,
        status=alert.status,
        integration=alert.integration,
        first_seen=alert.first_seen,
        last_seen=alert.last_seen,
        count=alert.count,
        summary=alert.summary,
        customer=alert.customer,
        source=alert.source,
        runbook_url=alert.runbook_url,
        runbook=runbook_for(alert, plan),
        links=tuple((link.get("title", ""), link.get("url", "")) for link in alert.links),
        labels=tuple(sorted((str(k), str(v)) for k, v in (alert.labels or {}).items())),
        details=tuple((str(k), str(v)) for k, v in (alert.details or {}).items()),
        acknowledged_at=alert.acknowledged_at,
        acknowledged_by=alert.acknowledged_by,
        resolved_at=alert.resolved_at,
        resolved_by=alert.resolved_by,
        leadership_at=alert.leadership_escalated_at,
        leadership_by=alert.leadership_escalated_by,
        timeline=tuple(TimelineLine(e.at, e.kind, e.actor, e.detail, e.note) for e in events),
        leadership_title=plan.leadership_title,
    )
    channel = team.channel if team is not None else None
    return _Loaded(
        card,
        alert.team,
        channel,
        tuple(messages),
        reasons,
        frozenset(plan.leadership),
        rollups=tuple(rollup_id for rollup_id, _ in joined),
        in_channel_rollup=any(kind == rollups.CHANNEL for _, kind in joined),
        syncs_in_doubt=frozenset(syncs_in_doubt),
    )


@dataclass
class _Settled:
    """What one settling transaction wrote that is worth a log line and a count."""

    failed: list[tuple[Job, str, str]] = field(default_factory=list)  # job, error, Slack's code
    # Problems met for the first time, with who was told of them.
    problems: list[tuple[Refusal, str | None]] = field(default_factory=list)
    cleared: set[str] = field(default_factory=set)  # targets a message got through to again


def _merged(outcomes: Iterable[Outcome]) -> Outcome:
    """The outcome of a delivery made of parts: tried again if a part failed, postponed to the
    first part's turn if some wait, else done (refusals are kept on the job)."""
    parts = list(outcomes)
    retries = [o for o in parts if isinstance(o, RetryLater)]
    if retries:
        return RetryLater(
            None,
            "; ".join(r.error for r in retries),
            may_have_posted=any(r.may_have_posted for r in retries),
            unknown=any(r.unknown for r in retries),
        )
    waits = [o.at for o in parts if isinstance(o, Postpone)]
    return Postpone(min(waits)) if waits else None


def fingerprint(content: Message, calm: Message) -> str:
    """What a message shows, as stored with it: the hash of its calm form (without what repeats
    change), then the hash of the whole."""
    return content_hash(calm) + content_hash(content)


def _as_posted(content: Message) -> str:
    """A message as our post of it and Slack's copy of that post both show it: without the
    block ids Slack gives the blocks that have none."""
    blocks = [{k: v for k, v in block.items() if k != "block_id"} for block in content["blocks"]]
    return content_hash(Message(text=content["text"], blocks=blocks))


def _waiting_key(target: str, critical: bool) -> str:
    return f"{target} critical" if critical else target


def _steady(stored: str | None) -> str:
    return (stored or "")[:HASH_LENGTH]


def _full(stored: str | None) -> str:
    return (stored or "")[HASH_LENGTH:]


def _metadata(job: Job, recipient: str) -> dict[str, Any]:
    return {
        "event_type": METADATA_EVENT,
        "event_payload": {"outbox_id": job.id, "recipient": recipient},
    }


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, list):
        return [str(v) for v in value if v]
    return []


def _instant(value: Any) -> datetime | None:
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            return datetime.fromisoformat(value)
    return None
