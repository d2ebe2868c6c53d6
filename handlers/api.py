"""The JSON API (read only): who holds the pager, a team's shifts, the alerts, its OpenAPI.

Served only when ``API_TOKEN`` is set (without it every ``/api/`` address is a 404), and only to
``Authorization: Bearer <API_TOKEN>``. ``/oncall`` and ``/teams/{team}/shifts`` answer the very
documents of ``watchkeeper who --json`` and ``shifts --json``, built by the same code.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from bot.schedule import documents
from bot.schedule.documents import BadValue, iso
from bot.schedule.who_memo import WhoMemo
from handlers.api_spec import openapi_document
from handlers.intake.http import error_response, presented_bearer, same_secret
from storage.alerts import ALERT_STATUSES, alerts_page
from storage.db import read_scope
from storage.models import Alert

if TYPE_CHECKING:
    from bot.app.services import Services

logger = logging.getLogger(__name__)

PREFIX = "/api/v1"
DEFAULT_LIMIT = 50
MAX_LIMIT = 500
CHALLENGE = 'Bearer realm="watchkeeper"'

Endpoint = Callable[[Request], Awaitable[Response]]


def routes(services: Services) -> list[BaseRoute]:
    """The API's routes; none at all when no API_TOKEN is set (every address is then a 404)."""
    token = services.settings.api_token
    if token is None:
        return []

    memo = WhoMemo(services.roster, services.engine)

    def guarded(endpoint: Endpoint, allowed: tuple[str, ...]) -> Endpoint:
        async def answer(request: Request) -> Response:
            refusal = _refusal(request, token)
            if refusal is not None:
                return refusal
            unknown = sorted(set(request.query_params) - set(allowed))
            if unknown:
                expected = ", ".join(allowed) or "none"
                return _bad(unknown[0], f"unknown parameter (this address takes: {expected})")
            try:
                return await endpoint(request)
            except BadValue as error:
                return _bad(error.field, error.message)

        return answer

    async def oncall(request: Request) -> Response:
        params = request.query_params
        plan = services.plans.current
        query = documents.who_query(
            plan, team=params.get("team"), at=params.get("at"), now=services.clock.now()
        )
        return JSONResponse(await services.in_database(memo.document, query))

    async def shifts(request: Request) -> Response:
        params = request.query_params
        plan = services.plans.current
        team = request.path_params["team"]
        if team not in plan.teams:
            known = ", ".join(sorted(plan.teams)) or "none"
            return error_response(404, f"no team {team[:64]!r}; teams: {known}", "team")
        query = documents.shifts_query(
            plan,
            team=team,
            start=params.get("from"),
            end=params.get("to"),
            role=params.get("role", "oncall"),
            now=services.clock.now(),
        )
        found = await services.in_database(_shifts, services, query)
        return JSONResponse(documents.shifts_document(query, found))

    async def alerts(request: Request) -> Response:
        params = request.query_params
        status = params.get("status")
        if status is not None and status not in ALERT_STATUSES:
            raise BadValue(
                "status", f"expected one of {', '.join(ALERT_STATUSES)}, got {status[:40]!r}"
            )
        team = params.get("team")
        if team is not None:
            documents.team_ids_of(services.plans.current, team, field="team")
        # Both are at least 1 when given: "or" only fills in an absent limit.
        limit = _whole_number(params, "limit", 1, MAX_LIMIT) or DEFAULT_LIMIT
        cursor = _whole_number(params, "cursor", 1, None)
        rows, more = await services.in_database(_page, services, status, team, cursor, limit)
        following = None
        if more and rows:
            kept = {k: v for k, v in (("status", status), ("team", team)) if v is not None}
            kept |= {"limit": str(limit), "cursor": str(rows[-1]["id"])}
            following = f"{PREFIX}/alerts?{urlencode(kept)}"
        return JSONResponse({"alerts": rows, "next": following})

    async def openapi(_: Request) -> Response:
        return JSONResponse(openapi_document())

    return [
        Route(f"{PREFIX}/oncall", guarded(oncall, ("team", "at")), methods=["GET"]),
        Route(
            f"{PREFIX}/teams/{{team}}/shifts",
            guarded(shifts, ("from", "to", "role")),
            methods=["GET"],
        ),
        Route(
            f"{PREFIX}/alerts",
            guarded(alerts, ("status", "team", "limit", "cursor")),
            methods=["GET"],
        ),
        Route(f"{PREFIX}/openapi.json", guarded(openapi, ()), methods=["GET"]),
    ]


def _refusal(request: Request, token: str) -> Response | None:
    """The 401 for a request without the API token (None: it has it)."""
    given = presented_bearer(request)
    if given is None:
        return error_response(
            401,
            "this API needs Authorization: Bearer <API_TOKEN>",
            "token",
            **{"WWW-Authenticate": CHALLENGE},
        )
    if not same_secret(given, token):
        return error_response(
            401,
            "wrong API token",
            "token",
            **{"WWW-Authenticate": f'{CHALLENGE}, error="invalid_token"'},
        )
    return None


def _whole_number(params: Mapping[str, str], name: str, low: int, high: int | None) -> int | None:
    """The query parameter ``name`` as a whole number in [low, high] (None: not given)."""
    text = params.get(name)
    if text is None:
        return None
    bounds = f"from {low} to {high}" if high is not None else f"of at least {low}"
    whole = text.isascii() and text.isdigit() and len(text) <= 18
    if not whole or not low <= int(text) <= (high if high is not None else int(text)):
        raise BadValue(name, f"expected a whole number {bounds}, got {text[:40]!r}")
    return int(text)


def _shifts(services: Services, query: documents.ShiftsQuery) -> list[Any]:
    with read_scope(services.engine) as session:
        return documents.team_shifts(services.roster, query, session)


def _page(
    services: Services, status: str | None, team: str | None, before: int | None, limit: int
) -> tuple[list[dict[str, Any]], bool]:
    """One page of alerts, newest first, and whether older ones follow."""
    with read_scope(services.engine) as session:
        found = alerts_page(
            session=session, status=status, team=team, before=before, limit=limit + 1
        )
        return [alert_document(a) for a in found[:limit]], len(found) > limit


def _bad(field: str, message: str) -> JSONResponse:
    return error_response(400, f"{field}: {message}", field)


def alert_document(alert: Alert) -> dict[str, Any]:
    """One alert of the API, its instants in UTC."""
    return {
        "id": alert.id,
        "team": alert.team,
        "integration": alert.integration,
        "status": alert.status,
        "severity": alert.severity,
        "title": alert.title,
        "summary": alert.summary,
        "customer": alert.customer,
        "source": alert.source,
        "dedup_key": alert.dedup_key,
        "count": alert.count,
        "first_seen": iso(alert.first_seen, _UTC),
        "last_seen": iso(alert.last_seen, _UTC),
        "oncall": alert.oncall_user,
        "acknowledged_at": iso(alert.acknowledged_at, _UTC),
        "acknowledged_by": alert.acknowledged_by,
        "resolved_at": iso(alert.resolved_at, _UTC),
        "resolved_by": alert.resolved_by,
        "escalation_step": alert.escalation_step,
        "runbook_url": alert.runbook_url,
        "links": alert.links,
        "labels": alert.labels,
    }


_UTC = ZoneInfo("UTC")
