"""The global error handler: log once, and tell the user in Slack, in plain words, what failed."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from bot.i18n import _, speaking
from bot.slack.language import person_language

if TYPE_CHECKING:
    from slack_bolt.async_app import AsyncApp

    from bot.app.services import Services

logger = logging.getLogger(__name__)


async def _apology(services: Services, body: dict[str, Any]) -> str:
    """The apology, in the language of whoever the failure happened to (English if unknown)."""
    user = body.get("user_id") or (body.get("user") or {}).get("id")
    try:
        language = await person_language(services, str(user)) if user else None
    except Exception:  # telling them matters more than telling them in their language
        language = None
    with speaking(language):
        return _(
            "Sorry, something went wrong on our side and nothing was changed. "
            "Please try again in a minute; if it keeps failing, tell whoever runs Watchkeeper."
        )


def register(bolt: AsyncApp, services: Services) -> None:
    @bolt.error
    async def on_error(error: Exception, body: dict[str, Any], respond: Any = None) -> None:
        logger.exception("slack listener failed", exc_info=error)
        if respond is None:
            return
        try:
            await respond(
                response_type="ephemeral",
                replace_original=False,
                text=await _apology(services, body),
            )
        except Exception:  # the apology itself failed: already logged above
            logger.warning("could not tell the user about the failure")
