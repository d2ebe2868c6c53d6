"""The end-to-end harness: the whole bot behind /slack/events, a Slack stand-in on a real port.

    async with slack_harness(PLAN, tmp_path=tmp_path, now=NOW, zones={"U0BOB": "Asia/Tokyo"}) as h:
        sent = await h.command("/oncall", user="U0BOB")
        assert "on call now" in sent.reply_text()

What it builds: a `SlackStandIn` served on 127.0.0.1 (the bot reaches it through SLACK_API_URL
with slack_sdk's real client), Settings as `.env` would give them, a migrated database (a fresh
SQLite file, or the PostgreSQL URL given), the plan from YAML text, a `FixedClock`, the ASGI app
from `create_app` with its lifespan running, and an httpx client on it. Requests are built by
`SlackSide` in Slack's real formats and signed with the app's signing secret.

Slack listeners ack first and finish their work after the HTTP answer, so every `send` waits
(`settle`) until the work the request started is over; pass `settle=False` to fire requests
together (a race) and call `settle()` after.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View
from starlette.applications import Starlette

from bot.app.factory import build_services, create_app
from bot.app.services import Services
from bot.app.settings import Settings, load_settings
from bot.plan.holder import PlanHolder
from bot.runtime.clock import Clock, FixedClock
from bot.sandbox.slack_requests import SlackRequest, SlackSide
from bot.sandbox.standin.app import SlackStandIn
from bot.sandbox.standin.records import Message, ViewRecord
from bot.schedule.roster import Roster

SIGNING_SECRET = "harness-signing-secret"
BOT_TOKEN = "xoxb-test"
SETTLE_TIMEOUT_S = 15.0


@dataclass
class Sent:
    """A request the harness sent as Slack, the bot's HTTP answer, and where its replies went."""

    request: SlackRequest
    response: httpx.Response
    harness: Harness

    @property
    def status(self) -> int:
        return self.response.status_code

    def replies(self) -> list[dict[str, Any]]:
        """The bodies the bot posted to this request's response_url, oldest first."""
        key = self.request.response_key
        return [] if key is None else [post.body for post in self.harness.standin.responses(key)]

    def reply_text(self) -> str:
        """Everything the bot answered through the response_url, as one text (blocks included)."""
        return "\n".join(message_text(body) for body in self.replies())


def message_text(message: Mapping[str, Any] | Message) -> str:
    """The readable text of a message or response: its `text` and every text in its blocks."""
    if isinstance(message, Message):
        return "\n".join([message.text, *block_texts(message.blocks)])
    return "\n".join([str(message.get("text") or ""), *block_texts(message.get("blocks") or [])])


def block_texts(blocks: Sequence[Mapping[str, Any]]) -> list[str]:
    """Every text shown by some blocks, in order (sections, fields, contexts, buttons, headers)."""
    return text_objects(list(blocks), ("mrkdwn", "plain_text"))


def buttons(shown: Message | ViewRecord) -> list[str]:
    """The action ids of the buttons and menus of a message or a view, in order."""
    return [
        element["action_id"]
        for block in shown.blocks
        if block["type"] == "actions"
        for element in block["elements"]
    ]


def text_objects(node: Any, kinds: Sequence[str]) -> list[str]:
    """The text of every text object of the given kinds ("mrkdwn", "plain_text") in ``node``."""
    if isinstance(node, Mapping):
        if node.get("type") in kinds and "text" in node:
            return [str(node["text"])]
        return [text for value in node.values() for text in text_objects(value, kinds)]
    if isinstance(node, list):
        return [text for item in node for text in text_objects(item, kinds)]
    return []


def validate_blocks(blocks: Sequence[Mapping[str, Any]]) -> None:
    """Parse blocks with slack_sdk's models and check Slack's limits; raise on anything wrong."""
    parsed = Block.parse_all([dict(b) for b in blocks])
    if len(parsed) != len(blocks) or any(b is None for b in parsed):
        raise AssertionError(f"slack_sdk could not parse every block: {blocks}")
    for block in parsed:
        block.validate_json()


