"""A claimed outbox row as the delivery worker carries it, and what became of it: done,
postponed, to try again, or failed."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot.slack.errors import SlackFailure
from storage.slack_messages import Posted

if TYPE_CHECKING:
    from bot.slack.delivery.content import _Loaded


@dataclass
class Job:
    """One claimed outbox row, detached from its session."""

    id: int
    kind: str
    subject: str | None
    payload: dict[str, Any]
    attempts: int
    claims: int
    created_at: datetime
    # What to record of the messages made for this row, written with its outcome: a retry of a
    # row that posted to some of its recipients finds those posts recorded.
    posts: list[Posted] = field(default_factory=list, compare=False)
    edits: list[Edited] = field(default_factory=list, compare=False)
    # Refusals no retry can mend, met on the way (recorded, and said once, with the outcome),
    # and targets a message went through to (their known problems are over).
    refusals: list[Refusal] = field(default_factory=list, compare=False)
    reached: set[str] = field(default_factory=set, compare=False)
    # Whether this try looked in the conversation for an earlier try's post (the doubt is over),
    # and for which recipients' posts it did.
    looked: bool = field(default=False, compare=False)
    searched: set[str] = field(default_factory=set, compare=False)
    # The alert as read just after the claim (with the others of its batch, in one read).
    loaded: _Loaded | None = field(default=None, compare=False)
    # Alerts that join a roll-up instead of waiting for a message of their own, and roll-ups to
    # bring up to date (an alert of theirs changed): written with the outcome.
    joins: list[Join] = field(default_factory=list, compare=False)
    touched: set[int] = field(default_factory=set, compare=False)

    @property
    def may_have_posted(self) -> bool:
        """Whether an earlier try may have posted: its worker died, or Slack's answer to a post
        was lost (a timeout, a dropped connection, a 5xx) after the message was made."""
        return self.claims > 1

    @property
    def alert_id(self) -> int | None:
        if self.subject and self.subject.startswith("alert:"):
            with contextlib.suppress(ValueError):
                return int(self.subject.removeprefix("alert:"))
        return None


@dataclass(frozen=True)
class Join:
    """An alert joining the roll-up of a channel, or of a user's DMs (``kind``: rollups.CHANNEL
    or rollups.DM)."""

    kind: str
    target: str
    alert_id: int


@dataclass(frozen=True)
class Edited:
    """A message edited to show the content hashed as ``content_hash``."""

    message_id: int
    content_hash: str
    at: datetime


@dataclass(frozen=True)
class Refusal:
    """Slack refusing, for good, a message to ``target`` (a channel, or a user's DM) of ``team``."""

    failure: SlackFailure
    target: str
    team: str | None


@dataclass(frozen=True)
class Postpone:
    """Nothing failed; deliver at ``at`` instead (a card's turn, Slack's Retry-After)."""

    at: datetime


@dataclass(frozen=True)
class RetryLater:
    """A try that failed, to make again at ``at`` (None: after the row's growing wait).

    ``may_have_posted``: a post's answer was lost, so the next try looks for it first;
    ``unknown``: the error is none Slack documents (a few such tries, and the row is failed).
    """

    at: datetime | None
    error: str
    may_have_posted: bool = False
    unknown: bool = False


@dataclass(frozen=True)
class Failed:
    """Given up on: Slack refused the delivery for good (``code``: its error)."""

    error: str
    code: str


Outcome = Postpone | RetryLater | Failed | None


def merged(outcomes: Iterable[Outcome]) -> Outcome:
    """The outcome of a delivery made of parts: tried again if a part failed, postponed to the
    first part's turn if some wait, else done (refusals are kept on the job)."""
    parts = list(outcomes)
    retries = [o for o in parts if isinstance(o, RetryLater)]
    if retries:
        return RetryLater(
            None,
            "; ".join(r.error for r in retries),
            may_have_posted=any(r.may_have_posted for r in retries),
            unknown=any(r.unknown for r in retries),
        )
    waits = [o.at for o in parts if isinstance(o, Postpone)]
    return Postpone(min(waits)) if waits else None
