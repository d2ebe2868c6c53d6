"""Asking the team to cover a shift: find my shifts in a span, and give each to the first taker."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.i18n import _
from bot.plan.model import Team
from bot.schedule.roster import Roster
from bot.schedule.swaps import Answer, TeamShift
from bot.schedule.timefmt import UnreadableTime, parse_moment, parse_span, span
from bot.text.escaping import escape
from storage import outbox
from storage.covers import (
    claim_cover,
    close_cover,
    create_cover,
    get_cover,
    store_cover_override,
)
from storage.db import session_scope
from storage.models import CoverRequest
from storage.swaps import lock_team_schedule

if TYPE_CHECKING:
    from bot.slack.metadata import ShiftRef

# One post per shift: a span that holds more of them is most likely a typo.
MAX_PIECES = 10


class CoverProblem(ValueError):
    """A cover that cannot be asked for, in plain words; ``field`` names the form's input at
    fault ("shift", "from" or "to"), when it came from the form."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def _my_teams(roster: Roster, user: str) -> list[Team]:
    teams = roster.teams_of(user)
    if not teams:
        raise CoverProblem(_("You are not in any on-call team, so you have no shift to hand over."))
    return teams


def shifts_in_span(roster: Roster, user: str, text: str, now: datetime) -> list[TeamShift]:
    """The user's shifts in a typed span (read in each team's time), clipped to it and to now."""
    found: list[TeamShift] = []
    for team in _my_teams(roster, user):
        typed = parse_span(text, team.timezone, now)
        if typed.end <= now:
            raise CoverProblem(
                _("{span} is in the past: only shifts still to come can be covered.").format(
                    span=span(typed.start, typed.end, None, team.timezone)
                )
            )
        start = max(typed.start, now)
        for piece in roster.user_shifts(team.id, user, start, typed.end):
            found.append(TeamShift(team, user, piece.start, piece.end))
    if not found:
        team = _my_teams(roster, user)[0]
        typed = parse_span(text, team.timezone, now)
        raise CoverProblem(
            _("You have no shift in {span}.").format(
                span=span(max(typed.start, now), typed.end, None, team.timezone)
            )
        )
    if len(found) > MAX_PIECES:
        raise CoverProblem(
            _("That span holds {count} of your shifts; ask for at most {most} at once.").format(
                count=len(found), most=MAX_PIECES
            )
        )
    return sorted(found, key=lambda s: s.start)


def _moment(text: str, field: str, team: Team, after: datetime, *, strictly: bool) -> datetime:
    try:
        return parse_moment(text, team.timezone, after, strictly=strictly)
    except UnreadableTime as error:
        raise CoverProblem(str(error), field) from None


def part_of_shift(
    roster: Roster, user: str, picked: ShiftRef, start: str, end: str, now: datetime
) -> TeamShift:
    """The part of a shift picked in the /cover form that the typed bounds (team time; empty:
    the whole of what is left) ask to cover, refused in plain words against the input at fault."""
    try:
        team = roster.team(picked.team)
    except LookupError:
        raise CoverProblem(
            _("That team is no longer in the setup: pick another shift."), "shift"
        ) from None
    if picked.end_at <= now:
        raise CoverProblem(_("That shift is over: pick another one."), "shift")
    rest = max(picked.start_at, now)
    held = roster.shifts(team.id, rest, picked.end_at)
    if not (len(held) == 1 and held[0].user == user):
        raise CoverProblem(_("That shift is no longer yours as it was: pick it again."), "shift")
    left = span(rest, picked.end_at, None, team.timezone)
    begin = _moment(start, "from", team, rest, strictly=False) if start else rest
    if begin < now:
        raise CoverProblem(
            _("“{text}” is in the past: a cover starts now at the earliest.").format(text=start),
            "from",
        )
    if begin < rest or begin >= picked.end_at:
        raise CoverProblem(
            _("“{text}” is not within the shift, {span}.").format(text=start, span=left), "from"
        )
    finish = _moment(end, "to", team, begin, strictly=True) if end else picked.end_at
    if finish <= begin:
        raise CoverProblem(
            _("“{text}” is not after the start of the cover.").format(text=end), "to"
        )
    if finish > picked.end_at:
        raise CoverProblem(
            _("“{text}” is after the end of the shift, {span}.").format(text=end, span=left), "to"
        )
    return TeamShift(team, user, begin, finish)


