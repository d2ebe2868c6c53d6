"""The one way the bot calls Slack's Web API: every call goes through ``SlackGateway.call``.

The gateway knows what Slack's answers mean (``bot.slack.errors`` sorts them) and acts on it:
a 429 holds back what Slack applies it to (one channel for chat.postMessage, the method in the
workspace otherwise) until its ``Retry-After``, and no call is made into a hold; passing troubles
are tried again after growing waits; errors no retry can mend are raised at once; every failure
is counted in the metrics. It keeps each channel's posting pace (about a message a second, short
bursts), for the callers that take turns.

A connection that drops is tried again at once, once, only when the call cannot have done its
work twice: the connection was never made (the request never left), or the method posts nothing.
A post whose answer may have been lost on the way back (a timeout, a 5xx, a connection dropped
after sending) is sent again only by a caller that says how to look for it (``found``): the
gateway looks after its wait and, when the post is there, answers with it instead of posting
twice. The outbox looks for itself, when it takes the row again. Idle connections are dropped
before a server drops them (KEEPALIVE_S): a request written on a connection the server has just
closed would be lost on the way.

How long a caller may wait is its ``Policy``: a worker with time (PATIENT), the outbox, whose
rows are tried again later (ONCE), a listener answering a person within Slack's 3 s (PROMPT), a
check run by hand that waits out Slack's rate limits and says any other failure (UNHURRIED). A
caller whose answer is of use until a known instant says so (``wait_until``): Slack's Retry-After
is waited out up to then, minutes if need be. A caller whose right to make a call may end while
it waits (a send whose claim another process may take) says how to check it (``before_try``):
it is asked right before each try, after every wait, and stops the call by raising. Waits take
the services' clock's time.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import aiohttp

from bot.runtime.metrics import count_slack_error
from bot.slack.errors import Kind, SlackFailure, classify, rate_scope
from storage import pace
from storage.db import is_sqlite

if TYPE_CHECKING:
    from bot.app.services import Services

logger = logging.getLogger(__name__)

# Slack takes about one message a second per channel, with short bursts.
CHANNEL_RATE = 1.0
# One less than Slack's burst: our clock and Slack's never agree to the millisecond, and a call
# that lands a moment early must still find a turn there.
CHANNEL_BURST = 2
# Idle connections are closed after this long: before the servers' own idle timeouts (5 s and
# more), so that no request is written on a connection the far end has closed.
KEEPALIVE_S = 4.0
# The code of a call not made: the Retry-After Slack gave for what it applies to still runs.
HELD = "held"
# Methods that make something new each time they are called: one whose connection dropped after
# the request left is not sent again, for it may have been done.
POSTING_METHODS = frozenset({"chat.postMessage", "chat.postEphemeral", "chat.scheduleMessage"})

# How a caller looks for a post whose answer was lost: Slack's answer for it, None when not found.
Found = Callable[[], Awaitable[Any]]


@dataclass(frozen=True)
class Policy:
    """How long a caller may wait for a Slack call: ``attempts`` tries at most, waits growing
    from ``backoff`` seconds and none longer than ``max_wait``, each try at most ``timeout``
    seconds, and (with ``deadline``) no try or wait that would end later than that many seconds
    after the call. With ``rate_limited_attempts``, a call Slack rate-limits gets that many tries
    instead of ``attempts``. With ``wait_until``, Slack's Retry-After is waited out however long
    it runs, as long as it ends by that instant, instead of up to ``max_wait``. With
    ``before_try``, awaited right before each try: it raises to stop a call no longer to be made."""

    attempts: int
    backoff: float = 1.0
    max_wait: float = 60.0
    timeout: float | None = None
    deadline: float | None = None
    rate_limited_attempts: int | None = None
    wait_until: datetime | None = None
    before_try: Callable[[], Awaitable[None]] | None = None

    def waits_out(self, until: datetime, seconds: float) -> bool:
        """Whether Slack's Retry-After, ending at ``until`` (``seconds`` from now), is waited
        out."""
        if self.wait_until is not None:
            return until <= self.wait_until
        return seconds <= self.max_wait

    def tries(self, kind: Kind) -> int:
        """The most tries of a call that fails with failures of ``kind``."""
        if kind is Kind.rate_limited and self.rate_limited_attempts is not None:
            return self.rate_limited_attempts
        return self.attempts


# A worker with time to wait (the handover planner, which gives each send its ``wait_until``): a
# few tries, honouring Retry-After.
PATIENT = Policy(attempts=5, backoff=1.0, max_wait=60.0)
# The outbox: one try, answered within 10 s; its row is tried again later, in its turn.
ONCE = Policy(attempts=1, timeout=10.0)
# A listener answering a person: Slack's trigger ids die 3 s after the click, and an answer
# later than that is no answer. No wait that would end past the deadline.
PROMPT = Policy(attempts=2, backoff=0.25, max_wait=1.0, timeout=2.5, deadline=2.5)
# A check run by hand (`watchkeeper doctor`): Slack's 429s are waited out, five times at most,
# for a rate limit is no problem to report; any other failure is said at once.
UNHURRIED = Policy(attempts=1, max_wait=60.0, rate_limited_attempts=6)


class SlackCallError(Exception):
    """A Slack call that failed for good under its policy: refused, still failing after its
    tries, or (``until``) held back by Slack's Retry-After until that instant."""

    def __init__(self, failure: SlackFailure, until: datetime | None = None) -> None:
        super().__init__(str(failure))
        self.failure = failure
        self.until = until

    @property
    def method(self) -> str:
        return self.failure.method

    @property
    def code(self) -> str:
        """Slack's error code, the HTTP status or the network error's name."""
        return self.failure.code


