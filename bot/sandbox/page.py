"""The sandbox page: `/` and its JSON API, acting as any user of the stand-in workspace.

What a user sees comes from the Slack stand-in (channels, their DM with the app, what was shown
to them alone, their open modal, their Home tab). What they do — a slash command, a click, a
modal submitted or closed, the Home tab opened — goes to the bot as Slack sends it: a signed
request to `/slack/events`, built by `SlackSide`. Each call answers once the work the request
started in the bot is over, so the page shows its effect on the next refresh.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import logging
import threading
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from datetime import datetime
from importlib.resources import files
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from bot.enums import Command
from bot.sandbox.slack_requests import SlackRequest, SlackSide
from bot.sandbox.standin.app import SlackStandIn
from bot.sandbox.standin.records import Ephemeral, Message

logger = logging.getLogger(__name__)

# How long a page call waits for the work its request started in the bot (a listener that
# answers after its ack, the posts it makes). Past it the page just shows what is there.
SETTLE_TIMEOUT_S = 10.0
ASSETS = ("bot.sandbox", "assets")
# What a phone panel keeps: the latest pushes.
PHONE_KEPT = 50

# The tasks started while the page sends one request, so that it can wait for them.
_spawned: contextvars.ContextVar[set[asyncio.Task[Any]] | None] = contextvars.ContextVar(
    "sandbox_spawned", default=None
)


class PageError(Exception):
    """A page call that cannot be done; the message is shown to the person using the page."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def track_spawned_tasks(loop: asyncio.AbstractEventLoop) -> None:
    """Make ``loop`` note every task created while a page request is being sent."""
    previous = loop.get_task_factory()

    def factory(
        loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, Any], **kwargs: Any
    ) -> asyncio.Future[Any]:
        if previous is not None:
            task = previous(loop, coro, **kwargs)
        else:
            task = asyncio.Task(coro, loop=loop, **kwargs)
        found = _spawned.get()
        if found is not None and isinstance(task, asyncio.Task):
            found.add(task)
        return task

    loop.set_task_factory(factory)  # type: ignore[arg-type]


