"""Benchmark of a flood into one channel: 300 alerts for one team in 10 s, then one more, through
the HTTP intake of a real `watchkeeper serve` (SQLite, workers running), the Slack stand-in
answering 429 past ~1 post a second per channel as Slack does.

Prints, from the first POST: when the channel first showed something (a card or the roll-up),
when every alert became reachable there (a card of its own, or listed in the channel's roll-up,
whose menus open its card with its buttons), what the pager holder's DMs were, and the Slack calls
spent; then, for the one alert sent right after the flood, how long until the channel showed it.

Run: ``python bench/flood.py`` (300 alerts in 10 s), ``--smoke`` for a few seconds (30 in 2 s).
Prints figures only; exits 1 when an alert was refused, never reachable, or shown twice.
"""

from __future__ import annotations

import re
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from rig import ALERT_TOKEN, Rig, machine, options, running, wait_until  # noqa: E402

TAG = re.compile(r"flood-(\d+)\b")
PATIENCE_S = 600.0
AFTER = 1_000_000  # the number of the alert sent after the flood


def send(rig: Rig, client: httpx.Client, n: int) -> int:
    team = rig.space.teams[0]
    answer = client.post(
        f"{rig.bot.url}/alerts/{team}",
        json={"title": f"Checkout slow flood-{n}", "severity": "warning"},
        headers={"Authorization": f"Bearer {ALERT_TOKEN}"},
    )
    return answer.status_code


def flood(rig: Rig, alerts: int, seconds: float) -> tuple[float, dict[int, int]]:
    """POST ``alerts`` alerts evenly over ``seconds``; when the first left, and the answers."""
    answers: dict[int, int] = {}
    with httpx.Client(timeout=10) as client:
        began = time.monotonic()
        for n in range(alerts):
            delay = began + n * seconds / alerts - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            answers[n] = send(rig, client, n)
    return began, answers


def reachable(calls: list[dict[str, Any]], channel: str) -> dict[int, list[tuple[float, str]]]:
    """When each alert showed in the channel first, and how: a card of its own (a post naming
    it), or a roll-up listing it (its post, or an update); several cards: posted twice."""
    shown: dict[int, list[tuple[float, str]]] = {}
    listed: set[int] = set()
    for call in calls:
        ok = call["status"] == 200 and not call["fault"] and call["channel"] == channel
        if not ok or call["method"] not in ("chat.postMessage", "chat.update"):
            continue
        if call["listed"]:
            for text in call["listed"]:
                if (match := TAG.search(text)) and int(match.group(1)) not in listed:
                    listed.add(int(match.group(1)))
                    shown.setdefault(int(match.group(1)), []).append((call["at"], "roll-up"))
        elif call["method"] == "chat.postMessage" and (match := TAG.search(call["text"])):
            shown.setdefault(int(match.group(1)), []).append((call["at"], "card"))
    return shown


def main(argv: list[str] | None = None) -> int:
    """Print the figures; 1 when an alert was refused, never reachable, or shown twice."""
    args = options(
        __doc__, argv, alerts=(300, 30), seconds=(10.0, 2.0, "the flood lasts this long")
    )
    print(
        f"flood: {args.alerts} alerts for one team in {args.seconds:g} s, then one more; the "
        "Slack stand-in answers 429 past ~1 msg/s per channel"
    )
    with running(teams=2, members=3, enforce_rate_limits=True) as rig:
        team = rig.space.teams[0]
        channel = rig.space.channels[team]
        began, answers = flood(rig, args.alerts, args.seconds)
        with httpx.Client(timeout=10) as client:
            after_sent = time.monotonic()
            answers[AFTER] = send(rig, client, AFTER)
        accepted = {n for n, status in answers.items() if status == 202}

        def done() -> bool:
            return accepted <= set(reachable(rig.standin.calls(), channel))

        all_shown = wait_until(done, PATIENCE_S, poll=0.5)
        waited = time.monotonic() - began
        time.sleep(3.0)  # anything shown twice would show by now, and the roll-up's last update
        calls = rig.standin.calls()
        limits = rig.standin.rate_limits()

    shown = reachable(calls, channel)
    firsts = {n: at[0] for n, at in shown.items()}
    twice = sum(len(at) > 1 for at in shown.values())
    into_channel = [
        c for c in calls if c["channel"] == channel and c["status"] == 200 and not c["fault"]
    ]
    posts = [c for c in into_channel if c["method"] == "chat.postMessage"]
    dm_posts = [
        c
        for c in calls
        if c["method"] == "chat.postMessage"
        and str(c["channel"]).startswith("D")
        and c["status"] == 200
    ]
    rollup_dms = [c for c in dm_posts if c["listed"]]
    methods = Counter(call["method"] for call in calls)
    flood_shown = [at for n, (at, _) in firsts.items() if n != AFTER and n in accepted]
    first_notice = min((c["at"] for c in posts), default=began) - began
    print(f"answers to the alert POSTs: {dict(Counter(answers.values()))}")
    print(f"first notice in the channel: {first_notice:.1f} s after the first POST")
    print(
        f"every alert of the flood reachable: {'yes' if all_shown else 'NO'}, "
        f"{(max(flood_shown, default=began) - began):.1f} s after the first POST "
        f"(waited {waited:.1f} s)"
    )
    ways = Counter(way for n, (_, way) in firsts.items() if n != AFTER)
    print(f"how: {ways.get('card', 0)} cards of their own, {ways.get('roll-up', 0)} in a roll-up")
    if AFTER in firsts:
        at, way = firsts[AFTER]
        print(
            f"the alert sent after the flood: shown {at - after_sent:.1f} s after its POST ({way})"
        )
    else:
        print("the alert sent after the flood: NOT shown")
    print(
        f"channel: {len(posts)} posts, "
        f"{sum(c['method'] == 'chat.update' for c in into_channel)} updates"
    )
    print(f"pager holder's DMs: {len(dm_posts)} ({len(rollup_dms)} of them a roll-up)")
    print(
        f"Slack calls: {len(calls)} ({', '.join(f'{m} {n}' for m, n in sorted(methods.items()))})"
    )
    print(f"429s: {limits['sent']} (calls over a channel's posting pace: {limits['would']})")
    print(f"shown twice: {twice}")
    print(f"machine at the end: {machine()}")
    ok = all_shown and not twice and len(accepted) == len(answers)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
