"""The handover scheduler: one APScheduler job per team for its next change of pager holder, one
for the next reminder, and one for the weekly digest, each sent once.

Jobs live in memory and are re-planned from the schedule whenever the plan changes (and every
few minutes, for changes made by another replica); what has been sent lives in the database.
Every send is claimed first under (team, kind, instant), so a restart or a second replica never
sends one twice. At startup, a hand-off missed while the bot was down is posted late (saying so)
if it is less than an hour old; older ones are logged and skipped. One from before the bot's first
start on the database was not missed: nothing is posted for it.

A send is worth making until an hour after it was due (LATE_LIMIT): each waits out Slack's
Retry-After up to then, minutes if need be, and the sends run side by side, so that one channel
held back by Slack holds up no other team's hand-off.

A claim is held under a lease (LEASE) that this process renews while the send is under way,
waiting out a Retry-After included; a send cut short by a stop ends its lease at once. A claim
left with no outcome once its lease has run out (its sender stopped, or died, while sending) is
taken again by one process, at the next start or by a replica at its next planning round, while
it is still worth making: the send first looks for the post its sender may have made (its
metadata names the claim), and posts only when it is not there. A sender that finds its claim is
no longer its own (taken again or settled by another process, or its lease run out while the
database could not renew it) makes no Slack call after that, and records no outcome: the claim's
new taker posts and records its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlmodel import Session

from bot.handovers import digest
from bot.i18n import speaking
from bot.plan.model import Team
from bot.runtime.rounds import run_rounds
from bot.schedule import engine as schedule
from bot.slack.blocks import Message
from bot.slack.blocks.handover import (
    CarriedAlert,
    DigestSummary,
    HandoverSummary,
    ReminderSummary,
    digest_message,
    handover_message,
    reminder_message,
)
from bot.slack.gateway import PATIENT, Policy, SlackCallError, gateway
from bot.slack.history import look_for_post
from bot.slack.language import person_language, team_language
from bot.slack.usergroups import UsergroupRefusals, refusal_fix
from bot.slack.users import directory
from storage import alert_stats, claims
from storage.db import is_sqlite, session_scope
from storage.models import Claim

if TYPE_CHECKING:
    from bot.app.services import Services

logger = logging.getLogger(__name__)

T = TypeVar("T")
S = TypeVar("S", HandoverSummary, ReminderSummary)


HANDOVER = "handover"
REMINDER = "reminder"  # claimed as "reminder:<user>": a shift handed to someone else gets its own
DIGEST = "digest"
EVERY_TEAM = "*"  # the digest's claim covers every team

# A send missed while the bot was down goes out late up to this age, and is skipped after it; a
# send Slack holds back (Retry-After) waits up to this long after it was due, and fails after it.
LATE_LIMIT = timedelta(hours=1)
# How far back the startup looks for missed sends (to post them late or log them as skipped).
CATCH_UP_LOOKBACK = timedelta(days=1)
# With no change within the schedule's horizon, look again after this long.
RECHECK_AFTER = timedelta(days=7)
# Overrides stored by another replica (or by hand in the database) never reach this process's
# plan_changed hooks: every team is planned again this often, so the jobs follow them anyway.
RESYNC_EVERY = timedelta(minutes=5)
RESYNC_JOB = f"resync:{EVERY_TEAM}"
# The last shift's report starts here when the schedule cannot tell when it began.
REPORT_FALLBACK = timedelta(days=7)
# A reminder sent later than this after its time says so.
REMINDER_ON_TIME = timedelta(minutes=1)
# A hand-off is the instant itself: the holder just before it is read this much earlier.
_JUST_BEFORE = timedelta(microseconds=1)

# A card's link is worth one try of 3 s: the alert's own link serves otherwise.
PERMALINK = Policy(attempts=1, timeout=3.0)
# What the planner's posts carry in their metadata (with their claim's id): by it a post whose
# answer was lost is found rather than posted twice.
METADATA_EVENT = "watchkeeper_handover"
# What became of one digest DM, besides claims.FAILED.
_POSTED = "posted"
_FOUND = "found"  # posted already, by a sender cut short
_LOST = "lost"  # not sent: the claim is no longer this process's
# How long stopping waits for sends under way (cut short after it, their claims released).
STOP_GRACE_S = 10.0
# A send's claim is held this long, and renewed every RENEW_EVERY while the send is under way: a
# sender that dies leaves it to be taken again soon after.
LEASE = timedelta(seconds=60)
RENEW_EVERY = LEASE / 3
# How often (seconds) the renewing looks whether RENEW_EVERY has passed on the clock.
RENEW_LOOK_S = 1.0


@dataclass(frozen=True)
class _Hold:
    """A claim this process holds: its id, the take it holds it by, until when its lease was
    taken, and (taken again after its sender stopped halfway) since when that sender may have
    posted it."""

    claim_id: int
    takes: int
    leased_until: datetime
    retaken_since: datetime | None = None


@dataclass
class _Lease:
    """The lease of a send under way: until when it is known to run, and why the claim is no
    longer this process's once it is not (None while it is)."""

    takes: int
    until: datetime
    lost: str | None = None


