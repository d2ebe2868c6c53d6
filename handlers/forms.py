"""A slash command with a form (/swap, /cover): typed alone it opens the form, typed with words it
reads them as one line, and `help` answers with the help; then the form's answers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from bot.enums import Command, View
from bot.i18n import speaking
from bot.slack.blocks.oncall import help_message
from bot.slack.language import person_language
from bot.text.escaping import typed

if TYPE_CHECKING:
    from slack_bolt.async_app import AsyncApp

    from bot.app.services import Services

# The words for help after any command (/oncall, /swap, /cover), in English, French and
# Portuguese, whatever the reader's language.
HELP = frozenset({"help", "?", "aide", "ajuda"})


def form_command(
    bolt: AsyncApp,
    services: Services,
    name: Command,
    form: View,
    *,
    open_form: Callable[[str, str, Any], Awaitable[None]],
    one_line: Callable[[str, str, Any], Awaitable[None]],
    submitted: Callable[[Any, str, dict[str, Any]], Awaitable[None]],
) -> None:
    """Listen to the command ``name``: ``open_form(user, trigger_id, respond)`` when typed alone,
    ``one_line(user, text, respond)`` in the person's language when typed with words; and to
    the submission of its ``form``: ``submitted(ack, user, view)``."""

    @bolt.command(name.value)
    async def command_typed(ack: Any, command: dict[str, Any], respond: Any) -> None:
        await ack()
        user = command["user_id"]
        text = typed(command).strip()
        if not text:
            await open_form(user, command["trigger_id"], respond)
            return
        with speaking(await person_language(services, user)):
            if text.lower() in HELP:
                teams = sorted(services.roster.plan.teams)
                await respond(response_type="ephemeral", **help_message(teams))
                return
            await one_line(user, text, respond)

    @bolt.view(form.value)
    async def form_submitted(ack: Any, body: dict[str, Any], view: dict[str, Any]) -> None:
        # Checked before the ack: a refusal has to travel in the ack, next to the input at fault.
        # The person's language was cached when the form opened: no users.info call before it.
        user = body["user"]["id"]
        with speaking(await person_language(services, user, look_up=False)):
            await submitted(ack, user, view)
