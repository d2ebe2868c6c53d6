"""The schedule engine on real dates: hand-offs across DST, windows, layers, overrides, merging."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.plan.model import Every, Layer, Team, Window
from bot.schedule.engine import (
    Clash,
    Override,
    Shift,
    backup_clashes,
    gaps,
    holder,
    layer_holder,
    layer_shift_at,
    next_change,
    next_shift,
    resolve_wall,
    shifts,
    user_shifts,
    who,
    whole_shifts,
)
from tests.support.teams import support_team

PARIS = ZoneInfo("Europe/Paris")
NEW_YORK = ZoneInfo("America/New_York")
LORD_HOWE = ZoneInfo("Australia/Lord_Howe")

DAY = 1440
MON, TUE, WED, THU, FRI, SAT, SUN = range(7)


def at(text: str) -> datetime:
    """An instant written in ISO-8601 with its offset."""
    value = datetime.fromisoformat(text)
    assert value.tzinfo is not None, text
    return value


def wall(text: str) -> datetime:
    """A naive wall time written in ISO-8601."""
    return datetime.fromisoformat(text)


def window(day: int, hh: int, mm: int, end_day: int, end_hh: int, end_mm: int) -> Window:
    return Window(day * DAY + hh * 60 + mm, end_day * DAY + end_hh * 60 + end_mm)


def layer(
    name: str,
    members: tuple[str, ...],
    start: str,
    every: str,
    zone: ZoneInfo = PARIS,
    only: tuple[Window, ...] = (),
) -> Layer:
    return Layer(
        name=name,
        members=members,
        start=wall(start),
        every=Every(int(every[:-1]), every[-1]),  # type: ignore[arg-type]
        timezone=zone,
        only=only,
    )


def team(*rotations: Layer, backup: tuple[Layer, ...] = ()) -> Team:
    return support_team(*rotations, backup=backup)


def rows(found: list[Shift], zone: ZoneInfo = PARIS) -> list[tuple[str | None, str, str, str]]:
    """Shifts as (user, local start, local end, source), easy to compare with a table."""
    return [
        (s.user, s.start.astimezone(zone).isoformat(), s.end.astimezone(zone).isoformat(), s.source)
        for s in found
    ]


def hours(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds() / 3600


def weekend(members: tuple[str, ...], start: str, zone: ZoneInfo = PARIS) -> Layer:
    """DESIGN.md's weekend rotation: Friday 18:00 to Monday 09:00, a week each."""
    return layer("weekend", members, start, "1w", zone, only=(window(FRI, 18, 0, MON, 9, 0),))


def weekdays(start: str, zone: ZoneInfo = PARIS) -> Layer:
    """DESIGN.md's weekday rotation: Dan and Erin, Monday to Friday 09:00 to 18:00, a day each."""
    days = tuple(window(d, 9, 0, d, 18, 0) for d in (MON, TUE, WED, THU, FRI))
    return layer("weekdays", ("U0DAN", "U0ERIN"), start, "1d", zone, only=days)


# The setup of DESIGN.md: a weekend rotation and a weekday one, in Paris.
WEEKEND = weekend(("U0ALICE", "U0BOB", "U0CAROL", "U0CEO"), "2026-11-06T18:00")
WEEKDAYS = weekdays("2026-11-09T09:00")
LEADS = layer("leads", ("U0LEAD1", "U0LEAD2"), "2026-11-02T09:00", "1w")
SUPPORT = team(WEEKEND, WEEKDAYS, backup=(LEADS,))


# --- resolving wall times --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "naive", "expected"),
    [
        # ordinary times
        (PARIS, "2026-11-06T18:00", "2026-11-06T17:00:00+00:00"),
        (PARIS, "2026-07-01T09:00", "2026-07-01T07:00:00+00:00"),
        (ZoneInfo("UTC"), "2026-03-29T02:30", "2026-03-29T02:30:00+00:00"),
        # skipped by spring forward: the first real instant after, i.e. the change itself
        (PARIS, "2026-03-29T02:00", "2026-03-29T01:00:00+00:00"),
        (PARIS, "2026-03-29T02:30", "2026-03-29T01:00:00+00:00"),
        (PARIS, "2026-03-29T02:59", "2026-03-29T01:00:00+00:00"),
        (PARIS, "2026-03-29T03:00", "2026-03-29T01:00:00+00:00"),
        (NEW_YORK, "2026-03-08T02:30", "2026-03-08T07:00:00+00:00"),
        (LORD_HOWE, "2026-10-04T02:10", "2026-10-03T15:30:00+00:00"),
        (LORD_HOWE, "2026-10-04T02:30", "2026-10-03T15:30:00+00:00"),
        # happening twice on fall back: the first
        (PARIS, "2026-10-25T02:00", "2026-10-25T00:00:00+00:00"),
        (PARIS, "2026-10-25T02:30", "2026-10-25T00:30:00+00:00"),
        (PARIS, "2026-10-25T03:00", "2026-10-25T02:00:00+00:00"),
        (NEW_YORK, "2026-11-01T01:30", "2026-11-01T05:30:00+00:00"),
        (LORD_HOWE, "2026-04-05T01:45", "2026-04-04T14:45:00+00:00"),
    ],
)
def test_resolve_wall(zone: ZoneInfo, naive: str, expected: str) -> None:
    resolved = resolve_wall(wall(naive), zone)
    assert resolved == at(expected)
    assert resolved.utcoffset() == timedelta(0)


def test_resolve_wall_refuses_an_aware_datetime() -> None:
    with pytest.raises(ValueError, match="naive wall time"):
        resolve_wall(at("2026-03-29T02:30:00+01:00"), PARIS)


# --- the DESIGN team -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("instant", "user", "since", "until", "source"),
    [
        # Before either layer starts: nobody, until the first weekend.
        ("2026-11-06T17:59:00+01:00", None, None, "2026-11-06T18:00:00+01:00", "gap"),
        ("2026-11-06T18:00:00+01:00", "U0ALICE", "2026-11-06T18:00:00+01:00",
         "2026-11-09T09:00:00+01:00", "rotation:weekend"),
        ("2026-11-09T08:59:00+01:00", "U0ALICE", "2026-11-06T18:00:00+01:00",
         "2026-11-09T09:00:00+01:00", "rotation:weekend"),
        ("2026-11-09T09:00:00+01:00", "U0DAN", "2026-11-09T09:00:00+01:00",
         "2026-11-09T18:00:00+01:00", "rotation:weekdays"),
        ("2026-11-10T12:00:00+01:00", "U0ERIN", "2026-11-10T09:00:00+01:00",
         "2026-11-10T18:00:00+01:00", "rotation:weekdays"),
        # Weeknights are not covered by the plan.
        ("2026-11-10T18:00:00+01:00", None, "2026-11-10T18:00:00+01:00",
         "2026-11-11T09:00:00+01:00", "gap"),
        ("2026-11-13T17:59:00+01:00", "U0DAN", "2026-11-13T09:00:00+01:00",
         "2026-11-13T18:00:00+01:00", "rotation:weekdays"),
        ("2026-11-13T18:00:00+01:00", "U0BOB", "2026-11-13T18:00:00+01:00",
         "2026-11-16T09:00:00+01:00", "rotation:weekend"),
        # The day rotation keeps counting over the weekend: Monday the 16th is shift 7.
        ("2026-11-16T10:00:00+01:00", "U0ERIN", "2026-11-16T09:00:00+01:00",
         "2026-11-16T18:00:00+01:00", "rotation:weekdays"),
        # Fourth weekend: members[3].
        ("2026-11-28T21:00:00+01:00", "U0CEO", "2026-11-27T18:00:00+01:00",
         "2026-11-30T09:00:00+01:00", "rotation:weekend"),
        ("2026-12-05T03:00:00+01:00", "U0ALICE", "2026-12-04T18:00:00+01:00",
         "2026-12-07T09:00:00+01:00", "rotation:weekend"),
        # Ten years on (525 weeks, 3672 days after the starts): same answers, same rules.
        ("2036-11-29T21:00:00+01:00", "U0BOB", "2036-11-28T18:00:00+01:00",
         "2036-12-01T09:00:00+01:00", "rotation:weekend"),
        ("2036-11-28T12:00:00+01:00", "U0DAN", "2036-11-28T09:00:00+01:00",
         "2036-11-28T18:00:00+01:00", "rotation:weekdays"),
    ],
)  # fmt: skip
def test_who_holds_the_pager_in_the_design_team(
    instant: str, user: str | None, since: str | None, until: str | None, source: str
) -> None:
    holding = who(SUPPORT, [], at(instant))
    assert holding.user == user
    assert holding.since == (at(since) if since else None)
    assert holding.until == (at(until) if until else None)
    assert holding.source == source


