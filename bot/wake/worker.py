"""The wake-up worker: pushes what is due to the people paged, until they acknowledge.

Its state lives in the database (``wake_up`` rows, claimed under a lease): a restart, even after
kill -9, sends what was queued; several replicas never send the same wake-up at once. A push
service that fails is tried again with backoff; one that refuses a method for good (a key it does
not know) is said once to its owner, in Slack. Wake-up URLs never reach the log.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlmodel import Session

from bot.alerts.runbooks import runbook_for
from bot.i18n import N_, _, ngettext, speaking
from bot.runtime.metrics import metrics_of
from bot.slack.language import person_language
from bot.wake import tokens
from bot.wake.message import Push, WakeContent, test_push, wake_push
from bot.wake.methods import Method, MethodError, expand, in_setup
from bot.wake.sender import PUSH_SERVICE, Outcome, Result, Sender
from storage import wakeups as store
from storage.db import is_sqlite, session_scope
from storage.models import Alert, WakeTest, WakeUp
from storage.outbox import SLACK_POST, enqueue
from storage.wakeups import DONE, FAILED

if TYPE_CHECKING:
    from bot.app.services import Services
    from bot.plan.model import Plan

logger = logging.getLogger(__name__)

POLL_INTERVAL = 1.0
BATCH = 50
BACKOFF_FIRST = timedelta(seconds=5)
BACKOFF_MAX = timedelta(minutes=2)
NO_METHOD = "no-method"
TEST_TRIES = 3


@dataclass
class _Job:
    wake: WakeUp
    alert: Alert
    methods: list[Method]


@dataclass
class _TestJob:
    test: WakeTest
    method: Method | None  # None: removed since the test was asked for


def methods_for(plan: Plan, user: str, added: list[Method]) -> list[Method]:
    """A person's wake-up methods: the setup file's, then those added in the App Home."""
    person = plan.people.get(user)
    from_setup = [Method(url, "setup") for url in (person.wake if person else ())]
    return from_setup + added


def runbook_of(alert: Alert, plan: Plan) -> tuple[str | None, tuple[str, ...]]:
    """What a wake-up shows of the procedures, as the alert's card does: the setup file's first
    matching runbook (its text and its link), then the alert's own runbook link."""
    found = runbook_for(alert, plan)
    text = found.text if found else None
    urls = [found.url] if found and found.url else []
    if alert.runbook_url and alert.runbook_url not in urls:
        urls.append(alert.runbook_url)
    return text, tuple(urls)


def ack_url(base_url: str, secret: str, alert_id: int, user: str) -> str:
    return f"{base_url}/ack/{tokens.sign(secret, alert_id, user)}"


