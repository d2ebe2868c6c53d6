"""The App Home tab: my next shifts, who is on call now in my teams, my pending swaps, my wake-up
methods, and what each command does."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from bot.enums import Action
from bot.i18n import LANGUAGE_NAMES, LANGUAGES, _
from bot.plan.model import Team
from bot.schedule import timefmt
from bot.schedule.roster import TeamStatus
from bot.slack.blocks import (
    VIEW_BLOCKS_MAX,
    Block,
    actions,
    capped,
    context,
    divider,
    header,
    plain,
    section,
    sections_of_lines,
)
from bot.slack.blocks.commands import HELP_HINT, command_lines
from bot.slack.blocks.swap import pending_lines
from bot.text.escaping import escape

if TYPE_CHECKING:
    from bot.schedule.swaps import TeamShift
    from storage.models import SwapRequest


def _row(shift: TeamShift, viewer: ZoneInfo | None) -> str:
    mine, theirs = timefmt.span_parts(shift.start, shift.end, viewer, shift.team.timezone)
    where = f" — {escape(shift.team.name)}"
    return f"• {mine} _({theirs})_{where}" if theirs else f"• {mine}{where}"


# The App Home's language menu: the bot's choice (the option "auto"), or one language.
LANGUAGE_BLOCK = "home-language"
AUTOMATIC = "auto"


def _now_line(status: TeamStatus, viewer: ZoneInfo | None) -> str:
    held, tz = status.oncall, status.team.timezone
    team = escape(status.team.name)
    until = timefmt.instant(held.until, viewer, tz) if held.until else None
    if held.user is None:
        if until:
            return _("*{team}*: *nobody* — a gap in the schedule until {until}.").format(
                team=team, until=until
            )
        return _("*{team}*: *nobody* — a gap in the schedule.").format(team=team)
    if until:
        return _("*{team}*: <@{user}> until {until}.").format(
            team=team, user=held.user, until=until
        )
    return f"*{team}*: <@{held.user}>."


def language_menu(picked: str | None) -> Block:
    """The menu where a person picks the language the bot speaks to them."""
    options = [
        {"text": plain(_("Automatic: my Slack language"), 75), "value": AUTOMATIC},
        *({"text": plain(LANGUAGE_NAMES[tag], 75), "value": tag} for tag in LANGUAGES),
    ]
    chosen = next((o for o in options if o["value"] == (picked or AUTOMATIC)), options[0])
    menu = {
        "type": "static_select",
        "action_id": Action.home_language.value,
        "placeholder": plain(_("Language"), 150),
        "options": options,
        "initial_option": chosen,
    }
    return actions(LANGUAGE_BLOCK, menu)


def home_view(
    my_shifts: Sequence[TeamShift],
    statuses: Sequence[TeamStatus],
    incoming: Sequence[SwapRequest],
    outgoing: Sequence[SwapRequest],
    teams: dict[str, Team],
    viewer: ZoneInfo | None,
    picked_language: str | None = None,
    wake: Sequence[Block] = (),
) -> dict[str, Any]:
    """The Home tab of one user, built from what was loaded for them."""
    blocks: list[Block] = [header(_("Your next shifts"))]
    if my_shifts:
        blocks.extend(sections_of_lines(_row(s, viewer) for s in my_shifts))
    else:
        blocks.append(section(_("You have no shift in the next five weeks.")))
    blocks += [divider(), header(_("On call now"))]
    if statuses:
        blocks.extend(sections_of_lines(_now_line(s, viewer) for s in statuses))
    else:
        blocks.append(section(_("You are not in any on-call team.")))
    blocks += [divider(), header(_("Your swap requests"))]
    pending = pending_lines(incoming, outgoing, teams, viewer)
    blocks.extend(pending or [section(_("No pending swap requests."))])
    if viewer:
        note = _("Times are your time ({zone}); team time in brackets where it differs.")
        blocks.append(context(note.format(zone=timefmt.zone_name(viewer))))
    else:
        blocks.append(context(_("Times are team time.")))
    if wake:
        blocks += [divider(), *wake]
    blocks += [
        divider(),
        header(_("Commands")),
        section("\n".join(command_lines())),
        context(_(HELP_HINT)),
    ]
    # The language menu stays however long the page: a crowded page is cut before it.
    language = [
        divider(),
        section(_("*Language* — the one the bot speaks to you here, in DMs and answers.")),
        language_menu(picked_language),
    ]
    left_out = _("… more left out: the page would be too long.")
    return {
        "type": "home",
        "blocks": capped(blocks, VIEW_BLOCKS_MAX - len(language), left_out) + language,
    }
