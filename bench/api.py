"""Benchmark of the JSON API: ``GET /api/v1/oncall`` (every team: who holds the pager, the backup,
who is next) against ``GET /healthz`` on the same `watchkeeper serve`, with 50 teams, 500 members
and a year of overrides in the database; then again with ten years of them.

One request at a time, 20 a second, the two addresses in turn: each answer is timed from the
request leaving the client to the whole body read. The bot answers from memory until the pager
can change hands; a last series asks a week further on each time, to show what computing every
team anew costs (as at a hand-off).

Run: ``python bench/api.py``, ``--smoke`` for a few seconds. Prints figures only.
"""

from __future__ import annotations

import asyncio
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))

from oncall import MEMBERS_PER_TEAM, TEAMS, add_overrides  # noqa: E402
from rig import Rig, machine, options, percentile, running, spread, workspace  # noqa: E402

PACE = 20.0  # requests a second
API_TOKEN = "bench-api-token"
ONCALL = "/api/v1/oncall"
HEALTHZ = "/healthz"
MISS = "miss"


async def ask(rig: Rig, requests: int) -> tuple[dict[str, list[float]], int]:
    """Ask /api/v1/oncall and /healthz in turn, one at a time at PACE; the times of each, and
    how many answers were not a 200 with every team."""
    times: dict[str, list[float]] = {ONCALL: [], HEALTHZ: [], MISS: []}
    wrong = 0
    headers = {"Authorization": f"Bearer {API_TOKEN}"}
    async with aiohttp.ClientSession(headers=headers) as session:
        # One request each first: connections made, code paths warm.
        for path in (ONCALL, HEALTHZ):
            async with session.get(f"{rig.bot.url}{path}") as answer:
                await answer.read()
        start = time.monotonic()
        for n in range(requests):
            delay = start + n / PACE - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            path = ONCALL if n % 2 == 0 else HEALTHZ
            sent = time.monotonic()
            async with session.get(f"{rig.bot.url}{path}") as answer:
                body = await answer.json()
                took = time.monotonic() - sent
            times[path].append(took)
            if answer.status != 200 or (path == ONCALL and len(body["teams"]) != TEAMS):
                wrong += 1
        # Then, for scale, what a hand-off costs: each request a week after the one before (in
        # another shift of every weekly rotation), which the bot computes anew.
        now = datetime.now(UTC)
        for n in range(requests // 4):
            await asyncio.sleep(1 / PACE)
            at = (now + timedelta(weeks=n + 1)).isoformat()
            sent = time.monotonic()
            async with session.get(f"{rig.bot.url}{ONCALL}", params={"at": at}) as answer:
                body = await answer.json()
                times[MISS].append(time.monotonic() - sent)
            if answer.status != 200 or len(body["teams"]) != TEAMS:
                wrong += 1
    return times, wrong


def one_run(label: str, weeks_before: int, requests: int) -> tuple[float, float, int]:
    """Serve with that much history, ask, print; the oncall p50 and p99, and the wrong answers."""
    space = workspace(TEAMS, MEMBERS_PER_TEAM)
    count, prepare = add_overrides(space, weeks_before=weeks_before, weeks_after=26)
    print(f"{label}: {TEAMS} teams, {TEAMS * MEMBERS_PER_TEAM} members, {count} overrides")
    with running(
        teams=TEAMS, members=MEMBERS_PER_TEAM, prepare=prepare, env={"API_TOKEN": API_TOKEN}
    ) as rig:
        times, wrong = asyncio.run(ask(rig, requests))
    oncall, healthz = times[ONCALL], times[HEALTHZ]
    print(f"  GET {ONCALL:<16} {spread(oncall)}")
    print(f"  GET {HEALTHZ:<16} {spread(healthz)}")
    print(f"  GET {ONCALL}?at=<a week on>   {spread(times[MISS])}  (computed anew)")
    p50, p99 = percentile(oncall, 50), percentile(oncall, 99)
    print(
        f"  oncall / healthz: p50 {p50 / percentile(healthz, 50):.2f}x, "
        f"p99 {p99 / percentile(healthz, 99):.2f}x"
    )
    if wrong:
        print(f"  {wrong} answers were not a 200 naming every team")
    return p50, p99, wrong


def main(argv: list[str] | None = None) -> int:
    """Print the figures; 1 when an answer was not a 200 naming every team."""
    args = options(__doc__, argv, seconds=(60.0, 2.0, "length of each run"))
    requests = int(args.seconds * PACE)
    print(f"{requests} requests a run at {PACE:g}/s, one at a time, {ONCALL} and {HEALTHZ} in turn")
    year_p50, year_p99, wrong = one_run("a year of overrides", 26, requests)
    # The ten years' run is the smoke run's longest part (preparing 52,000 overrides): CI skips it.
    if not args.smoke:
        ten_p50, ten_p99, more_wrong = one_run("ten years of overrides", 9 * 52 + 26, requests)
        wrong += more_wrong
        print(
            f"ten years / a year: p50 {ten_p50 / year_p50:.2f}x, p99 {ten_p99 / year_p99:.2f}x "
            "(goal: no slower than 1.2x)"
        )
    print(f"machine at the end: {machine()}")
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