def test_design_week_as_a_schedule() -> None:
    found = shifts(SUPPORT, [], at("2026-11-26T00:00:00+01:00"), at("2026-12-01T00:00:00+01:00"))
    assert rows(found) == [
        (None, "2026-11-26T00:00:00+01:00", "2026-11-26T09:00:00+01:00", "gap"),
        ("U0ERIN", "2026-11-26T09:00:00+01:00", "2026-11-26T18:00:00+01:00", "rotation:weekdays"),
        (None, "2026-11-26T18:00:00+01:00", "2026-11-27T09:00:00+01:00", "gap"),
        ("U0DAN", "2026-11-27T09:00:00+01:00", "2026-11-27T18:00:00+01:00", "rotation:weekdays"),
        ("U0CEO", "2026-11-27T18:00:00+01:00", "2026-11-30T09:00:00+01:00", "rotation:weekend"),
        ("U0ERIN", "2026-11-30T09:00:00+01:00", "2026-11-30T18:00:00+01:00", "rotation:weekdays"),
        (None, "2026-11-30T18:00:00+01:00", "2026-12-01T00:00:00+01:00", "gap"),
    ]
    assert all(s.start.utcoffset() == timedelta(0) for s in found)


def test_weekend_spanning_spring_forward_is_an_hour_shorter() -> None:
    # Fri 2027-03-26 18:00 → Mon 2027-03-29 09:00, with Sunday the 28th losing an hour.
    holding = who(SUPPORT, [], at("2027-03-27T12:00:00+01:00"))
    assert holding.since == at("2027-03-26T18:00:00+01:00")
    assert holding.until == at("2027-03-29T09:00:00+02:00")
    assert holding.since and holding.until
    assert hours(holding.since, holding.until) == 62


WE, WD = "rotation:weekend", "rotation:weekdays"


def design_layers_from(zone: ZoneInfo) -> Team:
    """The DESIGN team's two layers, started on the first Friday and Monday of 2026 in ``zone``
    so that they run across that year's DST changes."""
    return team(
        weekend(("U0ALICE", "U0BOB", "U0CAROL", "U0CEO"), "2026-01-02T18:00", zone),
        weekdays("2026-01-05T09:00", zone),
    )


@pytest.mark.parametrize(
    ("zone", "friday", "tuesday", "expected"),
    [
        # Paris, spring forward on Sunday 29 March: the weekend is 62 hours.
        (PARIS, "2026-03-27T00:00:00+01:00", "2026-03-31T00:00:00+02:00", [
            (None, "2026-03-27T00:00:00+01:00", "2026-03-27T09:00:00+01:00", "gap"),
            ("U0ERIN", "2026-03-27T09:00:00+01:00", "2026-03-27T18:00:00+01:00", WD),
            ("U0ALICE", "2026-03-27T18:00:00+01:00", "2026-03-30T09:00:00+02:00", WE),
            ("U0DAN", "2026-03-30T09:00:00+02:00", "2026-03-30T18:00:00+02:00", WD),
            (None, "2026-03-30T18:00:00+02:00", "2026-03-31T00:00:00+02:00", "gap"),
        ]),
        # Paris, fall back on Sunday 25 October: the weekend is 64 hours.
        (PARIS, "2026-10-23T00:00:00+02:00", "2026-10-27T00:00:00+01:00", [
            (None, "2026-10-23T00:00:00+02:00", "2026-10-23T09:00:00+02:00", "gap"),
            ("U0ERIN", "2026-10-23T09:00:00+02:00", "2026-10-23T18:00:00+02:00", WD),
            ("U0CAROL", "2026-10-23T18:00:00+02:00", "2026-10-26T09:00:00+01:00", WE),
            ("U0DAN", "2026-10-26T09:00:00+01:00", "2026-10-26T18:00:00+01:00", WD),
            (None, "2026-10-26T18:00:00+01:00", "2026-10-27T00:00:00+01:00", "gap"),
        ]),
        # New York, spring forward on Sunday 8 March.
        (NEW_YORK, "2026-03-06T00:00:00-05:00", "2026-03-10T00:00:00-04:00", [
            (None, "2026-03-06T00:00:00-05:00", "2026-03-06T09:00:00-05:00", "gap"),
            ("U0DAN", "2026-03-06T09:00:00-05:00", "2026-03-06T18:00:00-05:00", WD),
            ("U0BOB", "2026-03-06T18:00:00-05:00", "2026-03-09T09:00:00-04:00", WE),
            ("U0ERIN", "2026-03-09T09:00:00-04:00", "2026-03-09T18:00:00-04:00", WD),
            (None, "2026-03-09T18:00:00-04:00", "2026-03-10T00:00:00-04:00", "gap"),
        ]),
        # New York, fall back on Sunday 1 November.
        (NEW_YORK, "2026-10-30T00:00:00-04:00", "2026-11-03T00:00:00-05:00", [
            (None, "2026-10-30T00:00:00-04:00", "2026-10-30T09:00:00-04:00", "gap"),
            ("U0DAN", "2026-10-30T09:00:00-04:00", "2026-10-30T18:00:00-04:00", WD),
            ("U0CEO", "2026-10-30T18:00:00-04:00", "2026-11-02T09:00:00-05:00", WE),
            ("U0ERIN", "2026-11-02T09:00:00-05:00", "2026-11-02T18:00:00-05:00", WD),
            (None, "2026-11-02T18:00:00-05:00", "2026-11-03T00:00:00-05:00", "gap"),
        ]),
    ],
)  # fmt: skip
def test_the_design_weekend_across_the_dst_changes_of_2026(
    zone: ZoneInfo, friday: str, tuesday: str, expected: list[tuple[str | None, str, str, str]]
) -> None:
    found = shifts(design_layers_from(zone), [], at(friday), at(tuesday))
    assert rows(found, zone) == expected
    weekend = found[2]
    spring = at(friday).month == 3
    assert hours(weekend.start, weekend.end) == (62 if spring else 64)


@pytest.mark.parametrize(
    ("zone", "instant", "user"),
    [
        # In the hour that happens twice, both readings belong to the same weekend.
        (PARIS, "2026-10-25T02:30:00+02:00", "U0CAROL"),
        (PARIS, "2026-10-25T02:30:00+01:00", "U0CAROL"),
        (NEW_YORK, "2026-11-01T01:30:00-04:00", "U0CEO"),
        (NEW_YORK, "2026-11-01T01:30:00-05:00", "U0CEO"),
        # Right after the skipped hour.
        (PARIS, "2026-03-29T03:00:00+02:00", "U0ALICE"),
        (NEW_YORK, "2026-03-08T03:00:00-04:00", "U0BOB"),
    ],
)
def test_the_design_weekend_holds_through_the_changed_hour(
    zone: ZoneInfo, instant: str, user: str
) -> None:
    assert who(design_layers_from(zone), [], at(instant)).user == user


