"""`watchkeeper sandbox`: the bot, unchanged, against a local stand-in of Slack, with a web page.

One process: the Slack stand-in on its own loopback port (the bot reaches it through
SLACK_API_URL), an example workspace and setup file, a fresh SQLite database, and on the
sandbox's port the real bot app — `/slack/events`, alert intake, health, metrics, calendar,
with its scheduler and workers — plus the page at `/` that acts as any user.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import shlex
import signal
import socket
import tempfile
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path

import yaml
from starlette.applications import Starlette
from starlette.routing import Mount

from bot.app.factory import build_services, create_app
from bot.app.logs import setup_logging
from bot.app.services import Services
from bot.app.settings import Settings, load_settings
from bot.plan.holder import PlanHolder
from bot.runtime.clock import Clock
from bot.sandbox.page import SandboxPage, track_spawned_tasks
from bot.sandbox.server import RunningServer, serve_in_thread
from bot.sandbox.slack_requests import SlackSide
from bot.sandbox.standin.app import SlackStandIn

logger = logging.getLogger(__name__)

# The secret every integration of the example setup file expects; the README documents it.
ALERT_TOKEN = "sandbox-token"
ALERT_TOKEN_ENV = "SANDBOX_ALERT_TOKEN"
EXAMPLE_INTEGRATION = "helpdesk"
# The alert the banner and the README send, as generic JSON (docs/generic-webhook.md).
EXAMPLE_ALERT = {
    "title": "Checkout fails for Acme",
    "summary": "Card payments answer 502 since 14:05.",
    "severity": "error",
    "customer": "Acme",
}
# A bot token the stand-in accepts; it means nothing to Slack.
BOT_TOKEN = "xoxb-sandbox"
# Ctrl-C, and what `docker stop` or a service manager sends.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@dataclass(frozen=True)
class ExampleUser:
    """A person of the example workspace, as `workspace.yaml` describes them."""

    id: str
    name: str
    real_name: str
    tz: str
    locale: str = "en-US"  # their Slack client's language


def example_file(name: str) -> Traversable:
    """A file shipped in `bot/example/`, wherever the package is installed."""
    return files("bot").joinpath("example", name)


def load_workspace(text: str) -> tuple[list[ExampleUser], list[dict[str, str]]]:
    """The people and user groups of the example workspace, from its YAML."""
    doc = yaml.safe_load(text) or {}
    users = [
        ExampleUser(
            str(u["id"]),
            str(u["name"]),
            str(u["real_name"]),
            str(u["tz"]),
            str(u.get("locale") or "en-US"),
        )
        for u in doc.get("users", [])
    ]
    groups = [{k: str(v) for k, v in g.items()} for g in doc.get("usergroups", [])]
    return users, groups


def alert_curl(base_url: str) -> str:
    """The one command that sends the example alert into a sandbox served at ``base_url``."""
    url = f"{base_url.rstrip('/')}/alerts/{EXAMPLE_INTEGRATION}?token={ALERT_TOKEN}"
    body = json.dumps(EXAMPLE_ALERT)
    return (
        f"curl -X POST {shlex.quote(url)} -H 'Content-Type: application/json' "
        f"-d {shlex.quote(body)}"
    )


def _reachable(host: str, port: int) -> str:
    """host:port as this machine reaches a server listening on ``host``."""
    host = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    host = f"[{host}]" if ":" in host else host
    return f"{host}:{port}"


def _free_port(host: str) -> int:
    """A port nobody listens on now (port 0 asked: the bot must know its address first)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


