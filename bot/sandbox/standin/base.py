"""What every part of the stand-in stands on: its state, the error answer its methods refuse with,
its clock, the lookups of channels, users and messages, and a message as the Web API shows it."""

from __future__ import annotations

import asyncio
import random
import threading
from collections.abc import Callable
from typing import Any

from bot.runtime.clock import Clock
from bot.sandbox.identity import WorkspaceIdentity
from bot.sandbox.standin.records import (
    Bucket,
    Call,
    Channel,
    Ephemeral,
    FailRate,
    Message,
    RateLimitEvent,
    ResponseContext,
    ResponsePost,
    ScriptedFailure,
    ScriptedRateLimit,
    SlackUser,
    ViewRecord,
)

# Workspace plans: user groups exist on every plan but the free one.
PLANS = ("free", "pro", "business+", "enterprise")


class ApiError(Exception):
    """A Slack error answer: `{"ok": false, "error": ...}` plus what Slack adds to it."""

    def __init__(
        self,
        error: str,
        *,
        status: int = 200,
        messages: list[str] | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(error)
        self.error = error
        self.status = status
        self.headers = headers or {}
        self.body: dict[str, Any] = {"ok": False, "error": error}
        if extra:
            self.body.update(extra)
        if messages:
            self.body["response_metadata"] = {"messages": messages}


class StandInBase:
    """The stand-in's state and the helpers every family of methods uses."""

    # Set by SlackStandIn.__init__.
    token: str | None
    identity: WorkspaceIdentity
    scopes: frozenset[str]
    usergroups_admins_only: bool
    validate_blocks: bool
    strict_triggers: bool
    trigger_ttl: float
    enforce_rate_limits: bool
    enforce_tiers: bool
    posting_rate: float
    posting_burst: int
    _plan: str
    _seed: int
    _clock: Clock
    _monotonic: Callable[[], float]
    _lock: threading.Condition
    _async_waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]]
    _handlers: dict[str, Callable[[dict[str, Any]], dict[str, Any]]]
    # The directory: kept by reset().
    _users: dict[str, SlackUser]
    _channels: dict[str, Channel]
    _usergroups: dict[str, dict[str, Any]]
    _fail_rate: FailRate | None

    @property
    def plan(self) -> str:
        """The workspace's plan: on `free`, usergroups.users.update answers
        `plan_upgrade_required` (user groups are a paid feature)."""
        return self._plan

    @plan.setter
    def plan(self, value: str) -> None:
        if value not in PLANS:
            raise ValueError(f"plan must be one of {', '.join(PLANS)}; got {value!r}")
        self._plan = value

    def _clear_recordings(self) -> None:
        self._rng = random.Random(self._seed)
        self._messages: dict[str, list[Message]] = {}
        self._deleted: list[Message] = []
        self._ephemerals: list[Ephemeral] = []
        # DM channels are part of the directory; only their messages are forgotten.
        self._dms: dict[str, str] = {
            chan.user: chan.id for chan in self._channels.values() if chan.is_im and chan.user
        }
        self._views: dict[str, dict[str, Any]] = {}
        self._view_log: list[ViewRecord] = []
        self._stacks: dict[str, list[str]] = {}
        self._closed: set[str] = set()  # modals their user closed: Slack no longer knows them
        self._homes: dict[str, str] = {}
        self._external_ids: dict[str, str] = {}
        self._view_counter = 0
        self._triggers: dict[str, tuple[str, float]] = {}
        self._exchanged: set[str] = set()
        self._trigger_counter = 0
        self._usergroup_updates: dict[str, list[list[str]]] = {}
        self._calls: list[Call] = []
        self._responses: dict[str, list[ResponsePost]] = {}
        self._response_contexts: dict[str, ResponseContext] = {}
        self._rate_limit_events: list[RateLimitEvent] = []
        self._would_rate_limit = 0
        self._buckets: dict[str, Bucket] = {}
        self._tier_buckets: dict[str, Bucket] = {}
        self._fail_rate = None
        self._scripted_limits: dict[str, ScriptedRateLimit] = {}
        self._scripted_failures: dict[str, list[ScriptedFailure]] = {}
        self._blocked_until: dict[str, float] = {}
        self._last_ts_us = 0
        self._version = 0

    def _changed(self) -> None:
        """Wake everyone waiting on the recorded state (threads and event loops)."""
        self._version += 1
        self._lock.notify_all()
        for loop, event in list(self._async_waiters):
            try:
                loop.call_soon_threadsafe(event.set)
            except RuntimeError:  # that loop is closed; its waiter is gone
                self._async_waiters.discard((loop, event))

    def _now(self) -> float:
        return self._clock.now().timestamp()

    def _now_int(self) -> int:
        return int(self._now())

    def _next_ts(self) -> str:
        """A message ts: the wall time in microseconds, unique and increasing."""
        us = max(int(self._now() * 1_000_000), self._last_ts_us + 1)
        self._last_ts_us = us
        return f"{us // 1_000_000}.{us % 1_000_000:06d}"

    def _channel_or_none(self, ref: str) -> Channel | None:
        """A channel by id, #name or name; a user id means the app's DM with that user."""
        if ref in self._channels:
            return self._channels[ref]
        if ref in self._users and not self._users[ref].is_bot:
            return self._dm_for(ref)
        name = ref.lstrip("#")
        for channel in self._channels.values():
            if not channel.is_im and channel.name == name:
                return channel
        return None

    def _channel(self, ref: Any) -> Channel:
        if not ref:
            raise ApiError("channel_not_found")
        found = self._channel_or_none(str(ref))
        if found is None:
            raise ApiError("channel_not_found")
        return found

    def _member_channel(self, ref: Any) -> Channel:
        """The conversation ``ref`` names, refused as Slack refuses a bot outside it: a private
        channel it is not in does not exist for it; a public one is `not_in_channel`."""
        channel = self._channel(ref)
        if channel.is_im or self.identity.bot_user_id in channel.members:
            return channel
        if channel.is_private:
            raise ApiError("channel_not_found")
        raise ApiError("not_in_channel")

    def _dm_for(self, user: str) -> Channel:
        dm_id = self._dms.get(user)
        if dm_id is not None and dm_id in self._channels:
            return self._channels[dm_id]
        base = "D" + user[1:]
        dm_id, n = base, 1
        while dm_id in self._channels:
            n += 1
            dm_id = f"{base}{n}"
        channel = Channel(id=dm_id, name=dm_id, created=self._now_int(), is_im=True, user=user)
        self._channels[dm_id] = channel
        self._dms[user] = dm_id
        return channel

    def _find_message(self, channel_id: str, ts: str) -> Message | None:
        for msg in self._messages.get(channel_id, []):
            if msg.ts == ts:
                return msg
        return None

    def _user(self, ref: Any, error: str = "user_not_found") -> SlackUser:
        user = self._users.get(str(ref or ""))
        if user is None:
            raise ApiError(error)
        return user

    def _message_json(self, msg: Message) -> dict[str, Any]:
        body: dict[str, Any] = {
            "user": msg.user,
            "type": "message",
            "ts": msg.ts,
            "bot_id": msg.bot_id,
            "app_id": self.identity.app_id,
            "text": msg.text,
            "team": self.identity.team_id,
            "bot_profile": {
                "id": self.identity.bot_id,
                "app_id": self.identity.app_id,
                "name": self.identity.bot_name,
                "icons": {},
                "deleted": False,
                "updated": self._now_int(),
                "team_id": self.identity.team_id,
            },
        }
        if msg.blocks:
            body["blocks"] = msg.blocks
        if msg.attachments:
            body["attachments"] = msg.attachments
        if msg.thread_ts and msg.thread_ts != msg.ts:
            body["thread_ts"] = msg.thread_ts
            body["parent_user_id"] = self.identity.bot_user_id
        if msg.metadata:
            body["metadata"] = msg.metadata
        return body