def test_backup_role_uses_the_backup_layers() -> None:
    holding = who(SUPPORT, [], at("2026-11-28T21:00:00+01:00"), role="backup")
    # Weekly from Monday 2026-11-02: the fifth week (from the 30th) is LEAD1 again, so the
    # 23rd-30th week is LEAD2's.
    assert holding.user == "U0LEAD2"
    assert holding.since == at("2026-11-23T09:00:00+01:00")
    assert holding.until == at("2026-11-30T09:00:00+01:00")


# --- the backup is never the pager holder ----------------------------------------------------

# Lead 1 holds every third weekend, and is the backup every third week: the two meet on the
# weekends of 27-30 March (spring forward: 62 hours) and 23-26 October 2026 (fall back: 64 hours),
# among others, and Lead 2, next in the backup's order, backs up instead.
WEEKENDS_WITH_A_LEAD = weekend(("U0ALICE", "U0BOB", "U0LEAD1"), "2026-03-13T18:00")
SPRING_WEEKDAYS = weekdays("2026-03-09T09:00")
THREE_LEADS = layer("leads", ("U0LEAD2", "U0LEAD3", "U0LEAD1"), "2026-03-09T09:00", "1w")
LEADS_MEET = team(WEEKENDS_WITH_A_LEAD, SPRING_WEEKDAYS, backup=(THREE_LEADS,))


@pytest.mark.parametrize(
    ("instant", "pager", "backup"),
    [
        ("2026-03-21T12:00:00+01:00", "U0BOB", "U0LEAD3"),
        ("2026-03-27T17:59:59+01:00", "U0DAN", "U0LEAD1"),
        ("2026-03-27T18:00:00+01:00", "U0LEAD1", "U0LEAD2"),
        ("2026-03-29T01:59:59+01:00", "U0LEAD1", "U0LEAD2"),  # the clock springs forward...
        ("2026-03-29T03:00:00+02:00", "U0LEAD1", "U0LEAD2"),  # ...an hour later
        ("2026-03-30T08:59:59+02:00", "U0LEAD1", "U0LEAD2"),
        ("2026-03-30T09:00:00+02:00", "U0ERIN", "U0LEAD2"),  # Lead 2's own week
        ("2026-10-23T17:59:59+02:00", "U0DAN", "U0LEAD1"),
        ("2026-10-25T02:30:00+02:00", "U0LEAD1", "U0LEAD2"),  # the first 02:30...
        ("2026-10-25T02:30:00+01:00", "U0LEAD1", "U0LEAD2"),  # ...and the second
        ("2026-10-26T09:00:00+01:00", "U0ERIN", "U0LEAD2"),
    ],
)
def test_the_backup_is_the_next_lead_when_it_is_the_pager_holder(
    instant: str, pager: str, backup: str
) -> None:
    assert holder(LEADS_MEET, [], at(instant)) == pager
    assert holder(LEADS_MEET, [], at(instant), "backup") == backup
    assert who(LEADS_MEET, [], at(instant), "backup").user == backup


def test_the_backup_schedule_hands_over_when_the_pager_does() -> None:
    found = shifts(
        LEADS_MEET,
        [],
        at("2026-03-23T00:00:00+01:00"),
        at("2026-04-07T00:00:00+02:00"),
        role="backup",
    )
    assert rows(found) == [
        ("U0LEAD3", "2026-03-23T00:00:00+01:00", "2026-03-23T09:00:00+01:00", "rotation:leads"),
        ("U0LEAD1", "2026-03-23T09:00:00+01:00", "2026-03-27T18:00:00+01:00", "rotation:leads"),
        # Lead 2 backs up Lead 1's weekend, then holds the backup's own week after it.
        (
            "U0LEAD2",
            "2026-03-27T18:00:00+01:00",
            "2026-04-06T09:00:00+02:00",
            "rotation:leads:next+rotation:leads",
        ),
        ("U0LEAD3", "2026-04-06T09:00:00+02:00", "2026-04-07T00:00:00+02:00", "rotation:leads"),
    ]
    holding = who(LEADS_MEET, [], at("2026-03-28T12:00:00+01:00"), "backup")
    assert (holding.user, holding.since, holding.until) == (
        "U0LEAD2",
        at("2026-03-27T18:00:00+01:00"),
        at("2026-04-06T09:00:00+02:00"),
    )


def test_where_backup_and_pager_meet_over_a_year_dst_weekends_included() -> None:
    found = backup_clashes(
        LEADS_MEET, [], at("2026-03-01T00:00:00+01:00"), at("2026-11-01T00:00:00+01:00")
    )
    # Every third weekend from 27 March to 23 October: eleven, each the whole weekend.
    assert {(c.user, c.backup) for c in found} == {("U0LEAD1", "U0LEAD2")}
    assert [c.start.astimezone(PARIS).date().isoformat() for c in found] == [
        f"2026-{day}"
        for day in (
            "03-27", "04-17", "05-08", "05-29", "06-19", "07-10",
            "07-31", "08-21", "09-11", "10-02", "10-23",
        )
    ]  # fmt: skip
    lengths = [hours(c.start, c.end) for c in found]
    assert lengths == [62, *[63] * 9, 64]
    assert found[0] == Clash(
        "U0LEAD1", at("2026-03-27T18:00:00+01:00"), at("2026-03-30T09:00:00+02:00"), "U0LEAD2"
    )


def test_after_a_cover_the_backup_is_the_lead_after_the_one_who_covers() -> None:
    # Lead 3, the backup that week, covers Bob's weekend of 20-23 March.
    cover = [
        Override(
            "U0LEAD3", at("2026-03-20T18:00:00+01:00"), at("2026-03-23T09:00:00+01:00"), "cover"
        )
    ]
    saturday = at("2026-03-21T12:00:00+01:00")
    assert holder(LEADS_MEET, cover, saturday) == "U0LEAD3"
    assert holder(LEADS_MEET, cover, saturday, "backup") == "U0LEAD1"
    holding = who(LEADS_MEET, cover, saturday, "backup")
    assert (holding.user, holding.since, holding.until, holding.source) == (
        "U0LEAD1",
        at("2026-03-20T18:00:00+01:00"),
        at("2026-03-27T18:00:00+01:00"),
        "rotation:leads:next+rotation:leads",
    )


def test_a_backup_override_naming_the_pager_holder_gives_way_to_the_backup_layer() -> None:
    # Alice holds her weekend of 13-16 March; someone made her the backup on Saturday too.
    saturday = [
        Override(
            "U0ALICE",
            at("2026-03-14T00:00:00+01:00"),
            at("2026-03-15T00:00:00+01:00"),
            "override",
            role="backup",
        )
    ]
    noon = at("2026-03-14T12:00:00+01:00")
    assert holder(LEADS_MEET, saturday, noon) == "U0ALICE"
    # The backup layer's own turn that week: Lead 2.
    assert holder(LEADS_MEET, saturday, noon, "backup") == "U0LEAD2"
    assert who(LEADS_MEET, saturday, noon, "backup").user == "U0LEAD2"


