"""Cover messages: the team channel's call for a volunteer, and who took it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from bot.enums import Action
from bot.i18n import _
from bot.plan.model import Team
from bot.schedule import timefmt
from bot.slack.blocks import Block, Message, actions, button, context, escape, message, section
from bot.slack.metadata import CoverRef, dump

if TYPE_CHECKING:
    from bot.schedule.swaps import TeamShift
    from storage.models import CoverRequest

COVER_BLOCK = "cover-take"


def _team_span(cover: CoverRequest, team: Team) -> str:
    # A channel has readers in many zones: the post speaks team time and says so.
    return timefmt.span(cover.start, cover.end, team.timezone, team.timezone)


def _note(cover: CoverRequest) -> list[Block]:
    """The requester's note, quoted as they typed it."""
    if not cover.note:
        return []
    return [section("\n".join(f"> {line}" for line in escape(cover.note).splitlines()))]


def cover_post(cover: CoverRequest, team: Team, reason: str = "") -> Message:
    """The channel post of a cover request, as its status now stands."""
    assert cover.id is not None
    when = _team_span(cover, team)
    ask = _("<@{requester}> needs someone to cover *{when}* in {team}.").format(
        requester=cover.requester, when=when, team=escape(team.name)
    )
    if cover.status == "open":
        return message(
            _("<@{requester}> needs someone to cover a shift").format(requester=cover.requester),
            [
                section(f":sos: {ask}"),
                *_note(cover),
                actions(
                    COVER_BLOCK,
                    button(
                        _("I'll cover"),
                        Action.cover_take.value,
                        dump(CoverRef(cover_id=cover.id)),
                        style="primary",
                    ),
                ),
                context(_("The first teammate to click takes the shift.")),
            ],
        )
    if cover.status == "taken":
        text = _(":white_check_mark: <@{taker}> covers <@{requester}>'s shift {when}.").format(
            taker=cover.taken_by, requester=cover.requester, when=when
        )
        return message(text, [section(text)])
    why = reason or (
        _("it was cancelled") if cover.status == "cancelled" else _("the shift changed")
    )
    return message(
        _("Cover request closed: {why}").format(why=why),
        [section(ask), context(_("Closed: {why}. Nothing changed.").format(why=why))],
    )


def cover_asked_notice(
    shifts: Sequence[TeamShift], channels: dict[str, str], viewer: ZoneInfo | None
) -> Message:
    """The requester's confirmation: which shifts were put up for cover, and where."""
    rows = [
        _("• {span} in <#{channel}>").format(
            span=timefmt.span(s.start, s.end, viewer, s.team.timezone), channel=channels[s.team.id]
        )
        for s in shifts
    ]
    text = "\n".join(
        [
            _("I asked your team to cover:"),
            *rows,
            _("You keep the shift until someone takes it; I'll tell you who does."),
        ]
    )
    return message(_("I asked your team to cover your shift"), [section(text)])


def cover_taken_notice(cover: CoverRequest, team: Team, viewer: ZoneInfo | None) -> Message:
    """The requester's DM: who took their shift."""
    when = timefmt.span(cover.start, cover.end, viewer, team.timezone)
    text = _("<@{taker}> covers your shift {when} in {team}.").format(
        taker=cover.taken_by, when=when, team=escape(team.name)
    )
    return message(text, [section(text)])


def cover_withdrawn_notice(cover: CoverRequest, team: Team, error: str) -> Message:
    """The requester's DM: their request could not be posted, so it is withdrawn."""
    when = _team_span(cover, team)
    text = _(
        "I couldn't put up your request to cover *{when}* in <#{channel}>: Slack refuses my posts "
        "there (`{error}`). Nothing changed: the shift is still yours. Ask again once the channel "
        "is fixed."
    ).format(when=when, channel=team.channel, error=error)
    return message(text, [section(text)])
