"""What every HTTP intake route shares: reading the body within its limit, the sender's token,
parsing, and storing a batch in one transaction (``Unavailable`` on our trouble, so that the
route answers ``503`` with ``Retry-After``, never a ``4xx``)."""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable
from contextlib import AbstractContextManager, suppress
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import (
    DisconnectionError,
    IntegrityError,
    InterfaceError,
    OperationalError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bot.alerts.actions import wake_delivery
from bot.alerts.ingest import IngestResult, ingest_batch
from bot.alerts.model import IntakeError, ParsedBatch
from bot.plan.model import Integration
from bot.schedule.roster import UnknownTeam
from handlers.intake import PARSERS, Parser
from storage.db import NeedsSession, WriterBusy, session_scope

if TYPE_CHECKING:
    from bot.app.services import Services
    from storage.prepared import Tx

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024
RETRY_AFTER_SECONDS = 5
# Batches of at most this many alerts are written on the event loop when SQLite's writer is free
# (a few milliseconds at most); larger ones always go to the database thread.
INLINE_ALERTS = 10

# What a passing database trouble looks like: the server away or restarting, a lock or pool
# timeout, a connection dropped. The sender should come back later.
TRANSIENT = (OperationalError, InterfaceError, DisconnectionError, PoolTimeoutError)


class TooLarge(Exception):
    """The body is larger than the intake reads."""


class Unavailable(Exception):
    """Our side cannot take the alerts right now; the message says why."""


def error_response(status: int, message: str, field: str, **headers: str) -> JSONResponse:
    """The JSON answer to a request we refuse: what is wrong, and which field."""
    return JSONResponse({"error": message, "field": field}, status_code=status, headers=headers)


def unavailable(message: str) -> JSONResponse:
    """The answer when our side cannot take the request now: 503, come back shortly."""
    return JSONResponse(
        {"error": message, "field": ""},
        status_code=503,
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


def log_after(response: Response, log: logging.Logger, message: str, **fields: Any) -> Response:
    """The response, its log line written once it is sent: the sender does not wait for it."""

    async def write() -> None:
        log.info(message, extra=fields)

    response.background = BackgroundTask(write)
    return response


async def read_body(request: Request, limit: int = MAX_BODY_BYTES) -> bytes:
    """The request body, refused with TooLarge as soon as it passes ``limit`` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise TooLarge
    chunks: list[bytes] = []
    size = 0
    # Read the stream rather than request.body(): a lying or absent Content-Length must not
    # make us hold an arbitrarily large body in memory.
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def presented_token(request: Request) -> str | None:
    """The token the sender gave: ``Authorization: Bearer …``, else ``?token=``."""
    return presented_bearer(request) or request.query_params.get("token") or None


def presented_bearer(request: Request) -> str | None:
    """The token of ``Authorization: Bearer …`` (None: no such header)."""
    scheme, _, value = request.headers.get("authorization", "").strip().partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


def same_secret(given: str, expected: str) -> bool:
    """Whether two secrets are equal, compared in constant time."""
    return hmac.compare_digest(given.encode("utf-8", "replace"), expected.encode("utf-8"))


def token_refusal(
    request: Request, services: Services, token_env: str, subject: str, attempts: str
) -> JSONResponse | None:
    """The 401 for a request without ``token_env``'s secret (None: it presents it). ``subject``
    names what the token guards (``integration 'grafana'``), ``attempts`` what is refused."""
    expected = services.settings.secret(token_env)
    if expected is None:
        # Never take a request without its secret, even when the admin forgot to set it.
        return error_response(
            401,
            f"the server has no token configured for {subject}: "
            f"{token_env} is not set, so every {attempts} is refused",
            "token",
        )
    given = presented_token(request)
    challenge = {"WWW-Authenticate": 'Bearer realm="watchkeeper"'}
    if given is None:
        return error_response(
            401,
            "missing token: send Authorization: Bearer <token> or ?token=",
            "token",
            **challenge,
        )
    if not same_secret(given, expected):
        return error_response(401, f"wrong token for {subject}", "token", **challenge)
    return None


def integration_with_token(services: Services, kind: str, token: str) -> Integration | None:
    """The integration of this kind whose token this is (None: no such integration)."""
    found = None
    for integration in services.plans.current.integrations.values():
        if integration.kind != kind:
            continue
        expected = services.settings.secret(integration.token_env)
        # Compare against every candidate, not just until the first match: the answer time
        # then says nothing about which keys exist.
        if expected is not None and same_secret(token, expected) and found is None:
            found = integration
    return found


def parse_body(kind: str, body: bytes, parser: Parser | None = None) -> ParsedBatch | IntakeError:
    """The body read by the kind's parser (or by ``parser``), or the IntakeError refusing it."""
    parser = parser or PARSERS.get(kind)
    if parser is None:
        if kind == "email":
            return IntakeError(
                "an integration of kind email takes mail over SMTP (SMTP_PORT), not HTTP", "kind"
            )
        return IntakeError(f"no parser for integration kind {kind!r}", "kind")
    try:
        return parser(body)
    except IntakeError as error:
        return error
    except Exception:  # a parser bug must not turn bad input into a 5xx the sender retries forever
        logger.exception("intake parser failed", extra={"kind": kind})
        return IntakeError(f"the {kind} payload could not be read", "body")


async def store_batch(
    services: Services, integration: Integration, batch: ParsedBatch
) -> IngestResult:
    """Ingest the batch in one transaction; Unavailable on our trouble.

    On SQLite a batch of a few alerts is written right here when nobody else is writing: it
    takes less than handing it to the database thread and back (two thread wake-ups). It never
    waits on the event loop: with the writer busy it goes to the database thread, which waits.
    New alerts are written in a transaction without a Session; a batch that changes an open
    alert is written again in one.
    """
    try:
        result = None
        writer = services.writer_now() if len(batch.alerts) <= INLINE_ALERTS else None
        if writer is not None:
            with suppress(WriterBusy):
                try:
                    result = _store_blocking(services, integration, batch, writer.transaction)
                except NeedsSession:
                    result = _store_blocking(services, integration, batch, writer.session)
        if result is None:
            result = await services.in_database(_store_blocking, services, integration, batch)
    except TRANSIENT as error:
        logger.warning(
            "alert intake: database unavailable",
            extra={"integration": integration.id, "error": error.__class__.__name__},
        )
        raise Unavailable("the database is unavailable; try again shortly") from None
    except IntegrityError:
        # Two requests raced twice for the same new alert; the sender's retry will find it.
        raise Unavailable("a concurrent request is storing the same alert; try again") from None
    except UnknownTeam as error:
        logger.error(
            "alert intake: integration points at an unknown team", extra={"error": str(error)}
        )
        raise Unavailable(f"integration {integration.id!r} has no team here: {error}") from None
    wake_delivery(services)
    return result


def _store_blocking(
    services: Services,
    integration: Integration,
    batch: ParsedBatch,
    scope: Callable[[], AbstractContextManager[Tx]] | None = None,
) -> IngestResult:
    now = services.clock.now()
    for attempt in (1, 2):
        try:
            with scope() if scope is not None else session_scope(services.engine) as session:
                return ingest_batch(
                    session=session,
                    services_or_plan=services,
                    integration=integration,
                    batch=batch,
                    now=now,
                )
        except IntegrityError:
            # Another request opened the same alert between our look-up and our insert; a
            # second pass finds it and counts this one as a repeat.
            if attempt == 2:
                raise
    raise AssertionError("unreachable")
