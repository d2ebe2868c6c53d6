"""What the benchmarks run on: `watchkeeper serve` in its own process on a loopback port, the
Slack stand-in in another process, and a setup file of many teams.

Times are taken with ``time.monotonic()`` in every process: on Linux it reads one system-wide
clock, so the instant a request left the benchmark and the instant the stand-in received the
bot's call can be subtracted.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import aiohttp
import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

BOT_TOKEN = "xoxb-bench"
SIGNING_SECRET = "bench-signing-secret"
ALERT_TOKEN = "bench-alert-token"
ALERT_TOKEN_ENV = "BENCH_ALERT_TOKEN"
START_TIMEOUT_S = 60.0


# --------------------------------------------------------------------------- the setup file


@dataclass(frozen=True)
class Workspace:
    """The teams of a benchmark: ids, channels, members (the first holds the pager now)."""

    teams: tuple[str, ...]
    channels: dict[str, str]
    members: dict[str, tuple[str, ...]]
    leader: str = "U0CEO"

    @property
    def users(self) -> list[str]:
        return sorted({m for ms in self.members.values() for m in ms} | {self.leader})

    def holder(self, team: str) -> str:
        return self.members[team][0]


def workspace(teams: int, members_per_team: int) -> Workspace:
    ids = tuple(f"t{n:03d}" for n in range(teams))
    channels = {team: f"C0T{n:03d}" for n, team in enumerate(ids)}
    members = {
        team: tuple(f"U0M{n:03d}{k:02d}" for k in range(members_per_team))
        for n, team in enumerate(ids)
    }
    return Workspace(ids, channels, members)


def plan_yaml(space: Workspace, now: datetime, wake: str | None = None) -> str:
    """A setup file: one weekly rotation per team that began three days ago (so the first member
    holds the pager, and no hand-off, reminder or late handover falls in the run), one generic
    integration per team, named after it."""
    start = (now - timedelta(days=3)).astimezone(UTC).strftime("%Y-%m-%d %H:%M")
    lines = ["timezone: UTC", f"leadership: [{space.leader}]", "teams:"]
    for team in space.teams:
        members = ", ".join(space.members[team])
        lines += [
            f"  {team}:",
            f"    name: Team {team}",
            f"    channel: {space.channels[team]}",
            "    rotations:",
            "      - name: weekly",
            f"        members: [{members}]",
            f"        start: {start}",
            "        every: 1w",
            "    escalation:",
            "      - notify: oncall",
            "        wait: 1h",
            "      - notify: leadership",
        ]
    lines.append("integrations:")
    for team in space.teams:
        lines += [
            f"  {team}:",
            "    kind: generic",
            f"    team: {team}",
            f"    token_env: {ALERT_TOKEN_ENV}",
        ]
    if wake is not None:
        # Everyone is woken through ``wake``, an Apprise URL with {user} for the person.
        lines.append("people:")
        for user in space.users:
            lines += [f"  {user}:", f"    wake: [{wake.format(user=user)}]"]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- the Slack stand-in


def _standin_main(conn: Connection, options: dict[str, Any]) -> None:
    """The stand-in's process: serve it, answer the parent's questions until told to stop."""
    from bot.sandbox.standin.app import SlackStandIn

    standin = SlackStandIn(
        token=BOT_TOKEN,
        enforce_rate_limits=options["enforce_rate_limits"],
        validate_blocks=options["validate_blocks"],
        # Figures comparable with earlier rounds: the per-method tiers (50+ calls a minute for
        # conversations.open, chat.update) are not part of what these runs measure.
        enforce_tiers=False,
    ).start()
    for user in options["users"]:
        standin.add_user(user, user.lower(), tz="UTC")
    for channel, name in options["channels"]:
        standin.add_channel(channel, name)
    conn.send(standin.base_url)
    while True:
        command, argument = conn.recv()
        if command == "stop":
            standin.stop()
            conn.send(None)
            return
        if command == "calls":
            calls = standin.calls[argument:]
            conn.send([_summary(call) for call in calls])
        elif command == "responses":
            conn.send({key: [post.at for post in standin.responses(key)] for key in argument})
        elif command == "rate_limits":
            events = standin.rate_limit_events
            conn.send(
                {
                    "sent": len(events),
                    "reasons": sorted({e.reason for e in events}),
                    "early": sum(e.reason == "retried too early" for e in events),
                    "would": standin.would_rate_limit,
                }
            )
        elif command == "count":
            conn.send(len(standin.calls))
        elif command == "fail_rate":
            rate, methods, kinds = argument
            standin.fail_rate(rate, methods, kinds=kinds)
            conn.send(None)
        elif command == "messages":
            conn.send(
                [
                    {
                        "text": m.text,
                        "blocks": json.dumps(m.blocks, ensure_ascii=False),
                        "edits": len(m.edits),
                    }
                    for m in standin.messages(argument)
                ]
            )
        else:
            conn.send(ValueError(f"unknown command {command!r}"))


def _summary(call: Any) -> dict[str, Any]:
    """What the benchmarks need of a call: method, arrival, status, channel, text, metadata, and
    the alerts a roll-up lists."""
    metadata = call.args.get("metadata")
    return {
        "method": call.method,
        "at": call.at,
        "status": call.status,
        "fault": call.fault,
        "channel": call.args.get("channel"),
        "text": str(call.args.get("text") or "")[:300],
        "metadata": metadata if isinstance(metadata, dict) else None,
        "listed": _listed(call.args.get("blocks")),
    }


def _listed(blocks: Any) -> list[str]:
    """The texts of the menu options a message carries (a roll-up lists its alerts so)."""
    if isinstance(blocks, str):
        blocks = json.loads(blocks)
    return [
        str(option.get("text", {}).get("text", ""))
        for block in blocks or []
        if isinstance(block, dict) and block.get("type") == "actions"
        for element in block.get("elements") or []
        for option in element.get("options") or []
    ]


class StandInProcess:
    """The Slack stand-in served from a child process (so it takes no time from the bench)."""

    def __init__(self, space: Workspace, *, enforce_rate_limits: bool = False) -> None:
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        options = {
            "enforce_rate_limits": enforce_rate_limits,
            "validate_blocks": True,
            "users": space.users,
            "channels": [(space.channels[t], t) for t in space.teams],
        }
        self._process = context.Process(
            target=_standin_main, args=(child, options), name="slack-standin", daemon=True
        )
        self._process.start()
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self._conn.poll(0.1):
            if not self._process.is_alive() or time.monotonic() > deadline:
                self._process.kill()
                raise RuntimeError("the Slack stand-in did not start")
        self.base_url: str = self._conn.recv()
        self.root_url = self.base_url.removesuffix("api/")

    def _ask(self, command: str, argument: Any = None) -> Any:
        self._conn.send((command, argument))
        answer = self._conn.recv()
        if isinstance(answer, Exception):
            raise answer
        return answer

    def calls(self, since: int = 0) -> list[dict[str, Any]]:
        """The calls received (from the ``since``-th on), oldest first."""
        return list(self._ask("calls", since))

    def call_count(self) -> int:
        return int(self._ask("count"))

    def messages(self, channel: str) -> list[dict[str, Any]]:
        """A channel's messages as they stand: text, blocks (as JSON) and how often edited."""
        return list(self._ask("messages", channel))

    def response_times(self, keys: Sequence[str]) -> dict[str, list[float]]:
        """When each response_url ``key`` was posted to (monotonic instants)."""
        return dict(self._ask("responses", list(keys)))

    def rate_limits(self) -> dict[str, Any]:
        """429s sent (``sent``), and how many calls went over a channel's posting limit."""
        return dict(self._ask("rate_limits"))

    def fail_rate(self, rate: float, methods: Sequence[str], kinds: Sequence[str]) -> None:
        """Make that fraction of the calls of ``methods`` fail, with one of ``kinds`` each
        (``SlackStandIn.fail_rate``)."""
        self._ask("fail_rate", (rate, list(methods), list(kinds)))

    def stop(self) -> None:
        if self._process.is_alive():
            self._ask("stop")
        self._process.join(10)
        if self._process.is_alive():
            self._process.kill()


