"""A local stand-in of the Slack Web API: the methods the bot calls, recorded, with faults.

The bot talks to it through slack_sdk's real client pointed at `base_url`, over real HTTP, so
nothing in the bot knows it is not Slack. Tests and the sandbox read what the bot did through the
query methods (`messages`, `dms`, `last_view`, `calls_to`, ...) and wait for it with `wait_for`.

It refuses what Slack refuses, with Slack's error names: Block Kit's limits (`invalid_blocks`,
or `invalid_arguments` in views, with `response_metadata.messages`), posting where the bot was
never invited (`not_in_channel`) or in an archived channel, a trigger used late or twice, user
groups on a free or locked workspace, calls past a method's rate tier (429, Retry-After), and
methods outside the app's scopes (`missing_scope`).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import copy
import hashlib
import json
import math
import random
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from bot.runtime.clock import Clock, SystemClock
from bot.sandbox.server import RunningServer, serve_in_thread

T = TypeVar("T")

# Slack lets an app answer a trigger with a modal for this long.
TRIGGER_TTL_SECONDS = 3.0
# Slack's limits that apps trip over: blocks per message and per view, modal title length,
# views stacked in one modal, message text length.
MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_MODAL_TITLE = 24
MAX_VIEW_STACK = 3
MAX_TEXT = 40_000
# A view's private_metadata, callback_id and external_id (docs.slack.dev, "Modals" and the
# view object reference).
MAX_PRIVATE_METADATA = 3000
MAX_VIEW_BYTES = 250_000  # a whole view, as JSON
MAX_VIEW_ID_FIELD = 255
# Block Kit's per-element limits (docs.slack.dev/reference/block-kit): characters of a field.
MAX_ACTION_ID = 255
MAX_BLOCK_ID = 255
MAX_BUTTON_TEXT = 75
MAX_BUTTON_VALUE = 2000
MAX_URL = 3000
MAX_SECTION_TEXT = 3000
MAX_FIELD_TEXT = 2000
MAX_HEADER_TEXT = 150
MAX_LABEL_TEXT = 2000
MAX_PLACEHOLDER_TEXT = 150
MAX_OPTION_TEXT = 75
MAX_OPTION_VALUE = 150
MAX_OPTION_GROUP_LABEL = 75
# ...and counts: options of one menu (each select's own cap), option groups, options per group.
MAX_OPTIONS = {
    "static_select": 100,
    "multi_static_select": 100,
    "overflow": 5,
    "radio_buttons": 10,
    "checkboxes": 10,
}
MAX_OPTION_GROUPS = 100
MAX_CONFIRM = {"title": 100, "text": 300, "confirm": 30, "deny": 30}
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
# Workspace plans: user groups exist on every plan but the free one.
PLANS = ("free", "pro", "business+", "enterprise")
# Posting to one channel: about one message a second, with short bursts allowed.
POSTING_RATE_PER_SECOND = 1.0
POSTING_BURST = 3
POSTING_LIMITED_METHODS = frozenset({"chat.postMessage", "chat.update"})
FAULT_KINDS = frozenset({"http_500", "http_429", "error", "drop", "slow"})
# Arguments that slack_sdk (and Slack) accept as JSON strings inside form bodies.
JSON_ARGUMENTS = ("blocks", "attachments", "view", "metadata")
# What the app's manifest (manifest.yml) grants the bot; a method needing another scope is
# refused `missing_scope`, as Slack refuses it.
BOT_SCOPES = (
    "commands",
    "chat:write",
    "im:write",
    "users:read",
    "usergroups:read",
    "usergroups:write",
    "channels:read",
    "groups:read",
    "channels:history",
    "groups:history",
    "im:history",
)
# The scope each method needs (a conversation's kind decides between channels:, groups: and im:).
METHOD_SCOPES = {
    "chat.postMessage": "chat:write",
    "chat.update": "chat:write",
    "chat.postEphemeral": "chat:write",
    "chat.delete": "chat:write",
    "conversations.open": "im:write",
    "users.info": "users:read",
    "users.list": "users:read",
    "usergroups.list": "usergroups:read",
    "usergroups.users.list": "usergroups:read",
    "usergroups.users.update": "usergroups:write",
    "reactions.add": "reactions:write",
}

USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
CHANNEL_ID = re.compile(r"^[CG][A-Z0-9]{2,}$")
USERGROUP_ID = re.compile(r"^S[A-Z0-9]{2,}$")

# Slack's tz_label is the zone's long name; zoneinfo only knows abbreviations.
_TZ_LABELS = {
    "UTC": "Coordinated Universal Time",
    "GMT": "Greenwich Mean Time",
    "BST": "British Summer Time",
    "WET": "Western European Time",
    "WEST": "Western European Summer Time",
    "CET": "Central European Time",
    "CEST": "Central European Summer Time",
    "EET": "Eastern European Time",
    "EEST": "Eastern European Summer Time",
    "MSK": "Moscow Time",
    "EST": "Eastern Standard Time",
    "EDT": "Eastern Daylight Time",
    "CST": "Central Standard Time",
    "CDT": "Central Daylight Time",
    "MST": "Mountain Standard Time",
    "MDT": "Mountain Daylight Time",
    "PST": "Pacific Standard Time",
    "PDT": "Pacific Daylight Time",
    "AKST": "Alaska Standard Time",
    "AKDT": "Alaska Daylight Time",
    "HST": "Hawaii-Aleutian Standard Time",
    "JST": "Japan Standard Time",
    "KST": "Korea Standard Time",
    "AEST": "Australian Eastern Standard Time",
    "AEDT": "Australian Eastern Daylight Time",
    "ACST": "Australian Central Standard Time",
    "ACDT": "Australian Central Daylight Time",
    "AWST": "Australian Western Standard Time",
    "NZST": "New Zealand Standard Time",
    "NZDT": "New Zealand Daylight Time",
    "SAST": "South Africa Standard Time",
}


# --------------------------------------------------------------------------- records


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
class _ResponseContext:
    channel: str | None
    user: str | None
    message_ts: str | None
    is_ephemeral: bool


@dataclass
class _FailRate:
    rate: float
    methods: frozenset[str] | None
    kinds: tuple[str, ...]
    slow_seconds: float
    retry_after: int = 1


@dataclass
class _ScriptedFailure:
    remaining: int
    error: str
    status: int
    channel: str | None = None  # only calls to this channel (an id or a name), else any


@dataclass
class _ScriptedRateLimit:
    remaining: int
    retry_after: int


@dataclass
class _Bucket:
    tokens: float
    updated: float


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


@dataclass
class _Fault:
    kind: str  # "answer" (a ready error answer), "drop" or "slow"
    error: ApiError | None = None
    slow_seconds: float = 0.0


class _DroppedResponse(Response):
    """Starts the answer, sends half of it, then lets the server close the connection."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
        )
        await send({"type": "http.response.body", "body": self.body[: len(self.body) // 2]})


# --------------------------------------------------------------------------- Block Kit limits


class _Limits:
    """Slack's answers to one block's breaches of Block Kit's limits, as it words them."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def text(self, value: Any, limit: int, where: str) -> None:
        """A string (or a text object's text) of at most ``limit`` characters."""
        if isinstance(value, dict):
            value, where = value.get("text"), f"{where}/text"
        if isinstance(value, str) and len(value) > limit:
            self.problems.append(
                f"[ERROR] must be less than {limit + 1} characters [json-pointer:{where}]"
            )

    def count(self, items: Any, limit: int, where: str) -> None:
        if isinstance(items, list) and len(items) > limit:
            self.problems.append(
                f"[ERROR] no more than {limit} items allowed [json-pointer:{where}]"
            )

    def element(self, element: Any, where: str) -> None:
        """An interactive element: its ids, texts, options and confirmation dialog."""
        if not isinstance(element, dict):
            return
        kind = element.get("type")
        self.text(element.get("action_id"), MAX_ACTION_ID, f"{where}/action_id")
        self.text(element.get("placeholder"), MAX_PLACEHOLDER_TEXT, f"{where}/placeholder")
        if kind == "button":
            self.text(element.get("text"), MAX_BUTTON_TEXT, f"{where}/text")
            self.text(element.get("value"), MAX_BUTTON_VALUE, f"{where}/value")
            self.text(element.get("url"), MAX_URL, f"{where}/url")
        if kind in MAX_OPTIONS:
            self.count(element.get("options"), MAX_OPTIONS[kind], f"{where}/options")
        for i, option in enumerate(_dicts(element.get("options"))):
            self.option(option, f"{where}/options/{i}")
        self.count(element.get("option_groups"), MAX_OPTION_GROUPS, f"{where}/option_groups")
        for i, group in enumerate(_dicts(element.get("option_groups"))):
            at = f"{where}/option_groups/{i}"
            self.text(group.get("label"), MAX_OPTION_GROUP_LABEL, f"{at}/label")
            self.count(group.get("options"), MAX_OPTIONS["static_select"], f"{at}/options")
            for j, option in enumerate(_dicts(group.get("options"))):
                self.option(option, f"{at}/options/{j}")
        if isinstance(element.get("initial_option"), dict):
            self.option(element["initial_option"], f"{where}/initial_option")
        confirm = element.get("confirm")
        if isinstance(confirm, dict):
            for name, limit in MAX_CONFIRM.items():
                self.text(confirm.get(name), limit, f"{where}/confirm/{name}")

    def option(self, option: dict[str, Any], where: str) -> None:
        self.text(option.get("text"), MAX_OPTION_TEXT, f"{where}/text")
        self.text(option.get("value"), MAX_OPTION_VALUE, f"{where}/value")
        self.text(option.get("description"), MAX_OPTION_TEXT, f"{where}/description")
        self.text(option.get("url"), MAX_URL, f"{where}/url")


def _dicts(items: Any) -> list[dict[str, Any]]:
    return [i for i in items if isinstance(i, dict)] if isinstance(items, list) else []


def block_limit_problems(block: dict[str, Any], where: str) -> list[str]:
    """What Slack says about ``block``'s texts, ids and menus past Block Kit's limits."""
    limits = _Limits()
    kind = block.get("type")
    limits.text(block.get("block_id"), MAX_BLOCK_ID, f"{where}/block_id")
    if kind == "section":
        limits.text(block.get("text"), MAX_SECTION_TEXT, f"{where}/text")
        for i, item in enumerate(_dicts(block.get("fields"))):
            limits.text(item, MAX_FIELD_TEXT, f"{where}/fields/{i}")
        limits.element(block.get("accessory"), f"{where}/accessory")
    elif kind == "header":
        limits.text(block.get("text"), MAX_HEADER_TEXT, f"{where}/text")
    elif kind == "actions":
        for i, element in enumerate(_dicts(block.get("elements"))):
            limits.element(element, f"{where}/elements/{i}")
    elif kind == "input":
        limits.text(block.get("label"), MAX_LABEL_TEXT, f"{where}/label")
        limits.text(block.get("hint"), MAX_LABEL_TEXT, f"{where}/hint")
        limits.element(block.get("element"), f"{where}/element")
    return limits.problems


# --------------------------------------------------------------------------- the stand-in


class SlackStandIn:
    """The Slack Web API methods the bot uses, with their state, a record of calls, and faults."""

    _fail_rate: _FailRate | None

    def __init__(
        self,
        *,
        token: str | None = None,
        team_id: str = "T0SANDBOX",
        team_name: str = "Watchkeeper Sandbox",
        team_domain: str = "watchkeeper-sandbox",
        bot_user_id: str = "U0WKBOT",
        bot_id: str = "B0WKBOT",
        app_id: str = "A0WKAPP",
        bot_name: str = "watchkeeper",
        seed: int = 0,
        clock: Clock | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        validate_blocks: bool = True,
        strict_triggers: bool = False,
        trigger_ttl: float = TRIGGER_TTL_SECONDS,
        enforce_rate_limits: bool = False,
        posting_rate: float = POSTING_RATE_PER_SECOND,
        posting_burst: int = POSTING_BURST,
        enforce_tiers: bool = True,
        scopes: Iterable[str] = BOT_SCOPES,
        plan: str = "pro",
        usergroups_admins_only: bool = False,
    ) -> None:
        if token is not None and not token.startswith("xoxb-"):
            raise ValueError(f"token must be a bot token starting with 'xoxb-', got {token[:5]!r}…")
        if posting_rate <= 0 or posting_burst < 1:
            raise ValueError("posting_rate must be > 0 and posting_burst >= 1")
        self.enforce_tiers = enforce_tiers
        self.scopes = frozenset(scopes)
        self.plan = plan
        # The workspace lets only admins edit user groups (the bot is not one), so
        # usergroups.users.update answers `permission_denied`.
        self.usergroups_admins_only = usergroups_admins_only
        self.token = token
        self.team_id = team_id
        self.team_name = team_name
        self.team_domain = team_domain
        self.workspace_url = f"https://{team_domain}.slack.com/"
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.app_id = app_id
        self.bot_name = bot_name
        self.validate_blocks = validate_blocks
        self.strict_triggers = strict_triggers
        self.trigger_ttl = trigger_ttl
        self.enforce_rate_limits = enforce_rate_limits
        self.posting_rate = posting_rate
        self.posting_burst = posting_burst
        self._seed = seed
        self._clock: Clock = clock or SystemClock()
        self._monotonic = monotonic
        self._lock = threading.Condition(threading.RLock())
        self._async_waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()
        self._server: RunningServer | None = None
        self._root_url: str | None = None
        self._handlers: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            "auth.test": self._auth_test,
            "chat.postMessage": self._chat_post_message,
            "chat.update": self._chat_update,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.delete": self._chat_delete,
            "chat.getPermalink": self._chat_get_permalink,
            "conversations.open": self._conversations_open,
            "conversations.info": self._conversations_info,
            "conversations.history": self._conversations_history,
            "users.info": self._users_info,
            "users.list": self._users_list,
            "views.open": self._views_open,
            "views.update": self._views_update,
            "views.push": self._views_push,
            "views.publish": self._views_publish,
            "usergroups.users.update": self._usergroups_users_update,
            "usergroups.list": self._usergroups_list,
            "usergroups.users.list": self._usergroups_users_list,
            "reactions.add": self._reactions_add,
        }
        # The directory: kept by reset().
        self._users: dict[str, SlackUser] = {}
        self._channels: dict[str, Channel] = {}
        self._usergroups: dict[str, dict[str, Any]] = {}
        self._add_builtin_users()
        self._clear_recordings()
        self.app = Starlette(
            routes=[
                Route("/api/{method}", self._api_endpoint, methods=["GET", "POST"]),
                Route("/response/{key}", self._response_endpoint, methods=["POST"]),
            ]
        )

    # ---------------------------------------------------------------- the workspace's settings

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

    # ---------------------------------------------------------------- serving

    def start(self, host: str = "127.0.0.1", port: int = 0) -> SlackStandIn:
        """Serve the stand-in on host:port (0 = an ephemeral port) from a background thread."""
        if self._server is not None:
            raise RuntimeError(f"the Slack stand-in is already served at {self._root_url}")
        self._server = serve_in_thread(self.app, host, port)
        self._root_url = self._server.url + "/"
        return self

    def stop(self) -> None:
        """Stop serving (the recorded state stays readable)."""
        if self._server is not None:
            self._server.stop()
            self._server = None

    def attach(self, root_url: str) -> None:
        """Tell the stand-in where its app is served, when another server mounts `app`."""
        self._root_url = root_url.rstrip("/") + "/"

    def __enter__(self) -> SlackStandIn:
        return self.start() if self._server is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def root_url(self) -> str:
        """Where the stand-in is served, with a trailing slash."""
        if self._root_url is None:
            raise RuntimeError("the Slack stand-in is not served yet: call start() or attach(url)")
        return self._root_url

    @property
    def base_url(self) -> str:
        """The Web API base URL to give slack_sdk (SLACK_API_URL), e.g. http://127.0.0.1:PORT/api/."""
        return self.root_url + "api/"

    @property
    def port(self) -> int:
        """The port the stand-in listens on."""
        if self._server is None:
            raise RuntimeError("the Slack stand-in is not served by start()")
        return self._server.port

    # ---------------------------------------------------------------- the directory

    def add_user(
        self,
        id: str,
        name: str,
        tz: str = "Europe/Paris",
        real_name: str | None = None,
        *,
        display_name: str | None = None,
        email: str | None = None,
        is_bot: bool = False,
        locale: str = "en-US",
    ) -> SlackUser:
        """Add (or replace) a workspace member; ``locale`` is their Slack client's language."""
        if not USER_ID.match(id):
            raise ValueError(f"user id {id!r} must look like U0ALICE: U or W, then capitals/digits")
        if not name:
            raise ValueError(f"user {id}: name must not be empty")
        try:
            ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(f"user {id}: unknown time zone {tz!r}") from error
        user = SlackUser(
            id=id,
            name=name,
            tz=tz,
            real_name=real_name or name,
            display_name=display_name if display_name is not None else name,
            email=email,
            is_bot=is_bot,
            locale=locale,
        )
        with self._lock:
            self._users[id] = user
            self._changed()
        return copy.deepcopy(user)

    def add_channel(
        self,
        id: str,
        name: str,
        members: Iterable[str] = (),
        *,
        bot_member: bool = True,
        archived: bool = False,
    ) -> Channel:
        """Add (or replace) a channel (private when its id starts with G).

        By default the bot was invited to it, as in a workspace set up for the bot; with
        ``bot_member=False`` it never was, and posting there is refused `not_in_channel`.
        """
        if not CHANNEL_ID.match(id):
            raise ValueError(f"channel id {id!r} must look like C0SUPPORT: C or G, then capitals")
        name = name.lstrip("#")
        if not name:
            raise ValueError(f"channel {id}: name must not be empty")
        people = [m for m in dict.fromkeys(members) if m != self.bot_user_id]
        if bot_member:
            people.append(self.bot_user_id)
        with self._lock:
            channel = Channel(
                id=id, name=name, created=self._now_int(), members=people, archived=archived
            )
            self._channels[id] = channel
            self._changed()
            return copy.deepcopy(channel)

    def invite_bot(self, channel: str) -> None:
        """Someone typed `/invite @bot` in ``channel``."""
        with self._lock:
            found = self._known_channel(channel)
            if self.bot_user_id not in found.members:
                found.members.append(self.bot_user_id)
            self._changed()

    def remove_bot(self, channel: str) -> None:
        """Someone removed the bot from ``channel`` (or it was never invited)."""
        with self._lock:
            found = self._known_channel(channel)
            found.members = [m for m in found.members if m != self.bot_user_id]
            self._changed()

    def archive_channel(self, channel: str) -> None:
        """Archive ``channel``: nothing can be posted or edited there any more."""
        with self._lock:
            self._known_channel(channel).archived = True
            self._changed()

    def deactivate_user(self, user: str) -> None:
        """Deactivate a member's account: users.info then says `deleted: true`."""
        with self._lock:
            found = self._users.get(user)
            if found is None:
                raise KeyError(f"no user {user!r} in the stand-in workspace")
            found.deleted = True
            self._changed()

    def is_bot_member(self, channel: str) -> bool:
        """Whether the bot is in ``channel`` (always, for its DMs)."""
        with self._lock:
            found = self._known_channel(channel)
            return found.is_im or self.bot_user_id in found.members

    def _known_channel(self, ref: str) -> Channel:
        found = self._channel_or_none(ref)
        if found is None:
            raise KeyError(f"no channel {ref!r} in the stand-in workspace")
        return found

    def add_usergroup(
        self, id: str, handle: str, name: str | None = None, users: Iterable[str] = ()
    ) -> None:
        """Add (or replace) a user group (Slack's @handle groups; ids start with S)."""
        if not USERGROUP_ID.match(id):
            raise ValueError(f"user group id {id!r} must look like S0ONCALL: S, then capitals")
        now = self._now_int()
        members = list(users)
        with self._lock:
            self._usergroups[id] = {
                "id": id,
                "team_id": self.team_id,
                "is_usergroup": True,
                "is_subteam": True,
                "name": name or handle,
                "description": "",
                "handle": handle.lstrip("@"),
                "is_external": False,
                "date_create": now,
                "date_update": now,
                "date_delete": 0,
                "auto_type": None,
                "auto_provision": False,
                "enterprise_subteam_id": "",
                "created_by": self.bot_user_id,
                "updated_by": self.bot_user_id,
                "deleted_by": None,
                "prefs": {"channels": [], "groups": []},
                "users": members,
                "user_count": len(members),
                "channel_count": 0,
            }
            self._changed()

    def users(self) -> list[SlackUser]:
        """Every member, the bot and Slackbot included."""
        with self._lock:
            return copy.deepcopy(list(self._users.values()))

    def channels(self) -> list[Channel]:
        """Every channel and DM."""
        with self._lock:
            return copy.deepcopy(list(self._channels.values()))

    def user_name(self, user: str) -> str:
        """A member's username (Slack's `name`), as slash commands and payloads carry it."""
        with self._lock:
            found = self._users.get(user)
            if found is None:
                raise KeyError(f"no user {user!r} in the stand-in workspace")
            return found.name

    def channel_name(self, channel: str) -> str:
        """A channel's name; "directmessage" for a DM, as Slack names it in slash commands."""
        with self._lock:
            found = self._channel_or_none(channel)
            if found is None:
                raise KeyError(f"no channel {channel!r} in the stand-in workspace")
            return "directmessage" if found.is_im else found.name

    def dm_channel(self, user: str) -> str:
        """The id of the app's DM with `user` (stable; created on first use)."""
        with self._lock:
            if user not in self._users:
                raise KeyError(f"no user {user!r} in the stand-in workspace")
            dm = self._dm_for(user)
            self._changed()
            return dm.id

    # ---------------------------------------------------------------- queries

    def messages(self, channel: str) -> list[Message]:
        """A channel's messages (by id, #name, or user id for a DM), oldest first; no replies."""
        with self._lock:
            found = self._channel_or_none(channel)
            if found is None:
                return []
            return [
                copy.deepcopy(m)
                for m in self._messages.get(found.id, [])
                if m.thread_ts is None or m.thread_ts == m.ts
            ]

    def replies(self, channel: str, thread_ts: str) -> list[Message]:
        """The replies in one thread, oldest first."""
        with self._lock:
            found = self._channel_or_none(channel)
            if found is None:
                return []
            return [
                copy.deepcopy(m)
                for m in self._messages.get(found.id, [])
                if m.thread_ts == thread_ts and m.ts != thread_ts
            ]

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
                del stack[-1:]
            elif view_id in stack:
                del stack[stack.index(view_id) :]
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

    # ---------------------------------------------------------------- waiting

    def wait_for(self, predicate: Callable[[SlackStandIn], T], timeout: float = 5.0) -> T:
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
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(self._timeout_message(predicate, timeout))
                self._lock.wait(remaining)

    async def wait_for_async(
        self,
        predicate: Callable[[SlackStandIn], T],
        timeout: float = 5.0,  # noqa: ASYNC109 - the same call shape as wait_for()
    ) -> T:
        """Wait, not blocking the event loop, until `predicate(standin)` is truthy; return it."""
        loop = asyncio.get_running_loop()
        changed = asyncio.Event()
        waiter = (loop, changed)
        with self._lock:
            self._async_waiters.add(waiter)
        try:
            deadline = loop.time() + timeout
            while True:
                changed.clear()
                with self._lock:
                    value = predicate(self)
                if value:
                    return value
                remaining = deadline - loop.time()
                if remaining <= 0:
                    raise TimeoutError(self._timeout_message(predicate, timeout))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(changed.wait(), remaining)
        finally:
            with self._lock:
                self._async_waiters.discard(waiter)

    def _timeout_message(self, predicate: Callable[..., Any], timeout: float) -> str:
        counts: dict[str, int] = {}
        for call in self._calls:
            counts[call.method] = counts.get(call.method, 0) + 1
        seen = ", ".join(f"{m}×{n}" for m, n in counts.items()) or "no calls"
        name = getattr(predicate, "__qualname__", repr(predicate))
        return f"condition {name} not met within {timeout}s (Web API calls so far: {seen})"

    # ---------------------------------------------------------------- faults

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
                _FailRate(rate, names, chosen, slow_seconds, int(retry_after)) if rate else None
            )

    def rate_limit(self, method: str, retry_after: int = 1, *, times: int = 1) -> None:
        """Answer the next `times` calls of `method` with HTTP 429 and `Retry-After: retry_after`.

        Like Slack, a call that comes back before Retry-After has passed gets another 429.
        """
        self._check_method(method, "rate_limit")
        if retry_after < 1 or times < 1:
            raise ValueError("rate_limit: retry_after and times must be at least 1")
        with self._lock:
            self._scripted_limits[method] = _ScriptedRateLimit(times, int(retry_after))

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
                _ScriptedFailure(n, error, status, channel)
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

    # ---------------------------------------------------------------- triggers, response URLs

    def issue_trigger(self, user: str) -> str:
        """A new trigger_id for an interaction by `user` (valid for `trigger_ttl` seconds)."""
        with self._lock:
            self._trigger_counter += 1
            n = self._trigger_counter
            secret = hashlib.sha256(f"{self._seed}:{n}:{user}".encode()).hexdigest()[:20]
            trigger = f"{self._now_int()}.{n}.{secret}"
            self._triggers[trigger] = (user, self._monotonic())
            return trigger

    def response_url_for(
        self,
        key: str,
        *,
        channel: str | None = None,
        user: str | None = None,
        message_ts: str | None = None,
        is_ephemeral: bool = False,
    ) -> str:
        """The absolute response_url for `key`; with a context, answers posted there take effect.

        `channel` and `user` say where ephemeral and in_channel answers go; `message_ts` is the
        message that replace_original and delete_original act on.
        """
        if not re.fullmatch(r"[A-Za-z0-9._-]+", key):
            raise ValueError(f"response_url key {key!r} may hold only letters, digits, . _ -")
        with self._lock:
            self._response_contexts[key] = _ResponseContext(channel, user, message_ts, is_ephemeral)
        return f"{self.root_url}response/{key}"

    # ---------------------------------------------------------------- HTTP: the Web API

    async def _api_endpoint(self, request: Request) -> Response:
        method = request.path_params["method"]
        arrived = self._monotonic()
        try:
            args, warnings = await self._read_args(request)
        except ApiError as error:
            return self._finish(method, {}, arrived, error.status, error.body, error.headers)
        handler = self._handlers.get(method)
        if handler is None:
            body = {"ok": False, "error": "unknown_method", "req_method": method}
            return self._finish(method, args, arrived, 200, body, {})
        auth_error = self._auth_error(request, args)
        if auth_error is not None:
            return self._finish(method, args, arrived, 200, {"ok": False, "error": auth_error}, {})
        args.pop("token", None)
        with self._lock:
            needed = self._needed_scope(method, args)
        if needed is not None and needed not in self.scopes:
            body = {
                "ok": False,
                "error": "missing_scope",
                "needed": needed,
                "provided": ",".join(sorted(self.scopes)),
            }
            return self._finish(method, args, arrived, 200, body, {})

        with self._lock:
            self._note_retry(method, args, arrived)
            fault = self._pick_fault(method, args, arrived)
        if fault is not None and fault.error is not None:
            answer = fault.error
            return self._finish(
                method, args, arrived, answer.status, answer.body, answer.headers, answer.error
            )

        with self._lock:
            try:
                body = handler(args)
                status = 200
            except ApiError as error:
                body, status = error.body, error.status
            if warnings and body.get("ok"):
                body["warning"] = ",".join(warnings)
                body.setdefault("response_metadata", {})["warnings"] = warnings

        if fault is not None and fault.kind == "slow":
            await asyncio.sleep(fault.slow_seconds)
        response = self._finish(
            method, args, arrived, status, body, {}, fault=None if fault is None else fault.kind
        )
        if fault is not None and fault.kind == "drop":
            return _DroppedResponse(
                content=response.body, status_code=status, headers=self._headers({})
            )
        return response

    def _finish(
        self,
        method: str,
        args: dict[str, Any],
        arrived: float,
        status: int,
        body: dict[str, Any],
        headers: dict[str, str],
        fault: str | None = None,
    ) -> Response:
        with self._lock:
            self._calls.append(
                Call(method, copy.deepcopy(args), arrived, status, copy.deepcopy(body), fault)
            )
            self._changed()
        return Response(
            content=json.dumps(body, ensure_ascii=False).encode(),
            status_code=status,
            headers=self._headers(headers),
        )

    def _needed_scope(self, method: str, args: dict[str, Any]) -> str | None:
        """The scope ``method`` needs for these arguments (None: no scope, or an unknown
        conversation, which the method itself refuses)."""
        if method not in ("conversations.info", "conversations.history"):
            return METHOD_SCOPES.get(method)
        channel = self._channel_or_none(str(args.get("channel") or ""))
        if channel is None:
            return None
        kind = "im" if channel.is_im else "groups" if channel.is_private else "channels"
        return f"{kind}:read" if method == "conversations.info" else f"{kind}:history"

    def _headers(self, extra: dict[str, str]) -> dict[str, str]:
        headers = {
            "content-type": "application/json; charset=utf-8",
            "x-oauth-scopes": ",".join(sorted(self.scopes)),
        }
        headers.update(extra)
        return headers

    async def _read_args(self, request: Request) -> tuple[dict[str, Any], list[str]]:
        """The call's arguments from the query string and a form or JSON body; body wins."""
        args: dict[str, Any] = dict(request.query_params)
        warnings: list[str] = []
        raw = await request.body()
        content_type = request.headers.get("content-type", "")
        media = content_type.split(";")[0].strip().lower()
        if raw:
            if not media:
                raise ApiError("missing_post_type")
            if media == "application/json":
                if "charset" not in content_type.lower():
                    warnings.append("missing_charset")
                try:
                    decoded = json.loads(raw)
                except (ValueError, UnicodeDecodeError) as error:
                    raise ApiError("invalid_json", messages=[f"[ERROR] {error}"]) from error
                if not isinstance(decoded, dict):
                    raise ApiError("json_not_object")
                args.update(decoded)
            elif media in ("application/x-www-form-urlencoded", "text/plain"):
                try:
                    args.update(parse_qsl(raw.decode("utf-8"), keep_blank_values=True))
                except UnicodeDecodeError as error:
                    raise ApiError("invalid_form_data") from error
            else:
                raise ApiError("invalid_post_type")
        for name in JSON_ARGUMENTS:
            value = args.get(name)
            if isinstance(value, str) and value.strip():
                try:
                    args[name] = json.loads(value)
                except ValueError as error:
                    code = "invalid_blocks_format" if name == "blocks" else "invalid_arguments"
                    raise ApiError(
                        code, messages=[f"[ERROR] `{name}` is not valid JSON: {error}"]
                    ) from error
            elif isinstance(value, str):
                args.pop(name)
        return args, warnings

    def _auth_error(self, request: Request, args: dict[str, Any]) -> str | None:
        header = request.headers.get("authorization", "")
        token = header[len("Bearer ") :].strip() if header.lower().startswith("bearer ") else None
        token = token or args.get("token")
        if not token:
            return "not_authed"
        if not str(token).startswith("xoxb-") or (self.token is not None and token != self.token):
            return "invalid_auth"
        return None

    # ---------------------------------------------------------------- faults at work

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

    def _scripted_failure(self, method: str, args: dict[str, Any]) -> _ScriptedFailure | None:
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
        buckets: dict[str, _Bucket], key: str, at: float, rate: float, burst: int
    ) -> int | None:
        """Spend a token of ``key``'s bucket; when none is left, the seconds until one is."""
        bucket = buckets.get(key)
        if bucket is None:
            bucket = buckets[key] = _Bucket(float(burst), at)
        bucket.tokens = min(float(burst), bucket.tokens + (at - bucket.updated) * rate)
        bucket.updated = at
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return None
        return max(1, math.ceil((1.0 - bucket.tokens) / rate))

    # ---------------------------------------------------------------- HTTP: response_url

    async def _response_endpoint(self, request: Request) -> Response:
        key = request.path_params["key"]
        raw = await request.body()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return Response("invalid_payload", status_code=400, media_type="text/plain")
        deleting = bool(body.get("delete_original"))
        if not deleting and not body.get("text") and not body.get("blocks"):
            return Response("no_text", status_code=400, media_type="text/plain")
        with self._lock:
            effect = self._apply_response(key, body)
            post = ResponsePost(key, copy.deepcopy(body), self._monotonic(), effect)
            self._responses.setdefault(key, []).append(post)
            self._changed()
        return Response(
            content=b'{"ok":true}', headers={"content-type": "application/json; charset=utf-8"}
        )

    def _apply_response(self, key: str, body: dict[str, Any]) -> str:
        """Do what a response_url answer asks to the conversation it came from; say what."""
        context = self._response_contexts.get(key)
        if context is None or context.channel is None:
            return "recorded"
        channel = self._channel_or_none(context.channel)
        if channel is None:
            return "recorded"
        blocks = list(body.get("blocks") or [])
        text = str(body.get("text") or "")
        if body.get("delete_original") or body.get("replace_original"):
            if context.message_ts is None:
                return "recorded"
            if context.is_ephemeral:
                for eph in self._ephemerals:
                    if eph.channel == channel.id and eph.ts == context.message_ts:
                        if body.get("delete_original"):
                            self._ephemerals.remove(eph)
                            return "deleted"
                        eph.text, eph.blocks, eph.replaced = text, blocks, True
                        return "replaced"
                return "recorded"
            msg = self._find_message(channel.id, context.message_ts)
            if msg is None:
                return "recorded"
            if body.get("delete_original"):
                self._messages[channel.id].remove(msg)
                self._deleted.append(msg)
                return "deleted"
            self._edit(msg, text, blocks, list(body.get("attachments") or []))
            return "replaced"
        if body.get("response_type") == "in_channel":
            self._post(
                channel,
                text,
                blocks,
                list(body.get("attachments") or []),
                thread_ts=body.get("thread_ts"),
                source="response_url",
            )
            return "in_channel"
        if context.user is None:
            return "recorded"
        self._ephemerals.append(
            Ephemeral(channel.id, context.user, self._next_ts(), text, blocks, "response_url")
        )
        return "ephemeral"

    # ---------------------------------------------------------------- state helpers

    def _add_builtin_users(self) -> None:
        self._users[self.bot_user_id] = SlackUser(
            id=self.bot_user_id,
            name=self.bot_name,
            tz="America/Los_Angeles",
            real_name=self.bot_name.capitalize(),
            display_name="",
            is_bot=True,
        )
        # Slack lists Slackbot among the members of every workspace.
        self._users["USLACKBOT"] = SlackUser(
            id="USLACKBOT",
            name="slackbot",
            tz="America/Los_Angeles",
            real_name="Slackbot",
            display_name="Slackbot",
        )

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
        self._homes: dict[str, str] = {}
        self._external_ids: dict[str, str] = {}
        self._view_counter = 0
        self._triggers: dict[str, tuple[str, float]] = {}
        self._exchanged: set[str] = set()
        self._trigger_counter = 0
        self._usergroup_updates: dict[str, list[list[str]]] = {}
        self._calls: list[Call] = []
        self._responses: dict[str, list[ResponsePost]] = {}
        self._response_contexts: dict[str, _ResponseContext] = {}
        self._rate_limit_events: list[RateLimitEvent] = []
        self._would_rate_limit = 0
        self._buckets: dict[str, _Bucket] = {}
        self._tier_buckets: dict[str, _Bucket] = {}
        self._fail_rate = None
        self._scripted_limits: dict[str, _ScriptedRateLimit] = {}
        self._scripted_failures: dict[str, list[_ScriptedFailure]] = {}
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

    def _post(
        self,
        channel: Channel,
        text: str,
        blocks: list[dict[str, Any]],
        attachments: list[dict[str, Any]],
        *,
        thread_ts: Any = None,
        metadata: dict[str, Any] | None = None,
        source: str = "chat.postMessage",
    ) -> Message:
        msg = Message(
            channel=channel.id,
            ts=self._next_ts(),
            text=text,
            blocks=blocks,
            attachments=attachments,
            user=self.bot_user_id,
            bot_id=self.bot_id,
            thread_ts=str(thread_ts) if thread_ts else None,
            metadata=metadata,
            source=source,
        )
        self._messages.setdefault(channel.id, []).append(msg)
        return msg

    def _edit(
        self,
        msg: Message,
        text: str,
        blocks: list[dict[str, Any]],
        attachments: list[dict[str, Any]],
    ) -> None:
        msg.edits.append(Edit(msg.text, msg.blocks, msg.attachments, self._monotonic()))
        msg.text, msg.blocks, msg.attachments = text, blocks, attachments

    def _message_json(self, msg: Message) -> dict[str, Any]:
        body: dict[str, Any] = {
            "user": msg.user,
            "type": "message",
            "ts": msg.ts,
            "bot_id": msg.bot_id,
            "app_id": self.app_id,
            "text": msg.text,
            "team": self.team_id,
            "bot_profile": {
                "id": self.bot_id,
                "app_id": self.app_id,
                "name": self.bot_name,
                "icons": {},
                "deleted": False,
                "updated": self._now_int(),
                "team_id": self.team_id,
            },
        }
        if msg.blocks:
            body["blocks"] = msg.blocks
        if msg.attachments:
            body["attachments"] = msg.attachments
        if msg.thread_ts and msg.thread_ts != msg.ts:
            body["thread_ts"] = msg.thread_ts
            body["parent_user_id"] = self.bot_user_id
        if msg.metadata:
            body["metadata"] = msg.metadata
        return body

    def _content(self, args: dict[str, Any]) -> tuple[str, list[Any], list[Any]]:
        """A message's text, blocks and attachments from a call's arguments, checked like Slack."""
        text = args.get("text") or ""
        blocks = args.get("blocks") or []
        attachments = args.get("attachments") or []
        if not isinstance(text, str):
            raise ApiError("invalid_arguments", messages=["[ERROR] `text` must be a string"])
        if not isinstance(blocks, list):
            raise ApiError("invalid_blocks_format")
        if not isinstance(attachments, list):
            raise ApiError("invalid_attachments")
        if not text and not blocks and not attachments:
            raise ApiError("no_text")
        if len(text) > MAX_TEXT:
            raise ApiError("msg_too_long")
        if len(blocks) > MAX_MESSAGE_BLOCKS:
            raise ApiError(
                "invalid_blocks",
                messages=[
                    f"[ERROR] no more than {MAX_MESSAGE_BLOCKS} items allowed "
                    "[json-pointer:/blocks]"
                ],
            )
        blocks = self._checked_blocks(blocks, "/blocks", "invalid_blocks")
        return text, blocks, attachments

    def _checked_blocks(self, blocks: list[Any], pointer: str, error: str) -> list[dict[str, Any]]:
        """Blocks checked like Slack checks them (via slack_sdk's models), missing ids filled in."""
        problems = []
        filled = []
        for i, block in enumerate(blocks):
            where = f"{pointer}/{i}"
            if not isinstance(block, dict) or not block.get("type"):
                problems.append(
                    f"[ERROR] a block must be an object with a type [json-pointer:{where}]"
                )
                continue
            if self.validate_blocks:
                parsed = Block.parse(copy.deepcopy(block))
                if parsed is None or type(parsed) is Block:
                    problems.append(
                        f"[ERROR] unsupported type: {block['type']} [json-pointer:{where}]"
                    )
                    continue
                # slack_sdk checks a block's own fields, not the elements inside it.
                over = block_limit_problems(block, where)
                if over:
                    problems.extend(over)
                    continue
                try:
                    parsed.validate_json()
                except SlackObjectFormationError as problem:
                    problems.append(f"[ERROR] {problem} [json-pointer:{where}]")
                    continue
            filled.append(self._with_ids(copy.deepcopy(block)))
        if problems:
            raise ApiError(error, messages=problems)
        return filled

    def _with_ids(self, block: dict[str, Any]) -> dict[str, Any]:
        """The block with the ids Slack invents for it and its elements when they are missing."""
        digest = hashlib.sha1(json.dumps(block, sort_keys=True).encode()).digest()
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
        short = "".join(alphabet[b % len(alphabet)] for b in digest)
        block.setdefault("block_id", short[:4])
        elements: list[dict[str, Any]] = []
        if isinstance(block.get("elements"), list) and block["type"] == "actions":
            elements = [e for e in block["elements"] if isinstance(e, dict)]
        for name in ("accessory", "element"):
            if isinstance(block.get(name), dict):
                elements.append(block[name])
        for i, element in enumerate(elements):
            if element.get("type") not in ("image", None):
                element.setdefault("action_id", short[4 + i * 5 : 9 + i * 5] or f"a{i}")
        return block

    # ---------------------------------------------------------------- the methods

    def _auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "url": self.workspace_url,
            "team": self.team_name,
            "user": self.bot_name,
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    def _member_channel(self, ref: Any) -> Channel:
        """The conversation ``ref`` names, refused as Slack refuses a bot outside it: a private
        channel it is not in does not exist for it; a public one is `not_in_channel`."""
        channel = self._channel(ref)
        if channel.is_im or self.bot_user_id in channel.members:
            return channel
        if channel.is_private:
            raise ApiError("channel_not_found")
        raise ApiError("not_in_channel")

    def _chat_post_message(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args.get("channel"))
        if channel.archived:
            raise ApiError("is_archived")
        channel = self._member_channel(channel.id)
        text, blocks, attachments = self._content(args)
        thread_ts = args.get("thread_ts") or None
        metadata = args.get("metadata") if isinstance(args.get("metadata"), dict) else None
        msg = self._post(channel, text, blocks, attachments, thread_ts=thread_ts, metadata=metadata)
        self._changed()
        return {"ok": True, "channel": channel.id, "ts": msg.ts, "message": self._message_json(msg)}

    def _chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        ref = str(args.get("channel") or "")
        # Slack updates DMs only by their D… id, never by the user's id.
        if ref in self._users:
            raise ApiError("channel_not_found")
        channel = self._channel(ref)
        if not args.get("ts"):
            raise ApiError("message_not_found")
        msg = self._find_message(channel.id, str(args["ts"]))
        if msg is None:
            raise ApiError("message_not_found")
        if msg.user != self.bot_user_id:
            raise ApiError("cant_update_message")
        if channel.archived:
            raise ApiError("is_inactive")
        text, blocks, attachments = self._content(args)
        self._edit(msg, text, blocks, attachments)
        self._changed()
        return {
            "ok": True,
            "channel": channel.id,
            "ts": msg.ts,
            "text": msg.text,
            "message": self._message_json(msg),
        }

    def _chat_post_ephemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args.get("channel"))
        user = self._user(args.get("user"), "user_not_in_channel")
        text, blocks, _ = self._content(args)
        eph = Ephemeral(channel.id, user.id, self._next_ts(), text, blocks)
        self._ephemerals.append(eph)
        self._changed()
        return {"ok": True, "message_ts": eph.ts}

    def _chat_delete(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args.get("channel"))
        msg = self._find_message(channel.id, str(args.get("ts") or ""))
        if msg is None:
            raise ApiError("message_not_found")
        if msg.user != self.bot_user_id:
            raise ApiError("cant_delete_message")
        self._messages[channel.id].remove(msg)
        self._deleted.append(msg)
        self._changed()
        return {"ok": True, "channel": channel.id, "ts": msg.ts}

    def _chat_get_permalink(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args.get("channel"))
        msg = self._find_message(channel.id, str(args.get("message_ts") or ""))
        if msg is None:
            raise ApiError("message_not_found")
        link = f"{self.workspace_url}archives/{channel.id}/p{msg.ts.replace('.', '')}"
        if msg.thread_ts and msg.thread_ts != msg.ts:
            link += f"?thread_ts={msg.thread_ts}&cid={channel.id}"
        return {"ok": True, "channel": channel.id, "permalink": link}

    def _conversations_open(self, args: dict[str, Any]) -> dict[str, Any]:
        users = args.get("users")
        if isinstance(users, list):
            users = ",".join(users)
        if not users:
            if args.get("channel"):
                channel = self._channel(args["channel"])
                if not channel.is_im:
                    raise ApiError("method_not_supported_for_channel_type")
                return {"ok": True, "no_op": True, "already_open": True, **self._im(channel)}
            raise ApiError("users_list_not_supplied")
        ids = [u.strip() for u in str(users).split(",") if u.strip()]
        if len(ids) > 1:
            # Multi-person DMs are not something the bot opens; say so plainly.
            raise ApiError("method_not_supported_for_channel_type")
        user = self._user(ids[0])
        if user.deleted:
            raise ApiError("user_disabled")
        existed = user.id in self._dms and self._dms[user.id] in self._channels
        channel = self._dm_for(user.id)
        self._changed()
        body: dict[str, Any] = {"ok": True}
        if existed:
            body.update(no_op=True, already_open=True)
        truthy = str(args.get("return_im", "")).lower() in ("1", "true")
        body.update(self._im(channel) if existed or truthy else {"channel": {"id": channel.id}})
        return body

    def _im(self, channel: Channel) -> dict[str, Any]:
        return {
            "channel": {
                "id": channel.id,
                "created": channel.created,
                "is_im": True,
                "is_org_shared": False,
                "user": channel.user,
                "last_read": "0000000000.000000",
                "latest": None,
                "unread_count": 0,
                "unread_count_display": 0,
                "is_open": True,
                "priority": 0,
            }
        }

    def _conversations_history(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._member_channel(args.get("channel"))
        oldest = float(args.get("oldest") or 0)
        latest = float(args.get("latest") or "inf")
        limit = max(1, min(int(args.get("limit") or 100), 999))
        cursor = str(args.get("cursor") or "")
        start = int(cursor.removeprefix("next:")) if cursor.startswith("next:") else 0
        with_metadata = str(args.get("include_all_metadata", "")).lower() in ("1", "true")
        found = [
            m
            for m in self.messages(channel.id)
            if (m.thread_ts is None or m.thread_ts == m.ts) and oldest <= float(m.ts) <= latest
        ]
        found.reverse()  # newest first, as Slack answers
        page = []
        for msg in found[start : start + limit]:
            body = self._message_json(msg)
            if not with_metadata:
                body.pop("metadata", None)
            page.append(body)
        more = len(found) > start + limit
        answer: dict[str, Any] = {
            "ok": True,
            "channel": channel.id,
            "messages": page,
            "has_more": more,
            "pin_count": 0,
        }
        if more:
            answer["response_metadata"] = {"next_cursor": f"next:{start + limit}"}
        return answer

    def _conversations_info(self, args: dict[str, Any]) -> dict[str, Any]:
        ref = str(args.get("channel") or "")
        channel = self._channels.get(ref)
        if channel is None:
            raise ApiError("channel_not_found")
        member = channel.is_im or self.bot_user_id in channel.members
        if channel.is_private and not member:
            raise ApiError("channel_not_found")
        if channel.is_im:
            info: dict[str, Any] = {
                "id": channel.id,
                "created": channel.created,
                "is_im": True,
                "is_org_shared": False,
                "user": channel.user,
                "is_user_deleted": False,
                "priority": 0,
            }
        else:
            info = {
                "id": channel.id,
                "name": channel.name,
                "is_channel": True,
                "is_group": False,
                "is_im": False,
                "is_mpim": False,
                "is_private": channel.is_private,
                "created": channel.created,
                "is_archived": channel.archived,
                "is_general": False,
                "name_normalized": channel.name,
                "is_shared": False,
                "is_org_shared": False,
                "is_member": member,
                "creator": self.bot_user_id,
                "topic": {"value": "", "creator": "", "last_set": 0},
                "purpose": {"value": "", "creator": "", "last_set": 0},
            }
            if str(args.get("include_num_members", "")).lower() in ("1", "true"):
                info["num_members"] = len(channel.members)
        return {"ok": True, "channel": info}

    def _user_json(self, user: SlackUser) -> dict[str, Any]:
        zone = ZoneInfo(user.tz)
        now = datetime.fromtimestamp(self._now(), zone)
        offset = now.utcoffset()
        offset_seconds = int(offset.total_seconds()) if offset is not None else 0
        abbreviation = now.tzname() or ""
        if abbreviation == "IST":
            # The same letters name Irish and India Standard Time.
            label = "India Standard Time" if user.tz.startswith("Asia/") else "Irish Standard Time"
        elif abbreviation in _TZ_LABELS:
            label = _TZ_LABELS[abbreviation]
        else:
            sign = "+" if offset_seconds >= 0 else "-"
            hours, minutes = divmod(abs(offset_seconds) // 60, 60)
            label = f"UTC{sign}{hours:02d}:{minutes:02d}"
        profile: dict[str, Any] = {
            "real_name": user.real_name,
            "display_name": user.display_name,
            "real_name_normalized": user.real_name,
            "display_name_normalized": user.display_name,
            "status_text": "",
            "status_emoji": "",
            "avatar_hash": hashlib.md5(user.id.encode()).hexdigest()[:12],
            "team": self.team_id,
        }
        if user.email:
            profile["email"] = user.email
        if user.is_bot:
            profile["bot_id"] = self.bot_id if user.id == self.bot_user_id else None
        return {
            "id": user.id,
            "team_id": self.team_id,
            "name": user.name,
            "deleted": user.deleted,
            "color": hashlib.md5(user.name.encode()).hexdigest()[:6],
            "real_name": user.real_name,
            "tz": user.tz,
            "tz_label": label,
            "tz_offset": offset_seconds,
            "profile": profile,
            "is_admin": False,
            "is_owner": False,
            "is_primary_owner": False,
            "is_restricted": False,
            "is_ultra_restricted": False,
            "is_bot": user.is_bot,
            "is_app_user": False,
            "updated": self._now_int(),
        }

    def _users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        user = self._user(args.get("user"))
        answer = self._user_json(user)
        # As Slack: the client's language only when asked for it.
        if str(args.get("include_locale", "")).lower() in ("1", "true"):
            answer["locale"] = user.locale
        return {"ok": True, "user": answer}

    def _users_list(self, args: dict[str, Any]) -> dict[str, Any]:
        members = list(self._users.values())
        start = 0
        cursor = str(args.get("cursor") or "")
        if cursor:
            try:
                after = base64.b64decode(cursor.encode(), validate=True).decode()
            except ValueError as error:
                raise ApiError("invalid_cursor") from error
            ids = [u.id for u in members]
            if not after.startswith("user:") or after[5:] not in ids:
                raise ApiError("invalid_cursor")
            start = ids.index(after[5:])
        try:
            limit = int(args.get("limit") or 0)
        except ValueError as error:
            raise ApiError("invalid_limit") from error
        page = members[start:] if limit <= 0 else members[start : start + limit]
        rest = members[start + len(page) :]
        next_cursor = base64.b64encode(f"user:{rest[0].id}".encode()).decode() if rest else ""
        return {
            "ok": True,
            "members": [self._user_json(u) for u in page],
            "cache_ts": self._now_int(),
            "response_metadata": {"next_cursor": next_cursor},
        }

    # views ----------------------------------------------------------------

    def _new_view(
        self, args: dict[str, Any], kind: str, *, keep_id: str | None = None
    ) -> dict[str, Any]:
        """A view as Slack stores and returns it, from a call's `view` argument."""
        view = args.get("view")
        if not isinstance(view, dict):
            raise ApiError("invalid_arguments", messages=["[ERROR] missing required field: view"])
        if len(json.dumps(view, ensure_ascii=False).encode()) > MAX_VIEW_BYTES:
            raise ApiError("view_too_large")
        if view.get("type") != kind:
            raise ApiError(
                "invalid_arguments",
                messages=[f"[ERROR] `view.type` must be {kind!r} here [json-pointer:/view/type]"],
            )
        title = view.get("title") if isinstance(view.get("title"), dict) else None
        limits = _Limits()
        if kind == "modal" and not title:
            limits.problems.append("[ERROR] missing required field: title [json-pointer:/view]")
        for name in ("title", "submit", "close"):
            limits.text(view.get(name), MAX_MODAL_TITLE, f"/view/{name}")
        limits.text(view.get("private_metadata"), MAX_PRIVATE_METADATA, "/view/private_metadata")
        for name in ("callback_id", "external_id"):
            limits.text(view.get(name), MAX_VIEW_ID_FIELD, f"/view/{name}")
        problems = limits.problems
        blocks = view.get("blocks") or []
        if not isinstance(blocks, list) or len(blocks) > MAX_VIEW_BLOCKS:
            problems.append(
                f"[ERROR] blocks must be a list of at most {MAX_VIEW_BLOCKS} [json-pointer:/view]"
            )
        if problems:
            raise ApiError("invalid_arguments", messages=problems)
        blocks = self._checked_blocks(blocks, "/view/blocks", "invalid_arguments")
        external_id = str(view.get("external_id") or "")
        if external_id and self._external_ids.get(external_id, keep_id) != keep_id:
            raise ApiError("duplicate_external_id")
        if keep_id is None:
            self._view_counter += 1
            view_id = f"V{self._view_counter:08X}"
        else:
            view_id = keep_id
        if external_id:
            self._external_ids[external_id] = view_id
        stored: dict[str, Any] = {
            "id": view_id,
            "team_id": self.team_id,
            "type": kind,
            "blocks": blocks,
            "private_metadata": str(view.get("private_metadata") or ""),
            "callback_id": str(view.get("callback_id") or ""),
            "state": {"values": {}},
            "hash": f"{self._now_int()}.{self._view_counter:08x}{self._version:04x}",
            "title": title,
            "clear_on_close": bool(view.get("clear_on_close", False)),
            "notify_on_close": bool(view.get("notify_on_close", False)),
            "close": view.get("close"),
            "submit": view.get("submit"),
            "previous_view_id": None,
            "root_view_id": view_id,
            "app_id": self.app_id,
            "external_id": external_id,
            "app_installed_team_id": self.team_id,
            "bot_id": self.bot_id,
        }
        if kind == "home":
            for name in ("title", "close", "submit", "root_view_id", "previous_view_id"):
                stored.pop(name)
        return stored

    def _trigger_user(self, args: dict[str, Any]) -> str | None:
        trigger = args.get("trigger_id") or args.get("interactivity_pointer")
        if not trigger:
            raise ApiError(
                "invalid_arguments", messages=["[ERROR] missing required field: trigger_id"]
            )
        issued = self._triggers.get(str(trigger))
        if issued is None:
            if self.strict_triggers:
                raise ApiError("invalid_arguments", messages=["invalid `trigger_id`"])
            return None
        user, at = issued
        if self._monotonic() - at > self.trigger_ttl:
            raise ApiError("expired_trigger_id")
        # A trigger opens one view: the next views.open or views.push with it is refused.
        if str(trigger) in self._exchanged:
            raise ApiError("exchanged_trigger_id")
        return user

    def _exchange(self, args: dict[str, Any]) -> None:
        """Spend the call's trigger: it opened its view."""
        self._exchanged.add(str(args.get("trigger_id") or args.get("interactivity_pointer")))

    def _record_view(self, view: dict[str, Any], user: str | None, method: str, args: Any) -> None:
        self._views[view["id"]] = view
        trigger = args.get("trigger_id")
        self._view_log.append(
            ViewRecord(view["id"], user, method, copy.deepcopy(view), trigger and str(trigger))
        )

    def _views_open(self, args: dict[str, Any]) -> dict[str, Any]:
        user = self._trigger_user(args)
        view = self._new_view(args, "modal")
        self._exchange(args)
        self._record_view(view, user, "views.open", args)
        if user is not None:
            self._stacks[user] = [view["id"]]
        self._changed()
        return {"ok": True, "view": copy.deepcopy(view)}

    def _views_push(self, args: dict[str, Any]) -> dict[str, Any]:
        user = self._trigger_user(args)
        stack = self._stacks.get(user, []) if user is not None else []
        if len(stack) >= MAX_VIEW_STACK:
            raise ApiError("push_limit_reached")
        view = self._new_view(args, "modal")
        self._exchange(args)
        if stack:
            view["previous_view_id"] = stack[-1]
            view["root_view_id"] = stack[0]
        self._record_view(view, user, "views.push", args)
        if user is not None:
            self._stacks.setdefault(user, []).append(view["id"])
        self._changed()
        return {"ok": True, "view": copy.deepcopy(view)}

    def _views_update(self, args: dict[str, Any]) -> dict[str, Any]:
        view_id = args.get("view_id")
        if not view_id and args.get("external_id"):
            view_id = self._external_ids.get(str(args["external_id"]))
        if not view_id and not args.get("external_id"):
            raise ApiError(
                "invalid_arguments", messages=["[ERROR] view_id or external_id is required"]
            )
        current = self._views.get(str(view_id or ""))
        if current is None:
            raise ApiError("not_found")
        if args.get("hash") and args["hash"] != current["hash"]:
            raise ApiError("hash_conflict")
        user = next((r.user for r in reversed(self._view_log) if r.id == current["id"]), None)
        view = self._new_view(args, current["type"], keep_id=current["id"])
        for name in ("previous_view_id", "root_view_id"):
            if name in current:
                view[name] = current[name]
        self._record_view(view, user, "views.update", args)
        self._changed()
        return {"ok": True, "view": copy.deepcopy(view)}

    def _views_publish(self, args: dict[str, Any]) -> dict[str, Any]:
        user = self._user(args.get("user_id"))
        current_id = self._homes.get(user.id)
        if args.get("hash") and current_id and args["hash"] != self._views[current_id]["hash"]:
            raise ApiError("hash_conflict")
        view = self._new_view(args, "home", keep_id=current_id)
        self._homes[user.id] = view["id"]
        self._record_view(view, user.id, "views.publish", args)
        self._changed()
        return {"ok": True, "view": copy.deepcopy(view)}

    # user groups, reactions -------------------------------------------------

    def _usergroups_users_update(self, args: dict[str, Any]) -> dict[str, Any]:
        if not args.get("usergroup"):
            raise ApiError("missing_argument")
        # User groups are a paid feature; a workspace may also keep their editing to admins.
        if self.plan == "free":
            raise ApiError("plan_upgrade_required")
        if self.usergroups_admins_only:
            raise ApiError("permission_denied")
        group = self._usergroups.get(str(args["usergroup"]))
        if group is None:
            raise ApiError("no_such_subteam")
        users = args.get("users")
        ids = users if isinstance(users, list) else str(users or "").split(",")
        ids = [str(u).strip() for u in ids if str(u).strip()]
        if not ids:
            # Slack cannot empty a group this way; usergroups.disable does that.
            raise ApiError("no_users_provided")
        for uid in ids:
            member = self._users.get(uid)
            if member is None:
                raise ApiError("invalid_users")
            if member.is_bot:
                raise ApiError("invalid_user")
        group["users"] = list(dict.fromkeys(ids))
        group["user_count"] = len(group["users"])
        group["date_update"] = self._now_int()
        self._usergroup_updates.setdefault(group["id"], []).append(list(group["users"]))
        self._changed()
        return {"ok": True, "usergroup": copy.deepcopy(group)}

    def _usergroups_users_list(self, args: dict[str, Any]) -> dict[str, Any]:
        if not args.get("usergroup"):
            raise ApiError("missing_argument")
        group = self._usergroups.get(str(args["usergroup"]))
        if group is None:
            raise ApiError("no_such_subteam")
        return {"ok": True, "users": list(group["users"])}

    def _usergroups_list(self, args: dict[str, Any]) -> dict[str, Any]:
        include_users = str(args.get("include_users", "")).lower() in ("1", "true")
        groups = []
        for group in self._usergroups.values():
            shown = copy.deepcopy(group)
            if not include_users:
                shown.pop("users")
            groups.append(shown)
        return {"ok": True, "usergroups": groups}

    def _reactions_add(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args.get("channel"))
        name = str(args.get("name") or "").strip(":")
        if not name or ":" in name or " " in name:
            raise ApiError("invalid_name")
        msg = self._find_message(channel.id, str(args.get("timestamp") or ""))
        if msg is None:
            raise ApiError("message_not_found")
        who = msg.reactions.setdefault(name, [])
        if self.bot_user_id in who:
            raise ApiError("already_reacted")
        who.append(self.bot_user_id)
        self._changed()
        return {"ok": True}
