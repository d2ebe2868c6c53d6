"""A Slack channel's posting pace, kept in the database so that every replica keeps it together.

Slack takes about one message a second in a channel, with short bursts. One process keeps that
pace in memory (``bot.slack.gateway.ChannelPace``); replicas sharing PostgreSQL book their turns
here, or two of them posting into one channel would go at twice the pace and draw 429s.

The bucket of ``burst`` turns refilled one every ``interval`` is kept as one instant per channel,
the end of the turns booked so far (the generic cell rate algorithm): a turn is free at ``now``
while that instant is less than ``burst`` intervals ahead of it, and taking it books one more
interval. One statement, committed on its own, books a turn; concurrent bookers of one channel
queue on its row. The table is UNLOGGED (migration 0007): a booking's commit waits for no disk.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Interval, bindparam, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Engine

from storage.models import ChannelPace
from storage.types import UTCDateTime

_PACE = ChannelPace.__table__  # type: ignore[attr-defined]


def take_turn(
    engine: Engine, channel: str, now: datetime, *, interval: timedelta, burst: int
) -> datetime | None:
    """Take the channel's posting turn at ``now`` (None: post now), or say when the next comes
    (nothing is booked then). PostgreSQL only."""
    if burst < 1 or interval <= timedelta(0):
        raise ValueError(f"a pace needs a burst of at least 1 and a positive interval, got {burst}")
    slack = interval * (burst - 1)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        booked = connection.execute(
            _BOOK,
            {
                "channel": channel,
                "now": now,
                "interval": interval,
                "first": now + interval,
                "latest": now + slack,
            },
        ).scalar()
        if booked is not None:
            return None
        booked_until = connection.execute(_BOOKED, {"channel": channel}).scalar_one()
    return booked_until - slack


# Book a turn: a channel's first, or the next one after those booked, if it is free now.
_BOOK = (
    pg_insert(_PACE)
    .values(channel=bindparam("channel"), booked_until=bindparam("first"))
    .on_conflict_do_update(
        index_elements=[_PACE.c.channel],
        set_={
            "booked_until": func.greatest(
                _PACE.c.booked_until, bindparam("now", type_=UTCDateTime())
            )
            + bindparam("interval", type_=Interval())
        },
        where=_PACE.c.booked_until <= bindparam("latest", type_=UTCDateTime()),
    )
    .returning(_PACE.c.booked_until)
)
_BOOKED = select(_PACE.c.booked_until).where(_PACE.c.channel == bindparam("channel"))