# --------------------------------------------------------------------------- the bot


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class BotProcess:
    """`watchkeeper serve` on a loopback port, its log in a file of the run's folder."""

    popen: subprocess.Popen[bytes]
    port: int
    log: Path
    env: dict[str, str] = field(repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        return self.popen.pid

    def rss_kib(self) -> tuple[int, int]:
        """Resident memory now and at its highest so far (VmRSS, VmHWM), in KiB."""
        fields: dict[str, int] = {}
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            name, _, value = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                fields[name] = int(value.split()[0])
        return fields["VmRSS"], fields["VmHWM"]

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(15)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(5)


def start_bot(
    folder: Path,
    space: Workspace,
    standin: StandInProcess,
    *,
    database_url: str | None = None,
    prepare: Callable[[str], None] | None = None,
    env: Mapping[str, str] | None = None,
    wake: str | None = None,
) -> BotProcess:
    """Write the setup file, migrate the database and let ``prepare`` fill it, start `watchkeeper
    serve`, and return once /readyz says ready."""
    setup = folder / "oncall.yaml"
    setup.write_text(plan_yaml(space, datetime.now(UTC), wake))
    database_url = database_url or f"sqlite:///{folder / 'watchkeeper.db'}"
    if prepare is not None:
        from storage.db import make_engine
        from storage.migrate import upgrade

        engine = make_engine(database_url)
        upgrade(engine)
        engine.dispose()
        prepare(database_url)
    env = {
        **(env or {}),
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(ROOT),
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": standin.base_url,
        "DATABASE_URL": database_url,
        "WATCHKEEPER_CONFIG": str(setup),
        ALERT_TOKEN_ENV: ALERT_TOKEN,
        **{k: v for k, v in os.environ.items() if k.startswith("WK_")},
    }
    if wake is not None:
        # Acknowledge links are signed: wake-ups need the secret.
        env["WATCHKEEPER_SECRET"] = "bench-secret"
    for attempt in range(3):
        try:
            return _launch(folder, {**env, "PORT": str(free_port())})
        except PortTaken:
            # Another process took the free port between our look and the server's bind.
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


class PortTaken(RuntimeError):
    pass


def _launch(folder: Path, env: dict[str, str]) -> BotProcess:
    log = folder / "watchkeeper.log"
    log.write_bytes(b"")
    with log.open("ab") as sink:
        popen = subprocess.Popen(
            [sys.executable, "-m", "bot.app.cli", "serve"],
            cwd=folder,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=sink,
        )
    bot = BotProcess(popen, int(env["PORT"]), log, env)
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        if popen.poll() is not None:
            tail = log.read_text(errors="replace")[-3000:]
            if "address already in use" in tail:
                raise PortTaken(tail)
            raise RuntimeError(f"watchkeeper serve exited ({popen.returncode}):\n{tail}")
        try:
            if httpx.get(f"{bot.url}/readyz", timeout=2).status_code == 200:
                return bot
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            bot.stop()
            tail = log.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"watchkeeper serve was not ready in {START_TIMEOUT_S}s:\n{tail}")
        time.sleep(0.1)


