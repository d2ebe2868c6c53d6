"""Swap messages and the swap modal: the request with Accept/Decline, its outcome, the notices."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from bot.enums import Action, View
from bot.i18n import N_, _
from bot.plan.model import Team
from bot.schedule import timefmt
from bot.slack.blocks import (
    Block,
    Message,
    actions,
    button,
    context,
    cut,
    input_block,
    message,
    modal,
    plain,
    section,
)
from bot.slack.blocks.shift_select import shift_select
from bot.slack.metadata import SwapRef, dump
from bot.text.escaping import escape

if TYPE_CHECKING:
    from bot.schedule.swaps import TeamShift
    from storage.models import SwapRequest

# Block ids of the modal's inputs: validation errors are reported against them.
MY_SHIFT_BLOCK = "my_shift"
TEAMMATE_BLOCK = "teammate"
THEIR_SHIFT_BLOCK = "their_shift"
DECISION_BLOCK = "swap-decision"
# A request's status as its readers are told it (shown translated with swap_status).
STATUSES = {
    "pending": N_("pending"),
    "accepted": N_("accepted"),
    "declined": N_("declined"),
    "stale": N_("out of date"),
}


def swap_status(status: str) -> str:
    """A swap request's status in the reader's words: "accepted", "acceptée", "aceita"."""
    return _(STATUSES[status]) if status in STATUSES else status


def _option_text(shift: TeamShift, viewer: ZoneInfo | None) -> str:
    mine, _team = timefmt.span_parts(shift.start, shift.end, viewer, shift.team.timezone)
    return mine


SWAP_TITLE = N_("Swap a shift")


def swap_loading_modal() -> dict[str, Any]:
    """The /swap form while it is being filled in: Slack wants a modal within 3 seconds of the
    command, before the person's time zone is known."""
    return modal(
        _(SWAP_TITLE),
        [section(_(":hourglass_flowing_sand: Finding your next shifts…"))],
        callback_id=View.swap_request.value,
        close=_("Cancel"),
    )


def swap_modal(my_shifts: Sequence[TeamShift], viewer: ZoneInfo | None) -> dict[str, Any]:
    """The /swap form: one of my next shifts, a teammate, and a day of their shift."""
    return modal(
        _(SWAP_TITLE),
        [
            section(
                _(
                    "Trade one of your shifts for a teammate's. They get a message to accept or "
                    "decline; nothing changes until they accept."
                )
            ),
            shift_select(
                MY_SHIFT_BLOCK,
                Action.swap_my_shift,
                _("Your shift"),
                my_shifts,
                viewer,
                lambda shift: _option_text(shift, viewer),
                placeholder=_("One of your next shifts"),
            ),
            input_block(
                TEAMMATE_BLOCK,
                _("Teammate"),
                {
                    "type": "users_select",
                    "action_id": Action.swap_teammate.value,
                    "placeholder": plain(_("Who takes your shift")),
                },
            ),
            input_block(
                THEIR_SHIFT_BLOCK,
                _("A day of their shift"),
                {
                    "type": "datepicker",
                    "action_id": Action.swap_their_shift.value,
                    "placeholder": plain(_("Pick a day")),
                },
                hint=_("Their shift on that day (team calendar) becomes yours."),
            ),
        ],
        callback_id=View.swap_request.value,
        submit=_("Ask them"),
        close=_("Cancel"),
    )


def _terms(swap: SwapRequest, team: Team, viewer: ZoneInfo | None) -> tuple[str, str]:
    """The requester's and the target's shift, as the viewer reads them."""
    tz = team.timezone
    return (
        timefmt.span(swap.requester_start, swap.requester_end, viewer, tz),
        timefmt.span(swap.target_start, swap.target_end, viewer, tz),
    )


def _request_text(swap: SwapRequest, team: Team, viewer: ZoneInfo | None) -> str:
    theirs, yours = _terms(swap, team, viewer)
    return "\n".join(
        [
            _("<@{requester}> asks to swap shifts with you in *{team}*.").format(
                requester=swap.requester, team=escape(team.name)
            ),
            _("• You would take their shift: {theirs}").format(theirs=theirs),
            _("• They would take yours: {yours}").format(yours=yours),
        ]
    )


