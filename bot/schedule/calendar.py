"""The final schedule as an iCalendar document: one event per shift, named after the person, in
the language being spoken (its team's)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from icalendar import Calendar, Event

from bot.i18n import N_, _
from bot.plan.model import Team
from bot.schedule import engine as schedule

PRODID = "-//Watchkeeper//On-call schedule//EN"
REFRESH = timedelta(minutes=15)
# How a shift came to its holder, besides a rotation.
_SOURCES = {"swap": N_("swap"), "cover": N_("cover"), "override": N_("override")}


def shift_uid(team: Team, shift: schedule.Shift) -> str:
    """A stable id per (team, start): calendar apps update the event when its holder changes."""
    return f"{team.id}-{shift.start.strftime('%Y%m%dT%H%M%SZ')}@watchkeeper"


def calendar_for(
    team: Team,
    shifts: Sequence[schedule.Shift],
    names: Mapping[str, str],
    generated_at: datetime,
) -> bytes:
    """The team's shifts (gaps left out) as an iCalendar feed."""
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", _("On call: {name}").format(name=team.name))
    cal.add("x-wr-timezone", team.timezone.key)
    # Calendar apps poll subscribed feeds; ask for a refresh every 15 minutes.
    cal.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", REFRESH)
    for shift in shifts:
        if shift.user is None:
            continue
        name = names.get(shift.user, shift.user)
        event = Event()
        event.add("uid", shift_uid(team, shift))
        event.add("dtstamp", generated_at)
        event.add("dtstart", shift.start.astimezone(team.timezone))
        event.add("dtend", shift.end.astimezone(team.timezone))
        event.add("summary", _("On call: {name}").format(name=name))
        said = _("{name} holds the pager for {team} ({source}).")
        event.add(
            "description",
            said.format(name=name, team=team.name, source=_source_words(shift.source)),
        )
        event.add("x-watchkeeper-user", shift.user)
        event.add("x-watchkeeper-source", shift.source)
        event.add("transp", "TRANSPARENT")
        cal.add_component(event)
    cal.add_missing_timezones()
    return cal.to_ical()


def _source_words(source: str) -> str:
    words = []
    for part in source.split("+"):
        if part.startswith("rotation:"):
            words.append(_("rotation {name}").format(name=part.removeprefix("rotation:")))
        else:
            words.append(_(_SOURCES[part]) if part in _SOURCES else part)
    return ", ".join(words)
