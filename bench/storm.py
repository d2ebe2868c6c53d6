"""Benchmark of a storm: one alert repeated 10,000 times in a minute through the HTTP intake of a
real `watchkeeper serve` (SQLite, workers running). Counts the Slack calls the storm cost and the
429s it drew from a Slack stand-in that keeps Slack's posting limit (about one message a second
per channel), and the server's resident memory, idle and under the storm.

Run: ``python bench/storm.py``, ``--smoke`` for a few seconds. Prints figures only.
"""

from __future__ import annotations

import asyncio
import re
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))

from rig import Rig, machine, options, post_alert, running, spread, wait_until  # noqa: E402

SETTLE_S = 5.0  # after the storm, the last update goes out within a card interval or two
CLIENTS = 8


async def storm(rig: Rig, repeats: int, seconds: float) -> tuple[Counter[int | str], list[float]]:
    """Send ``repeats`` copies of one alert, evenly over ``seconds`` (open loop, at most
    CLIENTS requests in flight, as a monitor's retrying sender would have)."""
    statuses: Counter[int | str] = Counter()
    latencies: list[float] = []
    team = rig.space.teams[0]
    body = {"title": "Checkout 5xx above 5%", "severity": "critical", "dedup_key": "storm"}
    gate = asyncio.Semaphore(CLIENTS)
    connector = aiohttp.TCPConnector(limit=CLIENTS)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def one() -> None:
            async with gate:
                began = time.monotonic()
                status: int | str
                try:
                    status = await post_alert(session, f"{rig.bot.url}/alerts/{team}", body)
                except aiohttp.ClientError as error:
                    status = error.__class__.__name__
                statuses[status] += 1
                if status == 202:
                    latencies.append(time.monotonic() - began)

        start = time.monotonic()
        tasks = []
        for n in range(repeats):
            delay = start + n * seconds / repeats - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one()))
        await asyncio.gather(*tasks)
    return statuses, latencies


class MemoryWatch:
    """Samples the server's resident memory every half second while the storm runs."""

    def __init__(self, rig: Rig) -> None:
        self.rig = rig
        self.highest = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> MemoryWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(0.5):
            self.highest = max(self.highest, self.rig.bot.rss_kib()[0])


def mib(kib: int) -> str:
    return f"{kib / 1024:.1f} MiB"


def main(argv: list[str] | None = None) -> int:
    """Print the benchmark figures; 1 when a repeat was refused or the card lost count."""
    args = options(__doc__, argv, repeats=(10_000, 600), seconds=(60.0, 3.0))
    print(
        f"storm: one alert repeated {args.repeats} times over {args.seconds:g} s "
        f"({args.repeats / args.seconds:.0f}/s) into one team; the Slack stand-in answers 429 past "
        "~1 msg/s per channel (bursts of 3)"
    )
    with running(teams=3, members=3, enforce_rate_limits=True) as rig:
        time.sleep(2.0)
        idle, _ = rig.bot.rss_kib()
        before = rig.standin.call_count()
        with MemoryWatch(rig) as watch:
            began = time.monotonic()
            statuses, latencies = asyncio.run(storm(rig, args.repeats, args.seconds))
            took = time.monotonic() - began
            channel = rig.space.channels[rig.space.teams[0]]

            def final_count_shown() -> bool:
                cards = rig.standin.messages(channel)
                return bool(cards) and f"seen {statuses[202]}×" in cards[0]["blocks"]

            shown = wait_until(final_count_shown, 30.0, poll=0.5)
            time.sleep(SETTLE_S)  # anything still queued would go out now
        after_rss, highest_rss = rig.bot.rss_kib()
        calls = rig.standin.calls(before)
        limits = rig.standin.rate_limits()
        cards = rig.standin.messages(channel)

    methods = Counter(call["method"] for call in calls)
    print(f"answers to the POSTs: {dict(statuses)} in {took:.1f} s")
    print(f"intake under the storm: {spread(latencies)}")
    edits = cards[0]["edits"] if cards else 0
    count = re.search(r"seen (\d+)×", cards[0]["blocks"]) if cards else None
    print(
        f"cards in the channel: {len(cards)}; edited {edits} times; it says seen "
        f"{count.group(1) if count else '?'}× ({'final count' if shown else 'NOT the final count'})"
    )
    print(f"Slack calls made: {len(calls)} ({', '.join(f'{m} {n}' for m, n in methods.items())})")
    print(f"429s drawn: {limits['sent']} (calls over a channel's posting limit: {limits['would']})")
    print(
        f"resident memory: idle {mib(idle)}, highest seen under the storm "
        f"{mib(max(watch.highest, after_rss))}, after {mib(after_rss)} (VmHWM {mib(highest_rss)})"
    )
    print(
        f"goals: under 120 Slack calls: {'met' if len(calls) < 120 else 'NOT met'} "
        f"({len(calls)}); no 429: {'met' if limits['sent'] == 0 else 'NOT met'}"
    )
    print(f"machine at the end: {machine()}")
    return 0 if shown and len(cards) == 1 and statuses[202] == args.repeats else 1


if __name__ == "__main__":
    sys.exit(main())
