"""Which language each reader gets: a person, by their own pick in the App Home, the setup file,
their Slack client and their team; a channel, by its team."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.i18n import ENGLISH, LANGUAGES
from bot.plan.model import Plan, Team
from bot.slack.users import directory
from storage.people import read_chosen_language

if TYPE_CHECKING:
    from bot.app.services import Services


def team_language(team: Team | None) -> str:
    """What a team's channel posts speak: its ``language``, else English."""
    return (team.language if team is not None else None) or ENGLISH


def chosen_language(plan: Plan, user: str, slack_locale: str | None, team: Team | None) -> str:
    """A person's language: ``people.<id>.language``, else their Slack client's, else their
    team's (``team``, or the one team they are in), else English."""
    person = plan.people.get(user)
    if person is not None and person.language:
        return person.language
    if slack_locale:
        return slack_locale
    if team is None:
        theirs = [t for t in plan.teams.values() if user in t.members and t.language]
        team = theirs[0] if len({t.language for t in theirs}) == 1 else None
    return team_language(team)


async def person_language(
    services: Services, user: str, team: Team | None = None, *, look_up: bool = True
) -> str:
    """The language ``user`` reads: their App Home pick, else as chosen_language says (their
    Slack locale is looked up, cached like their zone; without ``look_up``, only if cached)."""
    picked = await services.in_database(read_chosen_language, services.engine, user)
    if picked in LANGUAGES:
        return str(picked)
    plan = services.roster.plan
    person = plan.people.get(user)
    if person is not None and person.language:
        return person.language
    if not look_up:
        known = directory(services).known(user)
        return chosen_language(plan, user, known.locale if known else None, team)
    slack_locale = await directory(services).locale(user)
    return chosen_language(plan, user, slack_locale, team)
