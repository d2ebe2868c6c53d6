"""GET /calendar/{team}.ics: the final schedule as a feed any calendar app can subscribe to."""

from __future__ import annotations

import asyncio
import hmac
import logging
from datetime import timedelta
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from bot.i18n import speaking
from bot.schedule.calendar import calendar_for
from bot.schedule.roster import UnknownTeam
from bot.slack.gateway import SlackCallError, gateway
from bot.slack.users import LOOKUP, user_from_info

if TYPE_CHECKING:
    from bot.app.services import Services

logger = logging.getLogger(__name__)

PAST = timedelta(days=14)
FUTURE = timedelta(days=90)


async def _names(services: Services, users: set[str]) -> dict[str, str]:
    """Display names for the users, from Slack (cached by the client helper when available)."""
    cache = services.calendar_names
    missing = [u for u in users if u not in cache]

    async def look_up(user: str) -> None:
        try:
            answer = await gateway(services).call("users.info", policy=LOOKUP, user=user)
            cache[user] = user_from_info(user, answer["user"]).name
        except (SlackCallError, KeyError, TypeError, AttributeError):
            # A feed without names beats no feed: the Slack id stands in.
            logger.warning("calendar: no name for user", extra={"user": user})

    await asyncio.gather(*(look_up(u) for u in missing))
    return {u: cache.get(u, u) for u in users}


def routes(services: Services) -> list[BaseRoute]:
    async def feed(request: Request) -> Response:
        token = services.settings.calendar_token
        if token is not None:
            given = request.query_params.get("token", "")
            if not hmac.compare_digest(given.encode(), token.encode()):
                return JSONResponse(
                    {"error": "this feed needs ?token= with the calendar token", "field": "token"},
                    status_code=401,
                )
        team_id = request.path_params["team"]
        now = services.clock.now()
        try:
            team = services.roster.team(team_id)
            shifts = await services.in_database(
                services.roster.shifts, team_id, now - PAST, now + FUTURE
            )
        except UnknownTeam as error:
            return JSONResponse({"error": str(error), "field": "team"}, status_code=404)
        names = await _names(services, {s.user for s in shifts if s.user})
        with speaking(team.language):
            body = calendar_for(team, shifts, names, generated_at=now)
        return Response(
            body,
            media_type="text/calendar; charset=utf-8",
            headers={"Content-Disposition": f'inline; filename="{team_id}.ics"'},
        )

    return [Route("/calendar/{team}.ics", feed, methods=["GET"])]
