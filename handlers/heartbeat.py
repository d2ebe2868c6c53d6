"""``GET`` or ``POST /heartbeat/{name}``: a ping of a heartbeat of the setup file.

The token is given as for alerts (``Authorization: Bearer …`` or ``?token=``) and compared in
constant time. An unknown name answers 404, a missing or wrong token 401, and neither records
anything. A ping is answered ``200`` once it is committed; the body, if any, is not read.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from bot.alerts.actions import wake_delivery
from bot.alerts.heartbeats import ping_now
from handlers.intake.http import (
    TRANSIENT,
    error_response,
    log_after,
    token_refusal,
    unavailable,
)

if TYPE_CHECKING:
    from bot.app.services import Services

logger = logging.getLogger(__name__)


def routes(services: Services) -> list[BaseRoute]:
    """The heartbeat route of the app."""

    async def heartbeat(request: Request) -> Response:
        return await receive_ping(services, request)

    return [Route("/heartbeat/{name}", heartbeat, methods=["GET", "POST"])]


async def receive_ping(services: Services, request: Request) -> Response:
    """Check the heartbeat and its token, record the ping; 200 after the commit."""
    name = request.path_params["name"]
    heartbeat = services.plans.current.heartbeats.get(name)
    if heartbeat is None:
        return error_response(404, f"no heartbeat {name!r} in the setup file", "name")
    # An unauthenticated ping could keep a dead job looking alive.
    refusal = token_refusal(request, services, heartbeat.token_env, f"heartbeat {name!r}", "ping")
    if refusal is not None:
        return refusal
    try:
        ping = await services.in_database(ping_now, services, heartbeat)
    except TRANSIENT as error:
        logger.warning(
            "heartbeat: database unavailable",
            extra={"heartbeat": name, "error": error.__class__.__name__},
        )
        return unavailable("the database is unavailable; try again shortly")
    if ping.resolved is not None:
        wake_delivery(services)
    answer = JSONResponse(
        {"status": "ok", "heartbeat": name, "at": ping.at.isoformat(), "resolved": ping.resolved}
    )
    return log_after(answer, logger, "heartbeat ping", heartbeat=name, resolved=ping.resolved)
