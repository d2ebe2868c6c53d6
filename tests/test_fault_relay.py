"""Faults on real server processes: `watchkeeper serve` killed with SIGKILL in the middle of a
burst of alerts and started again, on SQLite and as two replicas sharing PostgreSQL, and a Slack
that fails 30 % of calls. Every alert that got a 2xx is posted exactly once: one card in its team
channel and one DM to the pager holder, never two (a burst into one channel is rolled up: an
alert listed in the roll-up has no card of its own, nor a DM when the holder's roll-up DM lists
it). And replicas started together on an empty
PostgreSQL database all come up.

Everything runs on loopback: the servers are subprocesses on ports of their own, Slack is the
stand-in, reached through SLACK_API_URL as the real Slack would be. A server killed while its
posts are on the way leaves rows claimed under a lease (30 s); the survivor, or the server
started again, takes them once the lease runs out, so the tests with a kill wait that long.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from bot.sandbox.standin.app import SlackStandIn
from bot.sandbox.standin.records import Call, Message
from storage.db import make_engine
from tests.conftest import ROOT
from tests.support.push_receiver import push_receiver
from tests.support.servers import free_port, wait_until
from tests.support.setup_files import channel_of, holders_yaml

pytestmark = pytest.mark.fault

BOT_TOKEN = "xoxb-fault"
ALERT_TOKEN = "fault-alert-token"
# Four teams, each with its own channel and a one-person rotation (so that the pager holder never
# changes and no hand-off is posted while the test runs).
TEAMS = {"support": "U0BOB", "billing": "U0CAROL", "platform": "U0DAN", "data": "U0ERIN"}


TAG = re.compile(r"fault-(\d{4})\b")
# Long enough for a lease of a dead server to run out and everything behind it to be delivered,
# and, with 30% of Slack's calls failing at random, for a row refused ten times in a row (its
# tries half a minute apart by then) to get through.
DELIVERY_PATIENCE_S = 300.0
START_PATIENCE_S = 60.0
# Posts are answered this late while the burst runs: a kill then always finds some posts made
# whose answers the server has not read yet (the case that could post twice).
SLOW_POST_S = 0.5


# --- servers -----------------------------------------------------------------------------------


@dataclass
class Server:
    """One `watchkeeper serve` process on its own port; it can be killed and started again."""

    name: str
    env: dict[str, str]
    folder: Path
    port: int = field(default_factory=free_port)
    popen: subprocess.Popen[bytes] | None = None
    starts: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return "".join(
            path.read_text(errors="replace")
            for path in sorted(self.folder.glob(f"{self.name}-*.log"))
        )

    def start(self) -> Server:
        self.launch()
        self.wait_ready()
        return self

    def wait_ready(self) -> None:
        wait_until(self._ready, f"{self.name} to be ready", START_PATIENCE_S)

    def launch(self) -> None:
        """Start the process, not waiting for it to be ready."""
        self.starts += 1
        log = self.folder / f"{self.name}-{self.starts}.log"
        with log.open("wb") as sink:
            self.popen = subprocess.Popen(
                [sys.executable, "-m", "bot.app.cli", "serve"],
                cwd=self.folder,
                env={**self.env, "PORT": str(self.port)},
                stdin=subprocess.DEVNULL,
                stdout=sink,
                stderr=sink,
            )

    def _ready(self) -> bool:
        assert self.popen is not None
        if self.popen.poll() is not None:
            raise AssertionError(f"{self.name} exited {self.popen.returncode}:\n{self.log()}")
        try:
            return httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    def kill(self) -> None:
        """SIGKILL: no shutdown, no commit, no goodbye."""
        assert self.popen is not None
        self.popen.send_signal(signal.SIGKILL)
        self.popen.wait(30)

    def stop(self) -> None:
        if self.popen is not None and self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(30)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(30)


@contextlib.contextmanager
def slack_standin(teams: dict[str, str] = TEAMS) -> Iterator[SlackStandIn]:
    standin = SlackStandIn(token=BOT_TOKEN).start()
    try:
        for holder in [*teams.values(), "U0CEO"]:
            standin.add_user(holder, holder.lower(), tz="UTC")
        for team, holder in teams.items():
            standin.add_channel(channel_of(team), team, members=[holder])
        yield standin
    finally:
        standin.stop()


@contextlib.contextmanager
def servers(
    tmp_path: Path,
    standin: SlackStandIn,
    database_url: str,
    names: tuple[str, ...],
    *,
    together: bool = False,
    teams: dict[str, str] = TEAMS,
    more: str = "",
    env: Mapping[str, str] | None = None,
) -> Iterator[list[Server]]:
    """Servers sharing one database, started one after the other, or all at once; ``more`` is
    added to the setup file, ``env`` to the environment."""
    setup = tmp_path / "oncall.yaml"
    setup.write_text(holders_yaml(teams, "FAULT_ALERT_TOKEN") + more)
    extra = dict(env or {})
    environ = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(ROOT),
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": "fault-signing-secret",
        "SLACK_API_URL": standin.base_url,
        "DATABASE_URL": database_url,
        "WATCHKEEPER_CONFIG": str(setup),
        "FAULT_ALERT_TOKEN": ALERT_TOKEN,
        **extra,
    }
    started = [Server(name, environ, tmp_path) for name in names]
    try:
        for server in started:
            if together:
                server.launch()
            else:
                server.start()
        for server in started:
            server.wait_ready()
        yield started
    finally:
        for server in started:
            server.stop()


Replicas = tuple[SlackStandIn, Server, Server]


@pytest.fixture
def two_replicas(tmp_path: Path, postgres_url: str) -> Iterator[Replicas]:
    """The stand-in, and replicas a and b sharing PostgreSQL and posting to it, a started first."""
    with (
        slack_standin() as standin,
        servers(tmp_path, standin, postgres_url, ("a", "b")) as (a, b),
    ):
        yield standin, a, b


# --- the burst ---------------------------------------------------------------------------------


class Burst:
    """Senders posting numbered alerts, round the teams, to whichever servers are given (as a
    load balancer would); they note which alerts got a 2xx, and carry on through errors."""

    SENDERS = 4

    def __init__(self, targets: Callable[[], list[Server]]) -> None:
        self._targets = targets
        self._lock = threading.Lock()
        self._next = 0
        self._stop = threading.Event()
        self.accepted: list[int] = []
        self.refused: dict[int, str] = {}
        self._threads = [
            threading.Thread(target=self._send, name=f"sender-{n}", daemon=True)
            for n in range(self.SENDERS)
        ]

    def __enter__(self) -> Burst:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(30)

    def count(self) -> int:
        with self._lock:
            return len(self.accepted)

    def wait_for_accepted(self, count: int) -> None:
        wait_until(lambda: self.count() >= count, f"{count} alerts accepted", 60)

    def _send(self) -> None:
        with httpx.Client(timeout=10) as client:
            while not self._stop.is_set():
                with self._lock:
                    n = self._next
                    self._next += 1
                team = list(TEAMS)[n % len(TEAMS)]
                targets = self._targets()
                server = targets[n % len(targets)]
                outcome: int | str
                try:
                    answer = client.post(
                        f"{server.url}/alerts/{team}",
                        json={"title": f"Checkout down fault-{n:04d}", "dedup_key": f"f{n}"},
                        headers={"Authorization": f"Bearer {ALERT_TOKEN}"},
                    )
                    outcome = answer.status_code
                except httpx.TransportError as error:
                    outcome = error.__class__.__name__
                with self._lock:
                    if isinstance(outcome, int) and 200 <= outcome < 300:
                        self.accepted.append(n)
                    else:
                        self.refused[n] = str(outcome)
                if not isinstance(outcome, int):
                    time.sleep(0.05)  # the server is down: do not spin
                time.sleep(0.02)


# --- what reached Slack ------------------------------------------------------------------------


def posts_by_alert(
    standin: SlackStandIn, teams: dict[str, str] = TEAMS
) -> tuple[dict[int, int], dict[int, int]]:
    """How many cards (in team channels) and DMs (to the pager holders) each alert got, a
    roll-up's counting as one for each alert it lists."""
    cards: dict[int, int] = {}
    dms: dict[int, int] = {}
    for team in teams:
        for n in shown(standin.messages(channel_of(team))):
            cards[n] = cards.get(n, 0) + 1
    for holder in teams.values():
        for n in shown(standin.dms(holder)):
            dms[n] = dms.get(n, 0) + 1
    return cards, dms


