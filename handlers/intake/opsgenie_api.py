"""Opsgenie's Alert API as monitors use it: create an alert, close or acknowledge one by alias.

``POST /v2/alerts``, ``POST /v2/alerts/{alias}/close`` and ``POST /v2/alerts/{alias}/acknowledge``
(with ``?identifierType=alias``), authenticated by ``Authorization: GenieKey <key>`` where the key
is the token of an ``opsgenie`` integration. Answered as Opsgenie answers: ``202`` with
``result``, ``took`` and ``requestId`` once the alert is committed; an error with ``message``,
``took``, ``requestId`` and ``errors`` naming the field; ``503`` when our side is in trouble.
"""

from __future__ import annotations

import functools
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from bot.alerts.model import AlertAction, IntakeError, ParsedBatch
from bot.plan.model import Integration
from handlers.intake import opsgenie
from handlers.intake.http import (
    MAX_BODY_BYTES,
    RETRY_AFTER_SECONDS,
    TooLarge,
    Unavailable,
    integration_with_token,
    log_after,
    parse_body,
    read_body,
    store_batch,
)

if TYPE_CHECKING:
    from bot.app.services import Services

logger = logging.getLogger(__name__)

ACCEPTED = "Request will be processed"  # Opsgenie's words for a 202
CHALLENGE = {"WWW-Authenticate": 'GenieKey realm="watchkeeper"'}


def routes(services: Services) -> list[BaseRoute]:
    """The Opsgenie-compatible routes of the app."""

    async def create(request: Request) -> Response:
        return await receive(services, request, opsgenie.parse)

    async def close(request: Request) -> Response:
        return await receive_alias_action(services, request, AlertAction.resolve)

    async def acknowledge(request: Request) -> Response:
        return await receive_alias_action(services, request, AlertAction.acknowledge)

    return [
        Route("/v2/alerts", create, methods=["POST"]),
        # An alias may hold a slash, as is or as %2F: ``path`` lets it through whole.
        Route("/v2/alerts/{identifier:path}/close", close, methods=["POST"]),
        Route("/v2/alerts/{identifier:path}/acknowledge", acknowledge, methods=["POST"]),
    ]


@dataclass
class _Answer:
    """One request's id and start, and the answers that carry them."""

    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    # Opsgenie's ``took``: how long we spent on the request, in seconds.
    started: float = field(default_factory=time.perf_counter)

    def _json(self, status: int, body: dict[str, Any], **headers: str) -> JSONResponse:
        took = round(time.perf_counter() - self.started, 3)
        return JSONResponse(
            {**body, "took": took, "requestId": self.request_id},
            status_code=status,
            headers=headers,
        )

    def accepted(self) -> JSONResponse:
        return self._json(202, {"result": ACCEPTED})

    def error(self, status: int, message: str, field: str, **headers: str) -> JSONResponse:
        return self._json(status, {"message": message, "errors": {field: message}}, **headers)

    def refused(self, error: IntakeError) -> JSONResponse:
        # Opsgenie: 400 for a body that is not JSON at all, 422 for what it says.
        return self.error(400 if error.unparseable else 422, error.message, error.field)

    def unavailable(self, message: str) -> JSONResponse:
        return self._json(503, {"message": message}, **{"Retry-After": str(RETRY_AFTER_SECONDS)})


def genie_key(request: Request) -> str | None:
    """The key the sender gave as ``Authorization: GenieKey <key>``."""
    scheme, _, value = request.headers.get("authorization", "").strip().partition(" ")
    if scheme.lower() == "geniekey" and value.strip():
        return value.strip()
    return None


def _authenticate(services: Services, request: Request, answer: _Answer) -> Integration | Response:
    """The opsgenie integration whose token is the request's GenieKey, or the 401 refusing it."""
    key = genie_key(request)
    if key is None:
        return answer.error(
            401,
            "Could not authenticate: send Authorization: GenieKey <key>, the token of an "
            "opsgenie integration.",
            "Authorization",
            **CHALLENGE,
        )
    integration = integration_with_token(services, opsgenie.KIND, key)
    if integration is None:
        return answer.error(
            401,
            "Could not authenticate: no opsgenie integration has this key.",
            "Authorization",
            **CHALLENGE,
        )
    return integration


async def receive(
    services: Services, request: Request, parser: Callable[[bytes], ParsedBatch]
) -> Response:
    """Authenticate, read, parse with ``parser``, store; 202 after the commit."""
    answer = _Answer()
    integration = _authenticate(services, request, answer)
    if isinstance(integration, Response):
        return integration
    try:
        body = await read_body(request)
    except TooLarge:
        return answer.error(413, f"The body is larger than {MAX_BODY_BYTES} bytes.", "body")
    except ClientDisconnect:
        return answer.error(400, "The request body ended early.", "body")
    parsed = parse_body(opsgenie.KIND, body, parser)
    if isinstance(parsed, IntakeError):
        return answer.refused(parsed)
    try:
        result = await store_batch(services, integration, parsed)
    except Unavailable as trouble:
        return answer.unavailable(str(trouble))
    return log_after(
        answer.accepted(),
        logger,
        "opsgenie request accepted",
        integration=integration.id,
        action=str(parsed.alerts[0].action),
        outcome=result.outcomes[0].action,
        request_id=answer.request_id,
    )


async def receive_alias_action(
    services: Services, request: Request, action: AlertAction
) -> Response:
    """Close (``resolve``) or acknowledge the open alert whose alias is in the path."""
    parser = functools.partial(
        opsgenie.parse_alias_action,
        alias=request.path_params["identifier"],
        action=action,
        # Opsgenie's default is its own alert id, which no sender can know here.
        identifier_type=request.query_params.get("identifierType", "id"),
    )
    return await receive(services, request, parser)