def test_a_backup_of_one_person_covering_the_pager_leaves_no_backup() -> None:
    # The sandbox's team: Alice, Bob and Carol every morning, Dan the only backup; Dan covers.
    daily = layer("daily", ("U0ALICE", "U0BOB", "U0CAROL"), "2026-03-02T09:00", "1d")
    dan = layer("leads", ("U0DAN",), "2026-03-02T09:00", "1w")
    sandbox = team(daily, backup=(dan,))
    cover = [
        Override("U0DAN", at("2026-03-28T09:00:00+01:00"), at("2026-03-29T09:00:00+02:00"), "cover")
    ]
    night = at("2026-03-29T03:30:00+02:00")
    assert holder(sandbox, cover, night) == "U0DAN"
    assert holder(sandbox, cover, night, "backup") is None
    holding = who(sandbox, cover, night, "backup")
    since, until = at("2026-03-28T09:00:00+01:00"), at("2026-03-29T09:00:00+02:00")
    assert (holding.user, holding.since, holding.until, holding.source) == (
        None,
        since,
        until,
        "gap",
    )
    # A 23-hour day of no backup, and Dan again once the cover ends.
    assert hours(since, until) == 23
    assert holder(sandbox, cover, until, "backup") == "U0DAN"
    found = backup_clashes(
        sandbox, cover, at("2026-03-28T00:00:00+01:00"), at("2026-03-30T00:00:00+02:00")
    )
    assert found == [Clash("U0DAN", since, until, None)]


def test_whole_shifts_are_not_cut_at_the_ends_of_the_range() -> None:
    # Saturday noon to Sunday noon of the spring-forward weekend: Lead 1's whole weekend, 62
    # hours, and the backup Lead 2 from Friday 18:00 to the end of their own week.
    start, end = at("2026-03-28T12:00:00+01:00"), at("2026-03-29T12:00:00+02:00")
    assert rows(whole_shifts(LEADS_MEET, [], start, end)) == [
        ("U0LEAD1", "2026-03-27T18:00:00+01:00", "2026-03-30T09:00:00+02:00", "rotation:weekend")
    ]
    assert rows(whole_shifts(LEADS_MEET, [], start, end, "backup")) == [
        (
            "U0LEAD2",
            "2026-03-27T18:00:00+01:00",
            "2026-04-06T09:00:00+02:00",
            "rotation:leads:next+rotation:leads",
        )
    ]
    # Friday 12:00 to Tuesday 12:00 of the fall-back week: the weekday shifts at both ends are
    # whole, those in between as they are.
    found = whole_shifts(
        LEADS_MEET, [], at("2026-10-23T12:00:00+02:00"), at("2026-10-27T12:00:00+01:00")
    )
    assert rows(found) == [
        ("U0DAN", "2026-10-23T09:00:00+02:00", "2026-10-23T18:00:00+02:00", "rotation:weekdays"),
        ("U0LEAD1", "2026-10-23T18:00:00+02:00", "2026-10-26T09:00:00+01:00", "rotation:weekend"),
        ("U0ERIN", "2026-10-26T09:00:00+01:00", "2026-10-26T18:00:00+01:00", "rotation:weekdays"),
        (None, "2026-10-26T18:00:00+01:00", "2026-10-27T09:00:00+01:00", "gap"),
        ("U0DAN", "2026-10-27T09:00:00+01:00", "2026-10-27T18:00:00+01:00", "rotation:weekdays"),
    ]
    assert hours(found[1].start, found[1].end) == 64


# --- hand-offs keep local time across DST ----------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "start", "every", "instant", "shift_start", "shift_end", "length"),
    [
        # Paris, daily at 09:00: the 23-hour and the 25-hour day.
        (PARIS, "2026-03-25T09:00", "1d", "2026-03-29T08:00:00+02:00",
         "2026-03-28T09:00:00+01:00", "2026-03-29T09:00:00+02:00", 23),
        (PARIS, "2026-03-25T09:00", "1d", "2026-03-29T10:00:00+02:00",
         "2026-03-29T09:00:00+02:00", "2026-03-30T09:00:00+02:00", 24),
        (PARIS, "2026-10-20T09:00", "1d", "2026-10-25T05:00:00+01:00",
         "2026-10-24T09:00:00+02:00", "2026-10-25T09:00:00+01:00", 25),
        # Paris, weekly on Monday 09:00: 167 and 169 hours.
        (PARIS, "2026-03-16T09:00", "1w", "2026-03-29T12:00:00+02:00",
         "2026-03-23T09:00:00+01:00", "2026-03-30T09:00:00+02:00", 167),
        (PARIS, "2026-10-12T09:00", "1w", "2026-10-25T12:00:00+01:00",
         "2026-10-19T09:00:00+02:00", "2026-10-26T09:00:00+01:00", 169),
        # Paris, hand-off at midnight.
        (PARIS, "2026-03-27T00:00", "1d", "2026-03-29T12:00:00+02:00",
         "2026-03-29T00:00:00+01:00", "2026-03-30T00:00:00+02:00", 23),
        (PARIS, "2026-10-23T00:00", "1d", "2026-10-25T12:00:00+01:00",
         "2026-10-25T00:00:00+02:00", "2026-10-26T00:00:00+01:00", 25),
        # Paris, 12-hour shifts at 08:00 and 20:00: the night shift is 11h, then 13h.
        (PARIS, "2026-03-27T08:00", "12h", "2026-03-29T03:30:00+02:00",
         "2026-03-28T20:00:00+01:00", "2026-03-29T08:00:00+02:00", 11),
        (PARIS, "2026-10-23T08:00", "12h", "2026-10-25T02:30:00+01:00",
         "2026-10-24T20:00:00+02:00", "2026-10-25T08:00:00+01:00", 13),
        # Paris, hand-off at 02:30: on the spring-forward night it happens at 03:00.
        (PARIS, "2026-03-27T02:30", "1d", "2026-03-29T01:59:00+01:00",
         "2026-03-28T02:30:00+01:00", "2026-03-29T03:00:00+02:00", 23.5),
        (PARIS, "2026-03-27T02:30", "1d", "2026-03-29T03:00:00+02:00",
         "2026-03-29T03:00:00+02:00", "2026-03-30T02:30:00+02:00", 23.5),
        # New York: 2026-03-08 and 2026-11-01.
        (NEW_YORK, "2026-03-01T09:00", "1d", "2026-03-08T08:59:00-04:00",
         "2026-03-07T09:00:00-05:00", "2026-03-08T09:00:00-04:00", 23),
        (NEW_YORK, "2026-10-26T09:00", "1d", "2026-11-01T01:30:00-05:00",
         "2026-10-31T09:00:00-04:00", "2026-11-01T09:00:00-05:00", 25),
        (NEW_YORK, "2026-03-02T09:00", "1w", "2026-03-08T12:00:00-04:00",
         "2026-03-02T09:00:00-05:00", "2026-03-09T09:00:00-04:00", 167),
        (NEW_YORK, "2026-10-26T09:00", "1w", "2026-11-01T12:00:00-05:00",
         "2026-10-26T09:00:00-04:00", "2026-11-02T09:00:00-05:00", 169),
        (NEW_YORK, "2026-03-06T07:00", "12h", "2026-03-08T05:00:00-04:00",
         "2026-03-07T19:00:00-05:00", "2026-03-08T07:00:00-04:00", 11),
        (NEW_YORK, "2026-10-30T07:00", "12h", "2026-11-01T01:30:00-05:00",
         "2026-10-31T19:00:00-04:00", "2026-11-01T07:00:00-05:00", 13),
        # New York, hand-off at 01:30: on the fall-back night it means the first 01:30.
        (NEW_YORK, "2026-10-30T01:30", "1d", "2026-11-01T01:45:00-04:00",
         "2026-11-01T01:30:00-04:00", "2026-11-02T01:30:00-05:00", 25),
        (NEW_YORK, "2026-10-30T01:30", "1d", "2026-11-01T01:15:00-05:00",
         "2026-11-01T01:30:00-04:00", "2026-11-02T01:30:00-05:00", 25),
        (NEW_YORK, "2026-10-30T01:30", "1d", "2026-11-01T01:15:00-04:00",
         "2026-10-31T01:30:00-04:00", "2026-11-01T01:30:00-04:00", 24),
        # Lord Howe Island: half-hour DST. 2026-04-05 02:00 → 01:30, 2026-10-04 02:00 → 02:30.
        (LORD_HOWE, "2026-04-01T09:00", "1d", "2026-04-05T08:00:00+10:30",
         "2026-04-04T09:00:00+11:00", "2026-04-05T09:00:00+10:30", 24.5),
        (LORD_HOWE, "2026-09-30T09:00", "1d", "2026-10-04T08:00:00+11:00",
         "2026-10-03T09:00:00+10:30", "2026-10-04T09:00:00+11:00", 23.5),
        (LORD_HOWE, "2026-03-30T09:00", "1w", "2026-04-10T09:00:00+10:30",
         "2026-04-06T09:00:00+10:30", "2026-04-13T09:00:00+10:30", 168),
        (LORD_HOWE, "2026-03-30T09:00", "1w", "2026-04-05T09:00:00+10:30",
         "2026-03-30T09:00:00+11:00", "2026-04-06T09:00:00+10:30", 168.5),
        (LORD_HOWE, "2026-10-01T08:00", "12h", "2026-10-04T01:00:00+10:30",
         "2026-10-03T20:00:00+10:30", "2026-10-04T08:00:00+11:00", 11.5),
        (LORD_HOWE, "2026-04-01T08:00", "12h", "2026-04-05T01:45:00+10:30",
         "2026-04-04T20:00:00+11:00", "2026-04-05T08:00:00+10:30", 12.5),
        # Hand-off at 02:10 on the night that skips 02:00-02:30: it happens at 02:30.
        (LORD_HOWE, "2026-10-01T02:10", "1d", "2026-10-04T02:45:00+11:00",
         "2026-10-04T02:30:00+11:00", "2026-10-05T02:10:00+11:00", 23 + 40 / 60),
    ],
)  # fmt: skip
def test_hand_offs_keep_local_time_across_dst(
    zone: ZoneInfo,
    start: str,
    every: str,
    instant: str,
    shift_start: str,
    shift_end: str,
    length: float,
) -> None:
    rotation = layer("r", ("U0A", "U0B"), start, every, zone)
    found = layer_shift_at(rotation, at(instant))
    assert found is not None
    k, begins, ends = found
    assert (begins, ends) == (at(shift_start), at(shift_end))
    assert hours(begins, ends) == pytest.approx(length)
    # The engine's schedule tells the same story: that shift, whole, held by members[k % 2].
    schedule = shifts(team(rotation), [], begins - timedelta(hours=1), ends + timedelta(hours=1))
    assert Shift(rotation.members[k % 2], begins, ends, "rotation:r") in schedule


