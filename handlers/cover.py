"""/cover: put my shift up in the team channel; the first teammate to click "I'll cover" gets it."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from bot.alerts.actions import wake_delivery
from bot.enums import Action, Command, View
from bot.schedule.covers import (
    CoverProblem,
    Outcome,
    part_of_shift,
    put_up,
    shifts_in_span,
    take,
)
from bot.schedule.swaps import TeamShift, upcoming_shifts
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
from bot.slack.blocks.escaping import escape, typed
from bot.slack.blocks.oncall import help_message
from bot.slack.metadata import CoverRef
from bot.slack.timefmt import UnreadableTime
from bot.slack.users import directory
from handlers.events import button_value, fill_view, safely, send_dm, tell
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
    opened = await services.slack.views_open(trigger_id=trigger_id, view=cover_loading_modal())
    now = services.clock.now()
    mine = await services.in_database(
        upcoming_shifts, services.roster, user, now, FORM_SHIFTS, include_running=True
    )
    if mine:
        view = cover_modal(mine, await directory(services).tz(user), now)
    elif services.roster.teams_of(user):
        view = cover_unavailable_modal(
            "You have no shift in the next five weeks, so there is nothing to cover."
        )
    else:
        view = cover_unavailable_modal(
            "You are not in any on-call team, so you have no shift to hand over."
        )
    await fill_view(services, opened, view, user=user, what="cover")


async def _take(
    services: Services, body: dict[str, Any], action: dict[str, Any], respond: Any
) -> None:
    user = body["user"]["id"]
    ref = await button_value(services, body, action, respond, CoverRef)
    if ref is None:
        return
    result = await services.in_database(
        take, services.engine, services.roster, ref.cover_id, user, services.clock.now()
    )
    cover = result.cover
    if result.outcome is Outcome.not_found or cover is None:
        await tell(services, body, respond, user, "That cover request no longer exists.")
        return
    team = services.roster.plan.teams.get(cover.team)
    refusals = {
        Outcome.own: "This is your own shift: a teammate has to take it.",
        Outcome.not_member: (
            f"Only members of {escape(team.name if team else cover.team)} can cover this shift: "
            "nothing changed."
        ),
        Outcome.already_taken: f"Too late: <@{cover.taken_by}> already took this shift.",
        Outcome.closed: f"This cover request is closed: {result.reason or cover.status}.",
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
            f"This cover request is out of date: {result.reason}. Nothing changed.",
        )
        return
    viewer = await directory(services).tz(cover.requester)
    await safely(
        "tell cover requester",
        send_dm(services, cover.requester, cover_taken_notice(cover, team, viewer)),
    )
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


def register(bolt: AsyncApp, services: Services) -> None:
    @bolt.command(Command.cover.value)
    async def cover_command(ack: Any, command: dict[str, Any], respond: Any) -> None:
        await ack()
        user = command["user_id"]
        text = typed(command).strip()
        if not text:
            await _open_form(services, user, command["trigger_id"])
            return
        if text.lower() == "help":
            await respond(
                response_type="ephemeral", **help_message(sorted(services.roster.plan.teams))
            )
            return
        try:
            shifts = await services.in_database(
                shifts_in_span, services.roster, user, text, services.clock.now()
            )
        except (CoverProblem, UnreadableTime) as problem:
            await respond(response_type="ephemeral", **text_message(str(problem)))
            return
        await respond(response_type="ephemeral", **await _ask_for(services, user, shifts))

    @bolt.view(View.cover_request.value)
    async def cover_submitted(ack: Any, body: dict[str, Any], view: dict[str, Any]) -> None:
        # Checked before the ack: a refusal travels in the ack, next to the input at fault.
        user = body["user"]["id"]
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

    @bolt.action(Action.cover_take.value)
    async def cover_take(
        ack: Any, body: dict[str, Any], action: dict[str, Any], respond: Any
    ) -> None:
        await ack()
        await _take(services, body, action, respond)
