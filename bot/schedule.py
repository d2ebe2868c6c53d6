"""The schedule engine: who holds the pager at an instant, and the final schedule over a range.

Pure: every function takes the instant(s) it needs; nothing here reads the clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from bot.plan import Layer, Team

Role = Literal["oncall", "backup"]


@dataclass(frozen=True)
class Override:
    """A runtime change to the plan: ``user`` holds the pager (or backup) over [start, end)."""

    user: str
    start: datetime  # UTC-aware
    end: datetime  # UTC-aware, exclusive
    source: str  # "swap" | "cover" | "override"
    role: Role = "oncall"
    id: int | None = None


@dataclass(frozen=True)
class Shift:
    """A maximal span held by one person (``user`` None: a gap)."""

    user: str | None
    start: datetime  # UTC-aware
    end: datetime  # UTC-aware, exclusive
    source: str  # "rotation:<name>" | "swap" | "cover" | "override" | "gap"


@dataclass(frozen=True)
class Holding:
    """Who holds a role at an instant, since and until when (None where unbounded)."""

    user: str | None
    since: datetime | None
    until: datetime | None
    source: str