class ChannelPace:
    """Slack's posting limit of a channel (about a message a second, short bursts allowed),
    kept in memory: a burst of posts waits its turn instead of being refused with a 429 that
    would hold up every post."""

    def __init__(self, rate: float = CHANNEL_RATE, burst: int = CHANNEL_BURST) -> None:
        self.rate = rate
        self.burst = burst
        self._tokens: dict[str, tuple[float, datetime]] = {}

    def take(self, channel: str, now: datetime) -> datetime | None:
        """Spend the channel's turn now (None), or say when the next turn comes."""
        tokens, updated = self._tokens.get(channel, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - updated).total_seconds() * self.rate)
        if tokens >= 1.0:
            self._tokens[channel] = (tokens - 1.0, now)
            return None
        self._tokens[channel] = (tokens, now)
        return now + timedelta(seconds=(1.0 - tokens) / self.rate)


class SlackGateway:
    """Every Slack Web API call of the app: retries, Retry-After, pacing and metrics."""

    def __init__(self, services: Services) -> None:
        self.services = services
        # What Slack asked us to leave alone (429) until the instant given: one channel's posts,
        # or a method in the whole workspace (``bot.slack.errors.rate_scope``).
        self._blocked: dict[str, datetime] = {}
        self._pace = ChannelPace()
        # Replicas share PostgreSQL, and book each channel's turns there; SQLite is one process.
        self._shared_pace = not is_sqlite(services.engine)

    async def call(
        self, method: str, *, policy: Policy = PATIENT, found: Found | None = None, **args: Any
    ) -> Any:
        """Slack's ``method`` called with ``args`` (the client's method of that name), tried
        as ``policy`` allows; SlackCallError when it fails for good. Errors that are not Slack's
        or the network's (a bug) are raised as they are.

        A post whose answer may have been lost is tried again only with ``found``: awaited
        before each new try, what it finds (not None) is the call's answer, and nothing more
        is sent."""
        started = time.monotonic()
        send = getattr(self.services.slack, method.replace(".", "_"))
        channel = args.get("channel")
        reconnected = waited = unsure = False
        attempt = 1
        while True:
            if unsure and found is not None:
                answer = await found()
                if answer is not None:
                    logger.info(
                        "the post went through; not posting again",
                        extra={"method": method, "channel": channel},
                    )
                    return answer
            if not waited:
                await self._wait_out_hold(method, channel, policy, started)
            waited = False
            if policy.before_try is not None:
                await policy.before_try()
            try:
                if policy.timeout is None:
                    return await send(**args)
                return await asyncio.wait_for(send(**args), _left(policy.timeout, policy, started))
            except Exception as error:
                failure = classify(method, error)
                if failure is None:
                    raise
                count_slack_error(self.services, method=method, error=failure.code)
                unsure = failure.may_have_succeeded and method in POSTING_METHODS
                if not reconnected and _resend_at_once(method, error):
                    reconnected = True  # a new connection, at once; not counted as a try
                    continue
                if failure.kind is Kind.rate_limited:
                    until = self._hold(method, channel, failure)
                    wait = pause = (until - self.services.clock.now()).total_seconds()
                else:
                    until = None
                    wait = policy.backoff * 2 ** (attempt - 1)
                    pause = min(wait, policy.max_wait)
                if (
                    failure.kind is Kind.permanent
                    or attempt >= policy.tries(failure.kind)
                    or (unsure and found is None)
                    or (until is not None and not policy.waits_out(until, wait))
                    or not _fits(pause, policy, started)
                ):
                    raise SlackCallError(failure, until) from error
            logger.warning(
                "slack call failed, looking for the post before trying again"
                if unsure
                else "slack call failed, retrying",
                extra={"method": method, "error": failure.code, "attempt": attempt, "wait_s": wait},
            )
            await self.services.clock.sleep(pause)
            waited = True
            attempt += 1

    def held_until(self, method: str, channel: str | None, now: datetime) -> datetime | None:
        """When Slack's Retry-After for a call of ``method`` in ``channel`` runs out (None: it
        may be made now)."""
        scope = rate_scope(method, channel)
        until = self._blocked.get(scope)
        if until is not None and now >= until:
            self._blocked.pop(scope, None)
            return None
        return until

    def check(self, method: str, channel: str | None, now: datetime) -> None:
        """Refuse at once (SlackCallError with ``until``) a call Slack would refuse at ``now``:
        one whose Retry-After is still running."""
        until = self.held_until(method, channel, now)
        if until is not None:
            raise SlackCallError(SlackFailure(method, HELD, Kind.rate_limited), until)

    async def turn(self, channel: str, now: datetime) -> datetime | None:
        """The channel's posting turn: now (None, and taken), or the instant it comes."""
        if not self._shared_pace:
            return self._pace.take(channel, now)
        return await self.services.in_database(
            functools.partial(
                pace.take_turn,
                interval=timedelta(seconds=1 / CHANNEL_RATE),
                burst=CHANNEL_BURST,
            ),
            self.services.engine,
            channel,
            now,
        )

    async def _wait_out_hold(
        self, method: str, channel: str | None, policy: Policy, started: float
    ) -> None:
        """Wait for the end of Slack's Retry-After on this call, when one runs and the policy
        may wait it out; else refuse the call at once (SlackCallError with ``until``)."""
        until = self.held_until(method, channel, self.services.clock.now())
        if until is None:
            return
        wait = (until - self.services.clock.now()).total_seconds()
        waits = policy.tries(Kind.rate_limited) > 1
        if not waits or not policy.waits_out(until, wait) or not _fits(wait, policy, started):
            raise SlackCallError(SlackFailure(method, HELD, Kind.rate_limited), until)
        await self.services.clock.sleep(wait)

    def _hold(self, method: str, channel: str | None, failure: SlackFailure) -> datetime:
        """Hold back what a 429 applies to until its Retry-After; the instant it ends."""
        # Counted from Slack's answer, not from when the call left: a slow answer would
        # otherwise bring the retry back before Slack allows it.
        until = self.services.clock.now() + timedelta(seconds=failure.retry_after or 1.0)
        scope = rate_scope(method, channel)
        self._blocked[scope] = max(until, self._blocked.get(scope, until))
        logger.info(
            "Slack asked to slow down",
            extra={"method": method, "scope": scope, "until": until.isoformat()},
        )
        return until