class Waker:
    """Takes due wake-ups about once a second, or at once when woken, and sends them."""

    def __init__(self, services: Services, *, interval: float = POLL_INTERVAL) -> None:
        self.services = services
        self.interval = interval
        self.sender = Sender()
        self._wakeup: asyncio.Event | None = None

    def wake(self) -> None:
        """Look for due wake-ups now rather than at the next poll (call from the loop)."""
        if self._wakeup is not None:
            self._wakeup.set()

    async def run(self) -> None:
        """Run until cancelled; a failed round is logged and tried again at the next poll."""
        self._wakeup = asyncio.Event()
        if is_sqlite(self.services.engine):
            with contextlib.suppress(Exception):
                await self.services.in_database(self._release_leases)
        running: set[asyncio.Task[None]] = set()
        try:
            while True:
                self._wakeup.clear()
                jobs: list[_Job] = []
                try:
                    jobs = await self.services.in_database(self._claim)
                except asyncio.CancelledError:
                    raise
                except Exception:  # the database may be briefly away
                    logger.exception("wake-ups: looking for due ones failed")
                tests: list[_TestJob] = []
                with contextlib.suppress(Exception):
                    tests = await self.services.in_database(self._claim_tests)
                for work in [self._deliver(job) for job in jobs] + [
                    self._deliver_test(test) for test in tests
                ]:
                    task = asyncio.create_task(work)
                    running.add(task)
                    task.add_done_callback(running.discard)
                if len(jobs) == BATCH or len(tests) == BATCH:
                    continue
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wakeup.wait(), timeout=self.interval)
        finally:
            for task in running:
                task.cancel()

    async def run_once(self) -> int:
        """Send what is due now, all of it before returning; returns how many wake-ups (test
        ones included)."""
        jobs = await self.services.in_database(self._claim)
        tests = await self.services.in_database(self._claim_tests)
        await asyncio.gather(
            *(self._deliver(job) for job in jobs), *(self._deliver_test(t) for t in tests)
        )
        return len(jobs) + len(tests)

    def _release_leases(self) -> None:
        # On SQLite this process is the only worker: what is held was held by a dead process.
        with session_scope(self.services.engine) as session:
            count = store.release_leases(session=session)
        if count:
            logger.info("wake-ups of a stopped process taken over", extra={"rows": count})

    def _claim(self) -> list[_Job]:
        now = self.services.clock.now()
        plan = self.services.roster.plan
        with session_scope(self.services.engine) as session:
            taken = store.claim_due(session=session, now=now, limit=BATCH)
            added: dict[str, list[Method]] = {}
            for wake, _ in taken:
                if wake.user_id not in added:
                    added[wake.user_id] = [
                        Method(m.url, "home", m.id)
                        for m in store.methods_of(session=session, user_id=wake.user_id)
                    ]
        return [
            _Job(wake, alert, methods_for(plan, wake.user_id, added[wake.user_id]))
            for wake, alert in taken
        ]

    async def _deliver(self, job: _Job) -> None:
        try:
            await self._send(job)
        except asyncio.CancelledError:
            raise
        except Exception:  # left to its lease: taken again when it runs out
            logger.exception("wake-up failed", extra={"wake": job.wake.id})

    async def _send(self, job: _Job) -> None:
        wake, alert = job.wake, job.alert
        # In the reader's language, without asking Slack: a wake-up must not wait on it.
        team = self.services.roster.plan.teams.get(alert.team)
        language = await person_language(self.services, wake.user_id, team, look_up=False)
        if not job.methods:
            # No push to hold up: the DM that says so is worded as Slack says they read.
            told_in = await person_language(self.services, wake.user_id, team)
            await self.services.in_database(self._no_method, job, told_in)
            self._nudge_delivery()
            return
        with speaking(language):
            push = self._push(job)
        done = set(wake.reached or [])
        todo = [m for m in job.methods if m.key not in done]
        outcomes = await asyncio.gather(*(self._one(method, push) for method in todo))
        metrics = metrics_of(self.services)
        for method, outcome in zip(todo, outcomes, strict=True):
            metrics.wakeup(service=outcome.service, result=outcome.result.value)
            level = logging.INFO if outcome.result is Result.sent else logging.WARNING
            logger.log(
                level,
                "wake-up " + outcome.result.value,
                extra={
                    "alert": alert.id,
                    "user": wake.user_id,
                    "method": method.key,  # the URL's hash: never the URL
                    "service": outcome.service,
                    "reason": outcome.reason,
                    "repeat": wake.sent + 1,
                },
            )
        if any(outcome.result is Result.refused for outcome in outcomes):
            # The pushes are out: the refusal's DM may wait for Slack to say how they read.
            language = await person_language(self.services, wake.user_id, team)
        await self.services.in_database(self._settle, job, todo, outcomes, language)
        self._nudge_delivery()

    # --- Send a test, asked for in the App Home ---------------------------------------------

    def _claim_tests(self) -> list[_TestJob]:
        now = self.services.clock.now()
        plan = self.services.roster.plan
        with session_scope(self.services.engine) as session:
            taken = store.claim_tests(session=session, now=now, limit=BATCH)
            found = []
            for test in taken:
                added = [
                    Method(m.url, "home", m.id)
                    for m in store.methods_of(session=session, user_id=test.user_id)
                ]
                mine = methods_for(plan, test.user_id, added)
                found.append(_TestJob(test, next((m for m in mine if m.key == test.method), None)))
        return found

    async def _deliver_test(self, job: _TestJob) -> None:
        try:
            outcome = None
            user = job.test.user_id
            language = await person_language(self.services, user, look_up=False)
            if job.method is not None:
                with speaking(language):
                    push = test_push(job.method.masked)
                outcome = await self._one(job.method, push)
                metrics_of(self.services).wakeup(
                    service=outcome.service, result=outcome.result.value
                )
                logger.info(
                    "test wake-up " + outcome.result.value,
                    extra={
                        "user": job.test.user_id,
                        "method": job.method.key,  # the URL's hash: never the URL
                        "service": outcome.service,
                        "reason": outcome.reason,
                    },
                )
            # The push is out: the DM saying how it went may wait for Slack's word on language.
            language = await person_language(self.services, user)
            await self.services.in_database(self._settle_test, job, outcome, language)
            self._nudge_delivery()
        except asyncio.CancelledError:
            raise
        except Exception:  # left to its lease: taken again when it runs out
            logger.exception("test wake-up failed", extra={"test": job.test.id})

    def _settle_test(self, job: _TestJob, outcome: Outcome | None, language: str) -> None:
        test, method = job.test, job.method
        assert test.id is not None
        now = self.services.clock.now()
        retry_at = None
        failed = outcome is not None and outcome.result is Result.failed
        if failed and test.attempts + 1 < TEST_TRIES:
            retry_at = now + _backoff(test.attempts)
        with session_scope(self.services.engine) as session:
            settled = store.settle_test(
                session=session,
                test_id=test.id,
                claims=test.claims,
                now=now,
                status=DONE if outcome and outcome.result is Result.sent else FAILED,
                error=outcome.reason if outcome else "no such method",
                retry_at=retry_at,
            )
            if settled is None or retry_at is not None:
                return
            with speaking(language):
                text = test_result_text(method, outcome)
            _tell(session, test.user_id, text, now)

    def _nudge_delivery(self) -> None:
        # A notice queued for Slack goes out at once rather than at the delivery's next poll.
        if self.services.delivery is not None:
            self.services.delivery.wake()

    def _push(self, job: _Job) -> Push:
        wake, alert = job.wake, job.alert
        settings = self.services.settings
        team = self.services.roster.plan.teams.get(alert.team)
        assert alert.id is not None
        runbook, runbook_urls = runbook_of(alert, self.services.roster.plan)
        secret = settings.watchkeeper_secret
        assert secret, "the app does not start with wake-up methods and no WATCHKEEPER_SECRET"
        link = ack_url(settings.base_url, secret, alert.id, wake.user_id)
        return wake_push(
            WakeContent(
                title=alert.title,
                severity=alert.severity,
                team=team.name if team else alert.team,
                customer=alert.customer,
                summary=alert.summary,
                ack_url=link,
                runbook=runbook,
                runbook_urls=runbook_urls,
                repeat=wake.sent + 1,
            )
        )

    async def _one(self, method: Method, push: Push) -> Outcome:
        try:
            url = expand(method.url, self.services.settings.environ)
        except MethodError as error:
            return Outcome(Result.refused, PUSH_SERVICE, str(error), error)
        return await self.sender.send(url, push)

    def _settle(
        self, job: _Job, todo: list[Method], outcomes: list[Outcome], language: str
    ) -> None:
        wake = job.wake
        assert wake.id is not None
        now = self.services.clock.now()
        sent = {m.key for m, o in zip(todo, outcomes, strict=True) if o.result is Result.sent}
        refused = [
            (m, o) for m, o in zip(todo, outcomes, strict=True) if o.result is Result.refused
        ]
        failed = [o for o in outcomes if o.result is Result.failed]
        reached = set(wake.reached or []) | sent
        with session_scope(self.services.engine) as session:
            for method, outcome in refused:
                with speaking(language):
                    self._tell_refused(session, wake.user_id, method, outcome, now)
            if failed:
                store.settle_retry(
                    session=session,
                    wake_id=wake.id,
                    claims=wake.claims,
                    at=now + _backoff(wake.attempts),
                    error=failed[0].reason,
                    reached=reached | {m.key for m, _ in refused},
                )
            elif reached:
                store.settle_sent(session=session, wake_id=wake.id, claims=wake.claims, now=now)
            else:
                store.settle_failed(
                    session=session,
                    wake_id=wake.id,
                    claims=wake.claims,
                    error="every wake-up method was refused",
                    now=now,
                )

    def _tell_refused(
        self, session: Session, user: str, method: Method, outcome: Outcome, now: datetime
    ) -> None:
        if not store.notice_once(
            session=session, user_id=user, about=f"refused:{method.key}", now=now
        ):
            return
        text = (
            _(
                "Your {service} wake-up method ({method}) was refused ({reason}): I cannot wake "
                "you through it. Fix it in the setup file, or add another one there, so that "
                "alerts still wake you."
            )
            if method.source == "setup"
            else _(
                "Your {service} wake-up method ({method}) was refused ({reason}): I cannot wake "
                "you through it. Fix it in my App Home, or add another one there, so that alerts "
                "still wake you."
            )
        ).format(
            service=outcome.service_words(), method=method.masked, reason=outcome.reason_words()
        )
        _tell(session, user, text, now)

    def _no_method(self, job: _Job, language: str) -> None:
        wake, alert = job.wake, job.alert
        assert wake.id is not None
        now = self.services.clock.now()
        with session_scope(self.services.engine) as session:
            store.settle_failed(
                session=session,
                wake_id=wake.id,
                claims=wake.claims,
                error="no wake-up method",
                now=now,
            )
            # Said once phone wake-ups are in use, somebody having a method: a team that relays
            # through Slack alone is not asked again and again (the doctor says it once).
            wanted = in_setup(self.services.roster.plan) or store.any_method(session=session)
            if (
                wanted
                and alert.severity == "critical"
                and store.notice_once(
                    session=session, user_id=wake.user_id, about=NO_METHOD, now=now
                )
            ):
                _tell(session, wake.user_id, no_method_text(language), now)
        logger.info(
            "nobody to wake: no wake-up method", extra={"alert": alert.id, "user": wake.user_id}
        )