# Slack markup the bot writes itself: mentions of user ids, channel links, dates, and http(s)
# links whose URL carries no raw "<", ">" or "|" (Slack ends the URL at the first "|") and whose
# title no "<" or ">". Anything else between "<" and ">" (an
# <!channel>, a sender's link) would be a sender's markup that reached Slack unescaped.
OUR_MARKUP = re.compile(
    r"<(?:@[UW][A-Z0-9]+(?:\|[^<>|&]*)?|#[CG][A-Z0-9]+|!date\^\d+\^[^<>|]*\|[^<>|]*"
    r"|https?://[^\s<>|]+\|[^<>]*)>"
)
ENTITY = re.compile(r"&(?:amp|lt|gt);")
QUOTE = re.compile(r"^> ", re.MULTILINE)  # a block quote of ours (a cover's note)


def markup_problems(text: str) -> list[str]:
    """What in mrkdwn ``text`` is not our own markup or Slack's three escapes, each quoted."""
    rest = OUR_MARKUP.sub("", text)
    rest = QUOTE.sub("", ENTITY.sub("", rest))
    return [
        f"{char!r} at {text[max(0, i - 20) : i + 20]!r}"
        for i, char in ((i, c) for i, c in enumerate(rest) if c in "<>&")
    ]


def mrkdwn_texts(item: Mapping[str, Any] | Sequence[Any]) -> list[str]:
    """Every mrkdwn text in some blocks or a view (plain_text is shown as it is, and skipped)."""
    return text_objects(item, ("mrkdwn",))


def validate_view(view: Mapping[str, Any]) -> None:
    """Parse a modal or Home view with slack_sdk's models and check Slack's limits."""
    View(**{k: v for k, v in view.items() if k in _VIEW_FIELDS}).validate_json()
    validate_blocks(view.get("blocks", []))


_VIEW_FIELDS = {
    "type",
    "id",
    "callback_id",
    "external_id",
    "team_id",
    "bot_id",
    "app_id",
    "root_view_id",
    "previous_view_id",
    "title",
    "submit",
    "close",
    "blocks",
    "private_metadata",
    "state",
    "hash",
    "clear_on_close",
    "notify_on_close",
}


