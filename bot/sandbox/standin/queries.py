"""Reading what the bot did through the stand-in (messages, DMs, views, calls, 429s), resetting it,
and waiting for it from threads or event loops."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import time
from collections.abc import Callable
from typing import Any, Self, TypeVar

from bot.sandbox.standin.base import StandInBase
from bot.sandbox.standin.records import (
    Call,
    Ephemeral,
    Message,
    RateLimitEvent,
    ResponsePost,
    ViewRecord,
)

T = TypeVar("T")


class Queries(StandInBase):
    """What was posted, shown and called, as tests and the sandbox's page read it."""

    def messages(self, channel: str) -> list[Message]:
        """A channel's messages (by id, #name, or user id for a DM), oldest first; no replies."""
        return self._copies(channel, lambda m: m.thread_ts is None or m.thread_ts == m.ts)

    def replies(self, channel: str, thread_ts: str) -> list[Message]:
        """The replies in one thread, oldest first."""
        return self._copies(channel, lambda m: m.thread_ts == thread_ts and m.ts != thread_ts)

    def _copies(self, channel: str, keep: Callable[[Message], bool]) -> list[Message]:
        """Copies of a channel's messages that `keep` keeps, oldest first; none if no channel."""
        with self._lock:
            found = self._channel_or_none(channel)
            if found is None:
                return []
            return [copy.deepcopy(m) for m in self._messages.get(found.id, []) if keep(m)]

    def dms(self, user: str) -> list[Message]:
        """The messages of the app's DM with `user`, oldest first."""
        with self._lock:
            dm = self._dms.get(user)
            return [] if dm is None else self.messages(dm)

    def message(self, channel: str, ts: str) -> Message | None:
        """One message by channel and ts (replies included), or None."""
        with self._lock:
            found = self._channel_or_none(channel)
            if found is None:
                return None
            msg = self._find_message(found.id, ts)
            return copy.deepcopy(msg)

    def deleted(self) -> list[Message]:
        """Messages deleted by chat.delete or delete_original, in order of deletion."""
        with self._lock:
            return copy.deepcopy(self._deleted)

    def ephemerals(self, user: str, channel: str | None = None) -> list[Ephemeral]:
        """What `user` was shown ephemerally (in one channel, or anywhere), oldest first."""
        with self._lock:
            chan = None if channel is None else self._channel_or_none(channel)
            if channel is not None and chan is None:
                return []
            return [
                copy.deepcopy(e)
                for e in self._ephemerals
                if e.user == user and (chan is None or e.channel == chan.id)
            ]

    def views(self, user: str) -> list[ViewRecord]:
        """Every view opened, pushed, updated or published for `user`, oldest first."""
        with self._lock:
            return [copy.deepcopy(v) for v in self._view_log if v.user == user]

    def last_view(self, user: str) -> ViewRecord | None:
        """The latest modal opened, pushed or updated for `user`, or None."""
        with self._lock:
            for record in reversed(self._view_log):
                if record.user == user and record.type == "modal":
                    return copy.deepcopy(record)
            return None

    def open_views(self, user: str) -> list[dict[str, Any]]:
        """The modal stack `user` sees now, root first."""
        with self._lock:
            return [copy.deepcopy(self._views[v]) for v in self._stacks.get(user, [])]

    def close_view(self, user: str, view_id: str | None = None) -> None:
        """Close `user`'s top modal (or the whole stack from `view_id` up), as the user would."""
        with self._lock:
            stack = self._stacks.get(user, [])
            if view_id is None:
                closed = stack[-1:]
            else:
                closed = stack[stack.index(view_id) :] if view_id in stack else []
            del stack[len(stack) - len(closed) :]
            self._closed.update(closed)
            self._changed()

    def home(self, user: str) -> ViewRecord | None:
        """The App Home view last published for `user`, or None."""
        with self._lock:
            view_id = self._homes.get(user)
            if view_id is None:
                return None
            for record in reversed(self._view_log):
                if record.id == view_id:
                    return copy.deepcopy(record)
            return None

    def view(self, view_id: str) -> dict[str, Any] | None:
        """A view's current state by id, or None."""
        with self._lock:
            found = self._views.get(view_id)
            return copy.deepcopy(found)

    def usergroup_users(self, id: str) -> list[str]:
        """The members of a user group now."""
        with self._lock:
            group = self._usergroups.get(id)
            if group is None:
                raise KeyError(f"no user group {id!r} in the stand-in workspace")
            return list(group["users"])

    def usergroup_history(self, id: str) -> list[list[str]]:
        """Every member list usergroups.users.update set for group `id`, oldest first."""
        with self._lock:
            return [list(users) for users in self._usergroup_updates.get(id, [])]

    @property
    def calls(self) -> list[Call]:
        """Every Web API call received, in order of arrival."""
        with self._lock:
            return copy.deepcopy(self._calls)

    def calls_to(self, method: str) -> list[Call]:
        """The calls to one Web API method, in order of arrival."""
        with self._lock:
            return [copy.deepcopy(c) for c in self._calls if c.method == method]

    def responses(self, key: str) -> list[ResponsePost]:
        """What was posted to the response_url built for `key`, oldest first."""
        with self._lock:
            return copy.deepcopy(self._responses.get(key, []))

    @property
    def rate_limit_events(self) -> list[RateLimitEvent]:
        """Every 429 sent, with the arrival of the retry that followed."""
        with self._lock:
            return copy.deepcopy(self._rate_limit_events)

    @property
    def would_rate_limit(self) -> int:
        """How many posts exceeded Slack's per-channel posting limit (answered 429 or not)."""
        with self._lock:
            return self._would_rate_limit

    def reset(self) -> None:
        """Forget messages, views, calls, responses and faults; keep users, channels and groups."""
        with self._lock:
            self._clear_recordings()
            for group in self._usergroups.values():
                group["users"] = []
                group["user_count"] = 0
            self._changed()

    def wait_for(self, predicate: Callable[[Self], T], timeout: float = 5.0) -> T:
        """Block until `predicate(standin)` is truthy and return its value (threads, sync tests)."""
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            pass
        else:
            # Blocking here would freeze the loop the bot may be running on.
            raise RuntimeError(
                "wait_for() blocks: inside async code use `await standin.wait_for_async(...)`"
            )
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                value = predicate(self)
                if value:
                    return value
                self._lock.wait(self._time_left(predicate, deadline, timeout))

    async def wait_for_async(
        self,
        predicate: Callable[[Self], T],
        timeout: float = 5.0,  # noqa: ASYNC109 - the same call shape as wait_for()
    ) -> T:
        """Wait, not blocking the event loop, until `predicate(standin)` is truthy; return it."""
        loop = asyncio.get_running_loop()
        changed = asyncio.Event()
        waiter = (loop, changed)
        with self._lock:
            self._async_waiters.add(waiter)
        try:
            deadline = time.monotonic() + timeout
            while True:
                changed.clear()
                with self._lock:
                    value = predicate(self)
                if value:
                    return value
                remaining = self._time_left(predicate, deadline, timeout)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(changed.wait(), remaining)
        finally:
            with self._lock:
                self._async_waiters.discard(waiter)

    def _time_left(self, predicate: Callable[..., Any], deadline: float, timeout: float) -> float:
        """The seconds left to wait for ``predicate`` until ``deadline`` (``time.monotonic``);
        TimeoutError, with the calls seen so far, when none are."""
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(self._timeout_message(predicate, timeout))
        return remaining

    def _timeout_message(self, predicate: Callable[..., Any], timeout: float) -> str:
        counts: dict[str, int] = {}
        for call in self._calls:
            counts[call.method] = counts.get(call.method, 0) + 1
        seen = ", ".join(f"{m}×{n}" for m, n in counts.items()) or "no calls"
        name = getattr(predicate, "__qualname__", repr(predicate))
        return f"condition {name} not met within {timeout}s (Web API calls so far: {seen})"
