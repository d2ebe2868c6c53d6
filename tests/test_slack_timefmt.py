"""Times as people read and type them: the viewer's zone first, the team's where it differs."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.schedule import timefmt
from bot.schedule.timefmt import UnreadableTime

PARIS = ZoneInfo("Europe/Paris")
NEW_YORK = ZoneInfo("America/New_York")
LONDON = ZoneInfo("Europe/London")
BERLIN = ZoneInfo("Europe/Berlin")
SAO_PAULO = ZoneInfo("America/Sao_Paulo")
# When the dated spans below are typed: a date names its day whenever it is typed.
TYPED_ON = datetime(2026, 1, 7, 12, 0, tzinfo=UTC)

# The CEO's weekend in the DESIGN example: Fri 27 Nov 18:00 → Mon 30 Nov 09:00, Paris time.
WEEKEND = (
    datetime(2026, 11, 27, 17, 0, tzinfo=UTC),
    datetime(2026, 11, 30, 8, 0, tzinfo=UTC),
)


def test_a_new_york_viewer_of_a_paris_team_reads_both_times() -> None:
    assert timefmt.span(*WEEKEND, NEW_YORK, PARIS) == (
        "Fri 27 Nov 12:00 – Mon 30 Nov 03:00 (your time, New York; "
        "team time Paris: Fri 27 Nov 18:00 – Mon 30 Nov 09:00)"
    )


def test_a_viewer_whose_clock_reads_like_the_teams_sees_one_time() -> None:
    assert (
        timefmt.span(*WEEKEND, PARIS, PARIS) == "Fri 27 Nov 18:00 – Mon 30 Nov 09:00 (Paris time)"
    )
    # Another zone name, the same wall clock: nothing to translate.
    assert timefmt.span(*WEEKEND, BERLIN, PARIS) == (
        "Fri 27 Nov 18:00 – Mon 30 Nov 09:00 (Berlin time)"
    )


def test_an_unknown_viewer_zone_falls_back_to_team_time_and_says_so() -> None:
    assert timefmt.span(*WEEKEND, None, PARIS) == (
        "Fri 27 Nov 18:00 – Mon 30 Nov 09:00 (team time, Paris)"
    )


def test_open_ends_and_same_day_spans() -> None:
    start = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
    assert timefmt.span(start, start + timedelta(hours=9), PARIS, PARIS) == (
        "Mon 30 Nov 09:00 – 18:00 (Paris time)"
    )
    assert timefmt.span(None, start, LONDON, LONDON) == "… – Mon 30 Nov 08:00 (London time)"
    assert timefmt.span(start, None, LONDON, LONDON) == "Mon 30 Nov 08:00 – … (London time)"


def test_one_instant_in_both_zones() -> None:
    at = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
    assert timefmt.instant(at, NEW_YORK, PARIS) == (
        "Mon 30 Nov 03:00 (your time, New York; team time Paris: Mon 30 Nov 09:00)"
    )


def test_list_rows_and_their_note() -> None:
    mine, theirs = timefmt.span_parts(*WEEKEND, NEW_YORK, PARIS)
    assert (mine, theirs) == (
        "Fri 27 Nov 12:00 – Mon 30 Nov 03:00",
        "Fri 27 Nov 18:00 – Mon 30 Nov 09:00",
    )
    assert timefmt.span_parts(*WEEKEND, PARIS, PARIS)[1] is None
    assert timefmt.zone_note(NEW_YORK, PARIS, WEEKEND[0]) == (
        "Times are your time (New York); team time (Paris) in brackets."
    )


def test_zone_names_read_like_cities() -> None:
    assert timefmt.zone_name(NEW_YORK) == "New York"
    assert timefmt.zone_name(ZoneInfo("America/Argentina/Buenos_Aires")) == "Buenos Aires"
    assert timefmt.zone_name(ZoneInfo("UTC")) == "UTC"


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        # A whole day of the team's calendar; 29 March 2026 is Paris's 23-hour day.
        ("2026-11-28", "2026-11-28T00:00+01:00", "2026-11-29T00:00+01:00"),
        ("2026-03-29", "2026-03-29T00:00+01:00", "2026-03-30T00:00+02:00"),
        ("2026-11-28..2026-11-30", "2026-11-28T00:00+01:00", "2026-12-01T00:00+01:00"),
        ("2026-11-28 18:00 - 2026-11-29 09:00", "2026-11-28T18:00+01:00", "2026-11-29T09:00+01:00"),
        ("2026-11-28  18:00 – 2026-11-29 9:00", "2026-11-28T18:00+01:00", "2026-11-29T09:00+01:00"),
        ("2026-11-28 09:00 - 18:00", "2026-11-28T09:00+01:00", "2026-11-28T18:00+01:00"),
        # 02:30 does not exist on the spring-forward night: it means the change, 03:00.
        ("2026-03-29 02:30 - 12:00", "2026-03-29T03:00+02:00", "2026-03-29T12:00+02:00"),
        # It happens twice on the fall-back night: it means the first.
        ("2026-10-25 02:30 - 12:00", "2026-10-25T02:30+02:00", "2026-10-25T12:00+01:00"),
        # An end time without its day is the first such time after the start: the next morning.
        ("2026-11-28 22:00 - 06:00", "2026-11-28T22:00+01:00", "2026-11-29T06:00+01:00"),
    ],
)
def test_typed_spans_read_in_team_time(text: str, start: str, end: str) -> None:
    typed = timefmt.parse_span(text, PARIS, TYPED_ON)
    assert typed.start == datetime.fromisoformat(start)
    assert typed.end == datetime.fromisoformat(end)


WEDNESDAY = "2026-11-25T13:00+01:00"
SATURDAY_NOON = "2026-11-28T12:00+01:00"
SATURDAY_3PM = "2026-11-28T15:00+01:00"
SATURDAY_2359 = "2026-11-28T23:59+01:00"
BEFORE_SPRING_FORWARD = "2027-03-24T13:00+01:00"  # Paris goes to summer time on Sun 28 March
BEFORE_FALL_BACK = "2026-10-21T14:00+02:00"  # and back to winter time on Sun 25 October 2026


@pytest.mark.parametrize(
    ("tz", "now", "text", "start", "end"),
    [
        # Typed on a Wednesday: the Saturday of that week, in any of the bot's languages.
        (PARIS, WEDNESDAY, "sat", "2026-11-28T00:00+01:00", "2026-11-29T00:00+01:00"),
        (PARIS, WEDNESDAY, "SAB", "2026-11-28T00:00+01:00", "2026-11-29T00:00+01:00"),
        (PARIS, WEDNESDAY, "sat 10:00-14:00", "2026-11-28T10:00+01:00", "2026-11-28T14:00+01:00"),
        (PARIS, WEDNESDAY, "Samedi 10:00 to 14:00", "2026-11-28T10:00+01:00",
         "2026-11-28T14:00+01:00"),
        # The end past midnight is the Sunday's.
        (PARIS, WEDNESDAY, "samedi 22:00-06:00", "2026-11-28T22:00+01:00",
         "2026-11-29T06:00+01:00"),
        (PARIS, WEDNESDAY, "sáb 08:00 - dom 08:00", "2026-11-28T08:00+01:00",
         "2026-11-29T08:00+01:00"),
        (PARIS, WEDNESDAY, "sabado 08:00 - Sunday 08:00", "2026-11-28T08:00+01:00",
         "2026-11-29T08:00+01:00"),
        (PARIS, WEDNESDAY, "sat 22:00 - 2026-11-29 06:00", "2026-11-28T22:00+01:00",
         "2026-11-29T06:00+01:00"),
        # A range of weekdays: the end is the first such day from the start on.
        (PARIS, WEDNESDAY, "fri..mon", "2026-11-27T00:00+01:00", "2026-12-01T00:00+01:00"),
        (PARIS, WEDNESDAY, "ven..ven", "2026-11-27T00:00+01:00", "2026-11-28T00:00+01:00"),
        (PARIS, WEDNESDAY, "wed", "2026-11-25T00:00+01:00", "2026-11-26T00:00+01:00"),
        # On the Saturday itself: today's span while it has not ended, else next Saturday's.
        (PARIS, SATURDAY_NOON, "sat", "2026-11-28T00:00+01:00", "2026-11-29T00:00+01:00"),
        (PARIS, SATURDAY_NOON, "sat 10:00-14:00", "2026-11-28T10:00+01:00",
         "2026-11-28T14:00+01:00"),
        (PARIS, SATURDAY_3PM, "sat", "2026-11-28T00:00+01:00", "2026-11-29T00:00+01:00"),
        (PARIS, SATURDAY_3PM, "sat 10:00-14:00", "2026-12-05T10:00+01:00",
         "2026-12-05T14:00+01:00"),
        (PARIS, SATURDAY_2359, "sat 22:00-06:00", "2026-11-28T22:00+01:00",
         "2026-11-29T06:00+01:00"),
        (PARIS, SATURDAY_2359, "sat 08:00 - 23:59", "2026-12-05T08:00+01:00",
         "2026-12-05T23:59+01:00"),
        # Today is the team's: at 00:30 on Sunday in Paris it is still Saturday in São Paulo.
        (PARIS, "2026-11-29T00:30+01:00", "sat", "2026-12-05T00:00+01:00",
         "2026-12-06T00:00+01:00"),
        (SAO_PAULO, "2026-11-29T00:30+01:00", "sat", "2026-11-28T00:00-03:00",
         "2026-11-29T00:00-03:00"),
        # The night clocks go forward is 7 hours long, the night they go back 9.
        (PARIS, BEFORE_SPRING_FORWARD, "sat 22:00-06:00", "2027-03-27T22:00+01:00",
         "2027-03-28T06:00+02:00"),
        (PARIS, BEFORE_FALL_BACK, "sat 22:00-06:00", "2026-10-24T22:00+02:00",
         "2026-10-25T06:00+01:00"),
        # 02:30 does not exist the first night (it means the change, 03:00), and happens twice
        # the second (it means the first), as with a date.
        (PARIS, BEFORE_SPRING_FORWARD, "dim 02:30 - 12:00", "2027-03-28T03:00+02:00",
         "2027-03-28T12:00+02:00"),
        (PARIS, BEFORE_SPRING_FORWARD, "sat 22:00 - 02:30", "2027-03-27T22:00+01:00",
         "2027-03-28T03:00+02:00"),
        (PARIS, BEFORE_FALL_BACK, "dom 02:30 - 12:00", "2026-10-25T02:30+02:00",
         "2026-10-25T12:00+01:00"),
        (PARIS, BEFORE_FALL_BACK, "sat 22:00 - 02:30", "2026-10-24T22:00+02:00",
         "2026-10-25T02:30+02:00"),
        # São Paulo keeps one offset the year round: both nights are 8 hours long.
        (SAO_PAULO, BEFORE_SPRING_FORWARD, "sáb 22:00-06:00", "2027-03-27T22:00-03:00",
         "2027-03-28T06:00-03:00"),
        (SAO_PAULO, BEFORE_FALL_BACK, "sábado 22:00-06:00", "2026-10-24T22:00-03:00",
         "2026-10-25T06:00-03:00"),
    ],
)  # fmt: skip
def test_a_weekday_is_the_next_such_day_in_team_time(
    tz: ZoneInfo, now: str, text: str, start: str, end: str
) -> None:
    typed = timefmt.parse_span(text, tz, datetime.fromisoformat(now))
    assert typed.start == datetime.fromisoformat(start)
    assert typed.end == datetime.fromisoformat(end)


def test_days_are_iso_dates() -> None:
    assert timefmt.parse_day(" 2026-11-28 ").isoformat() == "2026-11-28"
    assert timefmt.day_name(timefmt.parse_day("2026-12-05")) == "Sat 5 Dec 2026"
    with pytest.raises(UnreadableTime, match="write dates as YYYY-MM-DD"):
        timefmt.parse_day("Nov 28")


@pytest.mark.parametrize(
    ("text", "after", "strictly", "means"),
    [
        # From a weekend shift's start, Fri 27 Nov 18:00 Paris: a date, a weekday, a time alone.
        ("2026-11-28 10:00", "2026-11-27T18:00+01:00", False, "2026-11-28T10:00+01:00"),
        ("sat 10:00", "2026-11-27T18:00+01:00", False, "2026-11-28T10:00+01:00"),
        ("Saturday  9:30", "2026-11-27T18:00+01:00", False, "2026-11-28T09:30+01:00"),
        ("10:00", "2026-11-27T18:00+01:00", False, "2026-11-28T10:00+01:00"),
        ("20:00", "2026-11-27T18:00+01:00", False, "2026-11-27T20:00+01:00"),
        ("mon 09:00", "2026-11-27T18:00+01:00", False, "2026-11-30T09:00+01:00"),
        # The reference itself counts, unless the moment must come after it (an end).
        ("fri 18:00", "2026-11-27T18:00+01:00", False, "2026-11-27T18:00+01:00"),
        ("18:00", "2026-11-27T18:00+01:00", True, "2026-11-28T18:00+01:00"),
        ("fri 18:00", "2026-11-27T18:00+01:00", True, "2026-12-04T18:00+01:00"),
        # Paris's 23-hour day: 02:30 does not exist, it means the change, 03:00.
        ("02:30", "2026-03-28T18:00+01:00", False, "2026-03-29T03:00+02:00"),
        ("sun 02:30", "2026-03-28T18:00+01:00", False, "2026-03-29T03:00+02:00"),
        # Its 25-hour day: 02:30 happens twice and means the first.
        ("02:30", "2026-10-24T18:00+02:00", False, "2026-10-25T02:30+02:00"),
        # Later that night the first 02:30 is past: the next one is the next day's.
        ("02:30", "2026-10-25T02:45+01:00", False, "2026-10-26T02:30+01:00"),
    ],
)
def test_a_typed_moment_is_the_first_one_from_the_reference_on(
    text: str, after: str, strictly: bool, means: str
) -> None:
    found = timefmt.parse_moment(text, PARIS, datetime.fromisoformat(after), strictly=strictly)
    assert found == datetime.fromisoformat(means)


def read_span(text: str) -> object:
    return timefmt.parse_span(text, PARIS, TYPED_ON)


def read_moment(text: str) -> object:
    return timefmt.parse_moment(text, PARIS, datetime(2026, 11, 27, 17, 0, tzinfo=UTC))


MOMENT_ADVICE = "write 2026-11-28 10:00, sat 10:00 or 10:00 (24h, team time)"


@pytest.mark.parametrize(
    ("read", "text", "says", "advice"),
    [
        (read_span, "tomorrow", "could not read “tomorrow”", "a day (2026-11-28), a range of days"),
        (
            read_span,
            "28/11/2026",
            "could not read “28/11/2026”",
            "(2026-11-28 18:00 - 2026-11-29 09:00)",
        ),
        (read_span, "2026-02-30", "“2026-02-30” is not a real date", "write dates as YYYY-MM-DD"),
        (read_span, "2026-11-30..2026-11-28", "ends before it starts", "put the earlier day first"),
        (
            read_span,
            "2026-11-28 18:00 - 2026-11-28 09:00",
            "ends before it starts",
            "earlier time first",
        ),
        (
            read_span,
            "2026-11-28 25:00 - 2026-11-29 09:00",
            "is not a time of day",
            "HH:MM (24h)",
        ),
        (read_span, "caturday", "could not read “caturday”", "(sat, sat 22:00-06:00)"),
        (read_span, "sat 10:00 - caturday 14:00", "could not read “sat 10:00", "sat 22:00-06:00"),
        (
            read_span,
            "sat 10:00 - 2026-01-09 09:00",
            "ends before it starts",
            "earlier time first",
        ),
        (read_span, "sat 24:00-06:00", "is not a time of day", "HH:MM (24h)"),
        (read_moment, "noon", "I could not read “noon” as a moment", MOMENT_ADVICE),
        (read_moment, "sat", "I could not read “sat” as a moment", MOMENT_ADVICE),
        (read_moment, "25:00", "“25:00” is not a time of day", MOMENT_ADVICE),
        (read_moment, "caturday 10:00", "“caturday” is not a day of the week", MOMENT_ADVICE),
        (
            read_moment,
            "2026-02-30 10:00",
            "“2026-02-30” is not a real date",
            "write dates as YYYY-MM-DD",
        ),
    ],
)
def test_unreadable_text_says_what_is_wrong_and_what_to_write(
    read: Callable[[str], object], text: str, says: str, advice: str
) -> None:
    with pytest.raises(UnreadableTime) as error:
        read(text)
    assert says in str(error.value)
    assert advice in str(error.value)
