"""Benchmark of the schedule engine: lookup cost against a rotation's age, and a year of shifts.

Run: ``python bench/schedule.py`` (or ``--quick`` for a short smoke run). Prints figures only.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.plan.model import Every, Layer, Team, Window  # noqa: E402
from bot.schedule.engine import Override, shifts, who  # noqa: E402

PARIS = ZoneInfo("Europe/Paris")
DAY = 1440


def design_team() -> Team:
    """Four layers in Paris: weekends, weekdays, 12-hour nights, and an always-on fallback; a
    weekly backup."""
    layers = (
        Layer(
            "weekend",
            ("U0ALICE", "U0BOB", "U0CAROL", "U0CEO"),
            datetime(2026, 11, 6, 18),
            Every(1, "w"),
            PARIS,
            (Window(4 * DAY + 18 * 60, 9 * 60),),
        ),
        Layer(
            "weekdays",
            ("U0DAN", "U0ERIN"),
            datetime(2026, 11, 9, 9),
            Every(1, "d"),
            PARIS,
            tuple(Window(d * DAY + 9 * 60, d * DAY + 18 * 60) for d in range(5)),
        ),
        Layer(
            "nights",
            ("U0FRANK", "U0GRACE", "U0HEIDI"),
            datetime(2026, 11, 9, 8),
            Every(12, "h"),
            PARIS,
            tuple(Window(d * DAY + 18 * 60, (d + 1) * DAY + 9 * 60) for d in range(4)),
        ),
        Layer("fallback", ("U0LEAD1", "U0LEAD2"), datetime(2026, 11, 2, 9), Every(1, "w"), PARIS),
    )
    # The backup: the leads, who also hold the fallback layer (so they often meet the pager).
    backup = (
        Layer("leads", ("U0LEAD1", "U0LEAD2"), datetime(2026, 11, 2, 9), Every(1, "w"), PARIS),
    )
    return Team(
        id="support",
        name="Customer support",
        channel="C0SUPPORT",
        timezone=PARIS,
        rotations=layers,
        backup=backup,
    )


def random_overrides(count: int, start: datetime, span: timedelta) -> list[Override]:
    """``count`` overrides of a few hours to a few days, spread over [start, start + span)."""
    rng = random.Random(7)
    found = []
    for _ in range(count):
        begin = start + timedelta(minutes=rng.randrange(int(span.total_seconds() // 60)))
        length = timedelta(minutes=30 * rng.randint(1, 144))
        user = rng.choice(["U0ALICE", "U0BOB", "U0DAN", "U0GRACE", "U0ZED"])
        found.append(Override(user, begin, begin + length, rng.choice(["swap", "cover"])))
    return found


def mean_microseconds(call: Callable[[datetime], object], instants: list[datetime]) -> float:
    """Mean wall time of one call, in microseconds, over the given instants."""
    began = time.perf_counter()
    for instant in instants:
        call(instant)
    return (time.perf_counter() - began) / len(instants) * 1e6


def main(argv: list[str] | None = None) -> None:
    """Print the benchmark figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few repetitions, for a smoke run")
    args = parser.parse_args(argv)
    lookups, repeats = (200, 1) if args.quick else (5000, 5)

    team = design_team()
    start = datetime(2026, 11, 6, 18, tzinfo=PARIS).astimezone(UTC)
    rng = random.Random(1)

    def instants(around: datetime) -> list[datetime]:
        # Spread over a week, so that every kind of shift (and of gap) is looked up.
        return [around + timedelta(minutes=rng.randrange(7 * DAY)) for _ in range(lookups)]

    week = instants(start + timedelta(weeks=1))
    decade = instants(start + timedelta(days=3652))
    early = mean_microseconds(lambda at: who(team, [], at), week)
    late = mean_microseconds(lambda at: who(team, [], at), decade)
    print(f"who(), one week after start:   {early:9.1f} µs per lookup ({lookups} lookups)")
    print(f"who(), ten years after start:  {late:9.1f} µs per lookup ({lookups} lookups)")
    print(f"ratio ten years / one week:    {late / early:9.2f}")
    # The backup is worked out apart from the pager holder: over every span when its people
    # also hold a rotation (the leads here), not at all when they hold none.
    backup = mean_microseconds(lambda at: who(team, [], at, role="backup"), week)
    print(f"who(role='backup'), leads also on the pager:  {backup:9.1f} µs per lookup")
    apart = replace(team, backup=(replace(team.backup[0], members=("U0LEAD3", "U0LEAD4")),))
    backup = mean_microseconds(lambda at: who(apart, [], at, role="backup"), week)
    print(f"who(role='backup'), leads never on the pager: {backup:9.1f} µs per lookup")

    year_start = start + timedelta(days=30)
    year = timedelta(days=365)
    overrides = random_overrides(200, year_start, year)
    durations = []
    for _ in range(repeats):
        began = time.perf_counter()
        found = shifts(team, overrides, year_start, year_start + year)
        durations.append(time.perf_counter() - began)
    print(
        f"shifts() over one year, 4 layers, 200 overrides: {len(found)} shifts, "
        f"{statistics.median(durations) * 1e3:.1f} ms (median of {repeats})"
    )


if __name__ == "__main__":
    main()