def _backoff(attempts: int) -> timedelta:
    """How long a failed send waits before its next try, after ``attempts`` tries."""
    return min(BACKOFF_FIRST * (2**attempts), BACKOFF_MAX)


def _tell(session: Session, user: str, text: str, now: datetime) -> None:
    """Queue a DM telling ``user`` of their wake-ups (the delivery worker sends it)."""
    enqueue(
        session=session,
        kind=SLACK_POST,
        now=now,
        subject=f"wake:{user}",
        payload={"user": user, "text": text},
    )


def test_result_text(method: Method | None, outcome: Outcome | None) -> str:
    """What a person is told of the test wake-up they asked for (never the URL)."""
    if method is None or outcome is None:
        return _(
            "Your test wake-up was not sent: that wake-up method is no longer among yours "
            "(removed meanwhile)."
        )
    said = {
        "service": outcome.service_words(),
        "method": method.masked,
        "reason": outcome.reason_words(),
    }
    if outcome.result is Result.sent:
        return _(
            "Your test wake-up went out through {service} ({method}): it should be on your "
            "phone now. If it is not, check the app and its notification settings."
        ).format(**said)
    if outcome.result is Result.refused and method.source == "setup":
        return _(
            "Your test wake-up through {service} ({method}) was refused ({reason}): I cannot "
            "wake you through it. Fix it in the setup file, or add another one."
        ).format(**said)
    if outcome.result is Result.refused:
        return _(
            "Your test wake-up through {service} ({method}) was refused ({reason}): I cannot "
            "wake you through it. Fix it in my App Home, or add another one."
        ).format(**said)
    return ngettext(
        "Your test wake-up through {service} ({method}) could not be sent after {count} try "
        "({reason}): the service may be down. Try again later, or add another method.",
        "Your test wake-up through {service} ({method}) could not be sent after {count} tries "
        "({reason}): the service may be down. Try again later, or add another method.",
        TEST_TRIES,
    ).format(count=TEST_TRIES, **said)


NO_METHOD_TEXT = N_(
    "You were paged for a critical alert, and I have no way to wake you: a Slack DM does not "
    "wake anyone at 3 a.m. Open my App Home and press *Add a wake-up method* (an Apprise URL: "
    "ntfy, Pushover, Telegram, Signal, SMS…), then *Send a test*."
)


def no_method_text(language: str) -> str:
    """The DM to someone paged for a critical alert with no way to wake them."""
    with speaking(language):
        return _(NO_METHOD_TEXT)
