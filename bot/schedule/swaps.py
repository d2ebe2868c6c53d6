"""Swapping shifts between two teammates: find the shifts, ask, decide once, apply both halves."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Generic, TypeVar

from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.i18n import _
from bot.plan.model import Team
from bot.schedule import engine as schedule
from bot.schedule.roster import Roster
from bot.schedule.timefmt import day_name, day_span
from bot.text.escaping import escape
from storage.db import session_scope
from storage.models import SwapRequest
from storage.swaps import (
    accept_swap,
    create_swap,
    decline_swap,
    get_swap,
    lock_team_schedule,
    mark_swap_stale,
)

# How far ahead "my upcoming shifts" look: the engine's own horizon.
UPCOMING = schedule.HORIZON

OutcomeT = TypeVar("OutcomeT", bound=StrEnum)
RequestT = TypeVar("RequestT")


class SwapProblem(ValueError):
    """A swap that cannot be made, in plain words; ``field`` names the modal input at fault."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class TeamShift:
    """A shift of one person in one team: a maximal span in the final schedule."""

    team: Team
    user: str
    start: datetime
    end: datetime


@dataclass(frozen=True)
class Answer(Generic[OutcomeT, RequestT]):
    """What came of a click on a request's buttons (a swap's, a cover's), and the request as it
    now stands (None when it no longer exists); ``reason`` says why it could not be applied."""

    outcome: OutcomeT
    request: RequestT | None
    reason: str = ""


@dataclass(frozen=True)
class SwapPlan:
    """A checked request: my shift for theirs, in one team."""

    team: Team
    mine: TeamShift
    theirs: TeamShift


def holding_shift(
    roster: Roster, team: Team, at: datetime, session: Session | None = None
) -> schedule.Holding:
    """Who holds the team's pager at ``at``, with the bounds of that maximal shift."""
    overrides = roster.overrides(team.id, at, at, session)
    return schedule.who(team, overrides, at)


def upcoming_shifts(
    roster: Roster, user: str, now: datetime, limit: int = 10, include_running: bool = False
) -> list[TeamShift]:
    """The user's next shifts across their teams, soonest first: those not started yet, and
    with ``include_running`` the one under way too."""
    found: list[TeamShift] = []
    for team in roster.teams_of(user):
        for shift in roster.user_shifts(team.id, user, now, now + UPCOMING):
            if shift.start > now or include_running:
                found.append(TeamShift(team, user, shift.start, shift.end))
    found.sort(key=lambda s: s.start)
    # Pieces cut by the look-ahead (or by now) are shown whole.
    return [_unclipped(roster, s) for s in found[:limit]]


def _unclipped(roster: Roster, shift: TeamShift) -> TeamShift:
    held = holding_shift(roster, shift.team, shift.start)
    if held.user == shift.user and held.since is not None and held.until is not None:
        return TeamShift(shift.team, shift.user, held.since, held.until)
    return shift


def shift_on_day(roster: Roster, team: Team, user: str, day: date) -> TeamShift | None:
    """The user's first shift overlapping a day of the team's calendar, whole."""
    start, end = day_span(day, team.timezone)
    for piece in roster.user_shifts(team.id, user, start, end):
        return _unclipped(roster, TeamShift(team, user, piece.start, piece.end))
    return None


def _check_not_started(shift: TeamShift, now: datetime, *, mine: bool) -> None:
    field = "my_shift" if mine else "their_shift"
    if shift.end <= now:
        past = (
            _("Your shift on that day is in the past.")
            if mine
            else _("Their shift on that day is in the past.")
        )
        raise SwapProblem(past, field)
    if shift.start <= now:
        started = (
            _("Your shift on that day has already started.")
            if mine
            else _("Their shift on that day has already started.")
        )
        rule = _(
            "Only shifts still to come can be swapped (/cover hands over the rest of a running "
            "shift)."
        )
        raise SwapProblem(f"{started} {rule}", field)


def common_teams(roster: Roster, requester: str, target: str) -> list[Team]:
    """The requester's teams that the target is a member of, refused in plain words if none."""
    if requester == target:
        raise SwapProblem(_("You can't swap with yourself: pick a teammate."), "teammate")
    mine = roster.teams_of(requester)
    if not mine:
        raise SwapProblem(_("You are not in any on-call team, so you have no shift to swap."))
    shared = [team for team in mine if target in team.members]
    if not shared:
        names = ", ".join(escape(team.name) for team in mine)
        raise SwapProblem(
            _(
                "<@{target}> is not in your team ({teams}), so you can't swap shifts with them."
            ).format(target=target, teams=names),
            "teammate",
        )
    return shared


def _no_shift_of(target: str, team: Team, day: date) -> str:
    return _("<@{target}> has no shift in {team} on {day}.").format(
        target=target, team=escape(team.name), day=day_name(day)
    )