class ClaimLost(Exception):
    """A send's claim is no longer this process's: the send makes no Slack call after it."""

    def __init__(self, claim_id: int, reason: str) -> None:
        super().__init__(f"claim {claim_id}: {reason}")
        self.claim_id = claim_id
        self.reason = reason


@dataclass(frozen=True)
class _Prepared(Generic[S]):
    """A claimed hand-off or reminder with its data loaded, before the links are resolved."""

    hold: _Hold
    summary: S
    cards: dict[int, tuple[str, str]]
    due: datetime


def _aware(value: datetime) -> datetime:
    return value.astimezone(UTC)


def _still_open(
    session: Session, team_id: str, at: datetime
) -> tuple[tuple[CarriedAlert, ...], dict[int, tuple[str, str]]]:
    """The team's alerts open at ``at``, as a post carries them over, with their cards in the
    team channel (channel and ts) by alert id."""
    still_open = alert_stats.open_alerts(session=session, team=team_id, at=at)
    cards = alert_stats.card_messages(session=session, alert_ids=[a.id for a in still_open])
    return tuple(CarriedAlert(a, a.link) for a in still_open), cards


def _by_kind(unfinished: Sequence[Claim]) -> tuple[dict[str, list[Claim]], list[Claim]]:
    """Sends left unfinished: the hand-offs by team (in their order), and the reminders and
    digests."""
    handoffs: dict[str, list[Claim]] = {}
    others = []
    for left in unfinished:
        if left.kind == HANDOVER:
            handoffs.setdefault(left.team, []).append(left)
        else:
            others.append(left)
    return handoffs, others


def reminder_kind(user: str) -> str:
    """The claim kind of a reminder to ``user``."""
    return f"{REMINDER}:{user}"


def _failure(error: Exception, policy: Policy) -> dict[str, str]:
    """What the log says of a send that failed: the error, and why it was not waited for when
    Slack's Retry-After ran past the send's late limit."""
    said = {"error": str(error)}
    held = error.until if isinstance(error, SlackCallError) else None
    limit = policy.wait_until
    if held is not None and limit is not None and held > limit:
        said |= {
            "reason": "Slack asked to wait past the late limit: not sent",
            "retry_after_until": held.isoformat(),
            "late_limit": limit.isoformat(),
        }
    return said


