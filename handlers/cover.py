"""/cover: put my shift up in the team channel; the first teammate to click "I'll cover" gets it."""

from __future__ import annotations

import logging
from functools import partial
from typing import TYPE_CHECKING, Any

from bot.alerts.actions import wake_delivery
from bot.enums import Action, Command, View
from bot.i18n import _, speaking
from bot.schedule.covers import (
    CoverProblem,
    Outcome,
    part_of_shift,
    put_up,
    shifts_in_span,
    take,
)
from bot.schedule.swaps import TeamShift, upcoming_shifts
from bot.schedule.timefmt import UnreadableTime
from bot.slack.blocks import Message, text_message
from bot.slack.blocks.cover import cover_asked_notice, cover_taken_notice
from bot.slack.blocks.cover_form import (
    FROM_BLOCK,
    SHIFT_BLOCK,
    TO_BLOCK,
    cover_loading_modal,
    cover_modal,
    cover_unavailable_modal,
    read_cover_form,
)
from bot.slack.gateway import PROMPT, gateway
from bot.slack.language import person_language
from bot.slack.metadata import CoverRef
from bot.slack.users import directory
from bot.text.escaping import escape
from handlers.events import answer_click, fill_view, safely, send_dm, tell
from handlers.forms import form_command
from handlers.home import refresh_homes

if TYPE_CHECKING:
    from slack_bolt.async_app import AsyncApp

    from bot.app.services import Services

logger = logging.getLogger(__name__)


# The form's inputs, by the names the cover checks give them.
FORM_BLOCKS = {"shift": SHIFT_BLOCK, "from": FROM_BLOCK, "to": TO_BLOCK}
FORM_SHIFTS = 10


async def _open_form(services: Services, user: str, trigger_id: str) -> None:
    """Open the /cover form at once (the trigger dies 3 s after the command), then fill it with
    the user's shifts."""
    # Only a cached language before the modal: no users.info call may delay it.
    with speaking(await person_language(services, user, look_up=False)):
        loading = cover_loading_modal()
    opened = await gateway(services).call(
        "views.open", policy=PROMPT, trigger_id=trigger_id, view=loading
    )
    now = services.clock.now()
    mine = await services.in_database(
        upcoming_shifts, services.roster, user, now, FORM_SHIFTS, include_running=True
    )
    viewer = await directory(services).tz(user)
    with speaking(await person_language(services, user)):
        if mine:
            view = cover_modal(mine, viewer, now)
        elif services.roster.teams_of(user):
            view = cover_unavailable_modal(
                _("You have no shift in the next five weeks, so there is nothing to cover.")
            )
        else:
            view = cover_unavailable_modal(
                _("You are not in any on-call team, so you have no shift to hand over.")
            )
    await fill_view(services, opened, view, user=user, what="cover")


async def _claim(
    services: Services, body: dict[str, Any], respond: Any, ref: CoverRef, user: str
) -> None:
    """The click on "I'll cover" by ``user``, answered in their language."""
    result = await services.in_database(
        take, services.engine, services.roster, ref.cover_id, user, services.clock.now()
    )
    cover = result.request
    if result.outcome is Outcome.not_found or cover is None:
        await tell(services, body, respond, user, _("That cover request no longer exists."))
        return
    team = services.roster.plan.teams.get(cover.team)
    closed_why = result.reason or (
        _("it was cancelled") if cover.status == "cancelled" else _("the shift changed")
    )
    refusals = {
        Outcome.own: _("This is your own shift: a teammate has to take it."),
        Outcome.not_member: _(
            "Only members of {team} can cover this shift: nothing changed."
        ).format(team=escape(team.name if team else cover.team)),
        Outcome.already_taken: _("Too late: <@{taker}> already took this shift.").format(
            taker=cover.taken_by
        ),
        Outcome.closed: _("This cover request is closed: {why}.").format(why=closed_why),
    }
    if result.outcome in refusals or team is None:
        await tell(services, body, respond, user, refusals.get(result.outcome, result.reason))
        return
    # The channel post follows through the outbox, queued with the change.
    wake_delivery(services)
    if result.outcome is Outcome.stale:
        await tell(
            services,
            body,
            respond,
            user,
            _("This cover request is out of date: {reason}. Nothing changed.").format(
                reason=result.reason
            ),
        )
        return
    viewer = await directory(services).tz(cover.requester)
    with speaking(await person_language(services, cover.requester, team)):
        notice = cover_taken_notice(cover, team, viewer)
    await safely("tell cover requester", send_dm(services, cover.requester, notice))
    await refresh_homes(services, cover.requester, user)
    # The handover scheduler re-plans from here.
    await services.plan_changed(team.id)


async def _ask_for(
    services: Services, user: str, shifts: list[TeamShift], note: str = ""
) -> Message:
    """Put each shift up for cover; the requester's confirmation, in their zone."""
    # The posts are queued with the requests, and go out paced like every delivery.
    await services.in_database(put_up, services.engine, shifts, services.clock.now(), note)
    wake_delivery(services)
    viewer = await directory(services).tz(user)
    channels = {s.team.id: s.team.channel for s in shifts}
    return cover_asked_notice(shifts, channels, viewer)


async def _cover_in_one_line(services: Services, user: str, text: str, respond: Any) -> None:
    """`/cover <a day, days or a span>`."""
    try:
        shifts = await services.in_database(
            shifts_in_span, services.roster, user, text, services.clock.now()
        )
    except (CoverProblem, UnreadableTime) as problem:
        await respond(response_type="ephemeral", **text_message(str(problem)))
        return
    await respond(response_type="ephemeral", **await _ask_for(services, user, shifts))


async def _cover_submitted(services: Services, ack: Any, user: str, view: dict[str, Any]) -> None:
    """The cover form's answers: refused next to the input at fault, or the shift put up."""
    form = read_cover_form(view)
    if form.shift is None:
        await ack(response_action="errors", errors=form.errors)
        return
    try:
        shift = await services.in_database(
            part_of_shift,
            services.roster,
            user,
            form.shift,
            form.start,
            form.end,
            services.clock.now(),
        )
    except CoverProblem as problem:
        block = FORM_BLOCKS.get(problem.field or "", SHIFT_BLOCK)
        await ack(response_action="errors", errors={block: str(problem)})
        return
    await ack()
    await send_dm(services, user, await _ask_for(services, user, [shift], form.note))


def register(bolt: AsyncApp, services: Services) -> None:
    form_command(
        bolt,
        services,
        Command.cover,
        View.cover_request,
        # The form itself says when there is nothing to cover: no reply is needed.
        open_form=lambda user, trigger_id, _respond: _open_form(services, user, trigger_id),
        one_line=partial(_cover_in_one_line, services),
        submitted=partial(_cover_submitted, services),
    )

    @bolt.action(Action.cover_take.value)
    async def cover_take(
        ack: Any, body: dict[str, Any], action: dict[str, Any], respond: Any
    ) -> None:
        await ack()
        await answer_click(
            services, body, action, respond, CoverRef, partial(_claim, services, body, respond)
        )
