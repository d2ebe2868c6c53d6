"""Benchmark of ``/oncall``: how soon a real `watchkeeper serve` acknowledges a signed slash
command (its HTTP 200), and how soon its ephemeral answer reaches the response_url, with 50
teams, 500 members and a year of overrides in the database.

The commands are sent as Slack sends them (form body, signature headers) at a steady pace; the
answer's arrival is taken where the Slack stand-in (its own process) receives it.

Run: ``python bench/oncall.py``, ``--smoke`` for a few seconds. Prints figures only.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))

from rig import (  # noqa: E402
    SIGNING_SECRET,
    Rig,
    Workspace,
    machine,
    percentile,
    running,
    spread,
    workspace,
)

TEAMS = 50
MEMBERS_PER_TEAM = 10
OVERRIDES_PER_TEAM_PER_WEEK = 2
OUTSIDER = "U0CEO"  # in no team: /oncall shows every team
PACE = 10.0  # commands a second


def add_a_year_of_overrides(space: Workspace) -> tuple[int, Callable[[str], None]]:
    """A ``prepare`` hook storing, for every team, two covers or swaps a week over the half year
    before and the half year after now."""
    return add_overrides(space, weeks_before=26, weeks_after=26)


def add_overrides(
    space: Workspace, *, weeks_before: int, weeks_after: int
) -> tuple[int, Callable[[str], None]]:
    """A ``prepare`` hook storing, for every team, two covers or swaps a week over the weeks
    before and after now; and how many it stores."""
    weeks = weeks_before + weeks_after
    count = TEAMS * weeks * OVERRIDES_PER_TEAM_PER_WEEK

    def prepare(database_url: str) -> None:
        from storage.db import make_engine, session_scope
        from storage.overrides import create_override

        rng = random.Random(7)
        now = datetime.now(UTC)
        first = now - timedelta(weeks=weeks_before)
        engine = make_engine(database_url)
        for team in space.teams:
            with session_scope(engine) as session:
                for week in range(weeks):
                    for _ in range(OVERRIDES_PER_TEAM_PER_WEEK):
                        start = first + timedelta(weeks=week, hours=rng.randrange(0, 7 * 24))
                        create_override(
                            session=session,
                            team=team,
                            user_id=rng.choice(space.members[team]),
                            start=start,
                            end=start + timedelta(hours=rng.choice([4, 8, 12, 24, 48])),
                            kind=rng.choice(["swap", "cover"]),
                            now=now,
                        )
        engine.dispose()

    return count, prepare


@dataclass
class Sample:
    kind: str
    key: str
    sent: float
    acked: float | None = None
    status: int = 0


@dataclass
class Run:
    samples: list[Sample] = field(default_factory=list)


async def send_commands(rig: Rig, plan: list[tuple[str, str, str]]) -> Run:
    """Send ``(kind, user, text)`` commands at PACE a second; note when each was acknowledged."""
    from bot.sandbox.slack_requests import SlackSide

    side = SlackSide(SIGNING_SECRET, bot_url=rig.bot.url)
    run = Run()
    async with aiohttp.ClientSession() as session:

        async def one(kind: str, user: str, text: str, n: int) -> None:
            key = f"oncall-{n}"
            request = side.slash_command(
                "/oncall",
                text,
                user_id=user,
                channel_id=f"D{user[1:]}",
                user_name=user.lower(),
                channel_name="directmessage",
                response_url=f"{rig.standin.root_url}response/{key}",
                trigger_id=f"{int(time.time())}.{n}.bench",
            )
            sample = Sample(kind, key, time.monotonic())
            run.samples.append(sample)
            async with session.post(
                f"{rig.bot.url}/slack/events", data=request.body, headers=request.headers
            ) as answer:
                await answer.read()
                sample.acked, sample.status = time.monotonic(), answer.status

        tasks = []
        start = time.monotonic()
        for n, (kind, user, text) in enumerate(plan):
            delay = start + n / PACE - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(kind, user, text, n)))
        await asyncio.gather(*tasks)
    return run


def main(argv: list[str] | None = None) -> int:
    """Print the benchmark figures; 1 when a command went unacknowledged or unanswered."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commands", type=int, default=400, help="commands sent in all")
    parser.add_argument("--smoke", action="store_true", help="a few seconds, for CI")
    args = parser.parse_args(argv)
    if args.smoke:
        args.commands = 40

    rng = random.Random(3)
    kinds = [
        ("member: /oncall (own team)", ""),
        ("outsider: /oncall (all 50 teams)", ""),
        ("member: /oncall week", "week"),
        ("member: /oncall me", "me"),
    ]
    weights = [0.55, 0.15, 0.15, 0.15]

    space = workspace(TEAMS, MEMBERS_PER_TEAM)  # the one the rig builds
    overrides, prepare = add_a_year_of_overrides(space)
    members = [m for team in space.teams for m in space.members[team]]
    plan = []
    for _ in range(args.commands):
        kind, text = rng.choices(kinds, weights)[0]
        user = OUTSIDER if kind.startswith("outsider") else rng.choice(members)
        plan.append((kind, user, text))

    print(f"machine at the start: {machine()}")
    print(
        f"/oncall: {TEAMS} teams, {len(members)} members, {overrides} overrides over a year; "
        f"{args.commands} signed commands at {PACE:g}/s, users picked at random (their time "
        "zone is looked up on first use, as it would be)"
    )
    with running(teams=TEAMS, members=MEMBERS_PER_TEAM, prepare=prepare) as rig:
        run = asyncio.run(send_commands(rig, plan))
        deadline = time.monotonic() + 30
        keys = [s.key for s in run.samples]
        answered = rig.standin.response_times(keys)
        while sum(1 for k in keys if answered.get(k)) < len(keys) and time.monotonic() < deadline:
            time.sleep(0.5)
            answered = rig.standin.response_times(keys)

    bad = [s for s in run.samples if s.status != 200]
    print(f"acknowledged 200: {len(run.samples) - len(bad)} of {len(run.samples)}")
    all_acks, all_answers = [], []
    for kind, _ in kinds:
        mine = [s for s in run.samples if s.kind == kind and s.acked is not None]
        acks = [s.acked - s.sent for s in mine if s.acked is not None]
        answers = [answered[s.key][0] - s.sent for s in mine if answered.get(s.key)]
        all_acks += acks
        all_answers += answers
        print(f"{kind}")
        print(f"  ack (HTTP 200):     {spread(acks)}")
        print(f"  ephemeral answer:   {spread(answers)}")
    print("all commands")
    print(f"  ack (HTTP 200):     {spread(all_acks)}")
    print(f"  ephemeral answer:   {spread(all_answers)}")
    p99 = percentile(all_acks, 99)
    print(f"goal: ack p99 < 200 ms: {'met' if p99 < 0.2 else 'NOT met'} ({p99 * 1e3:.1f} ms)")
    print(f"machine at the end: {machine()}")
    return 1 if bad or len(all_answers) < len(run.samples) else 0


if __name__ == "__main__":
    sys.exit(main())
