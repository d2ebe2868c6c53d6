"""/oncall: who holds the pager now, the next seven days, my own shifts, and help."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from bot.enums import Command
from bot.i18n import _, speaking
from bot.plan.model import Team
from bot.schedule.roster import Roster, UnknownTeam
from bot.schedule.swaps import upcoming_shifts
from bot.slack.blocks import Message, message, text_message
from bot.slack.blocks.oncall import help_message, my_shifts_message, status_message, week_message
from bot.slack.language import person_language
from bot.slack.users import directory
from bot.text.escaping import escape, quoted, typed
from handlers.forms import HELP

if TYPE_CHECKING:
    from slack_bolt.async_app import AsyncApp

    from bot.app.services import Services

logger = logging.getLogger(__name__)

WEEK = timedelta(days=7)
MY_SHIFTS = 10
# The words after /oncall, in English, French and Portuguese, whatever the reader's language
# (and HELP, as every command takes it).
ME = frozenset({"me", "moi", "eu"})
WEEK_WORDS = frozenset({"week", "semaine", "semana"})


def find_team(roster: Roster, word: str) -> Team:
    """The team typed after /oncall, by id, ignoring case."""
    teams = roster.plan.teams
    if word in teams:
        return teams[word]
    for team_id, team in teams.items():
        if team_id.lower() == word.lower():
            return team
    raise UnknownTeam(word, sorted(teams))


def unknown_team_text(error: UnknownTeam) -> str:
    known = ", ".join(f"`{escape(t)}`" for t in error.known) or _("none are set up yet")
    return _("I don't know a team called {team}. Teams: {known}.").format(
        team=quoted(error.team), known=known
    )


def _week(roster: Roster, team: Team, now: datetime, viewer: ZoneInfo | None) -> Message:
    # Whole shifts: the one under way from its real start, the last one to its real end, not
    # cut at now or seven days later (which would read like hand-offs at those minutes).
    return week_message(team, roster.whole_shifts(team.id, now, now + WEEK), viewer, now)


def answer(roster: Roster, user: str, text: str, now: datetime, viewer: ZoneInfo | None) -> Message:
    """What /oncall answers ``user`` who typed ``text``."""
    words = text.split()
    lowered = [w.lower() for w in words]
    if len(lowered) == 1 and lowered[0] in HELP:
        return help_message(sorted(roster.plan.teams))
    if len(lowered) == 1 and lowered[0] in ME:
        if not roster.teams_of(user):
            return text_message(_("You are not in any on-call team, so you have no shifts."))
        mine = upcoming_shifts(roster, user, now, limit=MY_SHIFTS, include_running=True)
        return my_shifts_message(mine, viewer)
    week = bool(lowered) and lowered[-1] in WEEK_WORDS
    if week:
        words = words[:-1]
    if len(words) > 1:
        return text_message(
            _(
                "I could not read {text}: try `/oncall`, `/oncall &lt;team&gt;`, "
                "`/oncall [team] week`, `/oncall me` or `/oncall help`."
            ).format(text=quoted(text.strip()))
        )
    if words:
        try:
            teams = [find_team(roster, words[0])]
        except UnknownTeam as error:
            return text_message(unknown_team_text(error))
    else:
        mine_teams = roster.teams_of(user)
        teams = mine_teams if len(mine_teams) == 1 else list(roster.plan.teams.values())
    if week:
        messages = [_week(roster, team, now, viewer) for team in teams]
        return message(
            "; ".join(m["text"] for m in messages), [b for m in messages for b in m["blocks"]]
        )
    return status_message([roster.status(team.id, now) for team in teams], viewer)


def register(bolt: AsyncApp, services: Services) -> None:
    @bolt.command(Command.oncall.value)
    async def oncall(ack: Any, command: dict[str, Any], respond: Any) -> None:
        await ack()
        user = command["user_id"]
        viewer = await directory(services).tz(user)
        with speaking(await person_language(services, user)):
            reply = await services.in_database(
                answer, services.roster, user, typed(command), services.clock.now(), viewer
            )
        await respond(response_type="ephemeral", **reply)