@dataclass
class Harness:
    """The running bot, its Slack stand-in, and Slack's side of the conversation."""

    standin: SlackStandIn
    slack: SlackSide
    settings: Settings
    services: Services
    app: Starlette
    client: httpx.AsyncClient
    clock: FixedClock
    plan_changes: list[str | None] = field(default_factory=list)
    _spawned: set[asyncio.Task[Any]] = field(default_factory=set)
    _reply_keys: list[str] = field(default_factory=list)

    # ------------------------------------------------------------------ state

    @property
    def roster(self) -> Roster:
        return self.services.roster

    def now(self) -> datetime:
        return self.clock.now()

    def dm_texts(self, user: str) -> list[str]:
        """The readable text of every DM the bot sent ``user``, oldest first."""
        return [message_text(m) for m in self.standin.dms(user)]

    def channel_texts(self, channel: str) -> list[str]:
        """The readable text of every message in a channel, oldest first (as last edited)."""
        return [message_text(m) for m in self.standin.messages(channel)]

    def every_message_and_view(self) -> list[tuple[str, Mapping[str, Any]]]:
        """Each message, response and view the bot built so far, with where it went."""
        found: list[tuple[str, Mapping[str, Any]]] = []
        for call in self.standin.calls:
            if call.method in ("chat.postMessage", "chat.update", "chat.postEphemeral"):
                content = {"blocks": call.args.get("blocks") or [], "text": call.args.get("text")}
                found.append((call.method, content))
            elif call.method.startswith("views."):
                found.append((call.method, {"view": call.args.get("view")}))
        for key, posts in self._response_posts().items():
            found.extend(
                (f"response_url {key}", {"blocks": p.get("blocks") or [], "text": p.get("text")})
                for p in posts
            )
        return found

    def assert_all_valid(self) -> None:
        """Every message, response and view the bot built so far passes slack_sdk's models, and
        its mrkdwn (fallback text included) holds no markup but our own."""
        for where, item in self.every_message_and_view():
            try:
                if "view" in item:
                    validate_view(item["view"])
                else:
                    validate_blocks(item["blocks"])
            except Exception as error:
                raise AssertionError(f"{where}: {error}") from error
            texts = mrkdwn_texts(item.get("view") or item.get("blocks") or [])
            texts.extend(str(t) for t in [item.get("text")] if t)
            problems = [p for text in texts for p in markup_problems(text)]
            assert not problems, f"{where}: markup that is not ours: {problems}"

    def _response_posts(self) -> dict[str, list[dict[str, Any]]]:
        """What was posted to the response_url of every request sent, by its key."""
        return {
            key: [post.body for post in self.standin.responses(key)] for key in self._reply_keys
        }

    # ------------------------------------------------------------------ sending as Slack

    async def send(self, request: SlackRequest, *, settle: bool = True) -> Sent:
        """POST a signed request to /slack/events; wait for the work it started unless told not."""
        before = asyncio.all_tasks()
        response = await self.client.post(
            "/slack/events", content=request.body, headers=request.headers
        )
        self._spawned.update(t for t in asyncio.all_tasks() - before if not t.done())
        if request.response_key:
            self._reply_keys.append(request.response_key)
        if settle:
            await self.settle()
        return Sent(request, response, self)

    async def settle(self, timeout: float = SETTLE_TIMEOUT_S) -> None:  # noqa: ASYNC109
        """Wait until the work started by the requests sent so far is over."""
        deadline = time.monotonic() + timeout
        me = asyncio.current_task()
        while True:
            pending = {t for t in self._spawned if not t.done() and t is not me}
            self._spawned = pending
            if not pending:
                return
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                names = ", ".join(sorted(t.get_name() for t in pending))
                raise TimeoutError(f"work still running after {timeout}s: {names}")
            await asyncio.wait(pending, timeout=remaining)

    async def command(
        self,
        command: str,
        text: str = "",
        *,
        user: str,
        channel: str | None = None,
        settle: bool = True,
        **kwargs: Any,
    ) -> Sent:
        """``user`` types a slash command (in their DM with the app unless ``channel`` is given)."""
        channel = channel or self.standin.dm_channel(user)
        request = self.slack.slash_command(
            command, text, user_id=user, channel_id=channel, **kwargs
        )
        return await self.send(request, settle=settle)

    async def click(
        self,
        where: Message | ViewRecord | Mapping[str, Any],
        action_id: str,
        *,
        user: str,
        block_id: str | None = None,
        settle: bool = True,
        **kwargs: Any,
    ) -> Sent:
        """``user`` clicks the element ``action_id`` of a message, or of a view (modal, Home)."""
        request = self.click_request(where, action_id, user=user, block_id=block_id, **kwargs)
        return await self.send(request, settle=settle)

    def click_request(
        self,
        where: Message | ViewRecord | Mapping[str, Any],
        action_id: str,
        *,
        user: str,
        block_id: str | None = None,
        **kwargs: Any,
    ) -> SlackRequest:
        """The signed request of ``user``'s click on ``action_id``, built but not sent."""
        if isinstance(where, Message):
            request = self.slack.block_action(
                action_id,
                user_id=user,
                channel_id=where.channel,
                message_ts=where.ts,
                message_blocks=where.blocks,
                message_text=where.text,
                block_id=block_id,
                **kwargs,
            )
        else:
            view = where.view if isinstance(where, ViewRecord) else dict(where)
            request = self.slack.block_action(
                action_id, user_id=user, view=view, block_id=block_id, **kwargs
            )
        return request

    async def submit(
        self,
        view: ViewRecord | Mapping[str, Any],
        *,
        user: str,
        answers: Mapping[str, Any],
        settle: bool = True,
    ) -> Sent:
        """``user`` submits a modal the bot opened, answering its inputs by action_id."""
        the_view = view.view if isinstance(view, ViewRecord) else dict(view)
        request = self.slack.view_submission(user_id=user, view=the_view, answers=answers)
        return await self.send(request, settle=settle)

    async def event(
        self, event: Mapping[str, Any], *, event_id: str | None = None, settle: bool = True
    ) -> Sent:
        """An Events API delivery of ``event``."""
        return await self.send(self.slack.event_callback(event, event_id=event_id), settle=settle)

    async def open_home(self, user: str, *, settle: bool = True) -> Sent:
        """``user`` opens the app's Home tab."""
        return await self.send(self.slack.app_home_opened(user), settle=settle)


class LaggingClock:
    """Another clock, read that far behind: a machine whose time disagrees with ours."""

    def __init__(self, base: Clock, behind: timedelta) -> None:
        self.base, self.behind = base, behind

    def now(self) -> datetime:
        return self.base.now() - self.behind

    async def sleep(self, seconds: float) -> None:
        await self.base.sleep(seconds)


