"""The outbox as the delivery worker sees it, database work only: claiming due rows under a
lease and renewing it, settling each row's outcome with the messages it made, the problems Slack's
refusals reveal (and the DM that tells the pager holder), and forgetting old rows.

Each row is claimed under a lease, delivered, then marked done in the same transaction that
records the message it posted; a failure puts it back for a later try (growing waits) and a worker
that dies loses its lease, so the row comes back. Nothing is dropped. What is wrong with a channel
(or a user's DM) is recorded once per target and problem, and the pager holder gets a DM saying
what to do, once.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot.runtime.metrics import metrics_of
from bot.slack.blocks.problems import has_notice
from bot.slack.delivery.content import _read_alerts
from bot.slack.delivery.jobs import Failed, Job, Outcome, Postpone, Refusal, RetryLater
from storage import outbox, problems, rollups
from storage.db import read_scope, session_scope
from storage.slack_messages import note_update, record_posts

if TYPE_CHECKING:
    from sqlmodel import Session

    from bot.app.services import Services

logger = logging.getLogger(__name__)

# A replica that dies leaves its rows to the others once this has passed: short, for the DMs
# behind them (a live worker renews the leases of the rows it still holds).
LEASE = timedelta(seconds=30)
# A failed delivery is tried again after 1, 2, 4... seconds, then every half minute: a page must
# not wait minutes for its next try because Slack failed a few times in a row. Slack's own
# "slow down" (429) is honoured apart, for as long as its Retry-After says.
BACKOFF_S = 1.0
MAX_BACKOFF_S = 30.0
# Done deliveries are kept this long (to look into what was sent), then forgotten.
KEEP_DONE = timedelta(days=14)
# A delivery whose tries keep ending in errors Slack does not document is given up on after this
# many (passing troubles, 5xx and timeouts, are tried until they pass: nothing is dropped).
MAX_UNKNOWN_ERRORS = 5
# A roll-up takes new alerts while one joined it less than ROLLUP_OPEN ago.
ROLLUP_OPEN = timedelta(minutes=10)


@dataclass
class Settled:
    """What one settling transaction wrote that is worth a log line and a count."""

    failed: list[tuple[Job, str, str]] = field(default_factory=list)  # job, error, Slack's code
    # Problems met for the first time, with who was told of them.
    problems: list[tuple[Refusal, str | None]] = field(default_factory=list)
    cleared: set[str] = field(default_factory=set)  # targets a message got through to again


class OutboxQueue:
    """The worker's side of the outbox: claims, leases, outcomes, and the known problems."""

    def __init__(
        self, services: Services, *, backoff: float = BACKOFF_S, max_backoff: float = MAX_BACKOFF_S
    ) -> None:
        self.services = services
        self.backoff = backoff
        self.max_backoff = max_backoff
        # Channels and users with a problem on record (forgotten once a message gets through);
        # replaced whole, never changed in place: the database threads read it.
        self._troubled: frozenset[str] = frozenset()
        self._troubled_lock = threading.Lock()

    def release_leases(self) -> None:
        """Take back the rows a stopped process held (SQLite only, blocking)."""
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
        self.read_troubled()
        return count

    def read_troubled(self) -> None:
        """Read which channels and users have a problem on record (blocking)."""
        with read_scope(self.services.engine) as session:
            known = frozenset(p.target for p in problems.known_problems(session=session))
        with self._troubled_lock:
            self._troubled = known

    def claim(self, limit: int, look_first: bool = True) -> list[Job]:
        """Claim up to ``limit`` due rows under a lease (blocking), read with their alerts."""
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
        loaded = _read_alerts(
            self.services, {job.alert_id for job in jobs if job.alert_id is not None}
        )
        return [
            dataclasses.replace(job, loaded=loaded.get(job.alert_id)) if job.alert_id else job
            for job in jobs
        ]

    def renew(self, held: dict[int, int], until: datetime) -> set[int]:
        with session_scope(self.services.engine) as session:
            return outbox.renew(session=session, held=held, until=until)

    def settle(self, rows: list[tuple[Job, Outcome]]) -> Settled:
        now = self.services.clock.now()
        settled = Settled()
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
                        at=outcome.at or now + self.wait(job.attempts),
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
        # The holder's own DM refusing cannot carry the news to them.
        if holder is None or not has_notice(problem) or holder == refusal.target:
            return new, None
        # Worded when sent, in the holder's language as Slack says it then: their Slack locale
        # may not be known yet here (users.info answering after this refusal is settled).
        notice = {
            "problem": problem.value,
            "target": refusal.target,
            "team_name": team.name if team else refusal.team,
            "error": refusal.failure.code,
        }
        outbox.enqueue(
            session=session,
            kind=outbox.SLACK_POST,
            now=now,
            subject=f"problem:{refusal.target}",
            payload={"user": holder, "team": team.id if team else None, "notice": notice},
            priority=outbox.URGENT,
        )
        return new, holder

    def tell(self, settled: Settled) -> None:
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

    def wait(self, attempts: int) -> timedelta:
        """How long a row that failed ``attempts`` times before waits: doubling, capped."""
        return timedelta(seconds=min(self.backoff * 2**attempts, self.max_backoff))
