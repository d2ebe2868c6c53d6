"""The on-call plan as loaded from the setup file: plain, validated, immutable data."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from enum import StrEnum
from typing import Literal
from zoneinfo import ZoneInfo

DurationUnit = Literal["m", "h", "d", "w"]


@dataclass(frozen=True)
class Every:
    """A shift length on the local clock: N hours, days or weeks."""

    count: int
    unit: DurationUnit

    def wall_delta(self, k: int) -> timedelta:
        """The wall-clock offset of shift k from the rotation start."""
        n = self.count * k
        if self.unit == "m":
            return timedelta(minutes=n)
        if self.unit == "h":
            return timedelta(hours=n)
        if self.unit == "d":
            return timedelta(days=n)
        return timedelta(weeks=n)

    def __str__(self) -> str:
        return f"{self.count}{self.unit}"


@dataclass(frozen=True)
class Window:
    """A weekly window on the local clock, in minutes from Monday 00:00.

    ``end`` is exclusive and may be smaller than ``start`` (the window wraps the end of the week);
    ``end == start`` never happens (validation refuses empty windows).
    """

    start: int
    end: int

    def contains(self, minute_of_week: int) -> bool:
        if self.start < self.end:
            return self.start <= minute_of_week < self.end
        return minute_of_week >= self.start or minute_of_week < self.end


@dataclass(frozen=True)
class Layer:
    """One rotation: members take turns, shift k starting at the wall time start + k x every."""

    name: str
    members: tuple[str, ...]
    start: datetime  # naive, wall time in ``timezone``
    every: Every
    timezone: ZoneInfo
    only: tuple[Window, ...] = ()


class NotifyTarget(StrEnum):
    oncall = "oncall"
    backup = "backup"
    leadership = "leadership"
    users = "users"


@dataclass(frozen=True)
class EscalationStep:
    notify: NotifyTarget
    users: tuple[str, ...] = ()  # when notify is ``users``
    wait: timedelta | None = None  # None: the last step


@dataclass(frozen=True)
class WakePolicy:
    """When to wake the person an alert pages: at once for the severities in ``now``, else after
    ``after`` without an acknowledgement; again every ``every``, at most ``times`` in all."""

    now: frozenset[str] = frozenset({"critical"})
    after: timedelta = timedelta(minutes=5)
    every: timedelta = timedelta(minutes=5)
    times: int = 3


@dataclass(frozen=True)
class Person:
    """What the setup file says about one person: the Apprise URLs that wake them (``${VAR}``
    still unread: a URL is read from the environment when it is used), and their language."""

    wake: tuple[str, ...] = ()
    language: str | None = None  # None: their Slack locale, else their team's language


@dataclass(frozen=True)
class Team:
    id: str
    name: str
    channel: str
    timezone: ZoneInfo
    rotations: tuple[Layer, ...]
    backup: tuple[Layer, ...] = ()
    escalation: tuple[EscalationStep, ...] = ()
    leadership_now: frozenset[str] = frozenset()
    reminder: timedelta | None = None
    usergroup: str | None = None
    wake: WakePolicy = field(default_factory=WakePolicy)
    language: str | None = None  # what its channel posts speak; None: English

    @property
    def members(self) -> frozenset[str]:
        """Everyone who appears in a rotation or backup layer of the team."""
        return frozenset(m for layer in (*self.rotations, *self.backup) for m in layer.members)


IntegrationKind = Literal["alertmanager", "grafana", "pagerduty", "opsgenie", "generic", "email"]


@dataclass(frozen=True)
class Integration:
    id: str
    kind: IntegrationKind
    team: str
    token_env: str


@dataclass(frozen=True)
class Digest:
    """When leadership gets the weekly digest: a weekday (0 = Monday) and a wall time."""

    weekday: int = 0
    at: time = time(9, 0)
    timezone: ZoneInfo | None = None  # None: the plan's zone


# What a runbook condition is read against besides labels: the alert's own fields.
RUNBOOK_FIELDS = ("team", "severity", "customer")


@dataclass(frozen=True)
class Condition:
    """One condition of a runbook: a label (or the alert's team, severity or customer) equal to
    ``value``, or, written as /…/, matching the regular expression ``pattern`` somewhere."""

    key: str
    value: str
    pattern: re.Pattern[str] | None = None

    def holds_for(self, found: str) -> bool:
        """Whether a value the alert carries meets the condition."""
        if self.pattern is not None:
            return self.pattern.search(found) is not None
        return found == self.value


@dataclass(frozen=True)
class Runbook:
    """What to do about the alerts that meet every condition: a link, a short text, or both."""

    match: tuple[Condition, ...]
    url: str | None = None
    text: str | None = None
    line: int = 0  # where the setup file gives it, for whoever wonders why it was picked


@dataclass(frozen=True)
class Heartbeat:
    """Something that must keep calling in: a ping at least ``every``, give or take ``grace``."""

    name: str
    team: str
    every: Every
    grace: timedelta
    token_env: str


# What Slack calls the people under ``leadership`` unless the setup file says otherwise.
DEFAULT_LEADERSHIP_TITLE = "CEO"


@dataclass(frozen=True)
class Plan:
    timezone: ZoneInfo
    teams: dict[str, Team]
    leadership: tuple[str, ...] = ()
    # The role's name in Slack: the "Escalate to CEO" button, its dialog and its answers.
    leadership_title: str = DEFAULT_LEADERSHIP_TITLE
    integrations: dict[str, Integration] = field(default_factory=dict)
    source: str = "oncall.yaml"
    digest: Digest = field(default_factory=Digest)
    runbooks: tuple[Runbook, ...] = ()  # first match first
    heartbeats: dict[str, Heartbeat] = field(default_factory=dict)
    people: dict[str, Person] = field(default_factory=dict)