def swap_request_dm(swap: SwapRequest, team: Team, viewer: ZoneInfo | None) -> Message:
    """The teammate's DM: the two shifts, and Accept / Decline."""
    assert swap.id is not None
    value = dump(SwapRef(swap_id=swap.id))
    return message(
        _("<@{requester}> asks to swap shifts with you in {team}").format(
            requester=swap.requester, team=escape(team.name)
        ),
        [
            section(_request_text(swap, team, viewer)),
            actions(
                DECISION_BLOCK,
                button(_("Accept"), Action.swap_accept.value, value, style="primary"),
                button(_("Decline"), Action.swap_decline.value, value),
            ),
        ],
    )


def swap_outcome_dm(
    swap: SwapRequest, team: Team, viewer: ZoneInfo | None, outcome: str, reason: str = ""
) -> Message:
    """The teammate's DM once decided: the same terms, the buttons replaced by the outcome."""
    lines = {
        "accepted": _(":white_check_mark: You accepted: the schedule is updated."),
        "declined": _("You declined: nothing changed."),
        "stale": _(":warning: Out of date: {reason}. Nothing changed.").format(
            reason=reason or _("the shifts changed")
        ),
    }
    status = lines.get(
        outcome, _("This request is {outcome}.").format(outcome=swap_status(outcome))
    )
    return message(
        _("Swap with <@{requester}>: {outcome}").format(
            requester=swap.requester, outcome=swap_status(outcome)
        ),
        [section(_request_text(swap, team, viewer)), context(status)],
    )


def swap_requested_notice(swap: SwapRequest, team: Team, viewer: ZoneInfo | None) -> Message:
    """The requester's confirmation that the teammate was asked."""
    mine, theirs = _terms(swap, team, viewer)
    text = _(
        "I asked <@{target}> to swap with you in *{team}*: you would take their shift {theirs}, "
        "and they would take yours, {mine}. I'll tell you their answer."
    ).format(target=swap.target, team=escape(team.name), theirs=theirs, mine=mine)
    return message(
        _("Swap request sent to <@{target}>").format(target=swap.target), [section(text)]
    )


def swap_result_notice(
    swap: SwapRequest, team: Team, viewer: ZoneInfo | None, outcome: str, reason: str = ""
) -> Message:
    """The requester's DM once the teammate answered."""
    mine, theirs = _terms(swap, team, viewer)
    if outcome == "accepted":
        text = _(
            "<@{target}> accepted your swap in *{team}*: you now hold {theirs}, and they hold "
            "{mine}."
        ).format(target=swap.target, team=escape(team.name), theirs=theirs, mine=mine)
    elif outcome == "declined":
        text = _("<@{target}> declined your swap: your shift {mine} stays yours.").format(
            target=swap.target, mine=mine
        )
    else:
        text = _(
            "Your swap with <@{target}> could not be applied: {reason}. Nothing changed."
        ).format(target=swap.target, reason=reason or _("the shifts changed"))
    return message(cut(text, 300), [section(text)])


def swap_channel_post(swap: SwapRequest, team: Team) -> Message:
    """The team channel's notice of an accepted swap, in team time."""
    tz = team.timezone
    first = timefmt.span(swap.requester_start, swap.requester_end, tz, tz)
    second = timefmt.span(swap.target_start, swap.target_end, tz, tz)
    text = _(
        ":repeat: <@{requester}> and <@{target}> swapped shifts: <@{target}> holds {first}, and "
        "<@{requester}> holds {second}."
    ).format(requester=swap.requester, target=swap.target, first=first, second=second)
    summary = _("<@{requester}> and <@{target}> swapped shifts").format(
        requester=swap.requester, target=swap.target
    )
    return message(summary, [section(text)])


def pending_lines(
    incoming: Sequence[SwapRequest],
    outgoing: Sequence[SwapRequest],
    teams: dict[str, Team],
    viewer: ZoneInfo | None,
) -> list[Block]:
    """Pending requests as App Home shows them: incoming with buttons, outgoing as a note."""
    blocks: list[Block] = []
    for swap in incoming:
        team = teams.get(swap.team)
        if team is None or swap.id is None:
            continue
        value = dump(SwapRef(swap_id=swap.id))
        blocks.append(section(_request_text(swap, team, viewer)))
        blocks.append(
            actions(
                f"{DECISION_BLOCK}-{swap.id}",
                button(_("Accept"), Action.swap_accept.value, value, style="primary"),
                button(_("Decline"), Action.swap_decline.value, value),
            )
        )
    for swap in outgoing:
        team = teams.get(swap.team)
        if team is None:
            continue
        mine, theirs = _terms(swap, team, viewer)
        blocks.append(
            section(
                _("Waiting for <@{target}>: your shift {mine} for theirs, {theirs}.").format(
                    target=swap.target, mine=mine, theirs=theirs
                )
            )
        )
    return blocks
