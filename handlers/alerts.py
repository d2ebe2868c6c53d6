"""The alert buttons (Acknowledge, Resolve, Escalate, Escalate to CEO) and /escalate, which raises
an alert from Slack that pages the team's pager holder like any other."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from sqlmodel import Session

from bot.alerts.actions import (
    ActionOutcome,
    AlertNotFound,
    acknowledge_now,
    escalate_now,
    escalate_to_leadership,
    resolve_now,
    wake_delivery,
)
from bot.alerts.ingest import ingest_batch
from bot.alerts.model import NormalizedAlert, Severity
from bot.enums import Action, Command, View
from bot.i18n import _, speaking
from bot.plan.model import Team
from bot.schedule.roster import Roster, UnknownTeam
from bot.slack.blocks.escalate import escalate_modal, read_escalate_form
from bot.slack.blocks.rollup import alert_modal
from bot.slack.delivery.content import card_of
from bot.slack.gateway import PROMPT, SlackCallError, gateway
from bot.slack.language import person_language
from bot.slack.metadata import AlertRef, EscalateContext, MetadataError, dump, load
from bot.slack.users import directory
from bot.text.escaping import escape, quoted, typed
from handlers.events import answer_click, safely, tell
from handlers.oncall import find_team, unknown_team_text
from storage.alerts import pages
from storage.db import session_scope

if TYPE_CHECKING:
    from slack_bolt.async_app import AsyncApp

    from bot.app.services import Services

logger = logging.getLogger(__name__)

SLACK_INTEGRATION = "slack"
# Writes of an alert's modal after a click: one with the click's hash, and, when another write
# got there first, one over it with the newest state and one more should that state change.
MODAL_WRITES = 3


class EscalateProblem(ValueError):
    """/escalate typed in a way we cannot act on; the message says what to type instead."""


@dataclass(frozen=True)
class EscalateRequest:
    """An alert to raise from Slack, typed after /escalate or sent in its form: the team to
    page, what happened (its first line the title), how bad, and for which customer."""

    team: Team
    what: str
    severity: Severity = Severity.error
    customer: str | None = None


# --- the buttons --------------------------------------------------------------------------------


def _act(services: Services, action: str, alert_id: int, user: str) -> ActionOutcome:
    """Apply one button to one alert, in one transaction."""
    now = services.clock.now()
    with session_scope(services.engine) as session:
        if action == Action.alert_ack:
            return acknowledge_now(
                session=session, services_or_plan=services, alert_id=alert_id, actor=user, now=now
            )
        if action == Action.alert_resolve:
            return resolve_now(session=session, alert_id=alert_id, actor=user, now=now)
        if action == Action.alert_escalate:
            outcome = escalate_now(
                session=session, services_or_plan=services, alert_id=alert_id, actor=user, now=now
            )
            return ActionOutcome(alert_id, outcome.escalated, outcome.message)
        if action == Action.alert_escalate_ceo:
            return escalate_to_leadership(
                session=session, services_or_plan=services, alert_id=alert_id, actor=user, now=now
            )
    raise ValueError(f"not an alert button: {action}")


async def _pressed(
    services: Services,
    body: dict[str, Any],
    action: dict[str, Any],
    respond: Any,
    ref: AlertRef,
    user: str,
) -> None:
    """An alert button clicked by ``user``, answered in their language (what it did is worded
    in the database thread, under that language)."""
    try:
        outcome = await services.in_database(
            _act, services, str(action["action_id"]), ref.alert_id, user
        )
    except AlertNotFound:
        await tell(services, body, respond, user, _("I have no record of this alert any more."))
        return
    logger.info(
        "alert button",
        extra={
            "action": action["action_id"],
            "alert": ref.alert_id,
            "user": user,
            "changed": outcome.changed,
        },
    )
    if outcome.changed:
        # The escalation worker may have a new step to run; the card and DMs need updating.
        if services.escalator is not None:
            services.escalator.wake()
        wake_delivery(services)
    view = body.get("view") or {}
    if view.get("callback_id") == View.alert_card:
        # The modal shows what the click did; a failure there must not keep the answer back.
        await safely("alert modal", _show_in_modal(services, view, ref.alert_id))
    await tell(services, body, respond, user, outcome.message)


async def _show_in_modal(services: Services, view: dict[str, Any], alert_id: int) -> None:
    """Show the alert as it is now in the modal ``view`` (a roll-up's) that a button was clicked
    in, updated in place with the view's hash. A hash_conflict means the modal was updated since
    the click (another click in it): the alert is read again and the modal written over on its
    newest state, then read once more in case that write missed a later change. A modal closed
    meanwhile is left alone."""
    view_hash: str | None = view.get("hash")
    written: dict[str, Any] | None = None
    for _write in range(MODAL_WRITES):
        card = await services.in_database(card_of, services, alert_id)
        if card is None:
            return
        modal = alert_modal(card)
        if modal == written:
            return
        try:
            answer = await gateway(services).call(
                "views.update", policy=PROMPT, view_id=view["id"], hash=view_hash, view=modal
            )
        except SlackCallError as error:
            if error.code == "not_found":
                logger.info("alert modal closed before it was updated", extra={"alert": alert_id})
                return
            if error.code != "hash_conflict":
                raise
            view_hash, written = None, None
            continue
        if view_hash is not None:
            return  # written over the view the click saw, after the click's change
        view_hash, written = answer["view"]["hash"], modal


async def _open_card(
    services: Services, body: dict[str, Any], action: dict[str, Any], respond: Any
) -> None:
    """Open, in a modal, the card of the alert picked in a roll-up's menu, in the picker's
    language (as already known: the modal must open within the trigger's 3 seconds)."""
    user = body["user"]["id"]
    with speaking(await person_language(services, user, look_up=False)):
        await _open_picked(services, body, action, respond, user)


async def _open_picked(
    services: Services, body: dict[str, Any], action: dict[str, Any], respond: Any, user: str
) -> None:
    picked = (action.get("selected_option") or {}).get("value")
    try:
        ref = load(AlertRef, picked)
    except MetadataError:
        logger.warning("roll-up menu with an unreadable value", extra={"value": picked})
        await tell(services, body, respond, user, _("This menu is not one I can read any more."))
        return
    card = await services.in_database(card_of, services, ref.alert_id)
    if card is None:
        await tell(services, body, respond, user, _("I have no record of this alert any more."))
        return
    view = alert_modal(card)
    await gateway(services).call(
        "views.open", policy=PROMPT, trigger_id=body["trigger_id"], view=view
    )


# --- /escalate ------------------------------------------------------------------------------------


def _team_for(roster: Roster, user: str, word: str | None) -> Team:
    if word is not None:
        return find_team(roster, word)
    mine = roster.teams_of(user)
    if len(mine) == 1:
        return mine[0]
    teams = list(roster.plan.teams.values())
    if len(teams) == 1:
        return teams[0]
    known = ", ".join(f"`{escape(t)}`" for t in sorted(roster.plan.teams))
    raise EscalateProblem(
        _("Say which team to page: `/escalate &lt;team&gt; what happened`. Teams: {known}.").format(
            known=known
        )
    )


def parse_escalate(roster: Roster, user: str, text: str) -> tuple[Team, str]:
    """The team and the words of ``/escalate [team] <what happened>``."""
    words = text.strip().split(maxsplit=1)
    if words:
        try:
            team = find_team(roster, words[0])
        except UnknownTeam:
            pass
        else:
            return team, words[1].strip() if len(words) > 1 else ""
    return _team_for(roster, user, None), text.strip()


def raise_alert(services: Services, request: EscalateRequest, *, by: str) -> tuple[int, str | None]:
    """Store an alert raised from Slack by the person named ``by`` and page like the intake
    does; returns its id and the person paged first (None: nobody, a gap with nobody further up
    either)."""
    team, what = request.team, request.what
    first_line, _sep, rest = what.strip().partition("\n")
    with speaking(team.language):  # the card's words: its team's
        source = _("/escalate by {user}").format(user=by)
    alert = NormalizedAlert(
        dedup_key=f"slack-{uuid.uuid4().hex}",
        title=first_line,
        summary=rest.strip() or (what.strip() if len(first_line) > 150 else ""),
        severity=request.severity,
        customer=request.customer or None,
        source=source,
        raw_kind=SLACK_INTEGRATION,
    )
    now = services.clock.now()
    with session_scope(services.engine) as session:
        result = ingest_batch(
            session=session,
            services_or_plan=services,
            integration=SLACK_INTEGRATION,
            team=team.id,
            batch=[alert],
            now=now,
        )
        alert_id = result.ids[0]
        first = _first_paged(session, alert_id)
    return alert_id, first


def _first_paged(session: Session, alert_id: int) -> str | None:
    return next(iter(pages(session=session, alert_id=alert_id)), None)


def _raised_text(request: EscalateRequest, first: str | None) -> str:
    team = request.team
    title = request.what.strip().splitlines()[0]
    if first is None:
        return _(
            "Alert raised for *{team}*: {title}. Nobody could be paged right now (no pager "
            "holder and no one further up): it is on the team channel's card."
        ).format(team=escape(team.name), title=quoted(title))
    return _(
        "Alert raised for *{team}*: {title}. Paged <@{user}>; the card is in <#{channel}>."
    ).format(team=escape(team.name), title=quoted(title), user=first, channel=team.channel)


async def _raise(services: Services, user: str, request: EscalateRequest) -> str:
    """Raise the alert (off the event loop), start its delivery; what to tell the person."""
    # The card shows its source as written: the person's name, not their raw id.
    by = (await directory(services).get(user)).name
    alert_id, first = await services.in_database(raise_alert, services, request, by=by)
    logger.info("alert raised from slack", extra={"alert": alert_id, "team": request.team.id})
    wake_delivery(services)
    return _raised_text(request, first)


async def _escalate_command(
    services: Services, body: dict[str, Any], command: dict[str, Any], respond: Any
) -> None:
    user = command["user_id"]
    try:
        team, what = parse_escalate(services.roster, user, typed(command))
    except UnknownTeam as error:
        await respond(response_type="ephemeral", text=unknown_team_text(error))
        return
    except EscalateProblem as error:
        await respond(response_type="ephemeral", text=str(error))
        return
    if not what:
        context = EscalateContext(channel=command.get("channel_id"))
        modal = escalate_modal(
            sorted(services.roster.plan.teams.values(), key=lambda t: t.id),
            selected=team.id,
            metadata=dump(context, 3000),
        )
        await gateway(services).call(
            "views.open", policy=PROMPT, trigger_id=command["trigger_id"], view=modal
        )
        return
    raised = await _raise(services, user, EscalateRequest(team, what))
    await respond(response_type="ephemeral", text=raised)


def register(bolt: AsyncApp, services: Services) -> None:
    """The alert buttons, /escalate and its form."""

    def on_button(action_id: Action) -> None:
        @bolt.action(action_id.value)
        async def clicked(
            ack: Any, body: dict[str, Any], action: dict[str, Any], respond: Any
        ) -> None:
            await ack()
            await answer_click(
                services,
                body,
                action,
                respond,
                AlertRef,
                partial(_pressed, services, body, action, respond),
            )

    @bolt.action(Action.rollup_open.value)
    async def picked(ack: Any, body: dict[str, Any], action: dict[str, Any], respond: Any) -> None:
        await ack()
        await _open_card(services, body, action, respond)

    for action_id in (
        Action.alert_ack,
        Action.alert_resolve,
        Action.alert_escalate,
        Action.alert_escalate_ceo,
    ):
        on_button(action_id)

    @bolt.command(Command.escalate.value)
    async def escalate(
        ack: Any, body: dict[str, Any], command: dict[str, Any], respond: Any
    ) -> None:
        await ack()
        with speaking(await person_language(services, command["user_id"])):
            await _escalate_command(services, body, command, respond)

    @bolt.view(View.escalate_request.value)
    async def submitted(ack: Any, body: dict[str, Any], view: dict[str, Any]) -> None:
        user = body["user"]["id"]
        # Their language was looked up when /escalate opened the form: this reads the cache.
        language = await person_language(services, user)
        with speaking(language):
            form = read_escalate_form(view, sorted(services.roster.plan.teams))
        if form.errors:
            await ack(response_action="errors", errors=form.errors)
            return
        await ack()
        team = services.roster.plan.teams[form.team]
        request = EscalateRequest(team, form.what, form.severity, form.customer)
        with speaking(language):
            raised = await _raise(services, user, request)
        await tell(services, body, None, user, raised)
