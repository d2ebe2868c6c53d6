"""Failures the stand-in injects (HTTP 500, errors, dropped and slow answers, scripted 429s) and
Slack's own rate limits: the per-channel posting limit and the methods' rate tiers."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from bot.sandbox.standin.base import ApiError, StandInBase
from bot.sandbox.standin.records import (
    Bucket,
    FailRate,
    RateLimitEvent,
    ScriptedFailure,
    ScriptedRateLimit,
)

# Slack's rate tiers, per method per app per workspace (docs.slack.dev/apis/web-api/rate-limits):
# calls a minute, with bursts of as many. Posting (chat.postMessage) is apart: per channel, below.
TIER_PER_MINUTE = {
    "chat.update": 50,  # Tier 3
    "conversations.info": 50,  # Tier 3
    "conversations.history": 50,  # Tier 3
    "conversations.open": 50,  # Tier 3
    "users.info": 100,  # Tier 4
    "users.list": 20,  # Tier 2
    "usergroups.list": 20,  # Tier 2
    "usergroups.users.list": 20,  # Tier 2
    "usergroups.users.update": 20,  # Tier 2
    "views.open": 100,  # Tier 4
    "views.update": 100,  # Tier 4
    "views.push": 100,  # Tier 4
    "views.publish": 100,  # Tier 4
}
# Posting to one channel: about one message a second, with short bursts allowed.
POSTING_RATE_PER_SECOND = 1.0
POSTING_BURST = 3
POSTING_LIMITED_METHODS = frozenset({"chat.postMessage", "chat.update"})
FAULT_KINDS = frozenset({"http_500", "http_429", "error", "drop", "slow"})


@dataclass
class _Fault:
    kind: str  # "answer" (a ready error answer), "drop" or "slow"
    error: ApiError | None = None
    slow_seconds: float = 0.0


class DroppedResponse(Response):
    """Starts the answer, sends half of it, then lets the server close the connection."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
        )
        await send({"type": "http.response.body", "body": self.body[: len(self.body) // 2]})


class Faults(StandInBase):
    """Injected failures and Slack's rate limits, picked for each call as it arrives."""

    def fail_rate(
        self,
        rate: float,
        methods: Iterable[str] | None = None,
        *,
        kinds: Iterable[str] = ("http_500",),
        slow_seconds: float = 3.0,
        retry_after: int = 1,
    ) -> None:
        """Make a seeded fraction of calls (of `methods`, or all) fail with one of `kinds`.

        Kinds: `http_500` (HTTP 500, internal_error, nothing done), `http_429` (HTTP 429 with
        `Retry-After: retry_after`, nothing done; like Slack, what it applies to (the channel
        for chat.postMessage, else the method) is refused again until then), `error` (HTTP
        200, internal_error, nothing done), `drop` (done, but the connection drops mid-answer)
        and `slow` (done, answered after `slow_seconds`). A dropped answer makes the server log
        "ASGI callable returned without completing response": that is the drop.
        """
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"fail_rate: rate must be between 0 and 1, got {rate}")
        chosen = tuple(kinds)
        unknown = [k for k in chosen if k not in FAULT_KINDS]
        if unknown or not chosen:
            raise ValueError(
                f"fail_rate: unknown kinds {unknown}; choose among {sorted(FAULT_KINDS)}"
            )
        names = None if methods is None else frozenset(methods)
        for name in names or ():
            self._check_method(name, "fail_rate")
        if retry_after < 1:
            raise ValueError(f"fail_rate: retry_after must be at least 1, got {retry_after}")
        with self._lock:
            self._fail_rate = (
                FailRate(rate, names, chosen, slow_seconds, int(retry_after)) if rate else None
            )

    def rate_limit(self, method: str, retry_after: int = 1, *, times: int = 1) -> None:
        """Answer the next `times` calls of `method` with HTTP 429 and `Retry-After: retry_after`.

        Like Slack, a call that comes back before Retry-After has passed gets another 429.
        """
        self._check_method(method, "rate_limit")
        if retry_after < 1 or times < 1:
            raise ValueError("rate_limit: retry_after and times must be at least 1")
        with self._lock:
            self._scripted_limits[method] = ScriptedRateLimit(times, int(retry_after))

    def fail_next(
        self,
        method: str,
        n: int = 1,
        *,
        error: str = "internal_error",
        status: int = 200,
        channel: str | None = None,
    ) -> None:
        """Answer the next `n` calls of `method` `{"ok": false, "error": error}`, doing nothing;
        with `channel` (an id or a #name), only the calls to that channel."""
        self._check_method(method, "fail_next")
        if n < 1:
            raise ValueError("fail_next: n must be at least 1")
        with self._lock:
            self._scripted_failures.setdefault(method, []).append(
                ScriptedFailure(n, error, status, channel)
            )

    def clear_faults(self) -> None:
        """Stop every injected fault (recorded events stay)."""
        with self._lock:
            self._fail_rate = None
            self._scripted_limits.clear()
            self._scripted_failures.clear()
            self._blocked_until.clear()

    def _check_method(self, method: str, where: str) -> None:
        if method not in self._handlers:
            raise ValueError(
                f"{where}: {method!r} is not a method the stand-in serves: {sorted(self._handlers)}"
            )

    def _note_retry(self, method: str, args: dict[str, Any], at: float) -> None:
        channel = self._limit_channel(method, args)
        for event in self._rate_limit_events:
            waiting = event.retried_at is None and event.method == method
            if waiting and event.channel in (None, channel):
                event.retried_at = at

    def _pick_fault(self, method: str, args: dict[str, Any], at: float) -> _Fault | None:
        limited = self._limit_channel(method, args) if method == "chat.postMessage" else None
        for scope, channel in ((method, None), (f"{method} {limited}", limited)):
            blocked = self._blocked_until.get(scope)
            if blocked is not None and at < blocked:
                left = math.ceil(blocked - at)
                return self._too_many(method, channel, at, left, "retried too early")
        scripted = self._scripted_limits.get(method)
        if scripted is not None:
            scripted.remaining -= 1
            if scripted.remaining <= 0:
                del self._scripted_limits[method]
            self._blocked_until[method] = at + scripted.retry_after
            return self._too_many(method, None, at, scripted.retry_after, "scripted")
        failure = self._scripted_failure(method, args)
        if failure is not None:
            return _Fault("answer", ApiError(failure.error, status=failure.status))
        chance = self._fail_rate
        # One draw per eligible call, so a seed replays the same faults for the same calls.
        if (
            chance is not None
            and (chance.methods is None or method in chance.methods)
            and self._rng.random() < chance.rate
        ):
            kind = self._rng.choice(chance.kinds)
            if kind == "http_500":
                return _Fault("answer", ApiError("internal_error", status=500))
            if kind == "http_429":
                # Slack holds one channel's posts, or the method in the whole workspace.
                scope = f"{method} {limited}" if limited else method
                self._blocked_until[scope] = at + chance.retry_after
                return self._too_many(method, limited, at, chance.retry_after, "fail_rate")
            if kind == "error":
                return _Fault("answer", ApiError("internal_error"))
            return _Fault(kind, slow_seconds=chance.slow_seconds)
        channel = self._limit_channel(method, args)
        if channel is not None:
            wait = self._take_posting_token(channel, at)
            if wait is not None:
                self._would_rate_limit += 1
                if self.enforce_rate_limits:
                    return self._too_many(method, channel, at, wait, "posting limit")
        per_minute = TIER_PER_MINUTE.get(method)
        if per_minute is not None and self.enforce_tiers:
            wait = self._take_token(self._tier_buckets, method, at, per_minute / 60, per_minute)
            if wait is not None:
                return self._too_many(method, None, at, wait, "rate tier")
        return None

    def _scripted_failure(self, method: str, args: dict[str, Any]) -> ScriptedFailure | None:
        """The first scripted failure of ``method`` meant for this call, spent once."""
        failures = self._scripted_failures.get(method) or []
        for failure in failures:
            if failure.channel is not None:
                target = self._channel_or_none(str(args.get("channel") or ""))
                wanted = self._channel_or_none(failure.channel)
                if target is None or wanted is None or wanted.id != target.id:
                    continue
            failure.remaining -= 1
            if failure.remaining <= 0:
                failures.remove(failure)
            return failure
        return None

    def _too_many(
        self, method: str, channel: str | None, at: float, retry_after: int, reason: str
    ) -> _Fault:
        retry_after = max(1, int(retry_after))
        self._rate_limit_events.append(RateLimitEvent(method, channel, at, retry_after, reason))
        error = ApiError("ratelimited", status=429, headers={"Retry-After": str(retry_after)})
        return _Fault("answer", error)

    def _limit_channel(self, method: str, args: dict[str, Any]) -> str | None:
        if method not in POSTING_LIMITED_METHODS or not args.get("channel"):
            return None
        found = self._channel_or_none(str(args["channel"]))
        return found.id if found is not None else str(args["channel"])

    def _take_posting_token(self, channel: str, at: float) -> int | None:
        """Spend a posting token for `channel`; when none is left, the seconds until one is."""
        return self._take_token(self._buckets, channel, at, self.posting_rate, self.posting_burst)

    @staticmethod
    def _take_token(
        buckets: dict[str, Bucket], key: str, at: float, rate: float, burst: int
    ) -> int | None:
        """Spend a token of ``key``'s bucket; when none is left, the seconds until one is."""
        bucket = buckets.get(key)
        if bucket is None:
            bucket = buckets[key] = Bucket(float(burst), at)
        bucket.tokens = min(float(burst), bucket.tokens + (at - bucket.updated) * rate)
        bucket.updated = at
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return None
        return max(1, math.ceil((1.0 - bucket.tokens) / rate))