def shown(messages: list[Message]) -> list[int]:
    """The alerts these messages show: each card or DM its own, each roll-up those it lists."""
    found = []
    for message in messages:
        options = [
            option["text"]["text"]
            for block in message.blocks
            if block["type"] == "actions"
            for element in block["elements"]
            for option in element.get("options") or []
        ]
        for said in options or [message.text]:
            if match := TAG.search(said):
                found.append(int(match.group(1)))
    return found


def outbox_state(database_url: str) -> tuple[int, int]:
    """Deliveries still pending, and deliveries taken more than once (a dead server's)."""
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            pending = conn.execute(
                text("SELECT count(*) FROM outbox WHERE status = 'pending'")
            ).scalar_one()
            retaken = conn.execute(
                text("SELECT count(*) FROM outbox WHERE claims > 1")
            ).scalar_one()
        return int(pending), int(retaken)
    finally:
        engine.dispose()


def settle_and_check(standin: SlackStandIn, database_url: str, accepted: list[int]) -> int:
    """Wait until every accepted alert is posted and nothing is left to deliver; assert each alert
    has one card and one DM at most, and the accepted ones exactly one. Returns the rows taken
    more than once."""
    wanted = set(accepted)

    def delivered(s: SlackStandIn) -> bool:
        cards, dms = posts_by_alert(s)
        return wanted <= set(cards) and wanted <= set(dms)

    standin.wait_for(delivered, DELIVERY_PATIENCE_S)
    wait_until(
        lambda: outbox_state(database_url)[0] == 0, "the outbox to be empty", DELIVERY_PATIENCE_S
    )
    cards, dms = posts_by_alert(standin)
    assert {n: c for n, c in cards.items() if c != 1} == {}, "alerts with more than one card"
    assert {n: c for n, c in dms.items() if c != 1} == {}, "alerts with more than one DM"
    assert wanted <= set(cards) and wanted <= set(dms)
    return outbox_state(database_url)[1]


