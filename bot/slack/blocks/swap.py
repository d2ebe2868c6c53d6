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
    OPTION_TEXT_MAX,
    OPTIONS_MAX,
    Block,
    Message,
    actions,
    button,
    context,
    cut,
    message,
    plain,
    section,
)
from bot.slack.metadata import ShiftRef, SwapRef, dump
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


def _option_text(shift: TeamShift, viewer: ZoneInfo | None, with_team: bool) -> str:
    mine, _team = timefmt.span_parts(shift.start, shift.end, viewer, shift.team.timezone)
    return f"{shift.team.name} · {mine}" if with_team else mine


SWAP_TITLE = N_("Swap a shift")


def swap_loading_modal() -> dict[str, Any]:
    """The /swap form while it is being filled in: Slack wants a modal within 3 seconds of the
    command, before the person's time zone is known."""
    return {
        "type": "modal",
        "callback_id": View.swap_request.value,
        "title": plain(_(SWAP_TITLE), 24),
        "close": plain(_("Cancel"), 24),
        "blocks": [section(_(":hourglass_flowing_sand: Finding your next shifts…"))],
    }


def swap_modal(my_shifts: Sequence[TeamShift], viewer: ZoneInfo | None) -> dict[str, Any]:
    """The /swap form: one of my next shifts, a teammate, and a day of their shift."""
    with_team = len({s.team.id for s in my_shifts}) > 1
    options = [
        {
            "text": plain(_option_text(s, viewer, with_team), OPTION_TEXT_MAX),
            "value": dump(ShiftRef.of(s.team.id, s.start, s.end)),
        }
        for s in my_shifts[:OPTIONS_MAX]
    ]
    return {
        "type": "modal",
        "callback_id": View.swap_request.value,
        "title": plain(_(SWAP_TITLE), 24),
        "submit": plain(_("Ask them"), 24),
        "close": plain(_("Cancel"), 24),
        "blocks": [
            section(
                _(
                    "Trade one of your shifts for a teammate's. They get a message to accept or "
                    "decline; nothing changes until they accept."
                )
            ),
            {
                "type": "input",
                "block_id": MY_SHIFT_BLOCK,
                "label": plain(_("Your shift")),
                "hint": plain(timefmt.shown_in(viewer)),
                "element": {
                    "type": "static_select",
                    "action_id": Action.swap_my_shift.value,
                    "placeholder": plain(_("One of your next shifts")),
                    "options": options,
                },
            },
            {
                "type": "input",
                "block_id": TEAMMATE_BLOCK,
                "label": plain(_("Teammate")),
                "element": {
                    "type": "users_select",
                    "action_id": Action.swap_teammate.value,
                    "placeholder": plain(_("Who takes your shift")),
                },
            },
            {
                "type": "input",
                "block_id": THEIR_SHIFT_BLOCK,
                "label": plain(_("A day of their shift")),
                "hint": plain(_("Their shift on that day (team calendar) becomes yours.")),
                "element": {
                    "type": "datepicker",
                    "action_id": Action.swap_their_shift.value,
                    "placeholder": plain(_("Pick a day")),
                },
            },
        ],
    }


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
