"""Benchmark of waking people: from an alert's request to its push arriving at the push service.

A real `watchkeeper serve` (SQLite, workers running) with 40 teams, everyone woken through
Apprise's ``json://`` to a receiver on this machine; critical alerts sent at a steady rate spread
over the teams (an open loop: a request goes out on time whatever the answers before it). For
each alert: the time from sending its request to its push received, p50 and p99, and the intake's
own answer time beside it.

Run: ``python bench/wake.py`` (50 alerts/s for 20 s), ``--smoke`` for a couple of seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import re
import sys
import time
from pathlib import Path

import aiohttp
from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parent))

from rig import ALERT_TOKEN, machine, ms, percentile, running  # noqa: E402

TITLE = re.compile(r"Wake bench (\d+)")


async def bench(rate: float, seconds: float, teams: int) -> int:
    arrived: dict[int, float] = {}
    total = int(rate * seconds)
    all_arrived = asyncio.Event()

    async def receive(request: web.Request) -> web.Response:
        body = await request.json()
        match = TITLE.search(str(body.get("title", "")))
        if match:
            arrived.setdefault(int(match[1]), time.monotonic())
            if len(arrived) >= total:
                all_arrived.set()
        return web.json_response({})

    app = web.Application()
    app.router.add_post("/{user}", receive)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    sent_at: dict[int, float] = {}
    answered: list[float] = []
    try:
        wake = f"json://127.0.0.1:{port}/{{user}}"
        with running(teams=teams, members=3, wake=wake) as rig:
            async with aiohttp.ClientSession() as session:

                async def one(n: int) -> None:
                    team = rig.space.teams[n % len(rig.space.teams)]
                    sent_at[n] = began = time.monotonic()
                    async with session.post(
                        f"{rig.bot.url}/alerts/{team}",
                        json={"title": f"Wake bench {n}", "severity": "critical"},
                        headers={"Authorization": f"Bearer {ALERT_TOKEN}"},
                    ) as answer:
                        assert answer.status == 202, await answer.text()
                    answered.append(time.monotonic() - began)

                start = time.monotonic()
                tasks = []
                for n in range(total):
                    delay = start + n / rate - time.monotonic()
                    if delay > 0:
                        await asyncio.sleep(delay)
                    tasks.append(asyncio.create_task(one(n)))
                await asyncio.gather(*tasks)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(all_arrived.wait(), timeout=60)
    finally:
        await runner.cleanup()
    latencies = [arrived[n] - sent_at[n] for n in arrived if n in sent_at]
    print(f"wake: {machine()}")
    print(
        f"  {total} critical alerts at {rate:.0f}/s over {teams} teams, pushes through "
        f"Apprise json:// to a receiver on this machine"
    )
    print(f"  pushes received: {len(arrived)} of {total}")
    if latencies:
        print(
            f"  alert in -> push received: p50 {ms(percentile(latencies, 50))}, "
            f"p99 {ms(percentile(latencies, 99))}, max {ms(max(latencies))}"
        )
        print(
            f"  intake answer (202) alone: p50 {ms(percentile(answered, 50))}, "
            f"p99 {ms(percentile(answered, 99))}"
        )
        p99 = percentile(latencies, 99)
        print(f"goal: push p99 < 250 ms: {'met' if p99 < 0.25 else 'NOT met'} ({p99 * 1e3:.1f} ms)")
    return 0 if len(arrived) == total else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="a couple of seconds (CI)")
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--teams", type=int, default=40)
    args = parser.parse_args()
    seconds = 2.0 if args.smoke else args.seconds
    return asyncio.run(bench(args.rate, seconds, args.teams))


if __name__ == "__main__":
    sys.exit(main())