def test_twelve_hour_rotation_over_the_paris_spring_forward_night() -> None:
    rotation = layer("r", ("U0A", "U0B"), "2026-03-28T08:00", "12h")
    found = shifts(
        team(rotation), [], at("2026-03-28T08:00:00+01:00"), at("2026-03-30T08:00:00+02:00")
    )
    assert rows(found) == [
        ("U0A", "2026-03-28T08:00:00+01:00", "2026-03-28T20:00:00+01:00", "rotation:r"),
        ("U0B", "2026-03-28T20:00:00+01:00", "2026-03-29T08:00:00+02:00", "rotation:r"),
        ("U0A", "2026-03-29T08:00:00+02:00", "2026-03-29T20:00:00+02:00", "rotation:r"),
        ("U0B", "2026-03-29T20:00:00+02:00", "2026-03-30T08:00:00+02:00", "rotation:r"),
    ]
    assert [hours(s.start, s.end) for s in found] == [12, 11, 12, 12]


def test_hourly_rotation_through_the_skipped_hour() -> None:
    # The 02:00 shift does not exist on 2026-03-29: it starts and ends at 03:00, so its holder
    # never holds the pager; the 01:00 shift runs to the change and 03:00 takes over.
    rotation = layer("r", ("U0A", "U0B", "U0C"), "2026-03-29T00:00", "1h")
    found = shifts(
        team(rotation), [], at("2026-03-29T00:00:00+01:00"), at("2026-03-29T05:00:00+02:00")
    )
    assert rows(found) == [
        ("U0A", "2026-03-29T00:00:00+01:00", "2026-03-29T01:00:00+01:00", "rotation:r"),
        ("U0B", "2026-03-29T01:00:00+01:00", "2026-03-29T03:00:00+02:00", "rotation:r"),
        ("U0A", "2026-03-29T03:00:00+02:00", "2026-03-29T04:00:00+02:00", "rotation:r"),
        ("U0B", "2026-03-29T04:00:00+02:00", "2026-03-29T05:00:00+02:00", "rotation:r"),
    ]


def test_hourly_rotation_through_the_doubled_hour() -> None:
    # 02:00 happens twice on 2026-10-25: the 02:00 shift starts at the first and runs until
    # the 03:00 shift, two real hours later.
    rotation = layer("r", ("U0A", "U0B", "U0C"), "2026-10-25T01:00", "1h")
    found = shifts(
        team(rotation), [], at("2026-10-25T01:00:00+02:00"), at("2026-10-25T04:00:00+01:00")
    )
    assert rows(found) == [
        ("U0A", "2026-10-25T01:00:00+02:00", "2026-10-25T02:00:00+02:00", "rotation:r"),
        ("U0B", "2026-10-25T02:00:00+02:00", "2026-10-25T03:00:00+01:00", "rotation:r"),
        ("U0C", "2026-10-25T03:00:00+01:00", "2026-10-25T04:00:00+01:00", "rotation:r"),
    ]
    assert hours(found[1].start, found[1].end) == 2


def test_rotation_start_in_a_skipped_hour_starts_at_the_change() -> None:
    rotation = layer("r", ("U0A", "U0B"), "2026-03-29T02:30", "1d")
    assert layer_holder(rotation, at("2026-03-29T01:59:59+01:00")) is None
    assert layer_holder(rotation, at("2026-03-29T03:00:00+02:00")) == "U0A"
    assert layer_shift_at(rotation, at("2026-03-29T03:00:00+02:00")) == (
        0,
        at("2026-03-29T03:00:00+02:00"),
        at("2026-03-30T02:30:00+02:00"),
    )


# --- windows ---------------------------------------------------------------------------------

NIGHT_OWL = layer(
    "nights",
    ("U0OWL", "U0BAT"),
    "2026-11-01T00:00",
    "1w",
    only=(window(SUN, 22, 0, MON, 6, 0),),  # wraps the end of the week
)


@pytest.mark.parametrize(
    ("instant", "holder"),
    [
        ("2026-11-08T21:59:00+01:00", None),
        ("2026-11-08T22:00:00+01:00", "U0BAT"),  # Sunday the 8th: week 1 (from Sun the 8th 00:00)
        ("2026-11-08T23:59:00+01:00", "U0BAT"),
        ("2026-11-09T00:00:00+01:00", "U0BAT"),
        ("2026-11-09T05:59:00+01:00", "U0BAT"),
        ("2026-11-09T06:00:00+01:00", None),
        ("2026-11-11T12:00:00+01:00", None),
        ("2026-11-01T22:30:00+01:00", "U0OWL"),
        ("2026-11-02T03:00:00+01:00", "U0OWL"),
        ("2026-10-31T23:00:00+01:00", None),  # before the start
    ],
)
def test_window_wrapping_the_end_of_the_week(instant: str, holder: str | None) -> None:
    assert layer_holder(NIGHT_OWL, at(instant)) == holder