@dataclass
class Rig:
    folder: Path
    space: Workspace
    standin: StandInProcess
    bots: list[BotProcess]  # replicas sharing one database; one on SQLite
    database_url: str

    @property
    def bot(self) -> BotProcess:
        return self.bots[0]


class running:
    """``with running(teams=..., members=...) as rig:`` the stand-in and the bot, stopped after.

    With ``postgres`` (a server's URL), the bot runs on a database of its own made there for the
    run and dropped after it, as ``replicas`` processes sharing it; without, on SQLite.
    """

    def __init__(
        self,
        *,
        teams: int,
        members: int,
        enforce_rate_limits: bool = False,
        prepare: Callable[[str], None] | None = None,
        postgres: str | None = None,
        replicas: int = 1,
        env: Mapping[str, str] | None = None,
        wake: str | None = None,
    ) -> None:
        if replicas > 1 and postgres is None:
            raise ValueError("several replicas share PostgreSQL: give its server's URL")
        self.space = workspace(teams, members)
        self.enforce = enforce_rate_limits
        self.prepare = prepare
        self.postgres = postgres
        self.replicas = replicas
        self.env = dict(env or {})
        self.wake = wake
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._standin: StandInProcess | None = None
        self._bots: list[BotProcess] = []
        self._database: str | None = None

    def __enter__(self) -> Rig:
        self._tmp = tempfile.TemporaryDirectory(prefix="wk-bench-")
        folder = Path(self._tmp.name)
        try:
            if self.postgres is not None:
                self._database = create_postgres_database(self.postgres)
            database_url = self._database or f"sqlite:///{folder / 'watchkeeper.db'}"
            self._standin = StandInProcess(self.space, enforce_rate_limits=self.enforce)
            for k in range(self.replicas):
                # One after the other: the first applies the migrations the others find done.
                home = folder if k == 0 else folder / f"replica-{k}"
                home.mkdir(exist_ok=True)
                self._bots.append(
                    start_bot(
                        home,
                        self.space,
                        self._standin,
                        database_url=database_url,
                        prepare=self.prepare if k == 0 else None,
                        env=self.env,
                        wake=self.wake,
                    )
                )
        except BaseException:
            self.__exit__()
            raise
        return Rig(folder, self.space, self._standin, self._bots, database_url)

    def __exit__(self, *exc: object) -> None:
        for bot in self._bots:
            bot.stop()
        if self._standin is not None:
            self._standin.stop()
        if self._database is not None:
            drop_postgres_database(self.postgres or "", self._database)
        if self._tmp is not None:
            self._tmp.cleanup()


