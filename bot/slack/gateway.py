"""Calling Slack's Web API with retries, for the workers that call it directly (the handover
planner): ``Retry-After`` honoured on a 429, growing waits on passing troubles, at once for the
errors another try cannot fix. What is transient and what is permanent is ``bot.slack.errors``'s
call; every failure is counted in the metrics.

The client still has slack_sdk's default retry handler, which sends a call again once when the
connection drops (a reused connection the server had closed, most of the time); for a post whose
answer was lost that could post twice, which the outbox worker's look-before-repost covers and
this gateway does not yet.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

from bot.runtime.metrics import metrics_of
from bot.slack.errors import Kind, classify

if TYPE_CHECKING:
    from bot.app.services import Services

logger = logging.getLogger(__name__)

T = TypeVar("T")

SLACK_ATTEMPTS = 5
SLACK_BACKOFF_S = 1.0
SLACK_MAX_WAIT_S = 60.0


class SlackSendError(Exception):
    """A Slack call that failed for good: refused, or still failing after the retries."""

    def __init__(self, method: str, error: str) -> None:
        self.method = method
        self.error = error
        super().__init__(f"{method} failed: {error}")


class SlackGateway:
    """Slack calls with a bounded retry, counted in the app's metrics."""

    def __init__(self, services: Services, *, backoff: float = SLACK_BACKOFF_S) -> None:
        self.services = services
        self.backoff = backoff

    async def call(self, method: str, call: Callable[[], Awaitable[T]]) -> T:
        """``call`` (a call of Slack's ``method``) with a bounded retry; SlackSendError when it
        fails for good. Errors that are not Slack's (a bug) are raised as they are."""
        for attempt in range(1, SLACK_ATTEMPTS + 1):
            try:
                return await call()
            except Exception as error:
                failure = classify(method, error)
                if failure is None:
                    raise
                self.count_error(method, error)
                if failure.kind is Kind.permanent:
                    raise SlackSendError(method, failure.code) from error
                if failure.kind is Kind.rate_limited:
                    wait = failure.retry_after or self.backoff
                else:
                    wait = self.backoff * 2 ** (attempt - 1)
            if attempt == SLACK_ATTEMPTS:
                raise SlackSendError(method, f"{failure.code} after {SLACK_ATTEMPTS} attempts")
            logger.warning(
                "slack call failed, retrying",
                extra={"method": method, "error": failure.code, "attempt": attempt, "wait_s": wait},
            )
            await asyncio.sleep(min(wait, SLACK_MAX_WAIT_S))
        raise AssertionError("the last attempt returns or raises")  # pragma: no cover

    def count_error(self, method: str, error: Exception) -> None:
        """Count a failed call of ``method`` in the metrics, by Slack's error code."""
        failure = classify(method, error)
        name = failure.code if failure is not None else error.__class__.__name__
        metrics_of(self.services).slack_error(method=method, error=name)