def test_wrapping_window_is_one_shift_and_the_rest_is_a_gap() -> None:
    found = shifts(
        team(NIGHT_OWL), [], at("2026-11-08T00:00:00+01:00"), at("2026-11-16T00:00:00+01:00")
    )
    assert rows(found) == [
        (None, "2026-11-08T00:00:00+01:00", "2026-11-08T22:00:00+01:00", "gap"),
        ("U0BAT", "2026-11-08T22:00:00+01:00", "2026-11-09T06:00:00+01:00", "rotation:nights"),
        (None, "2026-11-09T06:00:00+01:00", "2026-11-15T22:00:00+01:00", "gap"),
        ("U0OWL", "2026-11-15T22:00:00+01:00", "2026-11-16T00:00:00+01:00", "rotation:nights"),
    ]


def test_window_edge_in_the_skipped_hour_opens_at_the_change() -> None:
    early = layer(
        "early", ("U0A",), "2026-03-01T00:00", "1w", only=(window(SUN, 2, 30, SUN, 5, 0),)
    )
    found = shifts(
        team(early), [], at("2026-03-29T00:00:00+01:00"), at("2026-03-29T06:00:00+02:00")
    )
    assert rows(found) == [
        (None, "2026-03-29T00:00:00+01:00", "2026-03-29T03:00:00+02:00", "gap"),
        ("U0A", "2026-03-29T03:00:00+02:00", "2026-03-29T05:00:00+02:00", "rotation:early"),
        (None, "2026-03-29T05:00:00+02:00", "2026-03-29T06:00:00+02:00", "gap"),
    ]


def test_window_in_the_doubled_hour_is_held_twice() -> None:
    # Sun 02:00-02:30 happens twice on 2026-10-25: once in summer time, once in winter time.
    short = layer(
        "short", ("U0A",), "2026-10-01T00:00", "1w", only=(window(SUN, 2, 0, SUN, 2, 30),)
    )
    found = shifts(
        team(short), [], at("2026-10-25T01:00:00+02:00"), at("2026-10-25T04:00:00+01:00")
    )
    assert rows(found) == [
        (None, "2026-10-25T01:00:00+02:00", "2026-10-25T02:00:00+02:00", "gap"),
        ("U0A", "2026-10-25T02:00:00+02:00", "2026-10-25T02:30:00+02:00", "rotation:short"),
        (None, "2026-10-25T02:30:00+02:00", "2026-10-25T02:00:00+01:00", "gap"),
        ("U0A", "2026-10-25T02:00:00+01:00", "2026-10-25T02:30:00+01:00", "rotation:short"),
        (None, "2026-10-25T02:30:00+01:00", "2026-10-25T04:00:00+01:00", "gap"),
    ]


def test_window_holds_local_time_after_dst_in_new_york() -> None:
    days = layer(
        "days",
        ("U0A", "U0B"),
        "2026-03-02T09:00",
        "1d",
        NEW_YORK,
        only=tuple(window(d, 9, 0, d, 17, 0) for d in range(7)),
    )
    found = shifts(team(days), [], at("2026-03-07T00:00:00-05:00"), at("2026-03-09T00:00:00-04:00"))
    assert rows(found, NEW_YORK) == [
        (None, "2026-03-07T00:00:00-05:00", "2026-03-07T09:00:00-05:00", "gap"),
        ("U0B", "2026-03-07T09:00:00-05:00", "2026-03-07T17:00:00-05:00", "rotation:days"),
        (None, "2026-03-07T17:00:00-05:00", "2026-03-08T09:00:00-04:00", "gap"),
        ("U0A", "2026-03-08T09:00:00-04:00", "2026-03-08T17:00:00-04:00", "rotation:days"),
        (None, "2026-03-08T17:00:00-04:00", "2026-03-09T00:00:00-04:00", "gap"),
    ]


# --- layers, gaps, overrides, merging --------------------------------------------------------


def test_before_its_start_a_layer_is_idle() -> None:
    later = layer("later", ("U0A", "U0B"), "2026-12-01T09:00", "1d")
    assert layer_shift_at(later, at("2026-12-01T08:59:59+01:00")) is None
    assert layer_holder(later, at("2026-11-15T12:00:00+01:00")) is None
    found = shifts(
        team(later), [], at("2026-11-30T00:00:00+01:00"), at("2026-12-02T00:00:00+01:00")
    )
    assert rows(found) == [
        (None, "2026-11-30T00:00:00+01:00", "2026-12-01T09:00:00+01:00", "gap"),
        ("U0A", "2026-12-01T09:00:00+01:00", "2026-12-02T00:00:00+01:00", "rotation:later"),
    ]


def test_first_active_layer_wins() -> None:
    primary = layer(
        "primary", ("U0P",), "2026-11-02T00:00", "1w", only=(window(MON, 9, 0, MON, 12, 0),)
    )
    fallback = layer("fallback", ("U0F",), "2026-11-02T00:00", "1w")
    found = shifts(
        team(primary, fallback),
        [],
        at("2026-11-02T00:00:00+01:00"),
        at("2026-11-03T00:00:00+01:00"),
    )
    assert rows(found) == [
        ("U0F", "2026-11-02T00:00:00+01:00", "2026-11-02T09:00:00+01:00", "rotation:fallback"),
        ("U0P", "2026-11-02T09:00:00+01:00", "2026-11-02T12:00:00+01:00", "rotation:primary"),
        ("U0F", "2026-11-02T12:00:00+01:00", "2026-11-03T00:00:00+01:00", "rotation:fallback"),
    ]
    # In the other order the fallback layer, always active, hides the primary entirely.
    swapped = shifts(
        team(fallback, primary),
        [],
        at("2026-11-02T00:00:00+01:00"),
        at("2026-11-03T00:00:00+01:00"),
    )
    assert rows(swapped) == [
        ("U0F", "2026-11-02T00:00:00+01:00", "2026-11-03T00:00:00+01:00", "rotation:fallback"),
    ]


def test_gaps_lists_the_uncovered_spans() -> None:
    found = gaps(SUPPORT, [], at("2026-11-27T00:00:00+01:00"), at("2026-12-02T00:00:00+01:00"))
    assert [(g.start, g.end) for g in found] == [
        (at("2026-11-27T00:00:00+01:00"), at("2026-11-27T09:00:00+01:00")),
        (at("2026-11-30T18:00:00+01:00"), at("2026-12-01T09:00:00+01:00")),
        (at("2026-12-01T18:00:00+01:00"), at("2026-12-02T00:00:00+01:00")),
    ]
    assert all(g.user is None and g.source == "gap" for g in found)


def test_a_gap_crossing_a_hand_off_is_one_gap() -> None:
    # The midnight hand-off falls in the idle night: the night is one gap, not two.
    days = layer(
        "days",
        ("U0A", "U0B"),
        "2026-11-02T00:00",
        "1d",
        only=(window(MON, 9, 0, MON, 18, 0), window(TUE, 9, 0, TUE, 18, 0)),
    )
    found = shifts(team(days), [], at("2026-11-02T12:00:00+01:00"), at("2026-11-03T12:00:00+01:00"))
    assert rows(found) == [
        ("U0A", "2026-11-02T12:00:00+01:00", "2026-11-02T18:00:00+01:00", "rotation:days"),
        (None, "2026-11-02T18:00:00+01:00", "2026-11-03T09:00:00+01:00", "gap"),
        ("U0B", "2026-11-03T09:00:00+01:00", "2026-11-03T12:00:00+01:00", "rotation:days"),
    ]


