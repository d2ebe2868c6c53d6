"""Times as people read and type them: instants shown in the viewer's zone (naming the team's
zone where it differs), and the dates and spans typed after /swap and /cover read in team time."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.schedule.engine import resolve_wall
from bot.slack.blocks.escaping import escape, quoted

OPEN_END = "…"
DATE_HINT = "write dates as YYYY-MM-DD, e.g. 2026-11-28"
MOMENT_HINT = "write 2026-11-28 10:00, sat 10:00 or 10:00 (24h, team time)"
SPAN_HINT = (
    "write a day (2026-11-28), a range of days (2026-11-28..2026-11-30) "
    "or a span with times (2026-11-28 18:00 - 2026-11-29 09:00)"
)


class UnreadableTime(ValueError):
    """Typed text that is not a date or a span we understand; the message says what to write."""


def zone_name(tz: ZoneInfo) -> str:
    """The city of an IANA zone as people say it: America/New_York → "New York"."""
    return tz.key.rsplit("/", 1)[-1].replace("_", " ")


def day_time(at: datetime, tz: ZoneInfo) -> str:
    """An instant as a short wall time in ``tz``: "Fri 27 Nov 18:00"."""
    local = at.astimezone(tz)
    return f"{local:%a} {local.day} {local:%b %H:%M}"


def day_name(day: date) -> str:
    """A calendar day as people say it: "Sat 5 Dec 2026"."""
    return f"{day:%a} {day.day} {day:%b %Y}"


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


def span(
    start: datetime | None, end: datetime | None, viewer: ZoneInfo | None, team: ZoneInfo
) -> str:
    """A span in the viewer's zone, with the team's time added where it reads differently.

    "Fri 27 Nov 12:00 – Mon 30 Nov 03:00 (your time, New York; team time Paris: Fri 27 Nov 18:00
    – Mon 30 Nov 09:00)". An unknown viewer zone shows team time only; None bounds show "…".
    """
    if viewer is None:
        return f"{_span_text(start, end, team)} (team time, {zone_name(team)})"
    mine = _span_text(start, end, viewer)
    if _zones_read_alike(viewer, team, start, end):
        return f"{mine} ({zone_name(viewer)} time)"
    theirs = _span_text(start, end, team)
    return f"{mine} (your time, {zone_name(viewer)}; team time {zone_name(team)}: {theirs})"


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
        return f"Times are team time ({zone_name(team)})."
    if _zones_read_alike(viewer, team, at):
        return f"Times are your time ({zone_name(viewer)})."
    return f"Times are your time ({zone_name(viewer)}); team time ({zone_name(team)}) in brackets."


def instant(at: datetime, viewer: ZoneInfo | None, team: ZoneInfo) -> str:
    """One instant in the viewer's zone, with the team's time added where it reads differently."""
    if viewer is None:
        return f"{day_time(at, team)} (team time, {zone_name(team)})"
    if _zones_read_alike(viewer, team, at):
        return f"{day_time(at, viewer)} ({zone_name(viewer)} time)"
    return (
        f"{day_time(at, viewer)} (your time, {zone_name(viewer)}; "
        f"team time {zone_name(team)}: {day_time(at, team)})"
    )


def parse_day(text: str) -> date:
    """A calendar day typed as YYYY-MM-DD."""
    cleaned = text.strip()
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", cleaned):
        raise UnreadableTime(f"I could not read {quoted(cleaned)} as a date: {DATE_HINT}.")
    try:
        return date.fromisoformat(cleaned)
    except ValueError:
        raise UnreadableTime(f"{quoted(cleaned)} is not a real date: {DATE_HINT}.") from None


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
            f"{quoted(text)} in {escape(where)} is not a time of day: write it as HH:MM (24h)."
        )
    return time(hours, minutes)


def parse_span(text: str, tz: ZoneInfo) -> TypedSpan:
    """A day, a range of days or a span with times, read as wall time in ``tz``."""
    cleaned = " ".join(text.split())
    if match := re.fullmatch(rf"({_DAY})", cleaned):
        return TypedSpan(*day_span(parse_day(match[1]), tz))
    if match := re.fullmatch(rf"({_DAY})\s*\.\.\s*({_DAY})", cleaned):
        first, last = parse_day(match[1]), parse_day(match[2])
        if last < first:
            raise UnreadableTime(
                f"{quoted(cleaned)} ends before it starts: put the earlier day first."
            )
        return TypedSpan(day_span(first, tz)[0], day_span(last, tz)[1])
    if match := re.fullmatch(rf"({_DAY}) ({_CLOCK}){_DASH}(?:({_DAY}) )?({_CLOCK})", cleaned):
        start_day = parse_day(match[1])
        end_day = parse_day(match[3]) if match[3] else start_day
        start = resolve_wall(datetime.combine(start_day, _clock(match[2], cleaned)), tz)
        end = resolve_wall(datetime.combine(end_day, _clock(match[4], cleaned)), tz)
        if end <= start:
            raise UnreadableTime(
                f"{quoted(cleaned)} ends before it starts: put the earlier time first."
            )
        return TypedSpan(start, end)
    raise UnreadableTime(f"I could not read {quoted(cleaned)} as a date or a span: {SPAN_HINT}.")


# A weekday is typed as any start of its name from three letters on: sat, satur, saturday.
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def parse_moment(text: str, tz: ZoneInfo, after: datetime, *, strictly: bool = False) -> datetime:
    """An instant typed as "2026-11-28 10:00", "sat 10:00" or "10:00", read as wall time in
    ``tz``: a date names its day; a weekday or a time alone means the first such moment from
    ``after`` on (after it, when ``strictly``)."""
    cleaned = " ".join(text.split())
    found = re.fullmatch(rf"(?:({_DAY})|([A-Za-z]{{3,9}}))?\s*(\d{{1,2}}):(\d{{2}})", cleaned)
    if not found:
        raise UnreadableTime(f"I could not read “{cleaned}” as a moment: {MOMENT_HINT}.")
    hours, minutes = int(found[3]), int(found[4])
    if hours > 23 or minutes > 59:
        raise UnreadableTime(f"“{found[3]}:{found[4]}” is not a time of day: {MOMENT_HINT}.")
    clock = time(hours, minutes)
    if found[1]:
        return resolve_wall(datetime.combine(parse_day(found[1]), clock), tz)
    weekday = None
    if found[2]:
        word = found[2].lower()
        weekday = next((i for i, name in enumerate(_WEEKDAYS) if name.startswith(word)), None)
        if weekday is None:
            raise UnreadableTime(f"“{found[2]}” is not a day of the week: {MOMENT_HINT}.")
    first_day = after.astimezone(tz).date()
    for offset in range(8):
        day = first_day + timedelta(days=offset)
        if weekday is not None and day.weekday() != weekday:
            continue
        at = resolve_wall(datetime.combine(day, clock), tz)
        if at > after or (at == after and not strictly):
            return at
    raise AssertionError("eight days hold every weekday and time of day")  # pragma: no cover
