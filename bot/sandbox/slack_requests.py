"""Slack's side of the conversation: signed requests to the bot's /slack/events, as Slack sends.

Slash commands are form fields; button clicks and modal submissions are `payload=<JSON>` forms;
events are JSON. Every request carries Slack's signature headers. The shapes and encodings follow
payloads captured from Slack (see the shared Slack fixtures).
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import re
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from datetime import time as dtime
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, quote, urlencode

import httpx

from bot.sandbox.identity import SANDBOX_WORKSPACE, WorkspaceIdentity

if TYPE_CHECKING:
    from bot.sandbox.standin.app import SlackStandIn

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
USER_AGENT = "Slackbot 1.0 (+https://api.slack.com/robots)"
EVENTS_PATH = "/slack/events"
# When Slack retries an event after the first delivery: its 3-second timeout, 1 and 5 minutes.
RETRY_DELAYS_S = (3, 60, 300)

_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
_CHANNEL_ID = re.compile(r"^[CDG][A-Z0-9]{2,}$")
_TEXT_INPUTS = {"plain_text_input", "email_text_input", "url_text_input", "number_text_input"}
_ONE_OPTION = {"static_select", "external_select", "radio_buttons"}
_MANY_OPTIONS = {"multi_static_select", "multi_external_select", "checkboxes"}
_SCALARS = {
    "users_select": "selected_user",
    "multi_users_select": "selected_users",
    "conversations_select": "selected_conversation",
    "multi_conversations_select": "selected_conversations",
    "channels_select": "selected_channel",
    "multi_channels_select": "selected_channels",
    "datepicker": "selected_date",
    "timepicker": "selected_time",
    "datetimepicker": "selected_date_time",
}


@dataclass
class SlackRequest:
    """A signed request body and its headers; unpacks as `(body, headers)`."""

    body: bytes
    headers: dict[str, str]
    response_url: str | None = None
    trigger_id: str | None = None
    event_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __iter__(self) -> Iterator[Any]:
        return iter((self.body, self.headers))

    @property
    def response_key(self) -> str | None:
        """The last segment of the response_url: the stand-in's key for what is posted there."""
        return None if self.response_url is None else self.response_url.rstrip("/").split("/")[-1]

    def payload(self) -> dict[str, Any]:
        """The body decoded: form fields, the JSON inside `payload=`, or the JSON event."""
        if self.headers.get("Content-Type") == JSON:
            decoded: dict[str, Any] = json.loads(self.body)
            return decoded
        fields = dict(parse_qsl(self.body.decode(), keep_blank_values=True))
        if set(fields) == {"payload"}:
            inner: dict[str, Any] = json.loads(fields["payload"])
            return inner
        return fields


# --------------------------------------------------------------------------- signing, encoding


def signature(body: bytes, secret: str, timestamp: int) -> str:
    """Slack's request signature: `v0=` + hex HMAC-SHA256 of `v0:{timestamp}:{body}`."""
    base = b"v0:" + str(timestamp).encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def sign(body: bytes, secret: str, timestamp: int, content_type: str = FORM) -> dict[str, str]:
    """The headers Slack sends with `body`: signature, timestamp, content type."""
    if not secret:
        raise ValueError("sign: the signing secret must not be empty")
    return {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": str(timestamp),
        "X-Slack-Signature": signature(body, secret, timestamp),
        "User-Agent": USER_AGENT,
    }


def form_body(fields: Sequence[tuple[str, str]]) -> bytes:
    """Form-encode fields in order, as Slack encodes slash commands (`+` for spaces)."""
    return urlencode(list(fields)).encode()


def payload_body(payload: Mapping[str, Any]) -> bytes:
    """The `payload=<url-encoded JSON>` body Slack sends for clicks and modal submissions."""
    return b"payload=" + quote(json.dumps(payload)).encode()


def json_body(payload: Mapping[str, Any]) -> bytes:
    """A compact JSON body, as Slack sends events."""
    return json.dumps(payload, separators=(",", ":")).encode()


# --------------------------------------------------------------------------- payload shapes