def gateway(services: Services) -> SlackGateway:
    """The app's one Slack gateway, made on first use and kept in ``services.gateway``."""
    if services.gateway is None:
        services.gateway = SlackGateway(services)
    return services.gateway


def http_session() -> aiohttp.ClientSession:
    """The HTTP session every Slack call shares: connections (and their TLS handshakes) are
    reused, and dropped when idle before the far end drops them."""
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(keepalive_timeout=KEEPALIVE_S))


def _resend_at_once(method: str, error: BaseException) -> bool:
    """Whether a call whose connection failed may be sent again at once: the request never
    left, or the method posts nothing (doing it twice does it once)."""
    if isinstance(error, aiohttp.ClientConnectorError):
        return True
    # Closed before or while answering; a slow answer (a timeout) is no dropped connection.
    dropped = isinstance(error, aiohttp.ClientConnectionError | aiohttp.ClientPayloadError)
    return dropped and not isinstance(error, TimeoutError) and method not in POSTING_METHODS


def _fits(seconds: float, policy: Policy, started: float) -> bool:
    """Whether waiting ``seconds`` more leaves time for a try within the policy's deadline."""
    return policy.deadline is None or time.monotonic() - started + seconds < policy.deadline


def _left(timeout: float, policy: Policy, started: float) -> float:
    """How long this try may take: its timeout, and no later than the deadline."""
    if policy.deadline is None:
        return timeout
    return max(min(timeout, policy.deadline - (time.monotonic() - started)), 0.0)