def test_override_fills_a_gap_and_splits_a_shift() -> None:
    overrides = [
        Override(
            "U0FRANK", at("2026-11-24T20:00:00+01:00"), at("2026-11-25T02:00:00+01:00"), "override"
        ),
        Override(
            "U0GRACE", at("2026-11-25T12:00:00+01:00"), at("2026-11-25T13:00:00+01:00"), "cover"
        ),
    ]
    found = shifts(
        SUPPORT, overrides, at("2026-11-24T18:00:00+01:00"), at("2026-11-25T18:00:00+01:00")
    )
    assert rows(found) == [
        (None, "2026-11-24T18:00:00+01:00", "2026-11-24T20:00:00+01:00", "gap"),
        ("U0FRANK", "2026-11-24T20:00:00+01:00", "2026-11-25T02:00:00+01:00", "override"),
        (None, "2026-11-25T02:00:00+01:00", "2026-11-25T09:00:00+01:00", "gap"),
        ("U0DAN", "2026-11-25T09:00:00+01:00", "2026-11-25T12:00:00+01:00", "rotation:weekdays"),
        ("U0GRACE", "2026-11-25T12:00:00+01:00", "2026-11-25T13:00:00+01:00", "cover"),
        ("U0DAN", "2026-11-25T13:00:00+01:00", "2026-11-25T18:00:00+01:00", "rotation:weekdays"),
    ]


def test_the_latest_override_wins_where_they_overlap() -> None:
    first = Override(
        "U0FIRST", at("2026-11-28T00:00:00+01:00"), at("2026-11-29T00:00:00+01:00"), "override"
    )
    second = Override(
        "U0SECOND", at("2026-11-28T06:00:00+01:00"), at("2026-11-28T12:00:00+01:00"), "cover"
    )
    found = shifts(
        SUPPORT, [first, second], at("2026-11-28T00:00:00+01:00"), at("2026-11-29T00:00:00+01:00")
    )
    assert rows(found) == [
        ("U0FIRST", "2026-11-28T00:00:00+01:00", "2026-11-28T06:00:00+01:00", "override"),
        ("U0SECOND", "2026-11-28T06:00:00+01:00", "2026-11-28T12:00:00+01:00", "cover"),
        ("U0FIRST", "2026-11-28T12:00:00+01:00", "2026-11-29T00:00:00+01:00", "override"),
    ]
    # Created the other way round, the day-long override hides the short one.
    reversed_order = shifts(
        SUPPORT, [second, first], at("2026-11-28T00:00:00+01:00"), at("2026-11-29T00:00:00+01:00")
    )
    assert rows(reversed_order) == [
        ("U0FIRST", "2026-11-28T00:00:00+01:00", "2026-11-29T00:00:00+01:00", "override"),
    ]


def test_a_swap_trades_two_weekends() -> None:
    # The CEO trades the weekend of 27 Nov for Bob's of 11 Dec: two overrides, one per half.
    swap = [
        Override(
            "U0BOB", at("2026-11-27T18:00:00+01:00"), at("2026-11-30T09:00:00+01:00"), "swap", id=1
        ),
        Override(
            "U0CEO", at("2026-12-11T18:00:00+01:00"), at("2026-12-14T09:00:00+01:00"), "swap", id=2
        ),
    ]
    holding = who(SUPPORT, swap, at("2026-11-28T21:00:00+01:00"))
    assert (holding.user, holding.source) == ("U0BOB", "swap")
    assert holding.since == at("2026-11-27T18:00:00+01:00")
    assert holding.until == at("2026-11-30T09:00:00+01:00")
    assert who(SUPPORT, swap, at("2026-12-12T12:00:00+01:00")).user == "U0CEO"
    assert who(SUPPORT, [], at("2026-12-12T12:00:00+01:00")).user == "U0BOB"
    year_end = at("2027-01-01T00:00:00+01:00")
    assert [
        (s.start, s.end)
        for s in user_shifts(SUPPORT, swap, "U0CEO", at("2026-11-20T00:00:00+01:00"), year_end)
    ] == [
        (at("2026-12-11T18:00:00+01:00"), at("2026-12-14T09:00:00+01:00")),
        (at("2026-12-25T18:00:00+01:00"), at("2026-12-28T09:00:00+01:00")),
    ]


def test_an_override_of_the_other_role_changes_nothing() -> None:
    backup_only = [
        Override(
            "U0LEAD2",
            at("2026-11-28T00:00:00+01:00"),
            at("2026-11-29T00:00:00+01:00"),
            "override",
            role="backup",
        )
    ]
    assert who(SUPPORT, backup_only, at("2026-11-28T21:00:00+01:00")).user == "U0CEO"
    assert (
        who(SUPPORT, backup_only, at("2026-11-28T21:00:00+01:00"), role="backup").user == "U0LEAD2"
    )


def test_adjacent_pieces_of_one_person_merge_and_keep_their_sources() -> None:
    # Dan's Friday day shift, then an override giving him the Friday evening too.
    evening = [
        Override(
            "U0DAN", at("2026-11-27T18:00:00+01:00"), at("2026-11-28T00:00:00+01:00"), "override"
        )
    ]
    found = shifts(
        SUPPORT, evening, at("2026-11-27T09:00:00+01:00"), at("2026-11-28T06:00:00+01:00")
    )
    assert rows(found) == [
        (
            "U0DAN",
            "2026-11-27T09:00:00+01:00",
            "2026-11-28T00:00:00+01:00",
            "rotation:weekdays+override",
        ),
        ("U0CEO", "2026-11-28T00:00:00+01:00", "2026-11-28T06:00:00+01:00", "rotation:weekend"),
    ]
    holding = who(SUPPORT, evening, at("2026-11-27T20:00:00+01:00"))
    assert (holding.since, holding.until) == (
        at("2026-11-27T09:00:00+01:00"),
        at("2026-11-28T00:00:00+01:00"),
    )


def test_same_person_on_consecutive_shifts_is_one_shift() -> None:
    # Alice appears twice in a row in the member list: her two days are one shift.
    daily = layer("daily", ("U0ALICE", "U0ALICE", "U0BOB"), "2026-11-02T09:00", "1d")
    found = shifts(
        team(daily), [], at("2026-11-02T09:00:00+01:00"), at("2026-11-06T09:00:00+01:00")
    )
    assert rows(found) == [
        ("U0ALICE", "2026-11-02T09:00:00+01:00", "2026-11-04T09:00:00+01:00", "rotation:daily"),
        ("U0BOB", "2026-11-04T09:00:00+01:00", "2026-11-05T09:00:00+01:00", "rotation:daily"),
        ("U0ALICE", "2026-11-05T09:00:00+01:00", "2026-11-06T09:00:00+01:00", "rotation:daily"),
    ]


def test_one_person_across_layers_merges_with_both_sources() -> None:
    day = layer(
        "day", ("U0ALICE",), "2026-11-02T00:00", "1d", only=(window(MON, 9, 0, MON, 18, 0),)
    )
    night = layer(
        "night", ("U0ALICE",), "2026-11-02T00:00", "1d", only=(window(MON, 18, 0, TUE, 9, 0),)
    )
    found = shifts(
        team(day, night), [], at("2026-11-02T12:00:00+01:00"), at("2026-11-03T12:00:00+01:00")
    )
    assert rows(found) == [
        (
            "U0ALICE",
            "2026-11-02T12:00:00+01:00",
            "2026-11-03T09:00:00+01:00",
            "rotation:day+rotation:night",
        ),
        (None, "2026-11-03T09:00:00+01:00", "2026-11-03T12:00:00+01:00", "gap"),
    ]


