"""Floods rolled up: when more new alerts wait for a channel's turn than it can take in a few
seconds (FLOOD_BACKLOG), the next ones join the channel's roll-up instead of waiting for a card of
their own: one message counting them, updated in place, whose menus open each alert's card with
its buttons. Pages waiting so for one person's DM fold the same way into one DM, whichever teams
they come from. An alert joins in the transaction that settles its delivery (``Job.joins``), so a
worker killed before that leaves it to be delivered again.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.slack.delivery.jobs import Job, Join, Postpone
from bot.slack.gateway import CHANNEL_BURST

# More new alerts than this waiting for one channel's (or DM's) turn make a flood: the next ones
# join its roll-up. A waiting alert counts until it has not been refused a turn for FLOOD_WINDOW.
FLOOD_BACKLOG = CHANNEL_BURST + 1
FLOOD_WINDOW = timedelta(seconds=3)


class FloodWatch:
    """Which new alerts wait for a turn in each conversation, and which join its roll-up."""

    def __init__(self, backlog: int = FLOOD_BACKLOG) -> None:
        # New alerts waiting for one conversation's turn that make a flood (rolled up).
        self.backlog = backlog
        # New alerts refused a turn lately, by channel (a DM's too): alert id -> when; and when an
        # alert last joined the roll-up of each.
        self._waiting: dict[str, dict[int, datetime]] = {}
        self._joined: dict[str, datetime] = {}

    def served(self, channel: str, critical: bool, alert_id: int) -> None:
        """The alert had its turn in ``channel``: it waits there no more."""
        self._waiting.get(_waiting_key(channel, critical), {}).pop(alert_id, None)

    def wait_or_join(
        self,
        job: Job,
        kind: str,
        target: str,
        ready_at: datetime,
        now: datetime,
        pace_key: str | None = None,
        critical: bool = False,
    ) -> Postpone | None:
        """A new alert refused its turn in ``target``: it waits for the next one, or, when more
        than a few wait there, it joins the roll-up of ``target`` (done: the roll-up shows it).
        Critical alerts are counted apart: one is never buried in a flood of milder ones."""
        assert job.alert_id is not None
        waiting = self._waiting.setdefault(_waiting_key(pace_key or target, critical), {})
        waiting[job.alert_id] = now
        for alert_id, at in list(waiting.items()):
            if at < now - FLOOD_WINDOW:
                del waiting[alert_id]
        if len(waiting) < self.backlog:
            return Postpone(ready_at)
        job.joins.append(Join(kind, target, job.alert_id))
        self._joined[_waiting_key(pace_key or target, critical)] = now
        return None

    def flooded(
        self,
        job: Job,
        kind: str,
        target: str,
        now: datetime,
        pace_key: str | None = None,
        critical: bool = False,
    ) -> bool:
        """While a flood goes on (an alert joined the roll-up of ``target`` less than
        FLOOD_WINDOW ago), a new alert joins it too, even in a free turn: the turns are the
        roll-up's, and the conversation stays readable."""
        key = _waiting_key(pace_key or target, critical)
        joined = self._joined.get(key)
        if joined is None or joined < now - FLOOD_WINDOW:
            self._joined.pop(key, None)
            return False
        assert job.alert_id is not None
        job.joins.append(Join(kind, target, job.alert_id))
        self._joined[key] = now
        return True


def _waiting_key(target: str, critical: bool) -> str:
    return f"{target} critical" if critical else target