async def _settle(spawned: set[asyncio.Task[Any]]) -> None:
    """Wait until the tasks in ``spawned`` (and those they start) are done, within a limit."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + SETTLE_TIMEOUT_S
    while pending := {t for t in spawned if not t.done()}:
        remaining = deadline - loop.time()
        if remaining <= 0:
            logger.warning("bot still busy, showing the page anyway", extra={"tasks": len(pending)})
            return
        await asyncio.wait(pending, timeout=remaining)


class SandboxPage:
    """The page's routes over one stand-in workspace and the bot that Slack's side talks to."""

    def __init__(
        self,
        standin: SlackStandIn,
        slack: SlackSide,
        *,
        default_user: str | None,
        usergroups: Mapping[str, str] | None = None,
    ):
        self.standin = standin
        self.slack = slack
        self.default_user = default_user
        # User group id → @handle, for drawing <!subteam^S…> as Slack does.
        self.usergroups = dict(usergroups or {})
        self._modal_errors: dict[str, dict[str, str]] = {}
        # Each person's phone: the wake-up pushes the bot sent them (Apprise json:// posts).
        self._phones: dict[str, list[dict[str, str]]] = {}
        self._phones_lock = threading.Lock()

    def routes(self) -> list[BaseRoute]:
        """`/`, the page's assets under `/sandbox/assets/` and its API under `/sandbox/api/`."""
        api = [
            Route("/users", self._wrap(self.users), methods=["GET"]),
            Route("/state", self._wrap(self.state), methods=["GET"]),
            Route("/command", self._wrap(self.command), methods=["POST"]),
            Route("/action", self._wrap(self.action), methods=["POST"]),
            Route("/submit", self._wrap(self.submit), methods=["POST"]),
            Route("/close", self._wrap(self.close), methods=["POST"]),
            Route("/home", self._wrap(self.home), methods=["POST"]),
        ]
        return [
            Route("/", self.index, methods=["GET"]),
            Route("/sandbox/phone/{user}", self.receive_push, methods=["POST"]),
            Mount("/sandbox/assets", app=StaticFiles(packages=[ASSETS]), name="assets"),
            Mount("/sandbox/api", routes=api),
        ]

    async def index(self, _: Request) -> Response:
        """The page itself."""
        page = files(ASSETS[0]).joinpath(ASSETS[1], "index.html").read_text(encoding="utf-8")
        return HTMLResponse(page)

    def _wrap(
        self, handler: Callable[[Request], Awaitable[dict[str, Any]]]
    ) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            try:
                return JSONResponse({"ok": True, **await handler(request)})
            except PageError as error:
                return JSONResponse({"ok": False, "error": str(error)}, status_code=error.status)

        return endpoint

    # ---------------------------------------------------------------- what a user sees

    async def users(self, _: Request) -> dict[str, Any]:
        """`GET users`: whom one can act as, whom the page starts as, the app's commands."""
        return {
            "users": self.people(),
            "default_user": self.default_user,
            "commands": [c.value for c in Command],
        }

    def people(self) -> list[dict[str, str]]:
        """The workspace's people (not the bot, not Slackbot): id, name, time zone and the
        language of their Slack client."""
        return [
            {"id": u.id, "name": u.real_name, "tz": u.tz, "locale": u.locale}
            for u in self.standin.users()
            if not u.is_bot and u.id != "USLACKBOT"
        ]

    async def state(self, request: Request) -> dict[str, Any]:
        """`GET state?user=U…`: everything that user sees now."""
        user = self._user(request.query_params.get("user"))
        return await asyncio.to_thread(self.user_state, user)

    async def receive_push(self, request: Request) -> Response:
        """`POST /sandbox/phone/U…`: a wake-up push to that person's phone, as Apprise's json://
        sends it ({"title", "message", "type"}); the page shows it in their phone panel."""
        user = request.path_params["user"]
        if user not in {p["id"] for p in self.people()}:
            return JSONResponse({"error": f"no phone for {user}"}, status_code=404)
        try:
            body = json.loads(await request.body() or b"{}")
        except ValueError:
            return JSONResponse({"error": "the push is not JSON"}, status_code=400)
        if not isinstance(body, dict):
            return JSONResponse({"error": "the push is not a JSON object"}, status_code=400)
        push = {"title": str(body.get("title") or ""), "message": str(body.get("message") or "")}
        with self._phones_lock:
            kept = self._phones.setdefault(user, [])
            kept.append(push)
            del kept[:-PHONE_KEPT]
        return JSONResponse({})

    def phone(self, user: str) -> list[dict[str, str]]:
        """The pushes ``user``'s phone received, oldest first."""
        with self._phones_lock:
            return [dict(p) for p in self._phones.get(user, [])]

    def user_state(self, user: str) -> dict[str, Any]:
        """Everything ``user`` sees: channels, their DM with the app, modal and Home tab."""
        names = {u.id: u.real_name for u in self.standin.users()}
        zone = ZoneInfo(next(u.tz for u in self.standin.users() if u.id == user))
        dm = self.standin.dm_channel(user)
        conversations = []
        for channel in sorted(self.standin.channels(), key=lambda c: (c.is_im, c.name)):
            if channel.is_im and channel.id != dm:
                continue
            shown: list[dict[str, Any]] = [
                self._message(m, names, zone) for m in self.standin.messages(channel.id)
            ]
            shown.extend(
                self._ephemeral(e, zone) for e in self.standin.ephemerals(user, channel.id)
            )
            shown.sort(key=lambda m: _ts_key(m["ts"]))
            conversations.append(
                {
                    "id": channel.id,
                    "kind": "dm" if channel.is_im else "channel",
                    "name": self._bot_name if channel.is_im else channel.name,
                    "messages": shown,
                }
            )
        home = self.standin.home(user)
        stack = self.standin.open_views(user)
        modal = stack[-1] if stack else None
        return {
            "users": self.people(),
            "directory": self.directory(),
            "conversations": conversations,
            "home": None if home is None else {"id": home.id, "blocks": home.blocks},
            "modal": modal,
            "modal_errors": self._modal_errors.get(modal["id"], {}) if modal else {},
            "phone": self.phone(user),
        }

    @property
    def _bot_name(self) -> str:
        """The bot's name as the page shows it (Watchkeeper)."""
        return self.standin.identity.bot_name.capitalize()

    def directory(self) -> dict[str, dict[str, str]]:
        """What mentions name: every user (the bot too), channel and user group, by id."""
        users = {u.id: u.real_name or u.name for u in self.standin.users()}
        users[self.standin.identity.bot_user_id] = self._bot_name
        channels = {c.id: c.name for c in self.standin.channels() if not c.is_im}
        return {"users": users, "channels": channels, "usergroups": dict(self.usergroups)}

    def _message(self, m: Message, names: dict[str, str], zone: ZoneInfo) -> dict[str, Any]:
        from_bot = m.bot_id is not None or m.user in (None, self.standin.identity.bot_user_id)
        return {
            "ts": m.ts,
            "author": self._bot_name if from_bot else names.get(m.user or ""),
            "time": _clock_time(m.ts, zone),
            "text": m.text,
            "blocks": m.blocks,
            "ephemeral": False,
            "edited": m.edited,
        }

    def _ephemeral(self, e: Ephemeral, zone: ZoneInfo) -> dict[str, Any]:
        return {
            "ts": e.ts,
            "author": self._bot_name,
            "time": _clock_time(e.ts, zone),
            "text": e.text,
            "blocks": e.blocks,
            "ephemeral": True,
            "edited": e.replaced,
        }

    # ---------------------------------------------------------------- what a user does

    async def command(self, request: Request) -> dict[str, Any]:
        """`POST command`: the user types a slash command in a channel (or their DM)."""
        body = await _json(request)
        user = self._user(body.get("user"))
        command = str(body.get("command") or "").strip()
        known = [c.value for c in Command]
        if command not in known:
            raise PageError(
                f"{command or 'that'} is not a command of this app: try {', '.join(known)}"
            )
        channel = body.get("channel") or self.standin.dm_channel(user)
        text = str(body.get("text") or "")
        sent = self.slack.slash_command(command, text, user_id=user, channel_id=str(channel))
        response = await self._send(sent)
        # Slack shows what the ack itself carries, like an answer to the response_url.
        if response.content and sent.response_url:
            try:
                answer = response.json()
            except ValueError:
                answer = {"text": response.text}
            async with httpx.AsyncClient() as client:
                await client.post(sent.response_url, json=answer)
        return {}

    async def action(self, request: Request) -> dict[str, Any]:
        """`POST action`: the user clicks a button or picks an option, in a message or a view."""
        body = await _json(request)
        user = self._user(body.get("user"))
        action_id = str(body.get("action_id") or "")
        block_id = body.get("block_id") or None
        selected = (
            {"selected_option": body["selected_option"]} if body.get("selected_option") else None
        )
        if body.get("view_id"):
            view = self.standin.view(str(body["view_id"]))
            if view is None:
                raise PageError("that view is no longer open", 404)
            sent = self.slack.block_action(
                action_id, user_id=user, view=view, block_id=block_id, selected=selected
            )
        else:
            channel, ts = str(body.get("channel") or ""), str(body.get("ts") or "")
            message = self.standin.message(channel, ts)
            if message is not None:
                blocks, text, ephemeral = message.blocks, message.text, False
            else:
                shown = [e for e in self.standin.ephemerals(user, channel) if e.ts == ts]
                if not shown:
                    raise PageError("that message is gone", 404)
                blocks, text, ephemeral = shown[0].blocks, shown[0].text, True
            sent = self.slack.block_action(
                action_id,
                user_id=user,
                channel_id=channel,
                message_ts=ts,
                message_blocks=blocks,
                message_text=text,
                is_ephemeral=ephemeral,
                block_id=block_id,
                selected=selected,
            )
        await self._send(sent)
        return {}

    async def submit(self, request: Request) -> dict[str, Any]:
        """`POST submit`: the user submits a modal; the bot's refusals come back as `errors`."""
        body, user, view_id = await self._about_a_modal(request)
        view = self.standin.view(view_id)
        if view is None:
            raise PageError("that form is no longer open", 404)
        values = body.get("values") or {}
        if not isinstance(values, dict):
            raise PageError("values must be an object: block_id → action_id → state")
        sent = self.slack.view_submission(user_id=user, view=view, state_values=values)
        response = await self._send(sent)
        answer = _json_or_empty(response)
        action = answer.get("response_action")
        if action == "errors":
            errors = {str(k): str(v) for k, v in (answer.get("errors") or {}).items()}
            self._modal_errors[view_id] = errors
            return {"errors": errors}
        self._modal_errors.pop(view_id, None)
        if action == "clear":
            self.standin.close_view(user, view.get("root_view_id") or view_id)
        else:
            if action is not None:
                logger.warning(
                    "the sandbox closes the modal instead of this response_action",
                    extra={"response_action": action},
                )
            self.standin.close_view(user, view_id)
        return {}

    async def close(self, request: Request) -> dict[str, Any]:
        """`POST close`: the user closes a modal (the bot hears of it if the view asked)."""
        _, user, view_id = await self._about_a_modal(request)
        view = self.standin.view(view_id)
        self.standin.close_view(user, view_id)
        self._modal_errors.pop(view_id, None)
        if view is not None and view.get("notify_on_close"):
            await self._send(self.slack.view_closed(user_id=user, view=view))
        return {}

    async def home(self, request: Request) -> dict[str, Any]:
        """`POST home`: the user opens the app's Home tab."""
        body = await _json(request)
        user = self._user(body.get("user"))
        await self._send(self.slack.app_home_opened(user))
        return {}

    # ---------------------------------------------------------------- helpers

    async def _about_a_modal(self, request: Request) -> tuple[dict[str, Any], str, str]:
        """A modal's request: its body, the user acting and the view's id."""
        body = await _json(request)
        return body, self._user(body.get("user")), str(body.get("view_id") or "")

    def _user(self, value: Any) -> str:
        """The user id given, if that person is in the workspace."""
        user = str(value or "")
        if not any(u.id == user for u in self.standin.users()):
            raise PageError(f"no user {user or '(none given)'} in the sandbox workspace")
        return user

    async def _send(self, request: SlackRequest) -> httpx.Response:
        """POST a signed request to the bot as Slack does; wait for the work it started."""
        spawned: set[asyncio.Task[Any]] = set()
        token = _spawned.set(spawned)
        try:
            response = await self.slack.send(request)
        finally:
            _spawned.reset(token)
        await _settle(spawned)
        if response.status_code >= 300:
            logger.warning("the bot refused a request", extra={"status": response.status_code})
            raise PageError(f"the bot answered HTTP {response.status_code}", 502)
        return response


async def _json(request: Request) -> dict[str, Any]:
    """The JSON object a page call sends."""
    try:
        body = await request.json()
    except (ValueError, UnicodeDecodeError):
        raise PageError("the body must be a JSON object") from None
    if not isinstance(body, dict):
        raise PageError("the body must be a JSON object")
    return body


def _json_or_empty(response: httpx.Response) -> dict[str, Any]:
    """The JSON object the bot answered with; empty when it answered nothing (a plain ack)."""
    if not response.content:
        return {}
    try:
        decoded = json.loads(response.content)
    except ValueError:
        return {}
    return decoded if isinstance(decoded, dict) else {}


def _ts_key(ts: str) -> tuple[int, ...]:
    """A message ts as numbers, for ordering (seconds, then microseconds)."""
    return tuple(int(part) for part in ts.split("."))


def _clock_time(ts: str, zone: ZoneInfo) -> str:
    """A message's time as Slack shows it by the author: weekday and clock, in the reader's zone."""
    return datetime.fromtimestamp(float(ts), zone).strftime("%a %H:%M")
