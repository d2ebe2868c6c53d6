"""/swap: the modal and the one-line form, the teammate's Accept and Decline."""

from __future__ import annotations

import logging
from datetime import date
from functools import partial
from typing import TYPE_CHECKING, Any

from bot.enums import Action, Command, View
from bot.i18n import N_, _, speaking
from bot.plan.model import Team
from bot.schedule.swaps import (
    Decision,
    Outcome,
    SwapPlan,
    SwapProblem,
    decide,
    plan_by_choice,
    plan_by_days,
    request_swap,
    upcoming_shifts,
)
from bot.schedule.timefmt import UnreadableTime, parse_day
from bot.slack.blocks import input_state, text_message
from bot.slack.blocks.shift_select import PICK_A_SHIFT, picked_shift
from bot.slack.blocks.swap import (
    MY_SHIFT_BLOCK,
    TEAMMATE_BLOCK,
    THEIR_SHIFT_BLOCK,
    swap_channel_post,
    swap_loading_modal,
    swap_modal,
    swap_outcome_dm,
    swap_request_dm,
    swap_requested_notice,
    swap_result_notice,
    swap_status,
)
from bot.slack.gateway import PROMPT, gateway
from bot.slack.language import person_language, team_language
from bot.slack.metadata import ShiftRef, SwapRef
from bot.slack.users import MENTION, directory
from bot.text.escaping import quoted
from handlers.events import answer_click, fill_view, safely, send_dm, tell
from handlers.forms import form_command
from handlers.home import refresh_homes
from storage.db import session_scope
from storage.models import SwapRequest
from storage.swaps import mark_swap_stale, set_swap_message

if TYPE_CHECKING:
    from slack_bolt.async_app import AsyncApp

    from bot.app.services import Services

logger = logging.getLogger(__name__)

ONE_LINE_HINT = N_(
    "write it as `/swap @teammate &lt;a day of your shift&gt; &lt;a day of theirs&gt;`, e.g. "
    "`/swap @bob 2026-11-28 2026-12-05`"
)


def parse_one_line(text: str) -> tuple[str, date, date]:
    """The teammate and the two days of `/swap @bob 2026-11-28 2026-12-05`."""
    words = text.split()
    if len(words) != 3:
        raise SwapProblem(
            _("I could not read {text}: {hint}.").format(text=quoted(text), hint=_(ONE_LINE_HINT))
        )
    # With `should_escape` on, Slack sends a mention as <@U123|bob> (or <@U123> without a name).
    mention = MENTION.fullmatch(words[0])
    if mention is None:
        raise SwapProblem(
            _(
                "{text} is not a mention of a teammate: type @ and pick them from the list; {hint}."
            ).format(text=quoted(words[0]), hint=_(ONE_LINE_HINT))
        )
    try:
        return mention[1], parse_day(words[1]), parse_day(words[2])
    except UnreadableTime as error:
        raise SwapProblem(str(error)) from None


async def _deliver(services: Services, swap: SwapRequest, team: Team) -> None:
    """Ask the teammate in a DM; the DM is remembered so the answer can update it."""
    assert swap.id is not None
    viewer = await directory(services).tz(swap.target)
    with speaking(await person_language(services, swap.target, team)):
        request = swap_request_dm(swap, team, viewer)
    try:
        posted = await send_dm(services, swap.target, request)
    except Exception:
        # Nobody was asked: the request must not wait forever for an answer.
        await services.in_database(_close_unasked, services, swap.id)
        raise
    assert posted is not None
    await services.in_database(_remember_dm, services, swap.id, posted["channel"], posted["ts"])
    swap.dm_channel, swap.dm_ts = posted["channel"], posted["ts"]


def _remember_dm(services: Services, swap_id: int, channel: str, ts: str) -> None:
    with session_scope(services.engine) as session:
        set_swap_message(session=session, swap_id=swap_id, channel=channel, ts=ts)


def _close_unasked(services: Services, swap_id: int) -> None:
    with session_scope(services.engine) as session:
        mark_swap_stale(session=session, swap_id=swap_id, now=services.clock.now())


async def _ask(services: Services, plan: SwapPlan) -> SwapRequest:
    """Store the request and ask the teammate."""
    swap = await services.in_database(request_swap, services.engine, plan, services.clock.now())
    await _deliver(services, swap, plan.team)
    await refresh_homes(services, swap.requester, swap.target)
    return swap


async def _open_modal(services: Services, user: str, trigger_id: str, respond: Any) -> None:
    mine = await services.in_database(upcoming_shifts, services.roster, user, services.clock.now())
    if not mine:
        teams = services.roster.teams_of(user)
        text = (
            _("You have no shift in the next five weeks, so there is nothing to swap.")
            if teams
            else _("You are not in any on-call team, so you have no shift to swap.")
        )
        await respond(response_type="ephemeral", **text_message(text))
        return
    # The trigger dies 3 seconds after the command: the modal opens first, and is filled once
    # users.info has told the person's time zone (it may take up to its own timeout).
    # The language is looked up first only when cached (never a users.info call before the modal).
    language = await person_language(services, user, look_up=False)
    with speaking(language):
        loading = swap_loading_modal()
    opened = await gateway(services).call(
        "views.open", policy=PROMPT, trigger_id=trigger_id, view=loading
    )
    viewer = await directory(services).tz(user)
    with speaking(await person_language(services, user)):
        form = swap_modal(mine, viewer)
    await fill_view(services, opened, form, user=user, what="swap")


