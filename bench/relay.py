"""Benchmark of the alert relay: alerts at a steady rate through the HTTP intake of a real
`watchkeeper serve` (SQLite, workers running) to the Slack stand-in, each in its own process; or
through several replicas of it sharing a PostgreSQL database, the alerts sent to each in turn.

Prints, for the same run: the time from each POST to the ``chat.postMessage`` of its card (and of
the pager holder's DM) as the stand-in received it; the intake's answer time against ``GET
/healthz`` asked of the same server at the same time; and what the SQLite database looked like
under the load.

Run: ``python bench/relay.py`` (50 alerts/s for 60 s over 100 team channels), ``--smoke`` for a
few seconds; ``--postgres postgresql://127.0.0.1:5432/postgres --replicas 2`` for two replicas
on a database made on that server for the run (and dropped after). Prints figures only.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sqlite3
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))

from rig import (  # noqa: E402
    Rig,
    machine,
    median,
    percentile,
    post_alert,
    postgres_trouble,
    running,
    spread,
    wait_until,
)

TAG = re.compile(r"relay-(\d+)\b")
HEALTH_RATE = 10.0  # /healthz asked this often during the run, between the alerts
DELIVERY_PATIENCE_S = 120.0
# Slack takes about one message a second in one channel (short bursts allowed).
SLACK_CHANNEL_RATE = 1.0


@dataclass
class Timings:
    sent: dict[int, float] = field(default_factory=dict)  # alert number -> when its POST left
    intake: list[float] = field(default_factory=list)
    health: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)  # alert number -> HTTP status
    lag: list[float] = field(default_factory=list)  # how late each POST left on its schedule


async def _post_alert(
    session: aiohttp.ClientSession, rig: Rig, n: int, timings: Timings, due: float
) -> None:
    team = rig.space.teams[n % len(rig.space.teams)]
    bot = rig.bots[n % len(rig.bots)]
    body = {"title": f"Checkout slow relay-{n:06d}", "severity": "warning", "dedup_key": f"r{n}"}
    began = time.monotonic()
    timings.lag.append(began - due)
    timings.sent[n] = began
    try:
        status = await post_alert(session, f"{bot.url}/alerts/{team}", body)
    except aiohttp.ClientError:
        status = 0
    timings.statuses[n] = status
    if 200 <= status < 300:
        timings.intake.append(time.monotonic() - began)


async def _get_health(
    session: aiohttp.ClientSession, rig: Rig, timings: Timings, k: int = 0
) -> None:
    began = time.monotonic()
    async with session.get(f"{rig.bots[k % len(rig.bots)].url}/healthz") as answer:
        await answer.read()
        if answer.status == 200:
            timings.health.append(time.monotonic() - began)


async def load(rig: Rig, rate: float, seconds: float) -> Timings:
    """Send ``rate`` alerts a second for ``seconds`` on a fixed schedule (open loop: a slow
    answer does not hold back the next alert), with /healthz asked between them."""
    timings = Timings()
    total = int(rate * seconds)
    health_total = int(HEALTH_RATE * seconds)
    schedule = sorted(
        [(n / rate, "alert", n) for n in range(total)]
        + [((k + 0.5) / HEALTH_RATE, "health", k) for k in range(health_total)]
    )
    tasks: list[asyncio.Task[None]] = []
    connector = aiohttp.TCPConnector(limit=200)
    async with aiohttp.ClientSession(connector=connector) as session:
        # Warm up: the connections, and the server's first-request costs, out of the figures.
        for k in range(5 * len(rig.bots)):
            await _get_health(session, rig, Timings(), k)
        start = time.monotonic() + 0.2
        for offset, kind, n in schedule:
            due = start + offset
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            if kind == "alert":
                tasks.append(asyncio.create_task(_post_alert(session, rig, n, timings, due)))
            else:
                tasks.append(asyncio.create_task(_get_health(session, rig, timings, n)))
        await asyncio.gather(*tasks)
    return timings


def database_state(rig: Rig) -> str:
    """What the database holds after the run (and SQLite's journal mode, from the file itself)."""
    if not rig.database_url.startswith("sqlite"):
        from sqlalchemy import text

        from storage.db import make_engine

        engine = make_engine(rig.database_url)
        try:
            with engine.connect() as conn:
                rows: dict[str, int] = dict(
                    conn.execute(text("SELECT status, count(*) FROM outbox GROUP BY status")).all()
                )
                alerts = conn.execute(text("SELECT count(*) FROM alert")).scalar_one()
        finally:
            engine.dispose()
        return f"PostgreSQL, {alerts} alerts stored, outbox rows by status {rows}"
    path = rig.folder / "watchkeeper.db"
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
        rows = dict(conn.execute("SELECT status, count(*) FROM outbox GROUP BY status").fetchall())
        alerts = conn.execute("SELECT count(*) FROM alert").fetchone()[0]
    return f"journal_mode={mode}, {alerts} alerts stored, outbox rows by status {rows}"


def log_trouble(rig: Rig) -> dict[str, int]:
    text = "".join(bot.log.read_text(errors="replace") for bot in rig.bots)
    return {
        "errors logged": len(re.findall(r"level=(?:error|critical)", text)),
        "'database is locked'": text.count("database is locked"),
        "intake 503 (database unavailable)": text.count("database unavailable"),
    }


def main(argv: list[str] | None = None) -> int:
    """Print the benchmark figures; 1 when the run itself went wrong (an alert refused, lost
    or posted twice), whatever the times."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=50.0, help="alerts per second")
    parser.add_argument("--seconds", type=float, default=60.0, help="how long the load lasts")
    parser.add_argument("--teams", type=int, default=100, help="teams (one channel each)")
    parser.add_argument("--smoke", action="store_true", help="a few seconds, for CI")
    parser.add_argument(
        "--postgres", metavar="URL", help="run on a database made on this PostgreSQL server"
    )
    parser.add_argument(
        "--replicas", type=int, default=1, help="processes sharing the database (PostgreSQL)"
    )
    args = parser.parse_args(argv)
    if args.replicas > 1 and not args.postgres:
        parser.error("--replicas needs --postgres: replicas share a PostgreSQL database")
    if args.smoke:
        args.rate, args.seconds, args.teams = 20.0, 3.0, 40

    per_channel = args.rate / args.teams
    print(f"machine at the start: {machine()}")
    print(
        f"relay: {args.rate:g} alerts/s for {args.seconds:g} s, spread evenly over {args.teams} "
        f"teams: {per_channel:.2f} alert/s per team channel and per pager holder's DM "
        f"(Slack takes ~{SLACK_CHANNEL_RATE:g} msg/s per channel; the stand-in answers 429 "
        "past that)"
    )
    if args.postgres:
        unreachable = postgres_trouble(args.postgres)
        if unreachable:
            print(f"PostgreSQL at {args.postgres} cannot be reached ({unreachable}): run skipped")
            return 0
        print(f"database: PostgreSQL, {args.replicas} replica(s), alerts sent to each in turn")
    with running(
        teams=args.teams,
        members=5,
        enforce_rate_limits=True,
        postgres=args.postgres,
        replicas=args.replicas,
    ) as rig:
        timings = asyncio.run(load(rig, args.rate, args.seconds))
        accepted = {n for n, status in timings.statuses.items() if 200 <= status < 300}

        def cards_by_alert() -> dict[int, float]:
            found: dict[int, float] = {}
            for call in rig.standin.calls():
                if call["method"] != "chat.postMessage" or call["status"] != 200:
                    continue
                match = TAG.search(call["text"])
                if match and str(call["channel"]).startswith("C"):
                    found.setdefault(int(match.group(1)), call["at"])
            return found

        wait_until(lambda: accepted <= set(cards_by_alert()), DELIVERY_PATIENCE_S, poll=1.0)
        time.sleep(1.0)  # let the DMs that follow the cards arrive
        calls = rig.standin.calls()
        cards: dict[int, float] = {}
        dms: dict[int, float] = {}
        duplicates = 0
        for call in calls:
            if call["method"] != "chat.postMessage" or call["status"] != 200:
                continue
            match = TAG.search(call["text"])
            if match is None:
                continue
            target = cards if str(call["channel"]).startswith("C") else dms
            n = int(match.group(1))
            duplicates += n in target
            target.setdefault(n, call["at"])
        limits = rig.standin.rate_limits()
        state = database_state(rig)
        trouble = log_trouble(rig)

    relay = [cards[n] - timings.sent[n] for n in sorted(accepted) if n in cards]
    relay_dm = [dms[n] - timings.sent[n] for n in sorted(accepted) if n in dms]
    statuses: dict[int, int] = {}
    for status in timings.statuses.values():
        statuses[status] = statuses.get(status, 0) + 1
    intake_p50, health_p50 = median(timings.intake), median(timings.health)
    print(f"answers to the alert POSTs: {dict(sorted(statuses.items()))}")
    print(f"cards posted for accepted alerts: {len(relay)} of {len(accepted)}")
    print(f"DMs posted for accepted alerts:   {len(relay_dm)} of {len(accepted)}")
    print(f"POST -> card chat.postMessage:   {spread(relay)}")
    print(f"POST -> DM chat.postMessage:     {spread(relay_dm)}")
    print(f"intake POST answered (202):      {spread(timings.intake)}")
    print(f"GET /healthz, same server(s), run: {spread(timings.health)}")
    print(f"intake p50 / healthz p50:        {intake_p50 / health_p50:7.2f}x")
    print(
        f"load generator lateness:         p99 {percentile(timings.lag, 99) * 1e3:.1f} ms, "
        f"max {max(timings.lag) * 1e3:.1f} ms"
    )
    methods: dict[str, int] = {}
    for call in calls:
        methods[call["method"]] = methods.get(call["method"], 0) + 1
    by_method = ", ".join(f"{name} {count}" for name, count in sorted(methods.items()))
    print(
        f"Slack stand-in: {len(calls)} calls ({by_method}), {limits['sent']} answered 429 "
        f"({limits['would']} over a channel's posting limit)"
    )
    print(f"database after the run: {state}")
    print("server log: " + ", ".join(f"{name}: {count}" for name, count in trouble.items()))
    print(f"posted twice: {duplicates}")
    p99 = percentile(relay, 99)
    which = " (set for SQLite)" if args.postgres else ""
    print(
        f"goals{which}: relay p99 < 100 ms: {'met' if p99 < 0.1 else 'NOT met'} "
        f"({p99 * 1e3:.1f} ms); "
        f"intake p50 within 3x of /healthz: "
        f"{'met' if intake_p50 <= 3 * health_p50 else 'NOT met'} "
        f"({intake_p50 / health_p50:.2f}x)"
    )
    broken = len(accepted) < len(timings.statuses) or len(relay) < len(accepted)
    print(f"machine at the end: {machine()}")
    return 1 if broken or len(relay_dm) < len(accepted) or duplicates else 0


if __name__ == "__main__":
    sys.exit(main())
