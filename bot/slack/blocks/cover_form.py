"""The /cover form: which of my shifts (the rest of the one under way, or a next one), all of it or
a part (from and to, in team time), a note for the team; and reading its answers back."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from bot.enums import Action, View
from bot.i18n import N_, _
from bot.schedule import timefmt
from bot.slack.blocks import answer_text, input_block, input_state, modal, plain, section
from bot.slack.blocks.shift_select import PICK_A_SHIFT, picked_shift, shift_select
from bot.slack.metadata import ShiftRef

if TYPE_CHECKING:
    from bot.schedule.swaps import TeamShift

# Block ids of the inputs: errors are shown against them.
SHIFT_BLOCK = "shift"
FROM_BLOCK = "from"
TO_BLOCK = "to"
NOTE_BLOCK = "note"
NOTE_MAX = 500
MOMENT_MAX = 40
TITLE = N_("Cover my shift")


def _frame(blocks: list[dict[str, Any]], *, submit: str | None = None) -> dict[str, Any]:
    return modal(
        _(TITLE),
        blocks,
        callback_id=View.cover_request.value,
        submit=submit,
        close=_("Cancel") if submit else _("Close"),
    )


def cover_loading_modal() -> dict[str, Any]:
    """The form as it opens at once, while the shifts are looked up (a trigger lasts 3 s)."""
    return _frame([section(_("Looking up your shifts…"))])


def cover_unavailable_modal(text: str) -> dict[str, Any]:
    """The form when there is nothing to cover: it says why, and only closes."""
    return _frame([section(text)])


def _option_text(shift: TeamShift, viewer: ZoneInfo | None, now: datetime) -> str:
    if shift.start <= now:
        until = timefmt.day_time(shift.end, viewer or shift.team.timezone)
        return _("The rest of your current shift, until {until}").format(until=until)
    text, _team = timefmt.span_parts(shift.start, shift.end, viewer, shift.team.timezone)
    return text


def _moment_input(block: str, action: Action, label: str, hint: str) -> dict[str, Any]:
    element = {
        "type": "plain_text_input",
        "action_id": action.value,
        "max_length": MOMENT_MAX,
        "placeholder": plain(_("sat 10:00")),
    }
    return input_block(block, label, element, hint=hint, optional=True)


def cover_modal(
    shifts: Sequence[TeamShift], viewer: ZoneInfo | None, now: datetime
) -> dict[str, Any]:
    """The /cover form over the user's shifts: the one under way first when there is one."""
    zones = {s.team.timezone.key: s.team.timezone for s in shifts}
    team_time = (
        _("team time ({zone})").format(zone=timefmt.zone_name(next(iter(zones.values()))))
        if len(zones) == 1
        else _("the shift's team time")
    )
    return _frame(
        [
            section(
                _(
                    "Put one of your shifts up in your team's channel: the first teammate to "
                    "click *{button}* takes it. You keep the shift until someone does."
                ).format(button=_("I'll cover"))
            ),
            shift_select(
                SHIFT_BLOCK,
                Action.cover_shift,
                _("Which shift"),
                shifts,
                viewer,
                lambda shift: _option_text(shift, viewer, now),
                first_picked=True,
            ),
            _moment_input(
                FROM_BLOCK,
                Action.cover_from,
                _("From"),
                _(
                    "Only part of the shift? When the cover starts, in {team_time}: "
                    "2026-12-05 10:00, sat 10:00 or 10:00. Empty: from the start (or now)."
                ).format(team_time=team_time),
            ),
            _moment_input(
                TO_BLOCK,
                Action.cover_to,
                _("To"),
                _("When it ends, in {team_time}. Empty: to the end of the shift.").format(
                    team_time=team_time
                ),
            ),
            input_block(
                NOTE_BLOCK,
                _("A note for your team"),
                {
                    "type": "plain_text_input",
                    "action_id": Action.cover_note.value,
                    "multiline": True,
                    "max_length": NOTE_MAX,
                    "placeholder": plain(_("Why, or what you could take in exchange")),
                },
                optional=True,
            ),
        ],
        submit=_("Ask the team"),
    )


@dataclass(frozen=True)
class CoverForm:
    """What the form said (the shift picked, the typed bounds, the note), or its errors."""

    shift: ShiftRef | None = None
    start: str = ""
    end: str = ""
    note: str = ""
    errors: dict[str, str] = field(default_factory=dict)


def read_cover_form(view: Mapping[str, Any]) -> CoverForm:
    """The submitted form: a shift of ours picked from the list, and the words typed."""
    option = input_state(view, SHIFT_BLOCK, Action.cover_shift).get("selected_option")
    shift = picked_shift(option)
    if shift is None:
        return CoverForm(errors={SHIFT_BLOCK: _(PICK_A_SHIFT)})
    return CoverForm(
        shift=shift,
        start=answer_text(view, FROM_BLOCK, Action.cover_from).strip(),
        end=answer_text(view, TO_BLOCK, Action.cover_to).strip(),
        note=answer_text(view, NOTE_BLOCK, Action.cover_note).strip()[:NOTE_MAX],
    )
