"""Benchmark of a flaky Slack: a burst of alerts over many team channels while the stand-in fails
30 % of the calls (HTTP 500, and 429 with ``Retry-After: 1``), through the HTTP intake of a real
`watchkeeper serve` (SQLite, workers running).

Prints how long the outbox took to drain (every alert's card in its team channel and DM to its
pager holder posted, or the alert listed in a roll-up there), when each alert's card and DM came,
whether any was posted twice, and what the bot asked of Slack on the way: calls by method, the
failures it met, the conversations.history look-ups it made (needed only after a post whose
answer was lost: a 5xx), and the 429s it drew by coming back before Retry-After (none, if it
honours Slack's rate limits).

Run: ``python bench/drain.py`` (200 alerts over 40 team channels), ``--smoke`` for a few
seconds. Prints figures only; exits 1 when an alert was not delivered or was delivered twice.
"""

from __future__ import annotations

import re
import sqlite3
import sys
import time
from collections import Counter
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from rig import ALERT_TOKEN, Rig, machine, options, running, spread, wait_until  # noqa: E402

TAG = re.compile(r"drain-(\d+)\b")
FAILURE_RATE = 0.3
FAILING_METHODS = ("chat.postMessage", "chat.update", "conversations.open", "conversations.history")
PATIENCE_S = 600.0
RETRY_AFTER_S = 1.0


def send(rig: Rig, alerts: int) -> tuple[dict[int, float], dict[int, int]]:
    """POST the alerts one after the other, round the teams; when each left, and its answer."""
    sent: dict[int, float] = {}
    answers: dict[int, int] = {}
    teams = rig.space.teams
    with httpx.Client(timeout=10) as client:
        for n in range(alerts):
            team = teams[n % len(teams)]
            sent[n] = time.monotonic()
            answer = client.post(
                f"{rig.bot.url}/alerts/{team}",
                json={"title": f"Checkout slow drain-{n:04d}", "severity": "warning"},
                headers={"Authorization": f"Bearer {ALERT_TOKEN}"},
            )
            answers[n] = answer.status_code
    return sent, answers


def delivered(rig: Rig) -> tuple[dict[int, list[float]], dict[int, list[float]]]:
    """When each alert's card and DM were posted (several instants: posted several times); an
    alert a roll-up lists counts from the first post or update of it that does."""
    cards: dict[int, list[float]] = {}
    dms: dict[int, list[float]] = {}
    listed: set[tuple[str, int]] = set()
    for call in rig.standin.calls():
        if call["method"] not in ("chat.postMessage", "chat.update"):
            continue
        if call["status"] != 200 or call["fault"]:
            continue
        found = cards if str(call["channel"]).startswith("C") else dms
        for text in call["listed"]:
            if (match := TAG.search(text)) and (call["channel"], int(match.group(1))) not in listed:
                listed.add((call["channel"], int(match.group(1))))
                found.setdefault(int(match.group(1)), []).append(call["at"])
        match = TAG.search(call["text"])
        if match and not call["listed"] and call["method"] == "chat.postMessage":
            found.setdefault(int(match.group(1)), []).append(call["at"])
    return cards, dms


def early_retries(calls: list[dict[str, object]]) -> int:
    """Posts made again before the Retry-After of the 429 their own previous try got: the same
    delivery (its metadata names the outbox row and the recipient) to the same channel."""
    last: dict[tuple[str, str], tuple[float, int]] = {}
    early = 0
    for call in calls:
        if call["method"] != "chat.postMessage" or not call["metadata"]:
            continue
        key = (str(call["channel"]), repr(call["metadata"]))
        at = float(call["at"])  # type: ignore[arg-type]
        before = last.get(key)
        if before is not None and before[1] == 429 and at - before[0] < RETRY_AFTER_S:
            early += 1
        last[key] = (at, int(call["status"]))  # type: ignore[call-overload]
    return early


