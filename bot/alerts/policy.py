"""The escalation policy as data: which step of a team's policy pages whom, and what comes next.

Pure: the callers hand in who holds the pager and the backup at the instant they care about;
nothing here reads the clock or the database.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.plan.model import EscalationStep, NotifyTarget, Team, WakePolicy

# The policy of a team whose setup names none: the pager holder, the backup when the team has
# one, then leadership. The wait matches the setup file's documented default.
DEFAULT_WAIT = timedelta(minutes=15)


@dataclass(frozen=True)
class Responders:
    """Who a step can reach at one instant: the pager holder, the backup, leadership."""

    oncall: str | None
    backup: str | None
    leadership: tuple[str, ...] = ()


@dataclass(frozen=True)
class StepChoice:
    """The step an alert moves to, the users it pages, and the steps passed over to get there."""

    index: int  # 0-based position in the team's policy
    step: EscalationStep
    users: tuple[str, ...]
    skipped: tuple[int, ...]  # earlier steps passed over because they reached nobody new
    is_last: bool

    @property
    def number(self) -> int:
        """The step as people count it, from 1."""
        return self.index + 1

    def next_escalation_at(self, now: datetime) -> datetime | None:
        """When the alert moves on if nobody acknowledges it (None: this is the end of the line)."""
        if self.is_last or self.step.wait is None:
            return None
        return now + self.step.wait


def steps_of(team: Team, leadership: Sequence[str]) -> tuple[EscalationStep, ...]:
    """The team's escalation steps, or the default policy when the setup names none."""
    if team.escalation:
        return team.escalation
    steps = [EscalationStep(NotifyTarget.oncall, wait=DEFAULT_WAIT)]
    if team.backup:
        steps.append(EscalationStep(NotifyTarget.backup, wait=DEFAULT_WAIT))
    if leadership:
        steps.append(EscalationStep(NotifyTarget.leadership))
    return tuple(steps)


def targets(step: EscalationStep, responders: Responders) -> tuple[str, ...]:
    """The users a step pages, in order and without repeats (empty in a gap)."""
    if step.notify is NotifyTarget.oncall:
        users: Sequence[str] = [responders.oncall] if responders.oncall else []
    elif step.notify is NotifyTarget.backup:
        users = [responders.backup] if responders.backup else []
    elif step.notify is NotifyTarget.leadership:
        users = responders.leadership
    else:
        users = step.users
    return tuple(dict.fromkeys(users))


def first_step(steps: Sequence[EscalationStep], responders: Responders) -> StepChoice | None:
    """The step a new alert starts at: the first one that reaches somebody (None: nobody at all)."""
    return next_step(steps, -1, responders)


def next_step(
    steps: Sequence[EscalationStep],
    current: int,
    responders: Responders,
    already_paged: Collection[str] = (),
) -> StepChoice | None:
    """The first step after ``current`` that pages somebody not paged before, or None.

    A step that reaches nobody (a gap, a team without a backup at that moment) or only people who
    were already paged about the alert is passed over at once: waiting on it would only delay the
    next person who can help.
    """
    skipped: list[int] = []
    for index in range(max(current + 1, 0), len(steps)):
        step = steps[index]
        users = tuple(u for u in targets(step, responders) if u not in already_paged)
        if users:
            return StepChoice(
                index=index,
                step=step,
                users=users,
                skipped=tuple(skipped),
                is_last=index == len(steps) - 1,
            )
        skipped.append(index)
    return None


def first_wake(policy: WakePolicy, severity: str, now: datetime) -> datetime:
    """When the person an alert pages is first woken, from their team's ``wake`` policy: at once
    for the severities the team wakes people for now; else ``after`` later."""
    return now if severity in policy.now else now + policy.after
