"""Times as people read and type them: instants shown in the viewer's zone (naming the team's
zone where it differs), and the dates and spans typed after /swap and /cover read in team time."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import partial
from zoneinfo import ZoneInfo

from babel.dates import format_skeleton, get_timezone_location

from bot.i18n import ENGLISH, N_, _, current, locale
from bot.schedule.engine import resolve_wall
from bot.text.escaping import escape, quoted

OPEN_END = "…"
DATE_HINT = N_("write dates as YYYY-MM-DD, e.g. 2026-11-28")
MOMENT_HINT = N_("write 2026-11-28 10:00, sat 10:00 or 10:00 (24h, team time)")
SPAN_HINT = N_(
    "write a day (2026-11-28), a range of days (2026-11-28..2026-11-30) "
    "or a span with times (2026-11-28 18:00 - 2026-11-29 09:00); "
    "a weekday for a date means the next one (sat, sat 22:00-06:00)"
)


class UnreadableTime(ValueError):
    """Typed text that is not a date or a span we understand; the message says what to write."""


def zone_name(tz: ZoneInfo) -> str:
    """The city of an IANA zone as the reader says it: America/New_York → "New York" ("Nova
    York" in Portuguese)."""
    city = tz.key.rsplit("/", 1)[-1].replace("_", " ")
    if current() == ENGLISH:
        return city
    try:
        return str(get_timezone_location(tz, locale=locale(), return_city=True))
    except (LookupError, ValueError):
        return city


def shown_in(viewer: ZoneInfo | None) -> str:
    """A form's hint on the zone of the times it lists: the viewer's, else the team's."""
    if viewer is None:
        return _("Times are shown in team time.")
    return _("Times are shown in {zone}.").format(zone=zone_name(viewer))


def _day(local: datetime | date, *, year: bool = False) -> str:
    """A day as the reader writes it short: "Fri 27 Nov", "ven. 27 nov.", "sex., 27 de nov."."""
    if current() == ENGLISH:
        return f"{local:%a} {local.day} {local:%b}" + (f" {local:%Y}" if year else "")
    return str(format_skeleton("yMMMEd" if year else "MMMEd", local, locale=locale()))


def day_time(at: datetime, tz: ZoneInfo) -> str:
    """An instant as a short wall time in ``tz``: "Fri 27 Nov 18:00"."""
    local = at.astimezone(tz)
    return f"{_day(local)} {local:%H:%M}"


def day_name(day: date, *, year: bool = True) -> str:
    """A calendar day as the reader says it: "Sat 5 Dec 2026" ("Sat 5 Dec" without the year)."""
    return _day(day, year=year)


def _span_text(start: datetime | None, end: datetime | None, tz: ZoneInfo) -> str:
    """A span in one zone, the end's date left out when it is the start's day."""
    first = day_time(start, tz) if start is not None else OPEN_END
    if end is None:
        return f"{first} – {OPEN_END}"
    if start is not None and start.astimezone(tz).date() == end.astimezone(tz).date():
        return f"{first} – {end.astimezone(tz):%H:%M}"
    return f"{first} – {day_time(end, tz)}"


def _zones_read_alike(viewer: ZoneInfo, team: ZoneInfo, *instants: datetime | None) -> bool:
    """Whether both zones show the same wall time at every given instant."""
    return all(
        at is None or at.astimezone(viewer).utcoffset() == at.astimezone(team).utcoffset()
        for at in instants
    )


def _in_zones(mine: str, theirs: str | None, viewer: ZoneInfo | None, team: ZoneInfo) -> str:
    """A time in the viewer's zone, with the team's (``theirs``) where it reads differently."""
    if viewer is None:
        return _("{when} (team time, {zone})").format(when=mine, zone=zone_name(team))
    if theirs is None:
        return _("{when} ({zone} time)").format(when=mine, zone=zone_name(viewer))
    return _("{when} (your time, {zone}; team time {team_zone}: {team_when})").format(
        when=mine, zone=zone_name(viewer), team_zone=zone_name(team), team_when=theirs
    )


def span(
    start: datetime | None, end: datetime | None, viewer: ZoneInfo | None, team: ZoneInfo
) -> str:
    """A span in the viewer's zone, with the team's time added where it reads differently.

    "Fri 27 Nov 12:00 – Mon 30 Nov 03:00 (your time, New York; team time Paris: Fri 27 Nov 18:00
    – Mon 30 Nov 09:00)". An unknown viewer zone shows team time only; None bounds show "…".
    """
    if viewer is None:
        return _in_zones(_span_text(start, end, team), None, None, team)
    alike = _zones_read_alike(viewer, team, start, end)
    theirs = None if alike else _span_text(start, end, team)
    return _in_zones(_span_text(start, end, viewer), theirs, viewer, team)


def span_parts(
    start: datetime | None, end: datetime | None, viewer: ZoneInfo | None, team: ZoneInfo
) -> tuple[str, str | None]:
    """A span as list rows show it: in the viewer's zone (team time when unknown), and in team
    time only where that reads differently."""
    if viewer is None or _zones_read_alike(viewer, team, start, end):
        return _span_text(start, end, viewer or team), None
    return _span_text(start, end, viewer), _span_text(start, end, team)


def zone_note(viewer: ZoneInfo | None, team: ZoneInfo, at: datetime) -> str:
    """The line that says in which zone a list of span_parts rows reads."""
    if viewer is None:
        return _("Times are team time ({zone}).").format(zone=zone_name(team))
    if _zones_read_alike(viewer, team, at):
        return _("Times are your time ({zone}).").format(zone=zone_name(viewer))
    return _("Times are your time ({zone}); team time ({team_zone}) in brackets.").format(
        zone=zone_name(viewer), team_zone=zone_name(team)
    )


def instant(at: datetime, viewer: ZoneInfo | None, team: ZoneInfo) -> str:
    """One instant in the viewer's zone, with the team's time added where it reads differently."""
    if viewer is None:
        return _in_zones(day_time(at, team), None, None, team)
    theirs = None if _zones_read_alike(viewer, team, at) else day_time(at, team)
    return _in_zones(day_time(at, viewer), theirs, viewer, team)


def parse_day(text: str) -> date:
    """A calendar day typed as YYYY-MM-DD."""
    cleaned = text.strip()
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", cleaned):
        raise UnreadableTime(
            _("I could not read {text} as a date: {hint}.").format(
                text=quoted(cleaned), hint=_(DATE_HINT)
            )
        )
    try:
        return date.fromisoformat(cleaned)
    except ValueError:
        raise UnreadableTime(
            _("{text} is not a real date: {hint}.").format(text=quoted(cleaned), hint=_(DATE_HINT))
        ) from None


def day_span(day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The instants [start, end) of a whole local day in ``tz`` (23 or 25 hours across DST)."""
    start = resolve_wall(datetime.combine(day, time()), tz)
    end = resolve_wall(datetime.combine(day + timedelta(days=1), time()), tz)
    return start, end


@dataclass(frozen=True)
class TypedSpan:
    """A span read from text: instants [start, end), UTC-aware."""

    start: datetime
    end: datetime


_DAY = r"\d{4}-\d{2}-\d{2}"
_CLOCK = r"\d{1,2}:\d{2}"
_DASH = r"\s*(?:-|–|—|to)\s*"


def _clock(text: str, where: str) -> time:
    hours, minutes = (int(part) for part in text.split(":"))
    if not (0 <= hours <= 23 and 0 <= minutes <= 59):
        raise UnreadableTime(
            _("{text} in {where} is not a time of day: write it as HH:MM (24h).").format(
                text=quoted(text), where=escape(where)
            )
        )
    return time(hours, minutes)


def parse_span(text: str, tz: ZoneInfo, now: datetime) -> TypedSpan:
    """A day, a range of days or a span with times, read as wall time in ``tz``.

    A day is a date or a weekday ("sat", "samedi", "sáb"). A weekday that starts the text names
    the first such day from today on whose span has not ended at ``now``: on a Saturday, "sat"
    alone is today and "sat 10:00-14:00" today's until 14:00, the next Saturday's from then on.
    A weekday after the start names the first such day from the start on ("fri..mon"), and with a
    time the first such time after the start ("sat 08:00 - sun 08:00"), as does an end time typed
    without its day: "sat 22:00-06:00" ends on Sunday.
    """
    cleaned = " ".join(text.split())
    span_from = _span_form(cleaned, tz)
    if span_from is None:
        raise UnreadableTime(
            _("I could not read {text} as a date or a span: {hint}.").format(
                text=quoted(cleaned), hint=_(SPAN_HINT)
            )
        )
    first, build = span_from
    if isinstance(first, date):
        return build(first)
    for day in _days_from(now.astimezone(tz).date(), first):
        typed = build(day)
        if typed.end > now:
            return typed
    raise AssertionError("a span that starts a week from today ends after now")  # pragma: no cover


# A weekday is typed as any start of its name from three letters on, in any language the bot
# speaks: sat, satur, saturday, sam, samedi, sáb, sabado, sábado.
_WEEKDAYS = (
    ("monday", "lundi", "segunda"),
    ("tuesday", "mardi", "terça", "terca"),
    ("wednesday", "mercredi", "quarta"),
    ("thursday", "jeudi", "quinta"),
    ("friday", "vendredi", "sexta"),
    ("saturday", "samedi", "sábado", "sabado"),
    ("sunday", "dimanche", "domingo"),
)
_WORD = r"[^\W\d_]{3,9}"
_DATE_OR_WORD = rf"({_DAY}|{_WORD})"


def _weekday_of(word: str) -> int | None:
    """The weekday (Monday 0) whose name ``word`` starts, in any case; None for another word."""
    lowered = word.lower()
    return next(
        (i for i, names in enumerate(_WEEKDAYS) if any(n.startswith(lowered) for n in names)),
        None,
    )


def _days_from(first: date, weekday: int | None) -> Iterator[date]:
    """The eight days from ``first`` on, those that fall on ``weekday`` where one is given:
    enough to reach every weekday and time of day after any instant of ``first``."""
    for offset in range(8):
        day = first + timedelta(days=offset)
        if weekday is None or day.weekday() == weekday:
            yield day


def _first_at(
    clock: time, weekday: int | None, tz: ZoneInfo, after: datetime, *, strictly: bool
) -> datetime:
    """The first wall time ``clock`` in ``tz`` (on ``weekday``, where one is given) from
    ``after`` on, or after it when ``strictly``."""
    for day in _days_from(after.astimezone(tz).date(), weekday):
        at = resolve_wall(datetime.combine(day, clock), tz)
        if at > after or (at == after and not strictly):
            return at
    raise AssertionError("eight days hold every weekday and time of day")  # pragma: no cover


def _typed_day(token: str) -> date | int | None:
    """A day typed in a span: a date, or a weekday (Monday 0); None for another word."""
    if re.fullmatch(_DAY, token):
        return parse_day(token)
    return _weekday_of(token)


def _span_form(cleaned: str, tz: ZoneInfo) -> tuple[date | int, Callable[[date], TypedSpan]] | None:
    """The day a typed span starts on (a date or a weekday), and how the span reads from a
    calendar day it names; None for a text in none of the forms."""
    if found := re.fullmatch(_DATE_OR_WORD, cleaned):
        first = _typed_day(found[1])
        if first is None:
            return None
        return first, lambda day: TypedSpan(*day_span(day, tz))
    if found := re.fullmatch(rf"{_DATE_OR_WORD}\s*\.\.\s*{_DATE_OR_WORD}", cleaned):
        first, last = _typed_day(found[1]), _typed_day(found[2])
        if first is None or last is None:
            return None
        return first, partial(_days_span, cleaned, last, tz)
    timed = rf"{_DATE_OR_WORD} ({_CLOCK}){_DASH}(?:{_DATE_OR_WORD} )?({_CLOCK})"
    if found := re.fullmatch(timed, cleaned):
        first = _typed_day(found[1])
        end_day = _typed_day(found[3]) if found[3] else None
        if first is None or (found[3] and end_day is None):
            return None
        return first, partial(_timed_span, cleaned, found[2], end_day, found[4], tz)
    return None


def _days_span(cleaned: str, last: date | int, tz: ZoneInfo, first: date) -> TypedSpan:
    """From the start of ``first`` to the end of ``last`` (a weekday: the first such day from
    ``first`` on)."""
    end_day = last if isinstance(last, date) else next(_days_from(first, last))
    if end_day < first:
        raise UnreadableTime(
            _("{text} ends before it starts: put the earlier day first.").format(
                text=quoted(cleaned)
            )
        )
    return TypedSpan(day_span(first, tz)[0], day_span(end_day, tz)[1])


def _timed_span(
    cleaned: str,
    start_clock: str,
    end_day: date | int | None,
    end_clock: str,
    tz: ZoneInfo,
    first: date,
) -> TypedSpan:
    """From ``start_clock`` on ``first`` to ``end_clock`` on ``end_day``: a date names its day,
    a weekday or none the first such time after the start."""
    start = resolve_wall(datetime.combine(first, _clock(start_clock, cleaned)), tz)
    clock = _clock(end_clock, cleaned)
    if isinstance(end_day, date):
        end = resolve_wall(datetime.combine(end_day, clock), tz)
    else:
        end = _first_at(clock, end_day, tz, start, strictly=True)
    if end <= start:
        raise UnreadableTime(
            _("{text} ends before it starts: put the earlier time first.").format(
                text=quoted(cleaned)
            )
        )
    return TypedSpan(start, end)


def parse_moment(text: str, tz: ZoneInfo, after: datetime, *, strictly: bool = False) -> datetime:
    """An instant typed as "2026-11-28 10:00", "sat 10:00" or "10:00", read as wall time in
    ``tz``: a date names its day; a weekday or a time alone means the first such moment from
    ``after`` on (after it, when ``strictly``)."""
    cleaned = " ".join(text.split())
    found = re.fullmatch(rf"(?:({_DAY})|({_WORD}))?\s*(\d{{1,2}}):(\d{{2}})", cleaned)
    if not found:
        raise UnreadableTime(
            _("I could not read “{text}” as a moment: {hint}.").format(
                text=cleaned, hint=_(MOMENT_HINT)
            )
        )
    hours, minutes = int(found[3]), int(found[4])
    if hours > 23 or minutes > 59:
        raise UnreadableTime(
            _("“{text}” is not a time of day: {hint}.").format(
                text=f"{found[3]}:{found[4]}", hint=_(MOMENT_HINT)
            )
        )
    clock = time(hours, minutes)
    if found[1]:
        return resolve_wall(datetime.combine(parse_day(found[1]), clock), tz)
    weekday = None
    if found[2]:
        weekday = _weekday_of(found[2])
        if weekday is None:
            raise UnreadableTime(
                _("“{text}” is not a day of the week: {hint}.").format(
                    text=found[2], hint=_(MOMENT_HINT)
                )
            )
    return _first_at(clock, weekday, tz, after, strictly=strictly)


def duration_text(delta: timedelta) -> str:
    """A duration as people say it: "45 s", "12 min", "2 h 05 min", "3 d 4 h"."""
    seconds = max(0, round(delta.total_seconds()))
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes:02d} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    # Days are "j" in French, "d" in English and Portuguese.
    if hours:
        return _("{days} d {hours} h").format(days=days, hours=hours)
    return _("{days} d").format(days=days)
