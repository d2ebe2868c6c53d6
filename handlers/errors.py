"""The global error handler: log once, and tell the user in Slack, in plain words, what failed."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from slack_bolt.async_app import AsyncApp

    from bot.app.services import Services

logger = logging.getLogger(__name__)


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
                text="Sorry, something went wrong on our side and nothing was changed. "
                "Please try again in a minute; if it keeps failing, tell whoever runs Watchkeeper.",
            )
        except Exception:  # the apology itself failed: already logged above
            logger.warning("could not tell the user about the failure")