def outbox_left(rig: Rig) -> dict[str, int]:
    path = rig.folder / "watchkeeper.db"
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        return dict(conn.execute("SELECT status, count(*) FROM outbox GROUP BY status").fetchall())


def main(argv: list[str] | None = None) -> int:
    """Print the figures; 1 when an alert was not delivered, or delivered twice."""
    args = options(__doc__, argv, alerts=(200, 20), teams=(40, 4, "teams (one channel each)"))
    print(
        f"drain: {args.alerts} alerts over {args.teams} team channels (and as many pager "
        f"holders' DMs), sent at once; the Slack stand-in fails {FAILURE_RATE:.0%} of the calls "
        "(HTTP 500, or 429 with Retry-After: 1) and answers 429 past ~1 msg/s per channel"
    )
    with running(teams=args.teams, members=3, enforce_rate_limits=True) as rig:
        rig.standin.fail_rate(FAILURE_RATE, FAILING_METHODS, ("http_500", "http_429"))
        began = time.monotonic()
        sent, answers = send(rig, args.alerts)
        accepted = {n for n, status in answers.items() if status == 202}

        def done() -> bool:
            cards, dms = delivered(rig)
            return accepted <= set(cards) and accepted <= set(dms)

        drained = wait_until(done, PATIENCE_S, poll=0.5)
        took = time.monotonic() - began
        time.sleep(2.0)  # anything posted twice would show by now
        cards, dms = delivered(rig)
        calls = rig.standin.calls()
        limits = rig.standin.rate_limits()
        left = outbox_left(rig)

    methods = Counter(call["method"] for call in calls)
    faults = Counter(f"{call['method']} {call['status']}" for call in calls if call["fault"])
    history_ok = sum(
        1 for c in calls if c["method"] == "conversations.history" and c["status"] == 200
    )
    lost_posts = sum(1 for c in calls if c["method"] == "chat.postMessage" and c["status"] >= 500)
    twice = sum(len(at) > 1 for at in cards.values()) + sum(len(at) > 1 for at in dms.values())
    last = max((at[0] for at in [*cards.values(), *dms.values()]), default=began)
    print(f"answers to the alert POSTs: {dict(Counter(answers.values()))}")
    print(f"cards posted: {len(set(cards) & accepted)} of {len(accepted)}")
    print(f"DMs posted:   {len(set(dms) & accepted)} of {len(accepted)}")
    print(
        f"drained: {'yes' if drained else 'NO'}, the last card or DM {last - began:.1f} s after "
        f"the first POST (waited {took:.1f} s)"
    )
    print(f"POST -> card: {spread([cards[n][0] - sent[n] for n in accepted if n in cards])}")
    print(f"POST -> DM:   {spread([dms[n][0] - sent[n] for n in accepted if n in dms])}")
    print(
        f"Slack calls: {len(calls)} ({', '.join(f'{m} {n}' for m, n in sorted(methods.items()))})"
    )
    injected = ", ".join(f"{k}: {n}" for k, n in sorted(faults.items()))
    print(f"failures injected: {sum(faults.values())} ({injected})")
    print(
        f"conversations.history answered: {history_ok} (posts answered 5xx, whose fate the bot "
        f"could not know: {lost_posts})"
    )
    print(
        f"429s: {limits['sent']}, of which {limits['early']} to calls that came while another "
        "call's Retry-After for the same channel (or method) ran: already on their way when that "
        f"429 came back (calls over a channel's posting pace: {limits['would']})"
    )
    limited = sum(1 for c in calls if c["method"] == "chat.postMessage" and c["status"] == 429)
    print(
        "posts tried again before the Retry-After of their own 429: "
        f"{early_retries(calls)} (of {limited} posts answered 429)"
    )
    print(f"outbox rows by status after the run: {left}")
    print(f"posted twice: {twice}")
    print(f"machine at the end: {machine()}")
    return 0 if drained and not twice and len(accepted) == args.alerts else 1


if __name__ == "__main__":
    sys.exit(main())
