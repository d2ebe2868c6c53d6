"""The input that picks one of my shifts, which the /swap and /cover forms open with, and reading
the shift picked back."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from bot.enums import Action
from bot.i18n import N_
from bot.schedule import timefmt
from bot.slack.blocks import OPTION_TEXT_MAX, OPTIONS_MAX, Block, input_block, plain
from bot.slack.metadata import MetadataError, ShiftRef, dump, load

if TYPE_CHECKING:
    from bot.schedule.swaps import TeamShift

# Said against the input when what was picked names no shift (a form older than the bot's words).
PICK_A_SHIFT = N_("Pick one of your shifts from the list.")


def shift_select(
    block_id: str,
    action: Action,
    label: str,
    shifts: Sequence[TeamShift],
    viewer: ZoneInfo | None,
    text: Callable[[TeamShift], str],
    *,
    placeholder: str | None = None,
    first_picked: bool = False,
) -> Block:
    """A select of ``shifts`` in the viewer's time (each option's value names the shift, its words
    are ``text`` of it, after the team's name when the shifts are of several teams)."""
    with_team = len({s.team.id for s in shifts}) > 1
    options = [
        {
            "text": plain(f"{s.team.name} · {text(s)}" if with_team else text(s), OPTION_TEXT_MAX),
            "value": dump(ShiftRef.of(s.team.id, s.start, s.end)),
        }
        for s in shifts[:OPTIONS_MAX]
    ]
    element: dict[str, Any] = {"type": "static_select", "action_id": action.value}
    if placeholder is not None:
        element["placeholder"] = plain(placeholder)
    element["options"] = options
    if first_picked:
        element["initial_option"] = options[0]
    return input_block(block_id, label, element, hint=timefmt.shown_in(viewer))


def picked_shift(option: object) -> ShiftRef | None:
    """The shift that the option picked in a shift_select names; None when it names none."""
    try:
        return load(ShiftRef, option.get("value") if isinstance(option, Mapping) else None)
    except MetadataError:
        return None
