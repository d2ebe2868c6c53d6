"""Messages typed in the app's DM (the Messages tab): the bot reads only slash commands, so a
plain message gets a short answer saying what to type, and "oncall" or "who" the answer to
/oncall itself."""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any

from bot.enums import Command
from bot.i18n import speaking
from bot.slack.blocks import Message, context, message
from bot.slack.blocks.commands import dm_help_message, typed_without_slash
from bot.slack.language import person_language
from bot.slack.users import directory
from handlers.events import send_dm
from handlers.oncall import answer

if TYPE_CHECKING:
    from slack_bolt.async_app import AsyncApp

    from bot.app.services import Services

logger = logging.getLogger(__name__)

# "oncall", "/oncall week", "on call me": /oncall and what follows it, typed as a message.
ONCALL = re.compile(r"/?\s*on[\s-]?call(?:\s+(?P<rest>.*))?", re.IGNORECASE | re.DOTALL)
# "who", "who is on call?", "who's on call now": /oncall's own question.
WHO = re.compile(r"who(?:\s*(?:is|'s|’s))?(?:\s+on[\s-]?call)?(?:\s+now)?", re.IGNORECASE)


def written_by_a_person(event: dict[str, Any]) -> bool:
    """Whether the event is a new message a person wrote in their DM with the app: not ours or
    another bot's, not an edit, a deletion or any other kind of message event."""
    return (
        event.get("channel_type") == "im"
        and not event.get("subtype")
        and not event.get("bot_id")
        and bool(event.get("user"))
        and isinstance(event.get("text"), str)
    )


def oncall_words(text: str) -> str | None:
    """What follows "oncall" or "who" when the message asks /oncall's question without the
    slash ("" for the question alone); None for any other message."""
    asked = text.strip().rstrip("?!. ")
    if WHO.fullmatch(asked):
        return ""
    found = ONCALL.fullmatch(asked)
    return None if found is None else (found["rest"] or "").strip()


def _with_note(reply: Message, note: str) -> Message:
    return message(reply["text"], [*reply["blocks"], context(note)])


async def _reply(services: Services, user: str, text: str) -> Message:
    rest = oncall_words(text)
    with speaking(await person_language(services, user)):
        if rest is None:
            return dm_help_message()
        viewer = await directory(services).tz(user)
        reply = await services.in_database(
            answer, services.roster, user, rest, services.clock.now(), viewer
        )
        return _with_note(reply, typed_without_slash(Command.oncall))


def register(bolt: AsyncApp, services: Services) -> None:
    @bolt.event("message")
    async def direct_message(event: dict[str, Any]) -> None:
        # Events are acknowledged by Bolt before this runs, and retries are dropped by event_id.
        if not written_by_a_person(event):
            return
        user = str(event["user"])
        await send_dm(services, user, await _reply(services, user, event["text"]))