def _submitted(view: dict[str, Any]) -> tuple[ShiftRef, str, date]:
    """The three answers of the swap modal, refused in plain words against their input."""

    def answer(block: str, action: str, key: str) -> Any:
        found = input_state(view, block, action).get(key)
        if not found:
            raise SwapProblem(_("Please fill this in."), block)
        return found

    mine = picked_shift(answer(MY_SHIFT_BLOCK, Action.swap_my_shift.value, "selected_option"))
    if mine is None:
        raise SwapProblem(_(PICK_A_SHIFT), MY_SHIFT_BLOCK)
    target = answer(TEAMMATE_BLOCK, Action.swap_teammate.value, "selected_user")
    raw_day = answer(THEIR_SHIFT_BLOCK, Action.swap_their_shift.value, "selected_date")
    try:
        day = parse_day(raw_day)
    except UnreadableTime as error:
        raise SwapProblem(str(error), THEIR_SHIFT_BLOCK) from None
    return mine, str(target), day


async def _announce(services: Services, decision: Decision, team: Team) -> None:
    """Tell both people (and, for an accepted swap, the team channel) how it ended."""
    swap = decision.request
    assert swap is not None
    outcome, reason = decision.outcome.value, decision.reason
    users = directory(services)
    if swap.dm_channel and swap.dm_ts:
        with speaking(await person_language(services, swap.target, team)):
            updated = swap_outcome_dm(swap, team, await users.tz(swap.target), outcome, reason)
        await safely(
            "update swap request dm",
            gateway(services).call(
                "chat.update", channel=swap.dm_channel, ts=swap.dm_ts, **updated
            ),
        )
    viewer = await users.tz(swap.requester)
    with speaking(await person_language(services, swap.requester, team)):
        notice = swap_result_notice(swap, team, viewer, outcome, reason)
    await safely("tell swap requester", send_dm(services, swap.requester, notice))
    if decision.outcome is Outcome.accepted:
        with speaking(team_language(team)):
            post = swap_channel_post(swap, team)
        await safely(
            "post swap in team channel",
            gateway(services).call("chat.postMessage", channel=team.channel, **post),
        )
    await refresh_homes(services, swap.requester, swap.target)


async def _answer(
    services: Services, body: dict[str, Any], action: dict[str, Any], respond: Any, accept: bool
) -> None:
    """A click on accept or decline, answered in the clicker's language."""
    await answer_click(
        services, body, action, respond, SwapRef, partial(_decide, services, body, respond, accept)
    )


async def _decide(
    services: Services, body: dict[str, Any], respond: Any, accept: bool, ref: SwapRef, user: str
) -> None:
    decision = await services.in_database(
        decide, services.engine, services.roster, ref.swap_id, user, accept, services.clock.now()
    )
    swap = decision.request
    if decision.outcome is Outcome.not_found or swap is None:
        await tell(services, body, respond, user, _("That swap request no longer exists."))
        return
    if decision.outcome is Outcome.not_yours:
        await tell(
            services,
            body,
            respond,
            user,
            _("Only <@{target}> can answer this swap request: nothing changed.").format(
                target=swap.target
            ),
        )
        return
    if decision.outcome is Outcome.already_decided:
        await tell(
            services,
            body,
            respond,
            user,
            _("This swap request is already {status}: nothing changed.").format(
                status=swap_status(swap.status)
            ),
        )
        return
    team = services.roster.plan.teams.get(swap.team)
    if team is None:
        await tell(services, body, respond, user, decision.reason or _("That team is gone."))
        return
    await _announce(services, decision, team)
    if decision.outcome is Outcome.stale:
        await tell(
            services,
            body,
            respond,
            user,
            _("This swap request is out of date: {reason}. Nothing changed.").format(
                reason=decision.reason
            ),
        )
    if decision.outcome is Outcome.accepted:
        # The handover scheduler re-plans from here.
        await services.plan_changed(team.id)


async def _swap_in_one_line(services: Services, user: str, text: str, respond: Any) -> None:
    """`/swap @bob <my day> <their day>`."""
    now = services.clock.now()
    try:
        target, my_day, their_day = parse_one_line(text)
        plan = await services.in_database(
            plan_by_days, services.roster, user, target, my_day, their_day, now
        )
    except SwapProblem as problem:
        await respond(response_type="ephemeral", **text_message(str(problem)))
        return
    swap = await _ask(services, plan)
    viewer = await directory(services).tz(user)
    await respond(response_type="ephemeral", **swap_requested_notice(swap, plan.team, viewer))


async def _swap_submitted(services: Services, ack: Any, user: str, view: dict[str, Any]) -> None:
    """The swap form's answers: refused next to the input at fault, or the teammate asked."""
    try:
        mine, target, their_day = _submitted(view)
        plan = await services.in_database(
            plan_by_choice,
            services.roster,
            user,
            target,
            mine.team,
            mine.start_at,
            mine.end_at,
            their_day,
            services.clock.now(),
        )
    except SwapProblem as problem:
        # Slack shows these errors as plain text: names, not mentions.
        said = await directory(services).named(str(problem))
        await ack(response_action="errors", errors={problem.field or MY_SHIFT_BLOCK: said})
        return
    await ack()
    swap = await _ask(services, plan)
    viewer = await directory(services).tz(user)
    await send_dm(services, user, swap_requested_notice(swap, plan.team, viewer))


def register(bolt: AsyncApp, services: Services) -> None:
    form_command(
        bolt,
        services,
        Command.swap,
        View.swap_request,
        open_form=partial(_open_modal, services),
        one_line=partial(_swap_in_one_line, services),
        submitted=partial(_swap_submitted, services),
    )

    async def swap_answered(
        ack: Any, body: dict[str, Any], action: dict[str, Any], respond: Any
    ) -> None:
        await ack()
        accept = action["action_id"] == Action.swap_accept.value
        await _answer(services, body, action, respond, accept=accept)

    # Accept and Decline are one listener: the button clicked says which.
    for button in (Action.swap_accept, Action.swap_decline):
        bolt.action(button.value)(swap_answered)