def subject_of(cover_id: int) -> str:
    """The outbox and message subject of a cover request's channel post."""
    return f"cover:{cover_id}"


def cover_id_of(subject: str | None) -> int | None:
    """The cover request a subject names, if it names one."""
    if subject and subject.startswith("cover:") and subject[6:].isdigit():
        return int(subject[6:])
    return None


def put_up(
    engine: Engine, shifts: list[TeamShift], now: datetime, note: str = ""
) -> list[CoverRequest]:
    """Store an open request for each shift (with the requester's note) and queue its channel
    post, in one transaction: the posts go out like every delivery (paced per channel,
    retried, refusals said)."""
    with session_scope(engine) as session:
        covers = []
        for shift in shifts:
            cover = create_cover(
                session=session,
                team=shift.team.id,
                requester=shift.user,
                start=shift.start,
                end=shift.end,
                now=now,
                note=note,
            )
            assert cover.id is not None
            outbox.enqueue(
                session=session, kind=outbox.COVER_SYNC, now=now, subject=subject_of(cover.id)
            )
            covers.append(cover)
        return covers


def withdraw(
    engine: Engine, cover_id: int, notice: dict[str, object] | None, now: datetime
) -> bool:
    """Close a request whose post Slack refused for good (nobody can see it, so nobody can take
    it) and queue ``notice`` to its requester; False when it was no longer open."""
    with session_scope(engine) as session:
        row = get_cover(session=session, cover_id=cover_id)
        if row is None or row.status != "open":
            return False
        close_cover(session=session, cover_id=cover_id, status="cancelled")
        if notice is not None:
            outbox.enqueue(
                session=session,
                kind=outbox.SLACK_POST,
                now=now,
                subject=subject_of(cover_id),
                payload={"user": row.requester, "team": row.team, **notice},
            )
        return True


class Outcome(StrEnum):
    taken = "taken"
    already_taken = "already_taken"
    own = "own"
    not_member = "not_member"
    stale = "stale"
    closed = "closed"
    not_found = "not_found"


# What came of a click on "I'll cover", and the request as it now stands.
Take = Answer[Outcome, CoverRequest]


def take(engine: Engine, roster: Roster, cover_id: int, by: str, now: datetime) -> Take:
    """Give the request to ``by`` if it is still open: the first click wins, the rest are told."""
    with session_scope(engine) as session:
        row = get_cover(session=session, cover_id=cover_id)
        if row is None:
            return Take(Outcome.not_found, None)
        if by == row.requester:
            return Take(Outcome.own, row)
        try:
            team = roster.team(row.team)
        except LookupError:
            gone = _("the team {team} is no longer in the setup file").format(team=escape(row.team))
            return Take(Outcome.closed, row, gone)
        if by not in team.members:
            return Take(Outcome.not_member, row)
        lock_team_schedule(session=session, team=row.team)
        if not claim_cover(session=session, cover_id=cover_id, by=by, now=now):
            session.refresh(row)
            outcome = Outcome.already_taken if row.status == "taken" else Outcome.closed
            return Take(outcome, row)
        session.refresh(row)
        # Time already past stays with whoever held it: only the rest of the span changes hands.
        start = max(row.start, now)
        reason = ""
        if row.end <= now:
            reason = _("the shift is over")
        else:
            pieces = roster.shifts(team.id, start, row.end, session=session)
            if not (len(pieces) == 1 and pieces[0].user == row.requester):
                reason = _("<@{user}>'s shift changed since the request was made").format(
                    user=row.requester
                )
        if reason:
            close_cover(session=session, cover_id=cover_id, status="stale")
            session.refresh(row)
            _queue_post_update(session, cover_id, now, reason)
            return Take(Outcome.stale, row, reason)
        store_cover_override(session=session, cover=row, start=start, now=now)
        _queue_post_update(session, cover_id, now)
        return Take(Outcome.taken, row)


def _queue_post_update(session: Session, cover_id: int, now: datetime, reason: str = "") -> None:
    """Queue the update of the request's channel post, in the transaction that changed it."""
    outbox.enqueue(
        session=session,
        kind=outbox.COVER_SYNC,
        now=now,
        subject=subject_of(cover_id),
        payload={"reason": reason} if reason else None,
        # A reason is said once: it must not fold into a waiting post that carries none.
        coalesce=not reason,
    )
