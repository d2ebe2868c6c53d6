"""A channel's posting pace booked in PostgreSQL: the same turns as one process keeps in memory,
and replicas booking the same channel share them rather than each taking a full pace."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from bot.slack.gateway import ChannelPace
from storage.db import make_engine
from storage.migrate import upgrade
from storage.pace import take_turn

T = datetime(2026, 12, 4, 23, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)
BURST = 2


@pytest.fixture
def replicas(postgres_url: str) -> Iterator[list[Engine]]:
    """Two engines on one PostgreSQL database, as two replicas would have."""
    engines = [make_engine(postgres_url) for _ in range(2)]
    upgrade(engines[0])
    try:
        yield engines
    finally:
        for engine in engines:
            engine.dispose()


def at(seconds: float) -> datetime:
    return T + timedelta(seconds=seconds)


# (seconds after T, channel): the turns asked for, in order.
ASKED = [
    (0, "C1"),
    (0, "C1"),
    (0, "C1"),  # the burst is spent: the next turn is a second away
    (0.5, "C1"),
    (0.5, "C2"),  # another channel has its own turns
    (1, "C1"),
    (1, "C1"),
    (1.25, "C1"),
    (2.5, "C1"),
    (9, "C1"),  # a quiet spell refills the burst, no more
    (9, "C1"),
    (9, "C1"),
    (9.999, "C1"),
    (10, "C1"),
]


def test_turns_booked_in_postgresql_are_the_ones_one_process_keeps(replicas: list[Engine]) -> None:
    memory = ChannelPace(rate=1.0, burst=BURST)
    booked = [
        take_turn(replicas[0], channel, at(s), interval=SECOND, burst=BURST) for s, channel in ASKED
    ]
    kept = [memory.take(channel, at(s)) for s, channel in ASKED]
    assert booked == kept
    assert booked == [
        None,
        None,
        at(1),
        at(1),
        None,
        None,
        at(2),
        at(2),
        None,
        None,
        None,
        at(10),
        at(10),
        None,
    ]


def test_two_replicas_share_one_channels_turns(replicas: list[Engine]) -> None:
    first, second = replicas
    granted = []
    for s in (0, 0, 0, 0, 1, 1, 2, 2):
        for engine in (first, second):
            turn = take_turn(engine, "C1", at(s), interval=SECOND, burst=BURST)
            granted.append((s, engine is first, turn is None))
    # Between them, a burst of two, then one a second: what one process alone would take.
    assert [(s, mine) for s, mine, ok in granted if ok] == [
        (0, True),
        (0, False),
        (1, True),
        (2, True),
    ]


def test_replicas_racing_for_one_channel_get_one_burst_between_them(
    replicas: list[Engine],
) -> None:
    contenders = 8
    barrier = threading.Barrier(contenders)
    turns: list[datetime | None] = []
    errors: list[BaseException] = []

    def book(engine: Engine) -> None:
        try:
            barrier.wait(timeout=10)
            turns.append(take_turn(engine, "C1", T, interval=SECOND, burst=BURST))
        except BaseException as error:  # reported below, with the others
            errors.append(error)

    threads = [threading.Thread(target=book, args=(replicas[n % 2],)) for n in range(contenders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors
    assert sorted(turns, key=lambda t: t or T) == [None] * BURST + [at(1)] * (contenders - BURST)


def test_bookings_are_not_written_to_the_wal(replicas: list[Engine]) -> None:
    # Worth a second each: a booking's commit waits for no disk flush, and a crash only empties
    # the table (every channel starts again with a full burst).
    with replicas[0].connect() as connection:
        persistence = connection.execute(
            text("SELECT relpersistence FROM pg_class WHERE relname = 'channel_pace'")
        ).scalar_one()
    assert persistence == "u"  # UNLOGGED


def test_a_pace_without_turns_is_refused(replicas: list[Engine]) -> None:
    with pytest.raises(ValueError, match="a burst of at least 1 and a positive interval"):
        take_turn(replicas[0], "C1", T, interval=SECOND, burst=0)
    with pytest.raises(ValueError, match="a burst of at least 1 and a positive interval"):
        take_turn(replicas[0], "C1", T, interval=timedelta(0), burst=2)
