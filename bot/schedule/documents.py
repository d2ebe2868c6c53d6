"""The JSON documents of who holds the pager and of the final schedule: one builder for the
command line (`who --json`, `shifts --json`) and the JSON API, so that both say the same."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlmodel import Session

from bot.plan.model import Plan
from bot.schedule.engine import Shift
from bot.schedule.roster import Roster, TeamStatus

# How far `shifts` looks when no end is given.
SHIFTS_HORIZON = timedelta(weeks=4)
ROLES = ("oncall", "backup")


class BadValue(ValueError):
    """A value asked for that cannot be used: ``field`` names it (``--at``, ``from``...)."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")


@dataclass(frozen=True)
class WhoQuery:
    """What `who` is asked: the teams (in order), the instant, and the zone it is told in."""

    team_ids: list[str]
    at: datetime
    zone: ZoneInfo


@dataclass(frozen=True)
class ShiftsQuery:
    """What `shifts` is asked: one team, the span [start, end), whose shifts."""

    team_id: str
    start: datetime
    end: datetime
    zone: ZoneInfo
    role: Literal["oncall", "backup"]


def parse_instant(text: str, zone: ZoneInfo, *, field: str) -> datetime:
    """An ISO-8601 instant, or a date (its midnight) or naive time, read in ``zone`` (UTC out)."""
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), time(0), zone).astimezone(UTC)
        value = datetime.fromisoformat(text)
    except ValueError:
        raise BadValue(
            field,
            "expected a date (2026-11-28) or an ISO-8601 instant "
            f"(2026-11-28T21:00:00+01:00), got {text[:60]!r}",
        ) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone)
    return value.astimezone(UTC)


def iso(instant: datetime | None, zone: ZoneInfo) -> str | None:
    """The instant in ISO-8601 with the zone's offset (None stays None)."""
    return None if instant is None else instant.astimezone(zone).isoformat()


def who_query(
    plan: Plan, *, team: str | None, at: str | None, now: datetime, field_prefix: str = ""
) -> WhoQuery:
    """The teams and instant of a `who` question: one team or all, at ``at`` or now.

    ``field_prefix`` is what the asker's names start with (``--`` on the command line).
    """
    team_ids = team_ids_of(plan, team, field=f"{field_prefix}team")
    zone = plan.teams[team_ids[0]].timezone if team is not None else plan.timezone
    instant = parse_instant(at, zone, field=f"{field_prefix}at") if at else now
    return WhoQuery(team_ids=team_ids, at=instant, zone=zone)


def shifts_query(
    plan: Plan,
    *,
    team: str | None,
    start: str | None,
    end: str | None,
    role: str,
    now: datetime,
    field_prefix: str = "",
) -> ShiftsQuery:
    """The team, span and role of a `shifts` question (from now, four weeks, by default)."""
    team_id = one_team(plan, team, field=f"{field_prefix}team")
    zone = plan.teams[team_id].timezone
    begin = parse_instant(start, zone, field=f"{field_prefix}from") if start else now
    finish = parse_instant(end, zone, field=f"{field_prefix}to") if end else begin + SHIFTS_HORIZON
    if finish <= begin:
        raise BadValue(
            f"{field_prefix}to",
            f"{iso(finish, zone)} must be after {field_prefix}from ({iso(begin, zone)})",
        )
    if role not in ROLES:
        raise BadValue(f"{field_prefix}role", f"expected oncall or backup, got {role[:40]!r}")
    chosen: Literal["oncall", "backup"] = "backup" if role == "backup" else "oncall"
    return ShiftsQuery(team_id=team_id, start=begin, end=finish, zone=zone, role=chosen)


def team_ids_of(plan: Plan, team: str | None, *, field: str) -> list[str]:
    """The teams asked for: the one named, or every team of the setup file."""
    if team is None:
        return sorted(plan.teams)
    if team not in plan.teams:
        raise BadValue(
            field, f"no team {team[:64]!r} in {plan.source}; teams: {', '.join(sorted(plan.teams))}"
        )
    return [team]


def one_team(plan: Plan, team: str | None, *, field: str) -> str:
    """The team named, or the setup file's only team when it has one."""
    if team is not None:
        return team_ids_of(plan, team, field=field)[0]
    if len(plan.teams) == 1:
        return next(iter(plan.teams))
    raise BadValue(
        field,
        f"{plan.source} has {len(plan.teams)} teams, say which one: "
        f"{', '.join(sorted(plan.teams)) or 'none'}",
    )


def who_statuses(
    roster: Roster, query: WhoQuery, session: Session | None = None
) -> list[TeamStatus]:
    """Each asked team's pager holder, backup and next at the instant."""
    return [roster.status(team_id, query.at, session) for team_id in query.team_ids]


def who_document(query: WhoQuery, statuses: Sequence[TeamStatus]) -> dict[str, Any]:
    """`who --json`: the instant, and for each team who holds the pager, the backup, who is next."""
    return who_document_of_rows(query, [who_row(s) for s in statuses])


def who_document_of_rows(query: WhoQuery, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """`who --json` of the teams' rows already built."""
    return {"at": iso(query.at, query.zone), "teams": rows}


def who_row(status: TeamStatus) -> dict[str, Any]:
    """One team of `who --json`: the pager holder, the backup and who is next."""
    tz, held = status.team.timezone, status.oncall
    return {
        "team": status.team.id,
        "oncall": held.user,
        "since": iso(held.since, tz),
        "until": iso(held.until, tz),
        "source": held.source,
        "backup": status.backup.user if status.backup else None,
        "next": (
            {"user": status.next.user, "start": iso(status.next.start, tz)} if status.next else None
        ),
    }


def team_shifts(roster: Roster, query: ShiftsQuery, session: Session | None = None) -> list[Shift]:
    """The final schedule asked for, gaps included."""
    return roster.shifts(query.team_id, query.start, query.end, role=query.role, session=session)


def shifts_document(query: ShiftsQuery, shifts: Sequence[Shift]) -> dict[str, Any]:
    """`shifts --json`: the team and one row per shift, in team time."""
    zone = query.zone
    return {
        "team": query.team_id,
        "shifts": [
            {
                "user": s.user,
                "start": iso(s.start, zone),
                "end": iso(s.end, zone),
                "source": s.source,
            }
            for s in shifts
        ],
    }