# --- the tests ---------------------------------------------------------------------------------


def settle_after_kill(standin: SlackStandIn, database_url: str, burst: Burst) -> None:
    """After a server was killed mid-burst and started again: the kill cost some requests their
    answer, every accepted alert is posted once (``settle_and_check``), and the restarted server
    took over deliveries the killed one had under way."""
    assert burst.refused, "the kill should have cost some requests their answer"
    retaken = settle_and_check(standin, database_url, list(burst.accepted))
    assert retaken > 0


@pytest.mark.postgres
def test_replicas_started_together_on_an_empty_postgresql_database_all_come_up(
    tmp_path: Path, postgres_url: str
) -> None:
    # Each migrates the database before it listens; they take turns instead of all creating the
    # same tables (which crashed all but one).
    with (
        slack_standin() as standin,
        servers(tmp_path, standin, postgres_url, ("a", "b", "c"), together=True) as started,
    ):
        for server in started:
            assert httpx.get(f"{server.url}/readyz").json() == {"status": "ready"}
        with Burst(lambda: started) as burst:
            burst.wait_for_accepted(8)
        settle_and_check(standin, postgres_url, list(burst.accepted))


def test_a_server_killed_mid_burst_and_restarted_posts_every_accepted_alert_once(
    tmp_path: Path,
) -> None:
    database_url = f"sqlite:///{tmp_path / 'watchkeeper.db'}"
    with (
        slack_standin() as standin,
        servers(tmp_path, standin, database_url, ("solo",)) as (server,),
    ):
        standin.fail_rate(1.0, ["chat.postMessage"], kinds=("slow",), slow_seconds=SLOW_POST_S)
        with Burst(lambda: [server]) as burst:
            burst.wait_for_accepted(16)
            server.kill()
            killed_at = burst.count()
            standin.clear_faults()
            server.start()
            burst.wait_for_accepted(killed_at + 16)
        settle_after_kill(standin, database_url, burst)


