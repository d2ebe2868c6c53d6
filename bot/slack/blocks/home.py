"""The App Home tab: my next shifts, who is on call now in my teams, my pending swaps, and what
each command does."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from bot.i18n import _
from bot.plan.model import Team
from bot.schedule.roster import TeamStatus
from bot.slack import timefmt
from bot.slack.blocks import (
    VIEW_BLOCKS_MAX,
    Block,
    capped,
    context,
    divider,
    header,
    section,
    sections_of_lines,
)
from bot.slack.blocks.commands import HELP_HINT, command_lines
from bot.slack.blocks.escaping import escape
from bot.slack.blocks.swap import pending_lines

if TYPE_CHECKING:
    from bot.schedule.swaps import TeamShift
    from storage.models import SwapRequest


def _row(shift: TeamShift, viewer: ZoneInfo | None) -> str:
    mine, theirs = timefmt.span_parts(shift.start, shift.end, viewer, shift.team.timezone)
    where = f" — {escape(shift.team.name)}"
    return f"• {mine} _({theirs})_{where}" if theirs else f"• {mine}{where}"


def _now_line(status: TeamStatus, viewer: ZoneInfo | None) -> str:
    held, tz = status.oncall, status.team.timezone
    if held.user is None:
        until = f" until {timefmt.instant(held.until, viewer, tz)}" if held.until else ""
        return f"*{escape(status.team.name)}*: *nobody* — a gap in the schedule{until}."
    until = f" until {timefmt.instant(held.until, viewer, tz)}" if held.until else ""
    return f"*{escape(status.team.name)}*: <@{held.user}>{until}."


def home_view(
    my_shifts: Sequence[TeamShift],
    statuses: Sequence[TeamStatus],
    incoming: Sequence[SwapRequest],
    outgoing: Sequence[SwapRequest],
    teams: dict[str, Team],
    viewer: ZoneInfo | None,
) -> dict[str, Any]:
    """The Home tab of one user, built from what was loaded for them."""
    zone = f"your time ({timefmt.zone_name(viewer)})" if viewer else "team time"
    blocks: list[Block] = [header("Your next shifts")]
    if my_shifts:
        blocks.extend(sections_of_lines(_row(s, viewer) for s in my_shifts))
    else:
        blocks.append(section("You have no shift in the next five weeks."))
    blocks += [divider(), header("On call now")]
    if statuses:
        blocks.extend(sections_of_lines(_now_line(s, viewer) for s in statuses))
    else:
        blocks.append(section("You are not in any on-call team."))
    blocks += [divider(), header("Your swap requests")]
    pending = pending_lines(incoming, outgoing, teams, viewer)
    blocks.extend(pending or [section("No pending swap requests.")])
    blocks.append(context(f"Times are {zone}; team time in brackets where it differs."))
    blocks += [
        divider(),
        header("Commands"),
        section("\n".join(command_lines())),
        context(_(HELP_HINT)),
    ]
    return {
        "type": "home",
        "blocks": capped(blocks, VIEW_BLOCKS_MAX, "… more left out: the page would be too long."),
    }
