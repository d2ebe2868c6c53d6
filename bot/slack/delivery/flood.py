"""Floods rolled up: when more new alerts wait for a channel's turn than it can take in a few
seconds (FLOOD_BACKLOG), the next ones join the channel's roll-up instead of waiting for a card of
their own: one message counting them, updated in place, whose menus open each alert's card with
its buttons. Pages waiting so for one person's DM fold the same way into one DM, whichever teams
they come from. An alert joins in the transaction that settles its delivery (``Job.joins``), so a
worker killed before that leaves it to be delivered again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.slack.delivery.jobs import Job, Join, Postpone
from bot.slack.gateway import CHANNEL_BURST

# More new alerts than this waiting for one channel's (or DM's) turn make a flood: the next ones
# join its roll-up. A waiting alert counts until it has not been refused a turn for FLOOD_WINDOW.
FLOOD_BACKLOG = CHANNEL_BURST + 1
FLOOD_WINDOW = timedelta(seconds=3)


@dataclass(frozen=True)
class Newcomer:
    """A new alert's first message to ``target`` (a channel, or a person's DM): the roll-up it
    would join (``kind``), the conversation whose turns it waits for (``channel``), and whether it
    is critical (counted apart: one is never buried in a flood of milder ones)."""

    job: Job
    kind: str
    target: str
    channel: str
    critical: bool

    @property
    def key(self) -> str:
        """What its waiting and joining are counted by."""
        return f"{self.channel} critical" if self.critical else self.channel


class FloodWatch:
    """Which new alerts wait for a turn in each conversation, and which join its roll-up."""

    def __init__(self, backlog: int = FLOOD_BACKLOG) -> None:
        # New alerts waiting for one conversation's turn that make a flood (rolled up).
        self.backlog = backlog
        # New alerts refused a turn lately, by channel (a DM's too): alert id -> when; and when an
        # alert last joined the roll-up of each.
        self._waiting: dict[str, dict[int, datetime]] = {}
        self._joined: dict[str, datetime] = {}

    def served(self, new: Newcomer) -> None:
        """The alert had its turn: it waits there no more."""
        self._waiting.get(new.key, {}).pop(_alert_id(new), None)

    def wait_or_join(self, new: Newcomer, ready_at: datetime, now: datetime) -> Postpone | None:
        """A new alert refused its turn: it waits for the next one, or, when more than a few
        wait there, it joins the roll-up of its target (done: the roll-up shows it)."""
        waiting = self._waiting.setdefault(new.key, {})
        waiting[_alert_id(new)] = now
        for alert_id, at in list(waiting.items()):
            if at < now - FLOOD_WINDOW:
                del waiting[alert_id]
        if len(waiting) < self.backlog:
            return Postpone(ready_at)
        self._join(new, now)
        return None

    def flooded(self, new: Newcomer, now: datetime) -> bool:
        """While a flood goes on (an alert joined the roll-up of its target less than
        FLOOD_WINDOW ago), a new alert joins it too, even in a free turn: the turns are the
        roll-up's, and the conversation stays readable."""
        joined = self._joined.get(new.key)
        if joined is None or joined < now - FLOOD_WINDOW:
            self._joined.pop(new.key, None)
            return False
        self._join(new, now)
        return True

    def _join(self, new: Newcomer, now: datetime) -> None:
        """The alert joins the roll-up of its target, which was joined at ``now``."""
        new.job.joins.append(Join(new.kind, new.target, _alert_id(new)))
        self._joined[new.key] = now


def _alert_id(new: Newcomer) -> int:
    assert new.job.alert_id is not None
    return new.job.alert_id