@pytest.mark.postgres
def test_two_replicas_on_postgresql_one_killed_mid_burst_post_every_accepted_alert_once(
    two_replicas: Replicas, postgres_url: str
) -> None:
    standin, a, b = two_replicas
    standin.fail_rate(1.0, ["chat.postMessage"], kinds=("slow",), slow_seconds=SLOW_POST_S)
    up = [a, b]
    with Burst(lambda: list(up)) as burst:
        burst.wait_for_accepted(16)
        a.kill()
        killed_at = burst.count()
        # The balancer notices from the requests the dead replica fails (whether one was in
        # flight at the kill is chance), then sends everything to b, which keeps delivering.
        wait_until(lambda: bool(burst.refused), "a request to the killed replica failed", 60)
        up.remove(a)
        burst.wait_for_accepted(killed_at + 16)
        standin.clear_faults()
        a.start()
        up.append(a)
        burst.wait_for_accepted(burst.count() + 16)
    settle_after_kill(standin, postgres_url, burst)


@pytest.mark.postgres
def test_two_replicas_through_a_slack_failing_30_percent_of_calls_post_every_alert_once(
    two_replicas: Replicas, postgres_url: str
) -> None:
    standin, a, b = two_replicas
    # Failures of every kind: refused (HTTP 500 or ok: false, nothing done), and done but
    # the answer lost on the way back (the server cannot tell it from a refusal).
    standin.fail_rate(
        0.3,
        ["chat.postMessage", "chat.update", "conversations.open", "conversations.history"],
        kinds=("http_500", "error", "drop"),
    )
    with Burst(lambda: [a, b]) as burst:
        burst.wait_for_accepted(24)
    accepted = list(burst.accepted)
    assert burst.refused == {}
    settle_and_check(standin, postgres_url, accepted)
    # Slack did fail along the way (about 30 % of some sixty calls).
    assert len([call for call in standin.calls if call.fault is not None]) >= 5


# Forty teams, a channel and a pager holder each.
FORTY = {f"t{n:02d}": f"U0H{n:02d}" for n in range(40)}