class Sandbox:
    """The sandbox, startable and stoppable: by `watchkeeper sandbox` and by the tests."""

    def __init__(
        self, *, host: str = "127.0.0.1", port: int = 3000, clock: Clock | None = None
    ) -> None:
        self.host = host
        self.requested_port = port
        self.clock = clock  # None: the system clock
        self.standin = SlackStandIn(token=BOT_TOKEN)
        self._standin_server: RunningServer | None = None
        self._server: RunningServer | None = None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._services: Services | None = None
        self.settings: Settings | None = None

    @property
    def port(self) -> int:
        """The port the page and the bot listen on."""
        if self._server is None:
            raise RuntimeError("the sandbox is not running")
        return self._server.port

    @property
    def url(self) -> str:
        """The page's address, reachable from this machine."""
        return f"http://{_reachable(self.host, self.port)}"

    @property
    def services(self) -> Services:
        """The running bot's services (database, plan, roster, clock)."""
        if self._services is None:
            raise RuntimeError("the sandbox is not running")
        return self._services

    @property
    def running(self) -> bool:
        """Whether the page and the bot are still served."""
        return self._server is not None and self._server.running

    def start(self) -> Sandbox:
        """Build the workspace, the database and the bot, and serve them; return once ready."""
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="watchkeeper-sandbox-")
        folder = Path(self._tmp.name)
        # A copy of the shipped setup file: the bot watches its file, and may find it read-only.
        setup = folder / "oncall.yaml"
        setup.write_text(example_file("oncall.yaml").read_text(encoding="utf-8"), encoding="utf-8")
        plans = PlanHolder.from_file(setup)

        # The stand-in's own server logs through ours (log_config=None): one format everywhere.
        self._standin_server = serve_in_thread(self.standin.app, "127.0.0.1", 0, log_config=None)
        self.standin.attach(self._standin_server.url)
        users, groups = load_workspace(example_file("workspace.yaml").read_text(encoding="utf-8"))
        for user in users:
            self.standin.add_user(user.id, user.name, user.tz, user.real_name, locale=user.locale)
        for group in groups:
            self.standin.add_usergroup(group["id"], group["handle"], group.get("name"))
        # Someone the setup file names but the workspace file forgot still gets an account.
        known = {u.id for u in self.standin.users()}
        plan = plans.current
        named = {m for team in plan.teams.values() for m in team.members} | set(plan.leadership)
        for member in sorted(named - known):
            self.standin.add_user(member, member[2:].lower() or member)
        # The bot was invited to every team channel, as the README asks.
        for team in plan.teams.values():
            self.standin.add_channel(
                team.channel, team.id, members=sorted(team.members), bot_member=True
            )

        # The address is known before the bot starts: its acknowledge links and the example
        # people's wake-up URLs (json://${SANDBOX_PHONES}/U…) name it.
        port = self.requested_port or _free_port(self.host)
        address = _reachable(self.host, port)
        signing_secret = secrets.token_hex(16)
        self.settings = load_settings(
            {
                "SLACK_BOT_TOKEN": BOT_TOKEN,
                "SLACK_SIGNING_SECRET": signing_secret,
                "SLACK_API_URL": self.standin.base_url,
                "DATABASE_URL": f"sqlite:///{folder / 'watchkeeper.db'}",
                "WATCHKEEPER_CONFIG": str(setup),
                "HOST": self.host,
                "PORT": str(port),
                ALERT_TOKEN_ENV: ALERT_TOKEN,
                # Signs the acknowledge links of the example people's wake-ups.
                "WATCHKEEPER_SECRET": secrets.token_urlsafe(32),
                "PUBLIC_URL": f"http://{address}",
                # Where the example people's wake-ups land: the page's phone panels.
                "SANDBOX_PHONES": f"{address}/sandbox/phone",
            },
            env_file=None,
        )
        self._services = build_services(self.settings, plans=plans, clock=self.clock)
        bot = create_app(self.settings, services=self._services)
        slack = SlackSide.for_standin(self.standin, signing_secret, app=bot)
        page = SandboxPage(
            self.standin,
            slack,
            default_user=users[0].id if users else None,
            usergroups={group["id"]: group["handle"] for group in groups},
        )

        @contextlib.asynccontextmanager
        async def lifespan(_: Starlette) -> AsyncIterator[None]:
            track_spawned_tasks(asyncio.get_running_loop())
            async with bot.router.lifespan_context(bot):
                yield

        app = Starlette(routes=[*page.routes(), Mount("", app=bot)], lifespan=lifespan)
        self._server = serve_in_thread(app, self.host, port, lifespan="on", log_config=None)
        logger.info("sandbox running", extra={"url": self.url, "slack_api": self.standin.base_url})

    def stop(self) -> None:
        """Stop serving, stop the workers, and delete the sandbox's database."""
        if self._server is not None:
            self._server.stop()
            self._server = None
        if self._standin_server is not None:
            self._standin_server.stop()
            self._standin_server = None
        if self._services is not None:
            self._services.engine.dispose()
            self._services = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def banner(self) -> str:
        """What to tell the person who started the sandbox: where it is and what to try."""
        return "\n".join(
            [
                f"Watchkeeper sandbox: open {self.url}/ in a browser.",
                "A stand-in of Slack with an example team: nothing leaves this machine.",
                "Send an alert to #support:",
                f"  {alert_curl(self.url)}",
                "Stop with Ctrl-C.",
            ]
        )

    def __enter__(self) -> Sandbox:
        return self if self.running else self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def run_sandbox(
    host: str = "127.0.0.1",
    port: int = 3000,
    *,
    log_level: str = "INFO",
    announce: Callable[[str], None] | None = None,
) -> int:
    """Run the sandbox until interrupted (Ctrl-C, SIGTERM); 1 if it cannot start."""
    setup_logging(log_level)
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in STOP_SIGNALS}
    try:
        try:
            sandbox = Sandbox(host=host, port=port).start()
        except OSError as error:
            logger.error("the sandbox cannot start", extra={"error": str(error)})
            return 1
        with sandbox:
            if announce is not None:
                announce(sandbox.banner())
            while sandbox.running and not stop.wait(1.0):
                pass
            if not stop.is_set():
                logger.error("the sandbox's server stopped")
                return 1
        logger.info("sandbox stopped")
        return 0
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
