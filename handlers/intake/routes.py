"""The alert intake over HTTP: ``POST /alerts/{integration}`` and PagerDuty's ``POST /v2/enqueue``.

A request is answered ``202`` only once its whole batch is committed; bad input gets a ``4xx``
naming the field and writes nothing; trouble on our side (the database busy or away) answers
``503`` with ``Retry-After``, never a ``4xx``: Alertmanager drops an alert on any ``4xx``.
Opsgenie's ``/v2/alerts`` routes live in ``opsgenie_api``; what they share is in ``http``.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from bot.alerts.model import IntakeError
from handlers.intake import opsgenie_api
from handlers.intake.http import (
    MAX_BODY_BYTES,
    RETRY_AFTER_SECONDS,
    TooLarge,
    Unavailable,
    error_response,
    integration_with_token,
    log_after,
    parse_body,
    read_body,
    store_batch,
    token_refusal,
    unavailable,
)

if TYPE_CHECKING:
    from bot.app.services import Services

logger = logging.getLogger(__name__)

PAGERDUTY_KIND = "pagerduty"


def routes(services: Services) -> list[BaseRoute]:
    """The intake routes of the app."""

    async def alerts(request: Request) -> Response:
        return await receive_alerts(services, request)

    async def enqueue(request: Request) -> Response:
        return await receive_pagerduty_event(services, request)

    return [
        Route("/alerts/{integration}", alerts, methods=["POST"]),
        Route("/v2/enqueue", enqueue, methods=["POST"]),
        *opsgenie_api.routes(services),
    ]


async def receive_alerts(services: Services, request: Request) -> Response:
    """``POST /alerts/{integration}``: authenticate, read, parse, store; 202 after the commit."""
    name = request.path_params["integration"]
    integration = services.plans.current.integrations.get(name)
    if integration is None:
        known = ", ".join(sorted(services.plans.current.integrations)) or "none"
        return error_response(
            404, f"no integration {name!r} in the setup file (integrations: {known})", "integration"
        )
    refusal = token_refusal(
        request, services, integration.token_env, f"integration {name!r}", "request"
    )
    if refusal is not None:
        return refusal

    try:
        body = await read_body(request)
    except TooLarge:
        return error_response(413, f"the body is larger than {MAX_BODY_BYTES} bytes", "body")
    except ClientDisconnect:
        return error_response(400, "the request body ended early", "body")
    parsed = parse_body(integration.kind, body)
    if isinstance(parsed, IntakeError):
        return error_response(400, parsed.message, parsed.field)
    try:
        result = await store_batch(services, integration, parsed)
    except Unavailable as trouble:
        return unavailable(str(trouble))
    answer = JSONResponse(
        {"status": "accepted", "alerts": len(parsed.alerts), "ids": result.ids}, status_code=202
    )
    return log_after(
        answer,
        logger,
        "alerts accepted",
        integration=name,
        team=result.team,
        alerts=len(parsed.alerts),
    )


async def receive_pagerduty_event(services: Services, request: Request) -> Response:
    """``POST /v2/enqueue``: PagerDuty Events API v2; the routing key picks the integration."""
    try:
        body = await read_body(request)
    except TooLarge:
        return _pagerduty_invalid([f"The body is larger than {MAX_BODY_BYTES} bytes."], 413)
    except ClientDisconnect:
        return _pagerduty_unrecognized("The request body ended early.")
    parsed = parse_body(PAGERDUTY_KIND, body)
    if isinstance(parsed, IntakeError):
        if parsed.unparseable:
            return _pagerduty_unrecognized(parsed.message)
        return _pagerduty_invalid([parsed.message])
    integration = integration_with_token(services, PAGERDUTY_KIND, parsed.routing_key or "")
    if integration is None:
        # PagerDuty answers an unknown routing key with a 400 too.
        return _pagerduty_invalid(["Invalid routing key."])
    try:
        await store_batch(services, integration, parsed)
    except Unavailable as trouble:
        return JSONResponse(
            {"status": "unavailable", "message": str(trouble), "errors": []},
            status_code=503,
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    answer = JSONResponse(
        {"status": "success", "message": "Event processed", "dedup_key": parsed.dedup_key},
        status_code=202,
    )
    return log_after(
        answer,
        logger,
        "pagerduty event accepted",
        integration=integration.id,
        action=str(parsed.alerts[0].action),
    )


def _pagerduty_invalid(errors: list[str], status: int = 400) -> JSONResponse:
    return JSONResponse(
        {"status": "invalid event", "message": "Event object is invalid", "errors": errors},
        status_code=status,
    )


def _pagerduty_unrecognized(error: str) -> JSONResponse:
    # PagerDuty's answer to a body that is not a JSON event at all.
    return JSONResponse(
        {
            "status": "Unrecognized object",
            "message": "Event object format is unrecognized",
            "errors": [error],
        },
        status_code=400,
    )