def create_postgres_database(server: str) -> str:
    """A new empty database on the PostgreSQL server at ``server``; its URL."""
    from sqlalchemy import make_url

    name = f"wk_bench_{os.getpid()}_{int(time.time())}"
    _on_server(server, f'CREATE DATABASE "{name}"')
    return make_url(server).set(database=name).render_as_string(hide_password=False)


def drop_postgres_database(server: str, url: str) -> None:
    from sqlalchemy import make_url

    _on_server(server, f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')


def postgres_trouble(server: str) -> str | None:
    """Why the PostgreSQL server at ``server`` cannot be used, or None."""
    from sqlalchemy.exc import SQLAlchemyError

    try:
        _on_server(server, "SELECT 1")
    except SQLAlchemyError as error:
        return error.__class__.__name__
    return None


def _on_server(server: str, statement: str) -> None:
    """Run one statement on the PostgreSQL server at ``server``, outside any transaction."""
    from sqlalchemy import text

    from storage.db import make_engine

    admin = make_engine(server, isolation_level="AUTOCOMMIT", pool_size=1, max_overflow=0)
    try:
        with admin.connect() as connection:
            connection.execute(text(statement))
    finally:
        admin.dispose()


# --------------------------------------------------------------------------- figures


def options(doc: str, argv: list[str] | None, **spec: tuple[Any, ...]) -> argparse.Namespace:
    """A benchmark's command line, and the machine's state printed as it starts.

    ``spec`` names each option with (default, value under --smoke[, help]); --smoke is a run of
    a few seconds, for CI.
    """
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    for name, (default, _smoke, *help_) in spec.items():
        kind = type(default)
        parser.add_argument(
            f"--{name}", type=kind, default=default, help=help_[0] if help_ else None
        )
    parser.add_argument("--smoke", action="store_true", help="a few seconds, for CI")
    args = parser.parse_args(argv)
    if args.smoke:
        for name, (_default, smoke, *_help) in spec.items():
            setattr(args, name, smoke)
    print(f"machine at the start: {machine()}")
    return args


def machine() -> str:
    """The CPUs and how busy they already are: other work on the machine shows in the figures."""
    one, five, _ = os.getloadavg()
    return f"{os.cpu_count()} CPUs, load average {one:.2f} (1 min) {five:.2f} (5 min)"


async def post_alert(session: aiohttp.ClientSession, url: str, body: dict[str, Any]) -> int:
    """POST one alert to an intake URL with the benchmarks' token; the answer's HTTP status."""
    async with session.post(
        url, json=body, headers={"Authorization": f"Bearer {ALERT_TOKEN}"}
    ) as answer:
        await answer.read()
        return answer.status


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) by the nearest-rank method; NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:7.1f} ms"


def spread(values: Sequence[float]) -> str:
    """p50, p99 and max of some durations (in seconds), in milliseconds."""
    return (
        f"p50 {ms(percentile(values, 50))}  p99 {ms(percentile(values, 99))}  "
        f"max {ms(max(values) if values else float('nan'))}  (n={len(values)})"
    )


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def wait_until(condition: Any, timeout: float, poll: float = 0.2) -> bool:
    """Poll ``condition()`` until it is true or ``timeout`` seconds pass; whether it came true."""
    deadline = time.monotonic() + timeout
    while True:
        if condition():
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(poll)


def chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