def find_element(
    blocks: Sequence[Mapping[str, Any]], action_id: str, block_id: str | None = None
) -> tuple[str, dict[str, Any]]:
    """The interactive element with `action_id` in `blocks` (and `block_id`), with its block id."""
    seen = []
    for block in blocks:
        candidates: list[Any] = []
        if block.get("type") == "actions":
            candidates.extend(block.get("elements", []))
        for name in ("accessory", "element"):
            if isinstance(block.get(name), dict):
                candidates.append(block[name])
        for element in candidates:
            if not isinstance(element, dict) or "action_id" not in element:
                continue
            seen.append(f"{block.get('block_id')}/{element['action_id']}")
            if element["action_id"] == action_id and block_id in (None, block.get("block_id")):
                return str(block.get("block_id", "")), dict(element)
    where = f" in block {block_id!r}" if block_id else ""
    raise ValueError(
        f"no element with action_id {action_id!r}{where} in these blocks "
        f"(block/action ids present: {', '.join(seen) or 'none'})"
    )


def state_values_from(
    blocks: Sequence[Mapping[str, Any]], answers: Mapping[str, Any]
) -> dict[str, dict[str, dict[str, Any]]]:
    """A view's `state.values` as Slack reports it, from answers keyed by action_id.

    Every input block appears, unanswered ones empty, like Slack; options are looked up by value.
    """
    values: dict[str, dict[str, dict[str, Any]]] = {}
    used: set[str] = set()
    for block in blocks:
        elements: list[Any] = []
        if block.get("type") == "input" and isinstance(block.get("element"), dict):
            elements.append(block["element"])
        elif block.get("type") == "actions":
            elements.extend(e for e in block.get("elements", []) if e.get("action_id") in answers)
        elif (
            isinstance(block.get("accessory"), dict)
            and block["accessory"].get("action_id") in answers
        ):
            elements.append(block["accessory"])
        for element in elements:
            action_id = element.get("action_id")
            if not action_id:
                raise ValueError(f"block {block.get('block_id')!r}: its element has no action_id")
            if not block.get("block_id"):
                raise ValueError(f"the block holding {action_id!r} has no block_id")
            used.add(action_id)
            state = _element_state(element, answers.get(action_id), action_id in answers)
            values.setdefault(str(block["block_id"]), {})[action_id] = state
    unknown = sorted(set(answers) - used)
    if unknown:
        raise ValueError(f"answers for action ids not in the view: {', '.join(unknown)}")
    return values


def _element_state(element: Mapping[str, Any], answer: Any, answered: bool) -> dict[str, Any]:
    kind = str(element.get("type"))
    state: dict[str, Any] = {"type": kind}
    if kind in _TEXT_INPUTS:
        state["value"] = None if not answered or answer is None else str(answer)
    elif kind in _ONE_OPTION:
        state["selected_option"] = _option(element, answer) if answered else None
    elif kind in _MANY_OPTIONS:
        chosen = answer if answered else []
        if isinstance(chosen, str):
            chosen = [chosen]
        state["selected_options"] = [_option(element, value) for value in chosen]
    elif kind in _SCALARS:
        if isinstance(answer, dtime):
            answer = answer.strftime("%H:%M")
        elif isinstance(answer, date):
            answer = answer.isoformat()
        state[_SCALARS[kind]] = answer if answered else None
    else:
        raise ValueError(f"element {element.get('action_id')!r}: no state for type {kind!r}")
    return state


def _option(element: Mapping[str, Any], value: Any) -> dict[str, Any]:
    options = list(element.get("options", []))
    for group in element.get("option_groups", []):
        options.extend(group.get("options", []))
    for option in options:
        if option.get("value") == value:
            return dict(option)
    choices = ", ".join(repr(o.get("value")) for o in options) or "none"
    raise ValueError(
        f"element {element.get('action_id')!r}: no option with value {value!r} (options: {choices})"
    )


def _check_user(user_id: str) -> None:
    if not _USER_ID.match(user_id):
        raise ValueError(f"user id {user_id!r} must look like U0ALICE (U or W, then capitals)")


def _check_channel(channel_id: str) -> None:
    if not _CHANNEL_ID.match(channel_id):
        raise ValueError(f"channel id {channel_id!r} must look like C0SUPPORT or D0ALICE")


# --------------------------------------------------------------------------- Slack's side


