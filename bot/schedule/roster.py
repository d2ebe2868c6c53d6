"""Who holds the pager, for the whole application: the plan from the setup file plus the
overrides from the database, handed to the pure schedule engine."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.plan.model import Plan, Team
from bot.schedule import engine as schedule
from storage.overrides import LiveOverride, live_overrides
from storage.prepared import Tx

# The engine's name of each kind of stored override.
_SOURCES = {"swap": "swap", "cover": "cover", "manual": "override"}

# Overrides are loaded this far around the asked range, so that "since"/"until" of a shift
# that began or ends outside the range still see them (matches the engine's look-around).
OVERRIDE_MARGIN = timedelta(days=40)


class UnknownTeam(LookupError):
    def __init__(self, team: str, known: list[str]) -> None:
        self.team = team
        self.known = known
        super().__init__(f"no team {team!r}; teams: {', '.join(known) or 'none'}")


@dataclass(frozen=True)
class TeamStatus:
    team: Team
    at: datetime
    oncall: schedule.Holding
    backup: schedule.Holding | None
    next: schedule.Shift | None


class Roster:
    """Answers schedule questions against the current plan and the stored overrides."""

    def __init__(self, plan: Callable[[], Plan], engine: Engine | None) -> None:
        self._plan = plan
        self._engine = engine

    @property
    def plan(self) -> Plan:
        return self._plan()

    def team(self, team_id: str) -> Team:
        plan = self.plan
        try:
            return plan.teams[team_id]
        except KeyError:
            raise UnknownTeam(team_id, sorted(plan.teams)) from None

    def overrides(
        self, team_id: str, start: datetime, end: datetime, session: Session | None = None
    ) -> list[schedule.Override]:
        """Stored overrides of the team around [start, end), oldest first."""
        return self._stored(team_id, start - OVERRIDE_MARGIN, end + OVERRIDE_MARGIN, session)

    def _stored(
        self, team_id: str, start: datetime, end: datetime, session: Tx | None
    ) -> list[schedule.Override]:
        """Stored overrides of the team overlapping [start, end), oldest first."""
        if self._engine is None:
            return []
        if session is not None:
            stored = live_overrides(session=session, team=team_id, start=start, end=end)
        else:
            with Session(self._engine) as own:
                stored = live_overrides(session=own, team=team_id, start=start, end=end)
        return _as_engine_takes(stored)

    def status(self, team_id: str, at: datetime, session: Session | None = None) -> TeamStatus:
        """Who holds the pager and the backup at ``at``, and who is next."""
        team = self.team(team_id)
        overrides = self.overrides(team_id, at, at, session)
        backup = schedule.who(team, overrides, at, role="backup") if team.backup else None
        oncall = schedule.who(team, overrides, at)
        return TeamStatus(
            team=team,
            at=at,
            oncall=oncall,
            backup=backup,
            next=schedule.next_shift(team, overrides, at),
        )

    def holders(
        self, team_id: str, at: datetime, session: Tx | None = None
    ) -> tuple[str | None, str | None]:
        """Who holds the pager and who the backup at ``at`` (None: nobody); ``status`` without
        the look ahead, for paging."""
        team = self.team(team_id)
        # Only the overrides in force at the instant count: no margin to load.
        overrides = self._stored(team_id, at, at + schedule.INSTANT, session)
        backup = schedule.holder(team, overrides, at, role="backup") if team.backup else None
        return schedule.holder(team, overrides, at), backup

    def shifts(
        self,
        team_id: str,
        start: datetime,
        end: datetime,
        role: schedule.Role = "oncall",
        session: Session | None = None,
    ) -> list[schedule.Shift]:
        """The final schedule of the team over [start, end), gaps included."""
        team = self.team(team_id)
        return schedule.shifts(team, self.overrides(team_id, start, end, session), start, end, role)

    def whole_shifts(self, team_id: str, start: datetime, end: datetime) -> list[schedule.Shift]:
        """The team's shifts that overlap [start, end), the first and last ones whole."""
        team = self.team(team_id)
        return schedule.whole_shifts(team, self.overrides(team_id, start, end), start, end)

    def user_shifts(
        self, team_id: str, user: str, start: datetime, end: datetime
    ) -> list[schedule.Shift]:
        return [s for s in self.shifts(team_id, start, end) if s.user == user]

    def teams_of(self, user: str) -> list[Team]:
        """The teams whose rotations or backup name the user."""
        return [team for team in self.plan.teams.values() if user in team.members]


def _as_engine_takes(stored: list[LiveOverride]) -> list[schedule.Override]:
    """The stored overrides as the schedule engine takes them, in the same order."""
    return [
        schedule.Override(
            user=o.user_id,
            start=o.start,
            end=o.end,
            source=_SOURCES[o.kind],
            role="backup" if o.role == "backup" else "oncall",
            id=o.id,
        )
        for o in stored
    ]
