"""/cover: put my shift up in the team channel; the first teammate to click "I'll cover" gets it."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from bot.blocks import text_message
from bot.blocks.cover import cover_asked_notice, cover_post, cover_taken_notice
from bot.blocks.oncall import help_message
from bot.covers import (
    CoverProblem,
    Outcome,
    next_shift_of,
    open_request,
    remember_post,
    shifts_in_span,
    take,
)
from bot.enums import Action, Command
from bot.metadata import CoverRef
from bot.swaps import TeamShift
from bot.timefmt import UnreadableTime
from bot.users import directory
from handlers.events import button_value, safely, send_dm, tell
from handlers.home import refresh_homes
from storage.covers import close_cover
from storage.db import session_scope

if TYPE_CHECKING:
    from slack_bolt.async_app import AsyncApp

    from bot.services import Services

logger = logging.getLogger(__name__)


def _find_shifts(services: Services, user: str, text: str) -> list[TeamShift]:
    now = services.clock.now()
    if not text:
        return [next_shift_of(services.roster, user, now)]
    return shifts_in_span(services.roster, user, text, now)


def _cancel(services: Services, cover_id: int) -> None:
    with session_scope(services.engine) as session:
        close_cover(session=session, cover_id=cover_id, status="cancelled")


async def _put_up(services: Services, shift: TeamShift) -> None:
    """Store a request for the shift and post it in the team channel with its button."""
    cover = await asyncio.to_thread(open_request, services.engine, shift, services.clock.now())
    assert cover.id is not None
    try:
        posted = await services.slack.chat_postMessage(
            channel=shift.team.channel, **cover_post(cover, shift.team)
        )
    except Exception:
        # Nobody can see it, so nobody can take it: it must not linger as open.
        await asyncio.to_thread(_cancel, services, cover.id)
        raise
    await asyncio.to_thread(
        remember_post, services.engine, cover.id, posted["channel"], posted["ts"]
    )


async def _take(
    services: Services, body: dict[str, Any], action: dict[str, Any], respond: Any
) -> None:
    user = body["user"]["id"]
    ref = await button_value(services, body, action, respond, CoverRef)
    if ref is None:
        return
    result = await asyncio.to_thread(
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
            f"Only members of {team.name if team else cover.team} can cover this shift: "
            "nothing changed."
        ),
        Outcome.already_taken: f"Too late: <@{cover.taken_by}> already took this shift.",
        Outcome.closed: f"This cover request is closed: {result.reason or cover.status}.",
    }
    if result.outcome in refusals or team is None:
        await tell(services, body, respond, user, refusals.get(result.outcome, result.reason))
        return
    if cover.channel and cover.ts:
        await safely(
            "update cover post",
            services.slack.chat_update(
                channel=cover.channel, ts=cover.ts, **cover_post(cover, team, result.reason)
            ),
        )
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


def register(bolt: AsyncApp, services: Services) -> None:
    @bolt.command(Command.cover.value)
    async def cover_command(ack: Any, command: dict[str, Any], respond: Any) -> None:
        await ack()
        user = command["user_id"]
        text = command.get("text", "").strip()
        if text.lower() == "help":
            await respond(
                response_type="ephemeral", **help_message(sorted(services.roster.plan.teams))
            )
            return
        try:
            shifts = await asyncio.to_thread(_find_shifts, services, user, text)
        except (CoverProblem, UnreadableTime) as problem:
            await respond(response_type="ephemeral", **text_message(str(problem)))
            return
        for shift in shifts:
            await _put_up(services, shift)
        viewer = await directory(services).tz(user)
        channels = {s.team.id: s.team.channel for s in shifts}
        await respond(response_type="ephemeral", **cover_asked_notice(shifts, channels, viewer))

    @bolt.action(Action.cover_take.value)
    async def cover_take(
        ack: Any, body: dict[str, Any], action: dict[str, Any], respond: Any
    ) -> None:
        await ack()
        await _take(services, body, action, respond)