# --- lookups around an instant ---------------------------------------------------------------


def test_who_leaves_bounds_open_past_the_horizon() -> None:
    solo = layer("solo", ("U0SOLO",), "2026-01-01T00:00", "1w")
    holding = who(team(solo), [], at("2026-06-01T12:00:00+02:00"))
    assert (holding.user, holding.since, holding.until) == ("U0SOLO", None, None)
    later = layer("later", ("U0A",), "2026-12-01T09:00", "1d")
    holding = who(team(later), [], at("2026-11-25T12:00:00+01:00"))
    assert (holding.user, holding.source) == (None, "gap")
    assert holding.since is None
    assert holding.until == at("2026-12-01T09:00:00+01:00")


@pytest.mark.parametrize(
    ("instant", "user", "start", "end"),
    [
        # During the CEO's weekend: Erin's Monday is next.
        (
            "2026-11-28T21:00:00+01:00",
            "U0ERIN",
            "2026-11-30T09:00:00+01:00",
            "2026-11-30T18:00:00+01:00",
        ),
        # In a weeknight gap: the next day shift, not the gap.
        (
            "2026-11-24T20:00:00+01:00",
            "U0DAN",
            "2026-11-25T09:00:00+01:00",
            "2026-11-25T18:00:00+01:00",
        ),
        # Friday day shift: the weekend follows at once.
        (
            "2026-11-27T12:00:00+01:00",
            "U0CEO",
            "2026-11-27T18:00:00+01:00",
            "2026-11-30T09:00:00+01:00",
        ),
    ],
)
def test_next_shift(instant: str, user: str, start: str, end: str) -> None:
    assert next_shift(SUPPORT, [], at(instant)) == Shift(
        user, at(start), at(end), "rotation:weekend" if user == "U0CEO" else "rotation:weekdays"
    )


def test_next_shift_reports_its_whole_length() -> None:
    # The next shift is a fortnight-long solo stretch: its end is found beyond the first look.
    stretch = layer("stretch", ("U0A", "U0B"), "2026-11-02T09:00", "2w")
    found = next_shift(team(stretch), [], at("2026-11-10T12:00:00+01:00"))
    assert found == Shift(
        "U0B", at("2026-11-16T09:00:00+01:00"), at("2026-11-30T09:00:00+01:00"), "rotation:stretch"
    )


def test_next_shift_is_none_when_nobody_comes_within_the_horizon() -> None:
    far = layer("far", ("U0A",), "2027-06-01T09:00", "1d")
    assert next_shift(team(far), [], at("2026-11-28T21:00:00+01:00")) is None


@pytest.mark.parametrize(
    ("after", "change"),
    [
        ("2026-11-28T21:00:00+01:00", "2026-11-30T09:00:00+01:00"),
        ("2026-11-30T09:00:00+01:00", "2026-11-30T18:00:00+01:00"),  # strictly after
        ("2026-11-30T08:59:59+01:00", "2026-11-30T09:00:00+01:00"),
        ("2026-11-30T18:00:00+01:00", "2026-12-01T09:00:00+01:00"),  # a gap ends
        ("2026-11-01T00:00:00+01:00", "2026-11-06T18:00:00+01:00"),  # before any start
        ("2027-03-28T01:00:00+01:00", "2027-03-29T09:00:00+02:00"),  # across spring forward
    ],
)
def test_next_change(after: str, change: str) -> None:
    assert next_change(SUPPORT, [], at(after)) == at(change)


def test_next_change_sees_overrides_and_ignores_backup() -> None:
    cover = [
        Override(
            "U0GRACE", at("2026-11-29T12:00:00+01:00"), at("2026-11-29T14:00:00+01:00"), "cover"
        ),
        Override(
            "U0LEAD1",
            at("2026-11-28T22:00:00+01:00"),
            at("2026-11-28T23:00:00+01:00"),
            "override",
            role="backup",
        ),
    ]
    assert next_change(SUPPORT, cover, at("2026-11-28T21:00:00+01:00")) == at(
        "2026-11-29T12:00:00+01:00"
    )


def test_next_change_is_none_when_nothing_changes_within_the_horizon() -> None:
    solo = layer("solo", ("U0SOLO",), "2026-01-01T00:00", "1w")
    assert next_change(team(solo), [], at("2026-06-01T00:00:00+02:00")) is None
    assert next_change(team(), [], at("2026-06-01T00:00:00+02:00")) is None


# --- bad input -------------------------------------------------------------------------------


def test_naive_instants_are_refused_by_name() -> None:
    with pytest.raises(ValueError, match="start must be timezone-aware"):
        shifts(SUPPORT, [], datetime(2026, 11, 1), at("2026-11-02T00:00:00+01:00"))
    with pytest.raises(ValueError, match="at must be timezone-aware"):
        who(SUPPORT, [], datetime(2026, 11, 1))
    naive_override = Override(
        "U0A", datetime(2026, 11, 1), datetime(2026, 11, 2, tzinfo=UTC), "cover"
    )
    with pytest.raises(ValueError, match=r"override 0 \(U0A\) start must be timezone-aware"):
        shifts(
            SUPPORT,
            [naive_override],
            at("2026-11-01T00:00:00+01:00"),
            at("2026-11-03T00:00:00+01:00"),
        )


def test_a_range_ending_before_it_starts_is_refused() -> None:
    with pytest.raises(ValueError, match="end 2026-11-01T00:00:00\\+00:00 is before start"):
        shifts(SUPPORT, [], at("2026-11-02T00:00:00+00:00"), at("2026-11-01T00:00:00+00:00"))
    assert (
        shifts(SUPPORT, [], at("2026-11-02T00:00:00+00:00"), at("2026-11-02T00:00:00+00:00")) == []
    )


def test_an_override_ending_before_it_starts_is_refused() -> None:
    backwards = Override(
        "U0A", at("2026-11-02T00:00:00+00:00"), at("2026-11-01T00:00:00+00:00"), "cover"
    )
    with pytest.raises(ValueError, match=r"override 0 \(U0A\) ends at .* before it starts"):
        shifts(
            SUPPORT, [backwards], at("2026-10-01T00:00:00+00:00"), at("2026-12-01T00:00:00+00:00")
        )


def test_a_layer_without_members_is_refused_by_name() -> None:
    empty = layer("empty", (), "2026-11-02T09:00", "1d")
    with pytest.raises(ValueError, match="layer 'empty': no members"):
        shifts(team(empty), [], at("2026-11-01T00:00:00+00:00"), at("2026-11-03T00:00:00+00:00"))


def test_window_ending_at_the_end_of_the_week() -> None:
    # "sun 22:00 - mon 00:00" written without wrapping: it ends at minute 10080.
    late = layer(
        "late", ("U0A",), "2026-11-01T00:00", "1w", only=(Window(SUN * DAY + 22 * 60, 7 * DAY),)
    )
    found = shifts(team(late), [], at("2026-11-08T12:00:00+01:00"), at("2026-11-09T12:00:00+01:00"))
    assert rows(found) == [
        (None, "2026-11-08T12:00:00+01:00", "2026-11-08T22:00:00+01:00", "gap"),
        ("U0A", "2026-11-08T22:00:00+01:00", "2026-11-09T00:00:00+01:00", "rotation:late"),
        (None, "2026-11-09T00:00:00+01:00", "2026-11-09T12:00:00+01:00", "gap"),
    ]
