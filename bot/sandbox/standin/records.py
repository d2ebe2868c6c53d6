"""What the stand-in keeps: the workspace's members and channels, the messages, views, calls,
429s and response_url posts it recorded, and the state of the faults it was told to inject."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class SlackUser:
    """A member of the stand-in workspace."""

    id: str
    name: str
    tz: str
    real_name: str
    display_name: str
    email: str | None = None
    is_bot: bool = False
    deleted: bool = False  # deactivated: still known to users.info, answered `deleted: true`
    locale: str = "en-US"  # the language of their Slack client; answered when include_locale


@dataclass
class Channel:
    """A conversation: a channel (public, or private when its id starts with G), or the app's
    DM with one user. The bot is a member when its user id is among ``members``."""

    id: str
    name: str
    created: int
    is_im: bool = False
    user: str | None = None
    members: list[str] = field(default_factory=list)
    archived: bool = False

    @property
    def is_private(self) -> bool:
        """Whether only its members see it (Slack's older private channels have G ids)."""
        return not self.is_im and self.id.startswith("G")


@dataclass
class Edit:
    """A message's content before one chat.update (or replace_original) changed it."""

    text: str
    blocks: list[dict[str, Any]]
    attachments: list[dict[str, Any]]
    edited_at: float


@dataclass
class Message:
    """A message in a channel or DM, as the stand-in keeps it."""

    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]]
    attachments: list[dict[str, Any]] = field(default_factory=list)
    user: str | None = None
    bot_id: str | None = None
    thread_ts: str | None = None
    metadata: dict[str, Any] | None = None
    edits: list[Edit] = field(default_factory=list)
    reactions: dict[str, list[str]] = field(default_factory=dict)
    source: str = "chat.postMessage"

    @property
    def edited(self) -> bool:
        """Whether the message was changed after it was posted."""
        return bool(self.edits)


@dataclass
class Ephemeral:
    """A message only one user sees (chat.postEphemeral, or an ephemeral response_url answer)."""

    channel: str
    user: str
    ts: str
    text: str
    blocks: list[dict[str, Any]]
    source: str = "chat.postEphemeral"
    replaced: bool = False


@dataclass
class ViewRecord:
    """One view the app opened, pushed, updated or published, as Slack returned it."""

    id: str
    user: str | None
    method: str
    view: dict[str, Any]
    trigger_id: str | None = None

    @property
    def type(self) -> str:
        """`modal` or `home`."""
        return str(self.view.get("type", ""))

    @property
    def blocks(self) -> list[dict[str, Any]]:
        """The view's blocks."""
        return list(self.view.get("blocks", []))

    @property
    def callback_id(self) -> str:
        """The view's callback_id ("" when it has none)."""
        return str(self.view.get("callback_id", ""))

    @property
    def private_metadata(self) -> str:
        """The view's private_metadata ("" when it has none)."""
        return str(self.view.get("private_metadata", ""))


@dataclass
class Call:
    """One Web API call as it arrived, and what the stand-in answered."""

    method: str
    args: dict[str, Any]
    at: float
    status: int
    response: dict[str, Any] | None
    fault: str | None = None

    @property
    def ok(self) -> bool:
        """Whether the call was answered `ok: true`."""
        return bool(self.response and self.response.get("ok"))

    @property
    def error(self) -> str | None:
        """The Slack error code of the answer, if any."""
        return None if self.response is None else self.response.get("error")


@dataclass
class RateLimitEvent:
    """A 429 the stand-in sent, and when the retry that followed arrived."""

    method: str
    channel: str | None
    sent_at: float
    retry_after: int
    reason: str
    retried_at: float | None = None

    @property
    def respected(self) -> bool | None:
        """Whether the retry waited Retry-After seconds; None while no retry came."""
        if self.retried_at is None:
            return None
        return self.retried_at - self.sent_at >= self.retry_after


@dataclass
class ResponsePost:
    """What the bot posted to one response_url, and what it did to the conversation."""

    key: str
    body: dict[str, Any]
    at: float
    effect: str


@dataclass
class ResponseContext:
    channel: str | None
    user: str | None
    message_ts: str | None
    is_ephemeral: bool


@dataclass
class FailRate:
    rate: float
    methods: frozenset[str] | None
    kinds: tuple[str, ...]
    slow_seconds: float
    retry_after: int = 1


@dataclass
class ScriptedFailure:
    remaining: int
    error: str
    status: int
    channel: str | None = None  # only calls to this channel (an id or a name), else any


@dataclass
class ScriptedRateLimit:
    remaining: int
    retry_after: int


@dataclass
class Bucket:
    tokens: float
    updated: float
