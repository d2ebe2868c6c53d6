"""Who holds the pager in every team, remembered until it can change: the JSON API answers
`/oncall` from memory between hand-offs instead of computing every team's schedule anew."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Engine

from bot.plan.model import Plan
from bot.schedule.documents import WhoQuery, who_document_of_rows, who_row, who_statuses
from bot.schedule.roster import Roster, TeamStatus
from storage.db import read_scope
from storage.overrides import overrides_version


@dataclass(frozen=True)
class _Kept:
    plan: Plan
    version: tuple[int, int]
    start: datetime
    end: datetime
    rows: list[dict[str, Any]]


class WhoMemo:
    """`who` for a set of teams, computed once per stretch in which nothing can change.

    What holds is the same for every instant from the latest start to the earliest end of the
    shifts in force (pager and backup, every team asked), as long as the setup file (the plan
    object) and the stored overrides (their version, read at each question) are the same.
    """

    def __init__(self, roster: Roster, engine: Engine) -> None:
        self._roster = roster
        self._engine = engine
        self._kept: dict[tuple[str, ...], _Kept] = {}

    def document(self, query: WhoQuery) -> dict[str, Any]:
        """`who --json` at ``query.at``: each asked team's pager holder, backup and next."""
        key = tuple(query.team_ids)
        at = query.at
        plan = self._roster.plan
        with read_scope(self._engine) as session:
            version = overrides_version(session=session)
            kept = self._kept.get(key)
            if (
                kept is not None
                and kept.plan is plan
                and kept.version == version
                and kept.start <= at < kept.end
            ):
                return who_document_of_rows(query, kept.rows)
            statuses = who_statuses(self._roster, query, session)
        rows = [who_row(status) for status in statuses]
        start, end = unchanged_around(statuses, at)
        if start < end:
            self._kept[key] = _Kept(plan, version, start, end, rows)
        return who_document_of_rows(query, rows)


def unchanged_around(statuses: list[TeamStatus], at: datetime) -> tuple[datetime, datetime]:
    """The stretch around ``at`` over which these statuses hold unchanged (empty when a bound
    lies past the schedule's horizon, where it may come into view)."""
    held = [h for s in statuses for h in (s.oncall, s.backup) if h is not None]
    ends = [h.until for h in held]
    if not held or any(s.next is None for s in statuses) or None in ends:
        # Nobody next within the horizon, or a shift ending past it: that may change as the
        # horizon moves on.
        return at, at
    starts = [h.since for h in held]
    # A start past the horizon (None) is only known to be long ago: from ``at`` on, then.
    start = at if None in starts else max(s for s in starts if s is not None)
    return start, min(e for e in ends if e is not None)