class HandoverPlanner:
    """Plans and runs the hand-off, reminder and digest jobs of every team."""

    def __init__(
        self,
        services: Services,
        *,
        scheduler: AsyncIOScheduler | None = None,
        slack_backoff: float = PATIENT.backoff,
        resync_every: timedelta = RESYNC_EVERY,
        stop_grace: float = STOP_GRACE_S,
    ) -> None:
        self.services = services
        self.resync_every = resync_every
        self.stop_grace = stop_grace
        self.scheduler = scheduler or AsyncIOScheduler(
            timezone=UTC,
            job_defaults={
                "misfire_grace_time": int(LATE_LIMIT.total_seconds()),
                "coalesce": True,
                "max_instances": 1,
            },
        )
        self.slack = gateway(services)
        self.policy = replace(PATIENT, backoff=slack_backoff)
        self.started_at: datetime | None = None
        self.catch_up_task: asyncio.Task[None] | None = None
        self.retake_task: asyncio.Task[None] | None = None
        self._leases_task: asyncio.Task[None] | None = None
        # The leases of the sends under way, by claim id.
        self._held: dict[int, _Lease] = {}
        self._renewed_at: datetime | None = None
        # What is planned, by job id: the instant each job is about (for logs and tests).
        self.planned: dict[str, datetime] = {}
        self._lock = asyncio.Lock()
        self._running: set[asyncio.Task[Any]] = set()
        self.usergroup_refusals = UsergroupRefusals()

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Start the scheduler, plan every team, and catch up on what was missed (in the
        background, so that a slow Slack does not hold up the app's start)."""
        self.started_at = self._renewed_at = self.services.clock.now()
        if not self.scheduler.running:
            self.scheduler.start()
        self.scheduler.add_job(
            self._resync,
            trigger=IntervalTrigger(seconds=self.resync_every.total_seconds(), timezone=UTC),
            id=RESYNC_JOB,
            name=RESYNC_JOB,
            replace_existing=True,
        )
        if self._leases_task is None or self._leases_task.done():
            self._leases_task = asyncio.create_task(
                run_rounds(
                    self._renew,
                    interval=RENEW_LOOK_S,
                    failed="renewing the leases of sends under way failed",
                    log=logger,
                ),
                name="handover-leases",
            )
        await self.replan(None)
        self.catch_up_task = asyncio.create_task(self.catch_up(), name="handover-catch-up")

    async def stop(self) -> None:
        """Stop the scheduler once the sends under way are over, or cut them short after
        ``stop_grace`` seconds (their claims released, to be taken again at the next start);
        jobs not yet run are planned again at the next start."""
        if self.scheduler.running:
            self.scheduler.pause()
        busy = {t for t in self._running if not t.done()}
        for task in (self.catch_up_task, self.retake_task):
            if task is not None and not task.done():
                busy.add(task)
        if busy:
            _, late = await asyncio.wait(busy, timeout=self.stop_grace)
            for task in late:
                task.cancel()
            for task in late:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        if self._leases_task is not None:
            self._leases_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._leases_task
            self._leases_task = None
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
            # AsyncIOScheduler shuts down from the event loop: let it run that call.
            await asyncio.sleep(0)

    # ------------------------------------------------------------------ planning

    async def replan(self, team: str | None = None, *, after: datetime | None = None) -> None:
        """Plan again the jobs of ``team`` (None: every team, and the digest) from the schedule
        as it stands; teams no longer in the plan lose their jobs."""
        if not self.scheduler.running:
            return
        async with self._lock:
            plan = self.services.plans.current
            now = self.services.clock.now()
            start = max(now, after) if after is not None else now
            for job_id in list(self.planned):
                owner = job_id.split(":", 1)[1] if ":" in job_id else None
                if owner is not None and owner != EVERY_TEAM and owner not in plan.teams:
                    self._remove(job_id)
            teams = list(plan.teams) if team is None else [team] if team in plan.teams else []
            for team_id in teams:
                try:
                    await self._plan_team(plan.teams[team_id], start, now)
                except Exception:  # one team's trouble must not leave the others unplanned
                    logger.exception("planning the hand-off failed", extra={"team": team_id})
            if team is None:
                self._plan_digest(now)

    async def _plan_team(self, team: Team, after: datetime, now: datetime) -> None:
        change = await self.services.in_database(self._next_change, team.id, after)
        job_id = f"{HANDOVER}:{team.id}"
        if change is None:
            # Nothing changes within the horizon: look again later.
            self._add(job_id, after + RECHECK_AFTER, self._recheck, team.id)
            logger.info("no hand-off within the horizon", extra={"team": team.id})
        else:
            self._add(job_id, change, self._handover_job, team.id, change)
            logger.info("hand-off planned", extra={"team": team.id, "at": change.isoformat()})
        await self._plan_reminder(team, after, now)

    async def _plan_reminder(self, team: Team, after: datetime, now: datetime) -> None:
        job_id = f"{REMINDER}:{team.id}"
        if team.reminder is None:
            self._remove(job_id)
            return
        found = await self.services.in_database(self._next_reminder, team, after)
        if found is None or found.user is None:
            self._remove(job_id)
            return
        shift = found
        # A shift set up after its reminder time (a late swap) is reminded of at once.
        run_at = max(shift.start - team.reminder, now)
        self._add(job_id, run_at, self._reminder_job, team.id, found.user, shift.start)

    def _plan_digest(self, now: datetime) -> None:
        plan = self.services.plans.current
        job_id = f"{DIGEST}:{EVERY_TEAM}"
        if not plan.leadership:
            self._remove(job_id)
            return
        zone = digest.digest_zone(plan.digest, plan.timezone)
        at = digest.next_digest(plan.digest, zone, now)
        self._add(job_id, at, self._digest_job, at)

    def _add(
        self, job_id: str, at: datetime, func: Callable[..., Awaitable[None]], *args: Any
    ) -> None:
        self.scheduler.add_job(
            func,
            trigger=DateTrigger(run_date=at, timezone=UTC),
            args=list(args),
            id=job_id,
            name=job_id,
            replace_existing=True,
        )
        self.planned[job_id] = at

    def _remove(self, job_id: str) -> None:
        self.planned.pop(job_id, None)
        with contextlib.suppress(Exception):
            self.scheduler.remove_job(job_id)

    def _overrides(self, team_id: str, start: datetime, end: datetime) -> list[schedule.Override]:
        return self.services.roster.overrides(team_id, start, end)

    def _next_change(self, team_id: str, after: datetime) -> datetime | None:
        """The team's next change of pager holder after ``after`` (blocking)."""
        team = self.services.roster.team(team_id)
        overrides = self._overrides(team_id, after, after + schedule.HORIZON)
        return schedule.next_change(team, overrides, after)

    def _next_reminder(self, team: Team, after: datetime) -> schedule.Shift | None:
        """The next shift after ``after`` whose reminder is not claimed yet (blocking)."""
        cursor = after
        overrides = self._overrides(team.id, after, after + schedule.HORIZON)
        # A few steps at most: each step passes a shift already reminded of.
        for _ in range(8):
            shift = schedule.next_shift(team, overrides, cursor)
            if shift is None or shift.user is None:
                return None
            with Session(self.services.engine) as session:
                taken = claims.get_claim(
                    session=session,
                    team=team.id,
                    kind=reminder_kind(shift.user),
                    instant=shift.start,
                )
            if taken is None:
                return shift
            cursor = shift.start
        return None

    async def _recheck(self, team_id: str) -> None:
        await self.replan(team_id)

    async def _resync(self) -> None:
        """Plan every team again, and take again in the background what senders left
        unfinished (a replica that died while sending)."""
        await self.replan(None)
        if self.scheduler.running and (self.retake_task is None or self.retake_task.done()):
            self.retake_task = asyncio.create_task(self.retake_unfinished(), name="handover-retake")

    # ------------------------------------------------------------------ jobs

    def _track(self) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._running.add(task)
            task.add_done_callback(self._running.discard)

    async def _handover_job(self, team_id: str, instant: datetime) -> None:
        self._track()
        try:
            await self.run_handover(team_id, instant)
        finally:
            await self.replan(team_id, after=instant)

    async def _reminder_job(self, team_id: str, user: str, start: datetime) -> None:
        self._track()
        try:
            await self.run_reminder(team_id, user, start)
        finally:
            team = self.services.plans.current.teams.get(team_id)
            if team is not None and self.scheduler.running:
                async with self._lock:
                    now = self.services.clock.now()
                    await self._plan_reminder(team, max(now, start), now)

    async def _digest_job(self, instant: datetime) -> None:
        self._track()
        try:
            await self.run_digest(instant)
        finally:
            if self.scheduler.running:
                async with self._lock:
                    self._plan_digest(max(self.services.clock.now(), instant))

    # ------------------------------------------------------------------ hand-offs

    async def run_handover(self, team_id: str, instant: datetime, *, late: bool = False) -> str:
        """Post the team's hand-off at ``instant`` unless it was claimed already; returns what
        happened: sent, late, skipped, failed, taken (someone else has it) or stale (the plan
        no longer changes hands then)."""
        instant = _aware(instant)
        now = self.services.clock.now()
        loaded = await self._load(
            "hand-off", {"team": team_id}, self._prepare_handover, team_id, instant, now, late
        )
        if isinstance(loaded, str):
            return loaded
        return await self._holding(loaded.hold, self._send_handover(loaded))

    async def _send_handover(self, loaded: _Prepared[HandoverSummary]) -> str:
        """Post the claimed hand-off and follow it with the user group; what happened."""
        summary = await self._linked(loaded)
        team, instant = summary.team, summary.instant
        policy = self._for_send(loaded.hold, loaded.due)
        outcome = claims.LATE if summary.late else claims.SENT
        try:
            with speaking(team_language(team)):
                content = handover_message(summary)
            if await self._post(team.channel, content, hold=loaded.hold, policy=policy):
                outcome = claims.SENT
        except ClaimLost:
            raise
        except Exception as error:
            outcome = claims.FAILED
            logger.error(
                "handover post failed",
                extra={"team": team.id, "at": instant.isoformat()} | _failure(error, policy),
            )
        await self._update_usergroup(team, summary.incoming, policy)
        log = {"team": team.id, "at": instant.isoformat()}
        people = {"outgoing": summary.outgoing or "-", "incoming": summary.incoming or "-"}
        return await self._done("handover", loaded.hold, outcome, log | people)

    def _prepare_handover(
        self, team_id: str, instant: datetime, now: datetime, late: bool
    ) -> _Prepared[HandoverSummary] | str:
        """Check the hand-off still stands, claim it, and load what the post says (blocking)."""
        roster = self.services.roster
        team = roster.plan.teams.get(team_id)
        if team is None:
            return "stale"
        before = roster.status(team_id, instant - _JUST_BEFORE)
        after = roster.status(team_id, instant)
        if before.oncall.user == after.oncall.user:
            logger.info(
                "hand-off no longer in the schedule",
                extra={"team": team_id, "at": instant.isoformat()},
            )
            return "stale"
        hold = self._claim(
            "handover",
            team=team_id,
            kind=HANDOVER,
            instant=instant,
            due=instant,
            now=now,
            log={"team": team_id, "at": instant.isoformat()},
        )
        if isinstance(hold, str):
            return hold
        since = before.oncall.since or instant - REPORT_FALLBACK
        with Session(self.services.engine) as session:
            seen = alert_stats.activity(session=session, team=team_id, start=since, end=instant)
            carried, cards = _still_open(session, team_id, max(now, instant))
        summary = HandoverSummary(
            team=team,
            instant=instant,
            outgoing=before.oncall.user,
            outgoing_since=since,
            incoming=after.oncall.user,
            incoming_until=after.oncall.until,
            next=after.next,
            carried=carried,
            last_shift=digest.shift_report(seen),
            late=late,
        )
        return _Prepared(hold, summary, cards, due=instant)

    async def _done(self, what: str, hold: _Hold, outcome: str, log: dict[str, str]) -> str:
        """Record on its claim how the send of ``what`` ended, and say so; that outcome, or
        "taken" when the claim is no longer this process's (its new taker records its own)."""
        # No longer renewed: what is recorded ends the lease, or is refused if the claim was lost.
        lease = self._held.pop(hold.claim_id, None)
        lost = lease is not None and lease.lost is not None
        if lost or not await self.services.in_database(self._finish, hold, outcome):
            logger.warning(
                f"{what} not recorded: its claim is no longer this process's",
                extra=log | {"claim": hold.claim_id, "outcome": outcome},
            )
            return "taken"
        logger.info(f"{what} done", extra=log | {"outcome": outcome})
        return outcome

    def _finish(self, hold: _Hold, outcome: str) -> bool:
        with session_scope(self.services.engine) as session:
            return claims.finish(
                session=session,
                claim_id=hold.claim_id,
                takes=hold.takes,
                outcome=outcome,
                now=self.services.clock.now(),
            )

    async def catch_up(self) -> None:
        """Send what was missed while the bot was down: hand-offs and the digest less than an
        hour old go out late, saying so; older ones are logged and skipped. What came before
        the bot's first start on this database was not missed, and is left alone. What senders
        left unfinished is taken again (as ``retake_unfinished``); on SQLite, where this is the
        only process, even what a lease still holds."""
        now = self.services.clock.now()
        started = self.started_at or now
        try:
            watching_since = await self.services.in_database(self._first_start, now)
        except Exception:
            logger.exception("reading the bot's first start failed: no catching up")
            return
        try:
            if is_sqlite(self.services.engine):
                # One process: what a running lease holds, a process now dead left unfinished.
                await self.services.in_database(self._release_leases, now)
            unfinished = await self.services.in_database(self._unfinished, now)
        except Exception:  # what was missed is caught up all the same
            logger.exception("looking for sends left unfinished failed")
            unfinished = []
        handoffs, others = _by_kind(unfinished)
        # Side by side: a team whose channel Slack holds back holds up no other.
        sends: list[Awaitable[object]] = [
            self._catch_up_team(team_id, now, started, watching_since, handoffs.get(team_id, []))
            for team_id in self.services.plans.current.teams
        ]
        sends += [self._retake(left) for left in others]
        plan = self.services.plans.current
        if plan.leadership:
            zone = digest.digest_zone(plan.digest, plan.timezone)
            last = digest.next_digest(plan.digest, zone, now - timedelta(days=7))
            # A digest left unfinished is taken again above, not run a second time here.
            retaken = {left.instant for left in others if left.kind == DIGEST}
            missed = watching_since < last <= now and now - last <= CATCH_UP_LOOKBACK
            if missed and last not in retaken:
                sends.append(self.run_digest(last, late=last < started))
        await asyncio.gather(*sends)

    async def _catch_up_team(
        self,
        team_id: str,
        now: datetime,
        started: datetime,
        watching_since: datetime,
        unfinished: Sequence[Claim],
    ) -> None:
        """Post the team's missed hand-offs and those left unfinished, in their order."""
        try:
            missed = await self.services.in_database(
                self._missed_handovers, team_id, now, watching_since
            )
        except Exception:
            logger.exception("looking for missed hand-offs failed", extra={"team": team_id})
            return
        left = {claim.instant: claim for claim in unfinished}
        for instant in sorted({*missed, *left}):
            outcome = await self.run_handover(team_id, instant, late=instant < started)
            if instant in left:
                await self._settled(left[instant], outcome)

    async def retake_unfinished(self) -> None:
        """Send again what senders left unfinished (stopped or died while sending, their leases
        run out), if still worth sending: each send looks for its post first. A team's
        hand-offs go in their order, side by side with other teams' and with the DMs."""
        try:
            unfinished = await self.services.in_database(
                self._unfinished, self.services.clock.now()
            )
        except Exception:
            logger.exception("looking for sends left unfinished failed")
            return
        handoffs, others = _by_kind(unfinished)
        await asyncio.gather(
            *(self._retake_handovers(team_handoffs) for team_handoffs in handoffs.values()),
            *(self._retake(left) for left in others),
        )

    async def _retake_handovers(self, unfinished: Sequence[Claim]) -> None:
        for left in unfinished:
            await self._settled(left, await self.run_handover(left.team, left.instant, late=True))

    async def _retake(self, left: Claim) -> None:
        """Send again a reminder or the digest its sender left unfinished."""
        if left.kind == DIGEST:
            outcome = await self.run_digest(left.instant, late=True)
        else:
            user = left.kind.removeprefix(f"{REMINDER}:")
            outcome = await self.run_reminder(left.team, user, left.instant)
        await self._settled(left, outcome)

    async def _settled(self, left: Claim, outcome: str) -> None:
        """A send left unfinished that is no longer to be made ("stale": the plan changed, or a
        reminder's shift began) is recorded skipped, so that nobody looks at it again."""
        if outcome != "stale" or left.id is None:
            return
        try:
            await self.services.in_database(self._skip_unfinished, left.id)
        except Exception:
            logger.exception("recording a stale send skipped failed", extra={"claim": left.id})

    def _skip_unfinished(self, claim_id: int) -> None:
        with session_scope(self.services.engine) as session:
            now = self.services.clock.now()
            skipped = claims.retake(
                session=session,
                claim_id=claim_id,
                now=now,
                locked_until=None,
                outcome=claims.SKIPPED,
            )
        if skipped is not None:
            logger.info(
                "send left unfinished no longer in the schedule: skipped", extra={"claim": claim_id}
            )

    def _release_leases(self, now: datetime) -> None:
        with session_scope(self.services.engine) as session:
            released = claims.release_leases(session=session, now=now)
        if released:
            logger.info(
                "sends a stopped process left under way taken again", extra={"count": released}
            )

    def _unfinished(self, now: datetime) -> list[Claim]:
        """The sends of the look-back that senders left unfinished, their leases run out."""
        with Session(self.services.engine) as session:
            return claims.unfinished(session=session, now=now, since=now - CATCH_UP_LOOKBACK)

    def _first_start(self, now: datetime) -> datetime:
        with session_scope(self.services.engine) as session:
            return claims.first_start(session=session, now=now)

    def _missed_handovers(
        self, team_id: str, now: datetime, watching_since: datetime
    ) -> list[datetime]:
        """The team's hand-offs after ``watching_since``, in the look-back up to ``now``, that
        nobody claimed (blocking)."""
        start = min(max(now - CATCH_UP_LOOKBACK, watching_since), now)
        # Up to and including ``now``: a hand-off at this very instant is one the jobs,
        # planned for what comes after now, would not post.
        pieces = self.services.roster.shifts(team_id, start, now + _JUST_BEFORE)
        changes = [piece.start for piece in pieces[1:]]
        if not changes:
            return []
        with Session(self.services.engine) as session:
            done = claims.claimed_instants(
                session=session, team=team_id, kind=HANDOVER, start=start, end=now + _JUST_BEFORE
            )
        return [at for at in changes if at not in done]

    # ------------------------------------------------------------------ reminders

    async def run_reminder(self, team_id: str, user: str, start: datetime) -> str:
        """DM ``user`` that their shift starting at ``start`` is near, unless already done;
        returns what happened (as run_handover)."""
        start = _aware(start)
        now = self.services.clock.now()
        loaded = await self._load(
            "reminder", {"team": team_id}, self._prepare_reminder, team_id, user, start, now
        )
        if isinstance(loaded, str):
            return loaded
        return await self._holding(loaded.hold, self._send_reminder(loaded))

    async def _send_reminder(self, loaded: _Prepared[ReminderSummary]) -> str:
        """DM the claimed reminder; what happened."""
        summary = await self._linked(loaded)
        team_id, user, start = summary.team.id, summary.user, summary.start
        policy = self._for_send(loaded.hold, loaded.due)
        summary = replace(summary, viewer=await directory(self.services).tz(user))
        outcome = claims.LATE if summary.late_from is not None else claims.SENT
        try:
            channel = await self._dm_channel(user, policy)
            with speaking(await person_language(self.services, user, summary.team)):
                content = reminder_message(summary)
            if await self._post(channel, content, hold=loaded.hold, policy=policy):
                outcome = claims.SENT
        except ClaimLost:
            raise
        except Exception as error:
            outcome = claims.FAILED
            logger.error(
                "reminder failed", extra={"team": team_id, "user": user} | _failure(error, policy)
            )
        log = {"team": team_id, "user": user, "at": start.isoformat()}
        return await self._done("reminder", loaded.hold, outcome, log)

    def _prepare_reminder(
        self, team_id: str, user: str, start: datetime, now: datetime
    ) -> _Prepared[ReminderSummary] | str:
        roster = self.services.roster
        team = roster.plan.teams.get(team_id)
        if team is None or team.reminder is None or start <= now:
            return "stale"
        holding = roster.status(team_id, start).oncall
        before = roster.status(team_id, start - _JUST_BEFORE).oncall
        if holding.user != user or before.user == user:
            return "stale"
        due = start - team.reminder
        hold = self._claim(
            "reminder",
            team=team_id,
            kind=reminder_kind(user),
            instant=start,
            due=due,
            now=now,
            log={"team": team_id, "user": user, "at": start.isoformat()},
        )
        if isinstance(hold, str):
            return hold
        with Session(self.services.engine) as session:
            carried, cards = _still_open(session, team_id, now)
        summary = ReminderSummary(
            team=team,
            user=user,
            start=start,
            end=holding.until,
            now=now,
            outgoing=before.user,
            carried=carried,
            viewer=None,
            late_from=due if now - due > REMINDER_ON_TIME else None,
        )
        return _Prepared(hold, summary, cards, due=due)

    # ------------------------------------------------------------------ the digest

    async def run_digest(self, instant: datetime, *, late: bool = False) -> str:
        """DM every leadership member the week that ends at ``instant``, once; returns what
        happened (as run_handover)."""
        instant = _aware(instant)
        now = self.services.clock.now()
        loaded = await self._load("digest", None, self._prepare_digest, instant, now, late)
        if isinstance(loaded, str):
            return loaded
        hold, summary, leadership = loaded
        return await self._holding(hold, self._send_digest(hold, summary, leadership))

    async def _send_digest(
        self, hold: _Hold, summary: DigestSummary, leadership: Sequence[str]
    ) -> str:
        """DM every leadership member the claimed digest; what happened."""
        policy = self._for_send(hold, summary.end)
        outcome = claims.LATE if summary.late else claims.SENT
        # Side by side: a DM Slack holds back holds up no other.
        dms = await asyncio.gather(
            *(self._digest_dm(user, summary, hold, policy) for user in leadership)
        )
        if all(dm == _FOUND for dm in dms):
            outcome = claims.SENT
        elif all(dm == claims.FAILED for dm in dms):
            outcome = claims.FAILED
        return await self._done("digest", hold, outcome, {"at": summary.end.isoformat()})

    async def _digest_dm(
        self, user: str, summary: DigestSummary, hold: _Hold, policy: Policy
    ) -> str:
        """DM ``user`` the digest: _POSTED, _FOUND (its sender cut short had sent it),
        claims.FAILED, or _LOST (the claim no longer this process's: not sent)."""
        try:
            with speaking(await person_language(self.services, user)):
                content = digest_message(summary)
            channel = await self._dm_channel(user, policy)
            found = await self._post(channel, content, hold=hold, policy=policy)
        except ClaimLost:
            return _LOST
        except Exception as error:
            logger.error("digest DM failed", extra={"user": user} | _failure(error, policy))
            return claims.FAILED
        return _FOUND if found else _POSTED

    def _prepare_digest(
        self, instant: datetime, now: datetime, late: bool
    ) -> tuple[_Hold, DigestSummary, Sequence[str]] | str:
        plan = self.services.plans.current
        if not plan.leadership:
            return "stale"
        hold = self._claim(
            "digest",
            team=EVERY_TEAM,
            kind=DIGEST,
            instant=instant,
            due=instant,
            now=now,
            log={"at": instant.isoformat()},
        )
        if isinstance(hold, str):
            return hold
        zone = digest.digest_zone(plan.digest, plan.timezone)
        start = digest.week_before(instant, zone)
        weeks = []
        with Session(self.services.engine) as session:
            for team in plan.teams.values():
                seen = alert_stats.activity(session=session, team=team.id, start=start, end=instant)
                weeks.append(digest.team_week(team.id, team.name, seen))
        summary = DigestSummary(start=start, end=instant, zone=zone, teams=tuple(weeks), late=late)
        return hold, summary, plan.leadership

    async def _load(
        self, what: str, log: dict[str, str] | None, prepare: Callable[..., T], *args: Any
    ) -> T | str:
        """``prepare(*args)`` on the database threads; claims.FAILED (logged) when it fails."""
        try:
            return await self.services.in_database(prepare, *args)
        except Exception:
            logger.exception(f"loading the {what} failed", extra=log)
            return claims.FAILED

    async def _linked(self, loaded: _Prepared[S]) -> S:
        """The summary of a claimed hand-off or reminder, its open alerts linked to their cards."""
        carried = await self._with_card_links(loaded.summary.carried, loaded.cards)
        return replace(loaded.summary, carried=carried)

    async def _holding(self, hold: _Hold, send: Awaitable[str]) -> str:
        """What ``send`` made of the claim held by ``hold``, its lease renewed meanwhile; "taken"
        when the claim stopped being this process's before the send was over. A send cut short
        (the planner stopping) ends its lease at once: the next start takes it again."""
        self._held[hold.claim_id] = _Lease(hold.takes, hold.leased_until)
        try:
            return await send
        except ClaimLost:
            return "taken"
        except asyncio.CancelledError:
            try:
                await self.services.in_database(self._release, hold)
            except Exception:
                logger.exception(
                    "releasing a send cut short failed: taken again once its lease runs out",
                    extra={"claim": hold.claim_id},
                )
            raise
        finally:
            self._held.pop(hold.claim_id, None)

    def _release(self, hold: _Hold) -> None:
        with session_scope(self.services.engine) as session:
            claims.release(
                session=session,
                claim_id=hold.claim_id,
                takes=hold.takes,
                now=self.services.clock.now(),
            )

    async def _renew(self) -> None:
        """Renew the leases of the sends under way when RENEW_EVERY has passed on the clock;
        those that are not renewed are lost, and so are those whose lease runs out while the
        database cannot be reached."""
        now = self.services.clock.now()
        if self._renewed_at is not None and now - self._renewed_at < RENEW_EVERY:
            return
        self._renewed_at = now
        held = {claim_id: lease.takes for claim_id, lease in self._held.items() if not lease.lost}
        if held:
            await self._renew_held(held, now)

    async def _renew_held(self, held: dict[int, int], now: datetime) -> None:
        """Renew the leases of ``held`` (claim id -> take) from ``now`` on."""
        until = now + LEASE
        try:
            renewed = await self.services.in_database(self._renew_leases, held, until)
        except Exception:
            for claim_id in held:
                lease = self._held.get(claim_id)
                if lease is not None and now >= lease.until:
                    self._lose(
                        claim_id, lease, "its lease ran out while the database could not renew it"
                    )
            raise
        for claim_id in held:
            lease = self._held.get(claim_id)
            if lease is None:
                continue  # done meanwhile
            if claim_id in renewed:
                lease.until = max(lease.until, until)
            else:
                self._lose(claim_id, lease, "taken again or settled by another process")

    def _lose(self, claim_id: int, lease: _Lease, reason: str) -> None:
        if lease.lost is None:
            lease.lost = reason
            logger.warning(
                "send stopped: its claim is no longer this process's, nothing more is sent",
                extra={"claim": claim_id, "reason": reason},
            )

    async def _still_held(self, claim_id: int) -> None:
        """Raise ClaimLost when the send's claim is no longer this process's. A lease with less
        than RENEW_EVERY left (not renewed in time: the event loop stalled, the database away)
        is renewed first, so that a post has time to land before another process may take it."""
        lease = self._held.get(claim_id)
        if lease is None:
            return
        now = self.services.clock.now()
        if lease.lost is None and lease.until - now < RENEW_EVERY:
            # With the database out of reach, the lease as last renewed says (lost once run out).
            with contextlib.suppress(Exception):
                await self._renew_held({claim_id: lease.takes}, now)
        if lease.lost is not None:
            raise ClaimLost(claim_id, lease.lost)

    def _renew_leases(self, held: dict[int, int], until: datetime) -> set[int]:
        with session_scope(self.services.engine) as session:
            return claims.renew(session=session, held=held, until=until)

    def _claim(
        self,
        what: str,
        *,
        team: str,
        kind: str,
        instant: datetime,
        due: datetime,
        now: datetime,
        log: dict[str, str],
    ) -> _Hold | str:
        """Claim the send of ``what``, due at ``due`` (blocking), under a lease, or take it again
        if its sender left it unfinished and its lease ran out: the hold, else why not: "taken"
        (someone else has it) or skipped (more than an hour late, recorded so that nobody sends
        it)."""
        settled = claims.SKIPPED if now - due > LATE_LIMIT else None
        with session_scope(self.services.engine) as session:
            row = claims.claim(
                session=session,
                team=team,
                kind=kind,
                instant=instant,
                now=now,
                outcome=settled,
                locked_until=now + LEASE,
            )
            hold = None
            if row is not None and row.id is not None:
                retaken_since = row.claimed_at if row.takes > 1 else None
                hold = _Hold(row.id, row.takes, now + LEASE, retaken_since)
        if hold is None:
            return "taken"
        retaken = hold.retaken_since is not None
        why = (
            "left unfinished by a sender that stopped"
            if retaken
            else "missed while the bot was down"
        )
        if settled is not None:
            logger.warning(f"{what} {why}, skipped: more than an hour old", extra=log)
            return settled
        if retaken:
            logger.info(f"{what} {why}: taken again", extra=log)
        return hold

    # ------------------------------------------------------------------ Slack

    async def _with_card_links(
        self, carried: Sequence[CarriedAlert], cards: dict[int, tuple[str, str]]
    ) -> tuple[CarriedAlert, ...]:
        """The open alerts linked to their cards in the team channel where Slack gives a
        permalink; the alert's own link otherwise."""
        linked = []
        for item in carried:
            card = cards.get(item.alert.id)
            link = item.link
            if card is not None:
                try:
                    answer = await self.slack.call(
                        "chat.getPermalink", policy=PERMALINK, channel=card[0], message_ts=card[1]
                    )
                    link = str(answer["permalink"]) or link
                except (SlackCallError, KeyError, TypeError):
                    pass  # the alert's own link serves
            linked.append(CarriedAlert(item.alert, link))
        return tuple(linked)

    def _for_send(self, hold: _Hold, due: datetime) -> Policy:
        """How the calls of a send due at ``due`` may wait: Slack's Retry-After waited out up to
        the send's late limit, each try made only while ``hold``'s claim is this process's."""
        return replace(
            self.policy,
            wait_until=due + LATE_LIMIT,
            before_try=functools.partial(self._still_held, hold.claim_id),
        )

    async def _dm_channel(self, user: str, policy: Policy) -> str:
        return await directory(self.services).dm_channel(user, policy=policy)

    async def _post(self, channel: str, message: Message, *, hold: _Hold, policy: Policy) -> bool:
        """Post ``message`` once; whether it was found posted already, by a sender cut short.

        A post whose answer was lost (a timeout, a dropped connection, Slack's 5xx) may have
        gone through: it is looked for in the conversation, by the claim its metadata names,
        before it is posted again; at most the policy's tries in all. A claim taken again is
        looked for so before the first try: its sender may have posted it."""
        payload = {"claim": hold.claim_id}
        call = functools.partial(self.slack.call, policy=policy)
        if hold.retaken_since is not None:
            earlier = look_for_post(
                call,
                channel,
                since=hold.retaken_since,
                event_type=METADATA_EVENT,
                payload=payload,
            )
            if await earlier() is not None:
                logger.info(
                    "the post of a send taken again is there already: not posting it again",
                    extra={"channel": channel, "claim": hold.claim_id},
                )
                return True
        await self.slack.call(
            "chat.postMessage",
            policy=policy,
            found=look_for_post(
                call,
                channel,
                since=self.services.clock.now(),
                event_type=METADATA_EVENT,
                payload=payload,
            ),
            channel=channel,
            text=message["text"],
            blocks=message["blocks"],
            metadata={"event_type": METADATA_EVENT, "event_payload": payload},
        )
        return False

    async def _update_usergroup(self, team: Team, holder: str | None, policy: Policy) -> None:
        """Make the team's user group the pager holder (Slack refuses an empty group: a gap
        leaves it as it is)."""
        if team.usergroup is None:
            return
        if holder is None:
            logger.info(
                "user group left as it is: nobody holds the pager",
                extra={"team": team.id, "usergroup": team.usergroup},
            )
            return
        usergroup = team.usergroup
        now = self.services.clock.now()
        if not self.usergroup_refusals.may_try(team.id, usergroup, now):
            return
        try:
            await self.slack.call(
                "usergroups.users.update", policy=policy, usergroup=usergroup, users=[holder]
            )
        except ClaimLost:
            raise
        except Exception as error:
            fix = refusal_fix(error.code) if isinstance(error, SlackCallError) else None
            if fix is None:
                logger.error(
                    "user group update failed",
                    extra={"team": team.id, "usergroup": usergroup} | _failure(error, policy),
                )
                return
            # Said once: the next handovers leave the group alone (bot.slack.usergroups).
            self.usergroup_refusals.refused(team.id, usergroup, now)
            logger.error(
                "user group cannot be kept: Slack refuses it; not trying again for a day "
                "or until the setup names another group",
                extra={"team": team.id, "usergroup": usergroup, "error": str(error), "fix": fix},
            )
        else:
            self.usergroup_refusals.written(team.id, usergroup)
