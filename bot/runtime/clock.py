"""Where the time comes from, and how long a wait takes: the system clock in production, a fixed
one in tests."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, UTC-aware."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait until ``seconds`` have passed on this clock."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class FixedClock:
    """A clock that only moves when told to. A wait takes real time and leaves it where it is;
    with ``waits_move_it``, a wait moves it on that far at once instead (minutes pass in no
    time)."""

    def __init__(self, at: datetime, *, waits_move_it: bool = False) -> None:
        if at.tzinfo is None:
            raise ValueError("FixedClock needs an aware datetime")
        self._at = at.astimezone(UTC)
        self.waits_move_it = waits_move_it

    def now(self) -> datetime:
        return self._at

    async def sleep(self, seconds: float) -> None:
        if not self.waits_move_it:
            await asyncio.sleep(seconds)
            return
        self.advance(timedelta(seconds=max(seconds, 0.0)))
        await asyncio.sleep(0)  # others waiting on the event loop have their turn

    def set(self, at: datetime) -> None:
        self._at = at.astimezone(UTC)

    def advance(self, delta: timedelta) -> None:
        self._at += delta
