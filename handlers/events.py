"""Listener plumbing: each Slack event handled once per event_id, and answering the person who
acted (an ephemeral reply where Slack allows one, a DM otherwise)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from slack_bolt.response import BoltResponse
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from bot.i18n import _, speaking
from bot.slack.blocks import Message, text_message
from bot.slack.gateway import SlackCallError, gateway
from bot.slack.language import person_language
from bot.slack.metadata import M, MetadataError, load
from bot.slack.users import directory
from storage.db import session_scope
from storage.models import SlackEventSeen

if TYPE_CHECKING:
    from slack_bolt.async_app import AsyncApp

    from bot.app.services import Services

logger = logging.getLogger(__name__)

# Slack retries an event for about an hour at most; ids older than a day can go.
KEEP_SEEN = timedelta(days=1)

T = TypeVar("T")


def first_sighting(*, session: Session, event_id: str, now: datetime) -> bool:
    """Record ``event_id`` as seen; False when it was seen before (a retried delivery)."""
    session.exec(delete(SlackEventSeen).where(col(SlackEventSeen.seen_at) < now - KEEP_SEEN))
    if session.get(SlackEventSeen, event_id) is not None:
        return False
    # A concurrent first delivery makes this flush fail with IntegrityError: the caller's call.
    session.add(SlackEventSeen(event_id=event_id, seen_at=now))
    session.flush()
    return True


def _first_delivery(services: Services, event_id: str) -> bool:
    try:
        with session_scope(services.engine) as session:
            return first_sighting(session=session, event_id=event_id, now=services.clock.now())
    except IntegrityError:
        # Two deliveries raced to the insert: the other one got it.
        return False


def register(bolt: AsyncApp, services: Services) -> None:
    @bolt.middleware
    async def once_per_event(
        body: dict[str, Any], next: Callable[[], Awaitable[Any]]
    ) -> BoltResponse | None:
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        if isinstance(event_id, str) and event_id:
            first = await services.in_database(_first_delivery, services, event_id)
            if not first:
                logger.info("slack event already handled", extra={"event_id": event_id})
                # A 200 tells Slack to stop retrying; nothing runs twice.
                return BoltResponse(status=200, body="")
        return await next()


async def safely(what: str, action: Awaitable[T]) -> T | None:
    """Await a Slack call that must not stop the ones after it; a failure is logged once."""
    try:
        return await action
    except Exception:
        logger.exception("slack call failed", extra={"what": what})
        return None


async def fill_view(
    services: Services, opened: Any, view: dict[str, Any], *, user: str, what: str
) -> None:
    """Put ``view`` in place of the modal ``opened`` a moment ago (views.update with its hash):
    a modal opens at once, as the trigger dies 3 s after the command, and is filled once its
    look-ups are done. One the person closed meanwhile is left alone."""
    try:
        await gateway(services).call(
            "views.update", view_id=opened["view"]["id"], hash=opened["view"]["hash"], view=view
        )
    except SlackCallError as error:
        if error.code != "not_found":
            raise
        # Closed before it was filled: nobody is waiting for it.
        logger.info("form closed before it was filled", extra={"user": user, "form": what})


async def send_dm(services: Services, user: str, message: Message) -> dict[str, Any] | None:
    """Post ``message`` in the app's DM with ``user``; returns Slack's answer (channel, ts)."""
    users = directory(services)
    channel = await users.dm_channel(user)
    # The notification of a DM shows its text as is: names read better there than mentions.
    named = Message(text=await users.named(message["text"]), blocks=message["blocks"])
    answer = await gateway(services).call("chat.postMessage", channel=channel, **named)
    return {"channel": answer["channel"], "ts": answer["ts"]}


async def tell(
    services: Services, body: dict[str, Any], respond: Any, user: str, text: str
) -> None:
    """Answer the person who acted, in plain words, where only they see it."""
    message = text_message(text)
    if body.get("response_url") and respond is not None:
        await respond(response_type="ephemeral", replace_original=False, **message)
    else:
        # App Home clicks and modal submissions carry no response_url: a DM is the private place.
        await send_dm(services, user, message)


async def answer_click(
    services: Services,
    body: dict[str, Any],
    action: dict[str, Any],
    respond: Any,
    model: type[M],
    answer: Callable[[M, str], Awaitable[None]],
) -> None:
    """Answer a button click in the clicker's language: ``answer(value, user)`` with the
    button's typed value, or, when it cannot be read, tell the clicker so."""
    user = body["user"]["id"]
    with speaking(await person_language(services, user)):
        value = await button_value(services, body, action, respond, model)
        if value is not None:
            await answer(value, user)


async def button_value(
    services: Services, body: dict[str, Any], action: dict[str, Any], respond: Any, model: type[M]
) -> M | None:
    """The typed value of the button clicked; None, having told the clicker, when unreadable."""
    try:
        return load(model, action.get("value"))
    except MetadataError:
        logger.warning(
            "button with an unreadable value",
            extra={"action": action.get("action_id"), "value": action.get("value")},
        )
        user = body["user"]["id"]
        await tell(services, body, respond, user, _("This button is not one I can read any more."))
        return None
