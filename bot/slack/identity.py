"""Who the bot is in its workspace, for Bolt to authorize Slack's requests with: auth.test asked
once through the gateway, its answer kept, as Bolt's own single-workspace authorization keeps it
(which would ask Slack past the gateway)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from slack_bolt.authorization import AuthorizeResult

from bot.slack.gateway import PROMPT, SlackCallError, gateway

if TYPE_CHECKING:
    from bot.app.services import Services

logger = logging.getLogger(__name__)


def bolt_authorize(services: Services) -> Callable[[], Awaitable[AuthorizeResult | None]]:
    """Bolt's ``authorize``: the bot's team, bot id, bot user id and token, from the first
    auth.test Slack answers; None while auth.test fails (Bolt then refuses the request, and the
    next one asks again)."""
    known: AuthorizeResult | None = None
    # Requests that come together wait for one auth.test rather than each making its own.
    asking = asyncio.Lock()

    async def authorize() -> AuthorizeResult | None:
        nonlocal known
        async with asking:
            if known is None:
                try:
                    answer = await gateway(services).call("auth.test", policy=PROMPT)
                except SlackCallError as error:
                    logger.error(
                        "auth.test failed: Slack's request refused", extra={"error": error.code}
                    )
                    return None
                known = AuthorizeResult.from_auth_test_response(
                    bot_token=services.slack.token,
                    bot_scopes=answer.headers.get("x-oauth-scopes"),
                    auth_test_response=answer,
                )
        return known

    return authorize
