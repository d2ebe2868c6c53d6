"""`watchkeeper serve` as it runs for real: the HTTP server, SIGHUP and file-change reloads in the
server process, a missing token, and Socket Mode over a websocket with the HTTP server beside it."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from aiohttp import WSMsgType, web

from bot.app.cli import main
from bot.app.factory import build_services, create_app
from bot.app.serve import http_config, serve_with_socket_mode
from bot.app.settings import load_settings
from bot.runtime.clock import FixedClock
from tests.conftest import ROOT
from tests.support.servers import free_port, wait_until
from tests.support.setup_files import SATURDAY_NIGHT
from tests.support.setup_files import SUPPORT as PLAN

# How long to wait for a server to come up or a log line to appear before giving up.
PATIENCE_S = 30.0
APP_TOKEN = "xapp-1-A0WATCH-1-s3cret"


async def wait_until_async(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + PATIENCE_S
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        await asyncio.sleep(0.05)


# --- the real process --------------------------------------------------------------------------


@dataclass
class Process:
    """`watchkeeper serve` in its own process, its log lines collected as they come."""

    popen: subprocess.Popen[str]
    port: int
    lines: list[str] = field(default_factory=list)

    def healthy(self) -> bool:
        try:
            return httpx.get(f"http://127.0.0.1:{self.port}/healthz").status_code == 200
        except httpx.TransportError:
            return False

    def logged(self, *parts: str) -> list[str]:
        """The log lines holding every one of ``parts``."""
        return [line for line in list(self.lines) if all(part in line for part in parts)]

    def wait_for_log(self, *parts: str, count: int = 1) -> None:
        wait_until(
            lambda: len(self.logged(*parts)) >= count, f"a log line with {parts}", PATIENCE_S
        )


# A plan whose rotation starts long after any test run: the server has no hand-off to post and
# never needs Slack, so nothing but the reloads shows in the log.
QUIET_PLAN = (
    PLAN.replace("2026-11-06 18:00", "2099-11-06 18:00")
    .replace("2026-11-09 09:00", "2099-11-09 09:00")
    .replace("2026-11-02 09:00", "2099-11-02 09:00")
)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Process, Path]]:
    setup = tmp_path / "oncall.yaml"
    setup.write_text(QUIET_PLAN)
    port = free_port()
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(ROOT),
        "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_SIGNING_SECRET": "secret",
        "SLACK_API_URL": "http://127.0.0.1:9/api/",  # never called with this plan
        "DATABASE_URL": f"sqlite:///{tmp_path / 'wk.db'}",
        "WATCHKEEPER_CONFIG": str(setup),
        "PORT": str(port),
    }
    popen = subprocess.Popen(
        [sys.executable, "-m", "bot.app.cli", "serve"],
        cwd=tmp_path,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    process = Process(popen, port)
    assert popen.stderr is not None
    stderr = popen.stderr
    reader = threading.Thread(target=lambda: process.lines.extend(stderr), daemon=True)
    reader.start()
    try:
        wait_until(
            lambda: process.healthy() or popen.poll() is not None,
            "GET /healthz to answer",
            PATIENCE_S,
        )
        assert popen.poll() is None, "\n".join(process.lines)
        yield process, setup
    finally:
        if popen.poll() is None:
            popen.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                popen.wait(PATIENCE_S)
        if popen.poll() is None:
            popen.kill()
            popen.wait()
        reader.join(PATIENCE_S)


def test_serve_answers_health_and_readiness_and_stops_cleanly_on_sigterm(
    served: tuple[Process, Path],
) -> None:
    process, _ = served
    base = f"http://127.0.0.1:{process.port}"
    assert httpx.get(f"{base}/healthz").json() == {"status": "ok"}
    assert httpx.get(f"{base}/readyz").json() == {"status": "ready"}
    assert process.logged("msg=serving", "mode=http", f"port={process.port}")
    # Slack's requests come in at /slack/events, and an unsigned one is turned away.
    forged = httpx.post(
        f"{base}/slack/events",
        content=b"command=%2Foncall&text=&user_id=U0BOB",
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": str(int(time.time())),
            "X-Slack-Signature": "v0=" + "0" * 64,
        },
    )
    assert forged.status_code == 401
    process.popen.send_signal(signal.SIGTERM)
    # uvicorn ends by raising the signal again once shut down, as a process killed by it would.
    assert process.popen.wait(PATIENCE_S) in (0, -signal.SIGTERM)
    process.wait_for_log('msg="Application shutdown complete."')


def test_the_server_process_reloads_on_sighup_and_on_change_keeping_the_plan_when_broken(
    served: tuple[Process, Path],
) -> None:
    process, setup = served
    process.popen.send_signal(signal.SIGHUP)
    process.wait_for_log('msg="setup file reloaded"', "why=SIGHUP", "teams=support")

    # A broken save is refused with the file, the line and the field, and the plan stays.
    setup.write_text(QUIET_PLAN.replace("every: 1d", "every: 1x"))
    line = QUIET_PLAN.splitlines().index("        every: 1d") + 1
    process.wait_for_log(
        'msg="setup file rejected, keeping the plan in force"',
        'why="file changed"',
        f"oncall.yaml:{line}: teams.support.rotations[1].every: expected a duration",
    )
    assert process.healthy()

    # SIGHUP with the file still broken says the same, and nothing else changes.
    process.popen.send_signal(signal.SIGHUP)
    process.wait_for_log('msg="setup file rejected', "why=SIGHUP")

    # A good save is taken as soon as it is seen, and the hand-off jobs are planned again.
    planned = len(process.logged("no hand-off within the horizon", "team=support"))
    setup.write_text(QUIET_PLAN.replace("name: Customer support", "name: Support"))
    process.wait_for_log('msg="setup file reloaded"', 'why="file changed"')
    process.wait_for_log("no hand-off within the horizon", "team=support", count=planned + 1)


def test_serve_without_a_bot_token_says_so_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)  # no .env here
    for name in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET"):
        monkeypatch.delenv(name, raising=False)
    handlers = logging.getLogger().handlers[:]
    assert main(["serve"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err == (
        "watchkeeper: SLACK_BOT_TOKEN is not set: put the bot token (xoxb-…) in the "
        "environment or .env\n"
    )
    assert not (tmp_path / "watchkeeper.db").exists()  # refused before touching anything,
    assert logging.getLogger().handlers == handlers  # the process's logs included


# --- Socket Mode ---------------------------------------------------------------------------------


@dataclass
class FakeSlack:
    """Just enough of Slack for Socket Mode: apps.connections.open, the websocket that carries
    the traffic, auth.test, users.info, and response URLs."""

    refuse_connections: bool = False
    opened_with: list[str] = field(default_factory=list)
    acks: list[dict[str, Any]] = field(default_factory=list)
    responses: list[dict[str, Any]] = field(default_factory=list)
    sockets: list[web.WebSocketResponse] = field(default_factory=list)
    base_url: str = ""

    async def connections_open(self, request: web.Request) -> web.Response:
        self.opened_with.append(request.headers.get("Authorization", ""))
        if self.refuse_connections:
            return web.json_response({"ok": False, "error": "service_unavailable"})
        url = self.base_url.replace("http://", "ws://") + "/link"
        return web.json_response({"ok": True, "url": url})

    async def auth_test(self, request: web.Request) -> web.Response:
        identity = {"team_id": "T0WATCH", "user_id": "U0WATCHBOT", "bot_id": "B0WATCH"}
        return web.json_response({"ok": True, **identity})

    async def users_info(self, request: web.Request) -> web.Response:
        form = await request.post()
        user = {"id": str(form["user"]), "name": "someone", "tz": "Europe/Paris"}
        return web.json_response({"ok": True, "user": user})

    async def respond(self, request: web.Request) -> web.Response:
        self.responses.append(await request.json())
        return web.Response(text="ok")

    async def link(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.sockets.append(ws)
        await ws.send_json({"type": "hello", "num_connections": 1})
        async for msg in ws:
            if msg.type == WSMsgType.TEXT:
                self.acks.append(json.loads(msg.data))
        return ws

    async def send_command(self, text: str, user: str) -> str:
        envelope = "env-oncall-1"
        payload = {
            "token": "verification-token",
            "team_id": "T0WATCH",
            "team_domain": "watchkeeper",
            "channel_id": "D0DM",
            "channel_name": "directmessage",
            "user_id": user,
            "user_name": "someone",
            "command": "/oncall",
            "text": text,
            "api_app_id": "A0WATCH",
            "is_enterprise_install": "false",
            "response_url": f"{self.base_url}/respond/oncall",
            "trigger_id": "1.2.3",
        }
        await self.sockets[-1].send_json(
            {
                "envelope_id": envelope,
                "type": "slash_commands",
                "payload": payload,
                "accepts_response_payload": True,
            }
        )
        return envelope


@contextlib.asynccontextmanager
async def fake_slack(**options: Any) -> AsyncIterator[FakeSlack]:
    fake = FakeSlack(**options)
    app = web.Application()
    app.router.add_post("/api/apps.connections.open", fake.connections_open)
    app.router.add_post("/api/auth.test", fake.auth_test)
    app.router.add_post("/api/users.info", fake.users_info)
    app.router.add_post("/respond/{key}", fake.respond)
    app.router.add_get("/link", fake.link)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    fake.base_url = f"http://127.0.0.1:{port}"
    try:
        yield fake
    finally:
        for ws in fake.sockets:
            await ws.close()
        await runner.cleanup()


@contextlib.asynccontextmanager
async def socket_mode_bot(tmp_path: Path, fake: FakeSlack) -> AsyncIterator[int]:
    """The bot as `watchkeeper serve` runs it with SLACK_APP_TOKEN set; yields its HTTP port."""
    setup = tmp_path / "oncall.yaml"
    setup.write_text(PLAN)
    port = free_port()
    settings = load_settings(
        {
            "SLACK_BOT_TOKEN": "xoxb-test",
            "SLACK_APP_TOKEN": APP_TOKEN,
            "SLACK_API_URL": f"{fake.base_url}/api/",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'wk.db'}",
            "WATCHKEEPER_CONFIG": str(setup),
            "PORT": str(port),
        },
        env_file=None,
    )
    settings.require_slack()  # no signing secret needed over Socket Mode
    services = build_services(settings, clock=FixedClock(SATURDAY_NIGHT))
    app = create_app(settings, services=services, start_background=False)
    server = uvicorn.Server(http_config(app, settings))
    running = asyncio.create_task(serve_with_socket_mode(server, app, settings))
    try:
        yield port
    finally:
        server.should_exit = True
        assert await asyncio.wait_for(running, PATIENCE_S) == 0


async def healthy(port: int) -> bool:
    try:
        async with httpx.AsyncClient() as client:
            return (await client.get(f"http://127.0.0.1:{port}/healthz")).status_code == 200
    except httpx.TransportError:
        return False


async def test_socket_mode_connects_with_the_app_token_and_answers_a_slash_command(
    tmp_path: Path,
) -> None:
    async with fake_slack() as fake, socket_mode_bot(tmp_path, fake) as port:
        await wait_until_async(lambda: bool(fake.sockets), "the websocket to connect")
        # SLACK_API_URL holds for the Socket Mode handshake too, with the app-level token.
        assert fake.opened_with == [f"Bearer {APP_TOKEN}"]

        envelope = await fake.send_command("support", user="U0BOB")
        await wait_until_async(lambda: bool(fake.responses), "the answer to /oncall")
        # Acknowledged over the websocket, answered through the response URL, ephemerally.
        assert [ack["envelope_id"] for ack in fake.acks] == [envelope]
        (reply,) = fake.responses
        assert reply["response_type"] == "ephemeral"
        assert "<@U0CEO> is on call now" in reply["text"]
        # The HTTP server runs beside it: health, and the intake routes behind the same app.
        assert await healthy(port)
        # ...but no /slack/events: over Socket Mode, a request there could only be forged.
        async with httpx.AsyncClient() as client:
            forged = await client.post(
                f"http://127.0.0.1:{port}/slack/events",
                content=b"command=%2Fescalate&text=support+down&user_id=U0CEO",
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            )
        assert forged.status_code == 404
        assert len(fake.responses) == 1


async def test_socket_mode_still_serves_http_while_slack_cannot_be_reached(
    tmp_path: Path,
) -> None:
    async with (
        fake_slack(refuse_connections=True) as fake,
        socket_mode_bot(tmp_path, fake) as port,
    ):
        await wait_until_async(lambda: bool(fake.opened_with), "a connection attempt")
        deadline = time.monotonic() + PATIENCE_S
        while not await healthy(port):
            assert time.monotonic() < deadline, "no /healthz while Socket Mode was retrying"
            await asyncio.sleep(0.05)
        assert fake.sockets == []