def plan_by_days(
    roster: Roster, requester: str, target: str, my_day: date, their_day: date, now: datetime
) -> SwapPlan:
    """The swap `/swap @them <my day> <their day>` asks for: each day picks that person's shift."""
    problem: SwapProblem | None = None
    for team in common_teams(roster, requester, target):
        try:
            mine = shift_on_day(roster, team, requester, my_day)
            if mine is None:
                raise SwapProblem(
                    _("You have no shift in {team} on {day}.").format(
                        team=escape(team.name), day=day_name(my_day)
                    )
                )
            theirs = shift_on_day(roster, team, target, their_day)
            if theirs is None:
                raise SwapProblem(_no_shift_of(target, team, their_day))
            _check_not_started(mine, now, mine=True)
            _check_not_started(theirs, now, mine=False)
            return SwapPlan(team, mine, theirs)
        except SwapProblem as error:
            problem = problem or error
    assert problem is not None
    raise problem


def plan_by_choice(
    roster: Roster,
    requester: str,
    target: str,
    team_id: str,
    my_start: datetime,
    my_end: datetime,
    their_day: date,
    now: datetime,
) -> SwapPlan:
    """The swap the modal asks for: a shift of mine picked from a list, theirs by a day."""
    teams = common_teams(roster, requester, target)
    team = next((t for t in teams if t.id == team_id), None)
    if team is None:
        raise SwapProblem(
            _("<@{target}> is not in the team of the shift you picked.").format(target=target),
            "teammate",
        )
    mine = TeamShift(team, requester, my_start, my_end)
    if not _holds(roster, team, requester, my_start, my_end):
        raise SwapProblem(_("That shift is no longer yours: pick another one."), "my_shift")
    _check_not_started(mine, now, mine=True)
    theirs = shift_on_day(roster, team, target, their_day)
    if theirs is None:
        raise SwapProblem(_no_shift_of(target, team, their_day), "their_shift")
    _check_not_started(theirs, now, mine=False)
    return SwapPlan(team, mine, theirs)


def _holds(
    roster: Roster,
    team: Team,
    user: str,
    start: datetime,
    end: datetime,
    session: Session | None = None,
) -> bool:
    """Whether ``user`` holds the team's pager over the whole of [start, end)."""
    pieces = roster.shifts(team.id, start, end, session=session)
    return len(pieces) == 1 and pieces[0].user == user


def request_swap(engine: Engine, plan: SwapPlan, now: datetime) -> SwapRequest:
    """Store the request; the teammate is asked next."""
    with session_scope(engine) as session:
        return create_swap(
            session=session,
            team=plan.team.id,
            requester=plan.mine.user,
            requester_start=plan.mine.start,
            requester_end=plan.mine.end,
            target=plan.theirs.user,
            target_start=plan.theirs.start,
            target_end=plan.theirs.end,
            now=now,
        )


class Outcome(StrEnum):
    accepted = "accepted"
    declined = "declined"
    stale = "stale"
    not_yours = "not_yours"
    already_decided = "already_decided"
    not_found = "not_found"


# What came of a click on Accept or Decline, and the request as it now stands.
Decision = Answer[Outcome, SwapRequest]


def _still_valid(
    roster: Roster, team: Team, row: SwapRequest, now: datetime, session: Session
) -> str:
    """Why the request can no longer be applied, or "" when it still can."""
    if min(row.requester_start, row.target_start) <= now:
        return _("one of the two shifts has already started")
    if not _holds(roster, team, row.requester, row.requester_start, row.requester_end, session):
        return _("<@{user}>'s shift changed since the request was made").format(user=row.requester)
    if not _holds(roster, team, row.target, row.target_start, row.target_end, session):
        return _("<@{user}>'s shift changed since the request was made").format(user=row.target)
    return ""


def decide(
    engine: Engine, roster: Roster, swap_id: int, by: str, accept: bool, now: datetime
) -> Decision:
    """Accept or decline a request, once, as its target; accepting re-checks both shifts and
    stores both halves in the same transaction."""
    with session_scope(engine) as session:
        row = get_swap(session=session, swap_id=swap_id)
        if row is None:
            return Decision(Outcome.not_found, None)
        if by != row.target:
            return Decision(Outcome.not_yours, row)
        lock_team_schedule(session=session, team=row.team)
        if row.status != "pending":
            return Decision(Outcome.already_decided, row)
        if not accept:
            decided = decline_swap(session=session, swap_id=swap_id, now=now)
            return Decision(Outcome.declined if decided else Outcome.already_decided, row)
        try:
            team = roster.team(row.team)
        except LookupError:
            reason = _("the team {team} is no longer in the setup file").format(
                team=escape(row.team)
            )
        else:
            reason = _still_valid(roster, team, row, now, session)
        if reason:
            if not mark_swap_stale(session=session, swap_id=swap_id, now=now):
                return Decision(Outcome.already_decided, row)
            return Decision(Outcome.stale, row, reason)
        if accept_swap(session=session, swap_id=swap_id, by=by, now=now) is None:
            return Decision(Outcome.already_decided, row)
        return Decision(Outcome.accepted, row)