def test_two_hundred_alerts_over_forty_channels_drain_through_a_slack_failing_30_percent(
    tmp_path: Path,
) -> None:
    database_url = f"sqlite:///{tmp_path / 'watchkeeper.db'}"
    with (
        slack_standin(FORTY) as standin,
        servers(tmp_path, standin, database_url, ("solo",), teams=FORTY) as (server,),
    ):
        # Refused with a 500 (the bot cannot know whether a post was made), or answered 429 with
        # Retry-After: 1 (nothing done; what Slack applies it to waits a second).
        standin.fail_rate(
            0.3,
            ["chat.postMessage", "chat.update", "conversations.open", "conversations.history"],
            kinds=("http_500", "http_429"),
        )
        teams = list(FORTY)
        with httpx.Client(timeout=10) as client:
            for n in range(200):
                answer = client.post(
                    f"{server.url}/alerts/{teams[n % 40]}",
                    json={"title": f"Checkout down fault-{n:04d}", "dedup_key": f"f{n}"},
                    headers={"Authorization": f"Bearer {ALERT_TOKEN}"},
                )
                assert answer.status_code == 202

        def delivered(s: SlackStandIn) -> bool:
            cards, dms = posts_by_alert(s, FORTY)
            return len(cards) == len(dms) == 200

        standin.wait_for(delivered, DELIVERY_PATIENCE_S)
        wait_until(
            lambda: outbox_state(database_url)[0] == 0, "the outbox to be empty", START_PATIENCE_S
        )
        cards, dms = posts_by_alert(standin, FORTY)
        assert set(cards.values()) == set(dms.values()) == {1}, "an alert posted twice"
        calls = standin.calls
        assert len([c for c in calls if c.fault is not None]) >= 100  # Slack did fail, a lot
        # A post's fate is looked up in the channel only when its answer said nothing of it (a
        # 5xx): never after a 429 or a failed update or DM opening, which say nothing was done.
        looked = [c for c in calls if c.method == "conversations.history" and c.ok]
        lost = [c for c in calls if c.method == "chat.postMessage" and c.status >= 500]
        assert len(looked) <= len(lost)
        # Every post answered 429 was tried again only once its Retry-After had passed (or not
        # at all: its alert waited among others and joined their roll-up, listed there).
        posts = [c for c in calls if c.method == "chat.postMessage"]
        limited = 0
        for k, call in enumerate(posts):
            if call.status != 429:
                continue
            limited += 1
            again = next((later for later in posts[k + 1 :] if same_post(later, call)), None)
            assert again is None or again.at - call.at >= 1.0
        assert limited > 0


def same_post(one: Call, other: Call) -> bool:
    """Whether two chat.postMessage calls carry the same delivery (row and recipient)."""
    return (one.args["channel"], one.args.get("metadata")) == (
        other.args["channel"],
        other.args.get("metadata"),
    )


def wake_rows(database_url: str) -> list[tuple[str, int]]:
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT status, sent FROM wake_up")).all()
        return [(str(status), int(sent)) for status, sent in rows]
    finally:
        engine.dispose()


def test_a_server_killed_before_its_wake_up_went_out_wakes_the_person_once_after_restart(
    tmp_path: Path,
) -> None:
    # Killed after it queued a wake-up and before the push went out (the push service was down),
    # then started again: the person is woken exactly once, the URL's secret never logged.
    database_url = f"sqlite:///{tmp_path / 'watchkeeper.db'}"
    teams = {"support": TEAMS["support"]}
    topic = "bob-fault-topic-k2v8r"  # the secret part of Bob's wake-up URL
    with push_receiver() as receiver:
        receiver.status = 503
        people = f"people:\n  U0BOB:\n    wake:\n      - {receiver.url('json', topic)}\n"
        env = {"PUBLIC_URL": "https://oncall.example.com", "WATCHKEEPER_SECRET": "fault-wake-1c"}
        with (
            slack_standin(teams) as standin,
            servers(
                tmp_path, standin, database_url, ("solo",), teams=teams, more=people, env=env
            ) as (server,),
        ):
            answer = httpx.post(
                f"{server.url}/alerts/support",
                json={"title": "Checkout down", "severity": "critical", "dedup_key": "wake-1"},
                headers={"Authorization": f"Bearer {ALERT_TOKEN}"},
            )
            assert answer.status_code == 202, answer.text
            wait_until(lambda: receiver.tries >= 1, "a try at the push", 30)
            server.kill()
            assert receiver.received == []
            assert wake_rows(database_url) == [("pending", 0)]

            receiver.status = 200
            server.start()
            wait_until(lambda: bool(receiver.received), "the push", DELIVERY_PATIENCE_S)
            # Made once; the next is due only wake.every later, without an acknowledgement.
            wait_until(lambda: wake_rows(database_url) == [("pending", 1)], "one wake-up made", 30)
            [push] = receiver.received
            assert push.path == f"/{topic}"
            assert push.title == "[CRITICAL] Checkout down"
            assert "Acknowledge: https://oncall.example.com/ack/" in push.message
            assert topic not in server.log()
        assert len(receiver.received) == 1