def _user_name(user_id: str) -> str:
    """A readable username for a Slack id: U0ALICE → alice."""
    return user_id[2:].lower() if user_id.startswith(("U0", "W0")) else user_id.lower()


@contextlib.asynccontextmanager
async def slack_harness(
    plan_yaml: str,
    *,
    tmp_path: Path,
    now: datetime,
    zones: Mapping[str, str] | None = None,
    default_zone: str = "Europe/Paris",
    locales: Mapping[str, str] | None = None,
    extra_users: Sequence[str] = (),
    database_url: str | None = None,
    start_background: bool = False,
    env: Mapping[str, str] | None = None,
    slack_behind: timedelta = timedelta(0),
    waits_move_clock: bool = False,
) -> AsyncIterator[Harness]:
    """The bot running on ``plan_yaml`` at the instant ``now``, with Slack stood in.

    Every member named in the plan (and ``extra_users``) exists in the stand-in workspace, in
    ``zones[user]`` or ``default_zone``, their Slack client in ``locales[user]`` (else en-US);
    every team channel exists, the bot in it.
    ``start_background`` runs the app's startup hooks and workers (schedulers, delivery) as
    `watchkeeper serve` would.
    ``slack_behind`` sets Slack's clock (its messages' ts) that far behind the bot's.
    ``waits_move_clock``: the bot's waits (Slack's Retry-After) move the clock on at once, and
    Slack counts its rate limits by that clock: minutes of waiting pass in no time.
    """
    clock = FixedClock(now, waits_move_it=waits_move_clock)
    slack_clock = clock if not slack_behind else LaggingClock(clock, slack_behind)
    limits_clock = {"monotonic": lambda: clock.now().timestamp()} if waits_move_clock else {}
    standin = SlackStandIn(token=BOT_TOKEN, clock=slack_clock, **limits_clock).start()
    try:
        setup = tmp_path / "oncall.yaml"
        setup.write_text(plan_yaml)
        environ = {
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": standin.base_url,
            "DATABASE_URL": database_url or f"sqlite:///{tmp_path / 'watchkeeper.db'}",
            "WATCHKEEPER_CONFIG": str(setup),
            **(env or {}),
        }
        settings = load_settings(environ, env_file=None)
        plans = PlanHolder.from_file(setup)
        zones = dict(zones or {})
        people = {m for team in plans.current.teams.values() for m in team.members}
        people |= set(plans.current.leadership) | set(extra_users)
        for user in sorted(people):
            standin.add_user(
                user,
                _user_name(user),
                tz=zones.get(user, default_zone),
                locale=(locales or {}).get(user, "en-US"),
            )
        # A workspace set up for the bot: it was invited to every team channel (a test takes it
        # out with standin.remove_bot).
        for team in plans.current.teams.values():
            standin.add_channel(
                team.channel, team.id, members=sorted(team.members), bot_member=True
            )

        services = build_services(settings, plans=plans, clock=clock)
        harness_changes: list[str | None] = []

        async def record_change(team: str | None) -> None:
            harness_changes.append(team)

        services.plan_changed_hooks.append(record_change)
        app = create_app(settings, services=services, start_background=start_background)
        slack = SlackSide.for_standin(standin, SIGNING_SECRET)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(
                transport=transport, base_url="http://watchkeeper"
            ) as client:
                harness = Harness(
                    standin=standin,
                    slack=slack,
                    settings=settings,
                    services=services,
                    app=app,
                    client=client,
                    clock=clock,
                    plan_changes=harness_changes,
                )
                try:
                    yield harness
                    await harness.settle()
                finally:
                    services.engine.dispose()
    finally:
        standin.stop()


@contextlib.asynccontextmanager
async def two_replicas(
    plan_yaml: str, *, tmp_path: Path, database_url: str, **options: Any
) -> AsyncIterator[tuple[Harness, Harness]]:
    """Two bots on ``plan_yaml`` sharing the database at ``database_url`` (replicas), each with
    its own Slack stand-in; ``options`` as ``slack_harness`` takes them."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    async with (
        slack_harness(
            plan_yaml, tmp_path=tmp_path / "a", database_url=database_url, **options
        ) as a,
        slack_harness(
            plan_yaml, tmp_path=tmp_path / "b", database_url=database_url, **options
        ) as b,
    ):
        yield a, b
