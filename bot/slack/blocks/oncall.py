"""The answers to /oncall: who holds the pager now, the next seven days, my shifts, help."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from bot.enums import Command
from bot.i18n import N_, _
from bot.plan.model import Team
from bot.schedule import timefmt
from bot.schedule.engine import Shift
from bot.schedule.roster import TeamStatus
from bot.slack.blocks import (
    Block,
    Message,
    context,
    divider,
    header,
    message,
    section,
    sections_of_lines,
)
from bot.slack.blocks.commands import SUMMARIES
from bot.text.escaping import escape

if TYPE_CHECKING:
    from bot.schedule.swaps import TeamShift

COMMANDS_HINT = N_("`/oncall week` the next seven days · `/oncall me` your shifts · `/oncall help`")


def _who(user: str | None) -> str:
    return f"<@{user}>" if user else _("*nobody*")


def _row(start: datetime, end: datetime, viewer: ZoneInfo | None, team: ZoneInfo) -> str:
    """A span as one list row: viewer time, and team time in brackets where it differs."""
    mine, theirs = timefmt.span_parts(start, end, viewer, team)
    return f"{mine} _({theirs})_" if theirs else mine


def _status_blocks(status: TeamStatus, viewer: ZoneInfo | None) -> tuple[str, list[Block]]:
    team, now = status.team, status.oncall
    tz = team.timezone
    name = escape(team.name)
    if now.user is None:
        if now.until:
            headline = _(
                "*{team}*: *nobody* is on call now — a gap in the schedule until {until}."
            ).format(team=name, until=timefmt.instant(now.until, viewer, tz))
        else:
            headline = _(
                "*{team}*: *nobody* is on call now — a gap in the schedule for the next five weeks."
            ).format(team=name)
        summary = _("{team}: nobody is on call now").format(team=name)
    else:
        headline = _("*{team}*: <@{user}> is on call now, {span}.").format(
            team=name, user=now.user, span=timefmt.span(now.since, now.until, viewer, tz)
        )
        summary = _("{team}: <@{user}> is on call now").format(team=name, user=now.user)
    lines = [headline]
    if status.backup is not None:
        backup = status.backup.user
        lines.append(_("Backup: <@{user}>.").format(user=backup) if backup else _("No backup."))
    if status.next is not None and status.next.user is not None:
        lines.append(
            _("Next: <@{user}> from {when}.").format(
                user=status.next.user, when=timefmt.instant(status.next.start, viewer, tz)
            )
        )
    else:
        lines.append(_("Next: nobody in the next five weeks."))
    return summary, [section("\n".join(lines))]


def status_message(statuses: Sequence[TeamStatus], viewer: ZoneInfo | None) -> Message:
    """Who holds the pager now in each team, since and until when, the backup and who is next."""
    if not statuses:
        return message(
            _("No team is set up yet."),
            [section(_("No team is set up yet: the setup file names none."))],
        )
    blocks: list[Block] = []
    summaries: list[str] = []
    for i, status in enumerate(statuses):
        if i:
            blocks.append(divider())
        summary, team_blocks = _status_blocks(status, viewer)
        summaries.append(summary)
        blocks.extend(team_blocks)
    blocks.append(context(_(COMMANDS_HINT)))
    return message("; ".join(summaries), blocks)


def week_message(
    team: Team,
    shifts: Sequence[Shift],
    viewer: ZoneInfo | None,
    at: datetime,
) -> Message:
    """The team's schedule over the next seven days, gaps included, one row per shift."""
    rows = [f"• {_row(s.start, s.end, viewer, team.timezone)}  {_who(s.user)}" for s in shifts]
    blocks = [
        header(_("{team}: the next seven days").format(team=team.name)),
        context(timefmt.zone_note(viewer, team.timezone, at)),
        *sections_of_lines(rows or [_("Nothing scheduled.")]),
    ]
    return message(
        _("{team}: on call over the next seven days").format(team=escape(team.name)), blocks
    )


def my_shifts_message(shifts: Sequence[TeamShift], viewer: ZoneInfo | None) -> Message:
    """The viewer's own next shifts, across their teams."""
    if not shifts:
        text = _("You have no shift in the next five weeks.")
        return message(text, [section(text)])
    rows = [
        f"• {_row(s.start, s.end, viewer, s.team.timezone)} — {escape(s.team.name)}" for s in shifts
    ]
    zones = {s.team.timezone.key: s.team.timezone for s in shifts}
    notes = [timefmt.zone_note(viewer, tz, shifts[0].start) for tz in zones.values()]
    blocks = [
        section(_("*Your next shifts*")),
        *sections_of_lines(rows),
        context(*dict.fromkeys(notes)),
    ]
    return message(
        _("Your next shift: {span}").format(
            span=_row(shifts[0].start, shifts[0].end, viewer, shifts[0].team.timezone)
        ),
        blocks,
    )


def help_message(team_ids: Sequence[str]) -> Message:
    """Every way to type /oncall, /swap, /cover and /escalate."""
    teams = ", ".join(f"`{escape(t)}`" for t in team_ids) or _("none yet")
    said = {command: f"*{command.value}* — {_(SUMMARIES[command])}." for command in SUMMARIES}
    text = "\n".join(
        [
            said[Command.oncall],
            _("• `/oncall` — who holds the pager now, until when, the backup and who is next."),
            _("• `/oncall &lt;team&gt;` — the same for one team. Teams: {teams}.").format(
                teams=teams
            ),
            _("• `/oncall [team] week` — the next seven days."),
            _("• `/oncall me` — your own next shifts."),
            said[Command.swap],
            _(
                "• `/swap` opens a form; in one line: `/swap @bob 2026-11-28 2026-12-05` (your "
                "shift on the first day for theirs on the second)."
            ),
            said[Command.cover],
            _(
                "• `/cover` opens a form; in one line: `/cover 2026-11-28`, "
                "`/cover 2026-11-28..2026-11-30`, `/cover 2026-11-28 18:00 - 2026-11-29 09:00` "
                "or with a weekday for the next one, `/cover sat 22:00-06:00` (days and times in "
                "team time)."
            ),
            said[Command.escalate],
            _(
                "• `/escalate` opens a form; in one line: `/escalate [team] what happened`, e.g. "
                "`/escalate support Acme says checkout fails` (the team can be left out when you "
                "are in one)."
            ),
        ]
    )
    return message(_("How to use /oncall, /swap, /cover and /escalate"), [section(text)])
