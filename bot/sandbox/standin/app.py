"""A local stand-in of the Slack Web API: the methods the bot calls, recorded, with faults.

The bot talks to it through slack_sdk's real client pointed at `base_url`, over real HTTP, so
nothing in the bot knows it is not Slack. Tests and the sandbox read what the bot did through the
query methods (`messages`, `dms`, `last_view`, `calls_to`, ...) and wait for it with `wait_for`.

It refuses what Slack refuses, with Slack's error names: Block Kit's limits (`invalid_blocks`,
or `invalid_arguments` in views, with `response_metadata.messages`), posting where the bot was
never invited (`not_in_channel`) or in an archived channel, a trigger used late or twice, user
groups on a free or locked workspace, calls past a method's rate tier (429, Retry-After), and
methods outside the app's scopes (`missing_scope`).

Here is the stand-in as one object, each family of methods a module beside this one, and its HTTP
side: /api/<method> and the response URLs, serving them, reading a call's arguments as Slack does
(query string, form or JSON), the token and the scopes, and every call recorded with its answer.
"""

from __future__ import annotations

import asyncio
import copy
import json
import re
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.runtime.clock import Clock, SystemClock
from bot.sandbox.identity import SANDBOX_WORKSPACE, WorkspaceIdentity
from bot.sandbox.server import RunningServer, serve_in_thread
from bot.sandbox.standin.base import ApiError
from bot.sandbox.standin.chat import ChatMethods
from bot.sandbox.standin.conversations import ConversationsMethods
from bot.sandbox.standin.faults import (
    POSTING_BURST,
    POSTING_RATE_PER_SECOND,
    DroppedResponse,
    Faults,
)
from bot.sandbox.standin.queries import Queries
from bot.sandbox.standin.records import Call, ResponseContext, ResponsePost
from bot.sandbox.standin.usergroups import UsergroupsMethods
from bot.sandbox.standin.users import UsersMethods
from bot.sandbox.standin.views import TRIGGER_TTL_SECONDS, ViewsMethods
from bot.sandbox.standin.workspace import Workspace

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


class SlackStandIn(
    Workspace,
    Queries,
    Faults,
    ChatMethods,
    ConversationsMethods,
    UsersMethods,
    ViewsMethods,
    UsergroupsMethods,
):
    """The Slack Web API methods the bot uses, with their state, a record of calls, and faults."""

    def __init__(
        self,
        *,
        token: str | None = None,
        identity: WorkspaceIdentity = SANDBOX_WORKSPACE,
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
        self.identity = identity
        self.validate_blocks = validate_blocks
        self.strict_triggers = strict_triggers
        self.trigger_ttl = trigger_ttl
        self.enforce_rate_limits = enforce_rate_limits
        self.posting_rate = posting_rate
        self.posting_burst = posting_burst
        self._seed = seed
        self._clock = clock or SystemClock()
        self._monotonic = monotonic
        self._lock = threading.Condition(threading.RLock())
        self._async_waiters = set()
        self._server: RunningServer | None = None
        self._root_url: str | None = None
        self._handlers = {
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
        self._users = {}
        self._channels = {}
        self._usergroups = {}
        self._add_builtin_users()
        self._clear_recordings()
        self.app = Starlette(
            routes=[
                Route("/api/{method}", self._api_endpoint, methods=["GET", "POST"]),
                Route("/response/{key}", self._response_endpoint, methods=["POST"]),
            ]
        )

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
            self._response_contexts[key] = ResponseContext(channel, user, message_ts, is_ephemeral)
        return f"{self.root_url}response/{key}"

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
            return DroppedResponse(
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

    def _auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "url": self.identity.url,
            "team": self.identity.team_name,
            "user": self.identity.bot_name,
            "team_id": self.identity.team_id,
            "user_id": self.identity.bot_user_id,
            "bot_id": self.identity.bot_id,
            "is_enterprise_install": False,
        }

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
