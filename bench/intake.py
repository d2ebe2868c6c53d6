"""Benchmark of the intake's peak throughput: alerts a second that a real `watchkeeper serve`
(SQLite, workers running) answers 202, every one of them found committed in the database
afterwards, against a bare endpoint (``GET /healthz``) of the same server under the same load.

Both are driven by the same closed loop: ``--clients`` connections, each sending its next
request as soon as the last is answered. The benchmark's client runs on the same machine.

Run: ``python bench/intake.py`` (15 s each), ``--smoke`` for a couple of seconds. Prints figures.
"""

from __future__ import annotations

import asyncio
import itertools
import sqlite3
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))

from rig import ALERT_TOKEN, Rig, machine, options, running, spread  # noqa: E402


@dataclass
class Round:
    """What one closed-loop round saw."""

    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int | str] = field(default_factory=Counter)
    accepted: list[int] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0


async def closed_loop(rig: Rig, *, alerts: bool, clients: int, seconds: float) -> Round:
    """``clients`` connections asking back to back for ``seconds``: alerts, or /healthz."""
    result = Round()
    numbers = itertools.count()
    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def one_client() -> None:
            while time.monotonic() < stop:
                n = next(numbers)
                began = time.monotonic()
                try:
                    if alerts:
                        team = rig.space.teams[n % len(rig.space.teams)]
                        request = session.post(
                            f"{rig.bot.url}/alerts/{team}",
                            json={"title": f"Peak intake {n}", "dedup_key": f"peak-{n}"},
                            headers={"Authorization": f"Bearer {ALERT_TOKEN}"},
                        )
                    else:
                        request = session.get(f"{rig.bot.url}/healthz")
                    async with request as answer:
                        await answer.read()
                        status: int | str = answer.status
                except aiohttp.ClientError as error:
                    status = error.__class__.__name__
                result.statuses[status] += 1
                if isinstance(status, int) and 200 <= status < 300:
                    result.latencies.append(time.monotonic() - began)
                    if alerts:
                        result.accepted.append(n)

        for _ in range(3):  # warm the connections up, out of the figures
            async with session.get(f"{rig.bot.url}/healthz") as answer:
                await answer.read()
        began = time.monotonic()
        stop = began + seconds
        await asyncio.gather(*(one_client() for _ in range(clients)))
        result.seconds = time.monotonic() - began
    return result


def committed(rig: Rig, accepted: list[int]) -> tuple[int, int]:
    """How many of the accepted alerts are in the database, and how many alerts it holds."""
    path = rig.folder / "watchkeeper.db"
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        keys = {row[0] for row in conn.execute("SELECT dedup_key FROM alert")}
    return sum(1 for n in accepted if f"peak-{n}" in keys), len(keys)


def main(argv: list[str] | None = None) -> int:
    """Print the benchmark figures; 1 when an accepted alert is missing from the database."""
    args = options(
        __doc__,
        argv,
        seconds=(15.0, 2.0, "length of each round"),
        clients=(16, 16, "concurrent connections"),
        teams=(100, 20, "teams the alerts go round"),
    )
    print(
        f"peak intake: {args.clients} clients back to back, {args.seconds:g} s per round, "
        f"alerts round {args.teams} teams; delivery worker running (Slack stand-in in its own "
        "process); client, server and stand-in share this machine's CPUs"
    )
    with running(teams=args.teams, members=3) as rig:
        asyncio.run(closed_loop(rig, alerts=False, clients=args.clients, seconds=1.0))  # warm-up
        bare = asyncio.run(
            closed_loop(rig, alerts=False, clients=args.clients, seconds=args.seconds)
        )
        intake = asyncio.run(
            closed_loop(rig, alerts=True, clients=args.clients, seconds=args.seconds)
        )
        found, stored = committed(rig, intake.accepted)

    print(f"GET /healthz:      {bare.rate:8.0f} req/s     {spread(bare.latencies)}")
    print(f"POST /alerts/...:  {intake.rate:8.0f} alerts/s  {spread(intake.latencies)}")
    print(f"answers to the alert POSTs: {dict(intake.statuses)}")
    print(
        f"accepted alerts found committed: {found} of {len(intake.accepted)} "
        f"({stored} alerts in the database)"
    )
    print(f"intake throughput / bare endpoint throughput: {intake.rate / bare.rate:.2f}")
    print(f"machine at the end: {machine()}")
    return 0 if found == len(intake.accepted) and intake.accepted else 1


if __name__ == "__main__":
    sys.exit(main())