class SlackSide:
    """Slack's end of the bot's HTTP conversation: builds signed requests and sends them."""

    def __init__(
        self,
        signing_secret: str,
        *,
        identity: WorkspaceIdentity = SANDBOX_WORKSPACE,
        verification_token: str = "sandbox-verification-token",
        enterprise_id: str | None = None,
        enterprise_name: str | None = None,
        workspace: SlackStandIn | None = None,
        bot_url: str = "http://bot",
        app: Any = None,
        events_path: str = EVENTS_PATH,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not signing_secret:
            raise ValueError("SlackSide needs the bot's signing secret")
        self.signing_secret = signing_secret
        self.identity = identity
        self.verification_token = verification_token
        self.enterprise_id = enterprise_id
        self.enterprise_name = enterprise_name
        self.workspace = workspace
        self.bot_url = bot_url.rstrip("/")
        self.app = app
        self.events_path = events_path
        self._clock = clock
        self._counter = itertools.count(1)

    @classmethod
    def for_standin(cls, standin: SlackStandIn, signing_secret: str, **kwargs: Any) -> SlackSide:
        """A SlackSide speaking for the stand-in's workspace (same team, app and bot ids)."""
        return cls(signing_secret, identity=standin.identity, workspace=standin, **kwargs)

    # ---------------------------------------------------------------- building

    def slash_command(
        self,
        command: str,
        text: str = "",
        *,
        user_id: str,
        channel_id: str,
        user_name: str | None = None,
        channel_name: str | None = None,
        response_url: str | None = None,
        trigger_id: str | None = None,
        timestamp: int | None = None,
    ) -> SlackRequest:
        """A slash command typed by `user_id` in `channel_id`: its form fields, in the order
        Slack posts them."""
        if not command.startswith("/") or len(command) < 2 or " " in command:
            raise ValueError(f"slash command {command!r} must be one word starting with '/'")
        _check_user(user_id)
        _check_channel(channel_id)
        n = next(self._counter)
        response_url = response_url or self._response_url(
            f"cmd-{n}", "commands", channel=channel_id, user=user_id
        )
        trigger_id = trigger_id or self._trigger(user_id, n)
        user_name = user_name or self._user_name(user_id)
        channel_name = channel_name or self._channel_name(channel_id)
        fields = [
            ("token", self.verification_token),
            ("team_id", self.identity.team_id),
            ("team_domain", self.identity.team_domain),
            ("channel_id", channel_id),
            ("channel_name", channel_name),
            ("user_id", user_id),
            ("user_name", user_name),
            ("command", command),
            ("text", text),
        ]
        # Only workspaces in an Enterprise Grid organisation carry these.
        if self.enterprise_id is not None:
            fields.append(("enterprise_id", self.enterprise_id))
            fields.append(("enterprise_name", self.enterprise_name or ""))
        fields.append(("response_url", response_url))
        fields.append(("trigger_id", trigger_id))
        body = form_body(fields)
        return self._form(body, timestamp, response_url=response_url, trigger_id=trigger_id)

    def block_action(
        self,
        action_id: str,
        value: str | None = None,
        *,
        user_id: str,
        channel_id: str | None = None,
        message_ts: str | None = None,
        message_blocks: Sequence[Mapping[str, Any]] | None = None,
        message_text: str = "",
        is_ephemeral: bool = False,
        view: Mapping[str, Any] | None = None,
        block_id: str | None = None,
        text: str | None = None,
        selected: Mapping[str, Any] | None = None,
        container: Mapping[str, Any] | None = None,
        response_url: str | None = None,
        trigger_id: str | None = None,
        user_name: str | None = None,
        channel_name: str | None = None,
        action_ts: str | None = None,
        timestamp: int | None = None,
    ) -> SlackRequest:
        """A click on an interactive element of a message (or of a modal / App Home `view`).

        With `message_blocks` (or `view`) the element is looked up there, as Slack would describe
        it; without, a button with `text` and `value` is described. `selected` adds what a select
        or picker reports (e.g. `{"selected_option": {...}}`).
        """
        _check_user(user_id)
        n = next(self._counter)
        blocks = message_blocks if view is None else view.get("blocks", [])
        if blocks is not None:
            found_block_id, element = find_element(blocks, action_id, block_id)
        else:
            found_block_id = block_id or ""
            element = {
                "type": "button",
                "text": {"type": "plain_text", "text": text or value or action_id, "emoji": True},
                "value": value,
            }
        action: dict[str, Any] = {"action_id": action_id, "block_id": found_block_id}
        if "text" in element and element.get("type") == "button":
            action["text"] = element["text"]
        if element.get("type") == "button":
            action["value"] = value if value is not None else element.get("value")
        if selected:
            action.update(selected)
        action["type"] = element.get("type", "button")
        if element.get("style"):
            action["style"] = element["style"]
        action["action_ts"] = action_ts or f"{self._clock():.6f}"

        trigger_id = trigger_id or self._trigger(user_id, n)
        payload: dict[str, Any] = {
            "type": "block_actions",
            "user": self._user_object(user_id, user_name),
            "api_app_id": self.identity.app_id,
            "token": self.verification_token,
        }
        if view is not None:
            payload["container"] = dict(container or {"type": "view", "view_id": view.get("id")})
            payload["trigger_id"] = trigger_id
            payload["team"] = self._team_object()
            payload["view"] = dict(view)
        else:
            if channel_id is None or message_ts is None:
                raise ValueError("block_action on a message needs channel_id and message_ts")
            _check_channel(channel_id)
            payload["container"] = dict(
                container
                or {
                    "type": "message",
                    "message_ts": message_ts,
                    "channel_id": channel_id,
                    "is_ephemeral": is_ephemeral,
                }
            )
            payload["trigger_id"] = trigger_id
            payload["team"] = self._team_object()
            payload["channel"] = {
                "id": channel_id,
                "name": channel_name or self._channel_name(channel_id),
            }
            # Slack shows the app the message clicked on, except for ephemeral ones.
            if not is_ephemeral and message_blocks is not None:
                payload["message"] = {
                    "bot_id": self.identity.bot_id,
                    "type": "message",
                    "text": message_text,
                    "user": self.identity.bot_user_id,
                    "ts": message_ts,
                    "team": self.identity.team_id,
                    "blocks": list(message_blocks),
                }
                payload["state"] = {"values": {}}
            response_url = response_url or self._response_url(
                f"act-{n}",
                "actions",
                channel=channel_id,
                user=user_id,
                message_ts=message_ts,
                is_ephemeral=is_ephemeral,
            )
            payload["response_url"] = response_url
        payload["actions"] = [action]
        body = payload_body(payload)
        return self._form(body, timestamp, response_url=response_url, trigger_id=trigger_id)

    def view_submission(
        self,
        *,
        user_id: str,
        view: Mapping[str, Any] | None = None,
        callback_id: str | None = None,
        private_metadata: str | None = None,
        state_values: Mapping[str, Any] | None = None,
        answers: Mapping[str, Any] | None = None,
        view_id: str | None = None,
        blocks: Sequence[Mapping[str, Any]] | None = None,
        title: str | None = None,
        hash: str | None = None,
        trigger_id: str | None = None,
        response_urls: Sequence[Mapping[str, Any]] = (),
        user_name: str | None = None,
        timestamp: int | None = None,
    ) -> SlackRequest:
        """A modal submitted by `user_id`: the `view` the bot opened, or one described here.

        `answers` (by action_id) build `state.values` the way Slack reports them; `state_values`
        gives them verbatim.
        """
        _check_user(user_id)
        n = next(self._counter)
        if state_values is not None and answers is not None:
            raise ValueError("view_submission: give state_values or answers, not both")
        base = dict(view or {})
        the_blocks = list(blocks if blocks is not None else base.get("blocks", []))
        if answers is not None:
            state_values = state_values_from(the_blocks, answers)
        the_id = view_id or base.get("id") or f"V{n:08X}"
        title_object = base.get("title") or {"type": "plain_text", "text": title or "Modal"}
        if title is not None:
            title_object = {"type": "plain_text", "text": title}
        submitted = {
            "id": the_id,
            "team_id": self.identity.team_id,
            "type": "modal",
            "blocks": the_blocks,
            "private_metadata": (
                private_metadata
                if private_metadata is not None
                else base.get("private_metadata", "")
            ),
            "callback_id": callback_id if callback_id is not None else base.get("callback_id", ""),
            "state": {"values": dict(state_values or {})},
            "hash": hash or base.get("hash") or f"{int(self._clock())}.{n:08x}",
            "title": title_object,
            "clear_on_close": base.get("clear_on_close", False),
            "notify_on_close": base.get("notify_on_close", False),
            "close": base.get("close", {"type": "plain_text", "text": "Cancel"}),
            "submit": base.get("submit", {"type": "plain_text", "text": "Submit"}),
            "previous_view_id": base.get("previous_view_id"),
            "root_view_id": base.get("root_view_id", the_id),
            "app_id": self.identity.app_id,
            "external_id": base.get("external_id", ""),
            "app_installed_team_id": self.identity.team_id,
            "bot_id": base.get("bot_id", self.identity.bot_id),
        }
        trigger_id = trigger_id or self._trigger(user_id, n)
        payload = {
            "type": "view_submission",
            "team": self._team_object(),
            "user": self._user_object(user_id, user_name),
            "api_app_id": self.identity.app_id,
            "token": self.verification_token,
            "trigger_id": trigger_id,
            "view": submitted,
            "response_urls": list(response_urls),
        }
        body = payload_body(payload)
        return self._form(body, timestamp, trigger_id=trigger_id)

    def view_closed(
        self,
        *,
        user_id: str,
        view: Mapping[str, Any],
        is_cleared: bool = False,
        timestamp: int | None = None,
    ) -> SlackRequest:
        """The user closed a modal that asked to be told (`notify_on_close`)."""
        _check_user(user_id)
        payload = {
            "type": "view_closed",
            "team": self._team_object(),
            "user": self._user_object(user_id, None),
            "api_app_id": self.identity.app_id,
            "token": self.verification_token,
            "view": dict(view),
            "is_cleared": is_cleared,
        }
        body = payload_body(payload)
        return self._form(body, timestamp)

    def event_callback(
        self,
        event: Mapping[str, Any],
        *,
        event_id: str | None = None,
        event_time: int | None = None,
        retry_num: int | None = None,
        retry_reason: str = "http_timeout",
        timestamp: int | None = None,
    ) -> SlackRequest:
        """An Events API delivery of `event`; with `retry_num`, Slack's retry of the same event."""
        if not event.get("type"):
            raise ValueError("event_callback: the event needs a type (e.g. app_home_opened)")
        n = next(self._counter)
        event_id = event_id or f"Ev{self.identity.team_id[1:]}{n:06d}"
        now = int(self._clock())
        payload = {
            "token": self.verification_token,
            "team_id": self.identity.team_id,
            "api_app_id": self.identity.app_id,
            "event": dict(event),
            "type": "event_callback",
            "event_id": event_id,
            "event_time": event_time if event_time is not None else now,
            "authorizations": [
                {
                    "enterprise_id": self.enterprise_id,
                    "team_id": self.identity.team_id,
                    "user_id": self.identity.bot_user_id,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
            "event_context": f"4-{event['type']}-{self.identity.team_id}-{n}",
        }
        body = json_body(payload)
        request = SlackRequest(body, self._sign(body, timestamp, JSON), event_id=event_id)
        return self.retried(request, retry_num, retry_reason) if retry_num else request

    def retried(
        self,
        request: SlackRequest,
        retry_num: int | None = 1,
        reason: str = "http_timeout",
        timestamp: int | None = None,
    ) -> SlackRequest:
        """Slack's redelivery of `request`: the same body, signed anew, with retry headers.

        Unless told, the retry is stamped as Slack sends it: 3 seconds after the first delivery
        for the first retry (its timeout), then 1 and 5 minutes after; never before now.
        """
        if not retry_num or retry_num < 1:
            raise ValueError("retried: retry_num must be 1 or more")
        if timestamp is None:
            first = int(request.headers["X-Slack-Request-Timestamp"])
            later = first + RETRY_DELAYS_S[min(retry_num, len(RETRY_DELAYS_S)) - 1]
            timestamp = max(int(self._clock()), later)
        headers = self._sign(request.body, timestamp, request.headers["Content-Type"])
        headers["X-Slack-Retry-Num"] = str(retry_num)
        headers["X-Slack-Retry-Reason"] = reason
        return SlackRequest(
            request.body,
            headers,
            response_url=request.response_url,
            trigger_id=request.trigger_id,
            event_id=request.event_id,
        )

    def app_home_opened(
        self,
        user_id: str,
        *,
        tab: str = "home",
        view: Mapping[str, Any] | None = None,
        channel_id: str | None = None,
        event_id: str | None = None,
        timestamp: int | None = None,
    ) -> SlackRequest:
        """The `app_home_opened` event: `user_id` opened the app's Home (or Messages) tab."""
        _check_user(user_id)
        if tab not in ("home", "messages"):
            raise ValueError(f"app_home_opened: tab must be 'home' or 'messages', not {tab!r}")
        channel = channel_id or (
            self.workspace.dm_channel(user_id) if self.workspace else "D" + user_id[1:]
        )
        event: dict[str, Any] = {
            "type": "app_home_opened",
            "user": user_id,
            "channel": channel,
            "tab": tab,
            "event_ts": f"{self._clock():.6f}",
        }
        if view is not None:
            event["view"] = dict(view)
        return self.event_callback(event, event_id=event_id, timestamp=timestamp)

    def direct_message(
        self,
        user_id: str,
        text: str,
        *,
        channel_id: str | None = None,
        event_id: str | None = None,
        timestamp: int | None = None,
        **fields: Any,
    ) -> SlackRequest:
        """The `message.im` event: `user_id` wrote `text` in their DM with the app. `fields` add
        to the event or override it (`bot_id`, `subtype`, `edited`...) as Slack sends others."""
        _check_user(user_id)
        channel = channel_id or (
            self.workspace.dm_channel(user_id) if self.workspace else "D" + user_id[1:]
        )
        n = next(self._counter)
        ts = f"{self._clock():.6f}"
        event: dict[str, Any] = {
            "type": "message",
            "channel": channel,
            "user": user_id,
            "text": text,
            "ts": ts,
            "event_ts": ts,
            "channel_type": "im",
            "team": self.identity.team_id,
            "client_msg_id": str(uuid.UUID(hashlib.md5(f"{ts}:{n}".encode()).hexdigest())),
            "blocks": [
                {
                    "type": "rich_text",
                    "block_id": f"b{n:04d}",
                    "elements": [
                        {
                            "type": "rich_text_section",
                            "elements": [{"type": "text", "text": text}],
                        }
                    ],
                }
            ],
            **fields,
        }
        return self.event_callback(event, event_id=event_id, timestamp=timestamp)

    # ---------------------------------------------------------------- sending

    def client(self) -> httpx.AsyncClient:
        """An httpx client reaching the bot: through its ASGI app when given one, else over HTTP."""
        if self.app is not None:
            return httpx.AsyncClient(
                transport=httpx.ASGITransport(app=self.app), base_url=self.bot_url
            )
        return httpx.AsyncClient(base_url=self.bot_url)

    async def send(
        self, request: SlackRequest, client: httpx.AsyncClient | None = None
    ) -> httpx.Response:
        """POST `request` to the bot's events path, as Slack does; return the bot's answer."""
        if client is not None:
            return await client.post(
                self.events_path, content=request.body, headers=request.headers
            )
        async with self.client() as own:
            return await own.post(self.events_path, content=request.body, headers=request.headers)

    # ---------------------------------------------------------------- helpers

    def _form(
        self,
        body: bytes,
        timestamp: int | None,
        *,
        response_url: str | None = None,
        trigger_id: str | None = None,
    ) -> SlackRequest:
        """A form-encoded `body` as Slack signs and sends it."""
        return SlackRequest(
            body,
            self._sign(body, timestamp, FORM),
            response_url=response_url,
            trigger_id=trigger_id,
        )

    def _sign(self, body: bytes, timestamp: int | None, content_type: str) -> dict[str, str]:
        when = int(self._clock()) if timestamp is None else timestamp
        return sign(body, self.signing_secret, when, content_type)

    def _trigger(self, user_id: str, n: int) -> str:
        if self.workspace is not None:
            return self.workspace.issue_trigger(user_id)
        digest = hashlib.sha256(f"{self.identity.team_id}:{user_id}:{n}".encode()).hexdigest()[:20]
        return f"{int(self._clock())}.{n}.{digest}"

    def _response_url(self, key: str, kind: str, **context: Any) -> str:
        if self.workspace is not None:
            return self.workspace.response_url_for(key, **context)
        digest = hashlib.sha256(key.encode()).hexdigest()[:24]
        return f"https://hooks.slack.com/{kind}/{self.identity.team_id}/{key}/{digest}"

    def _user_name(self, user_id: str) -> str:
        if self.workspace is not None:
            return self.workspace.user_name(user_id)
        return user_id.lower()

    def _channel_name(self, channel_id: str) -> str:
        if self.workspace is not None:
            return self.workspace.channel_name(channel_id)
        return "directmessage" if channel_id.startswith("D") else channel_id.lower()

    def _user_object(self, user_id: str, user_name: str | None) -> dict[str, str]:
        name = user_name or self._user_name(user_id)
        return {"id": user_id, "username": name, "name": name, "team_id": self.identity.team_id}

    def _team_object(self) -> dict[str, str]:
        team = {"id": self.identity.team_id, "domain": self.identity.team_domain}
        if self.enterprise_id is not None:
            team["enterprise_id"] = self.enterprise_id
            team["enterprise_name"] = self.enterprise_name or ""
        return team
