"""The OpenAPI 3.1 description of the JSON API, served at ``/api/v1/openapi.json``."""

from __future__ import annotations

from functools import cache
from typing import Any

_INSTANT = {"type": "string", "format": "date-time", "description": "ISO-8601, with offset"}
_MAYBE_INSTANT = {"type": ["string", "null"], "format": "date-time"}
_USER = {"type": "string", "description": "a Slack user id", "example": "U0BOB"}
_MAYBE_USER = {"type": ["string", "null"], "description": "a Slack user id; null: nobody"}
_TEAM_PARAM_TEXT = "a team's id, as in the setup file"
_WHEN = (
    "a date (2026-11-28, its midnight in team time) or an ISO-8601 instant; without an offset, "
    "in team time"
)


def _query(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema,
    }


def _json(schema: str, description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
    }


_ERRORS = {
    "400": _json("Error", "a query value that cannot be used; `field` names it"),
    "401": _json("Error", "no Bearer token, or not the API token"),
}


@cache
def openapi_document() -> dict[str, Any]:
    """The API's OpenAPI document."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Watchkeeper API",
            "version": "1",
            "description": (
                "Read-only: who holds the pager, the final schedule, the alerts. Served when "
                "API_TOKEN is set, to `Authorization: Bearer <API_TOKEN>`."
            ),
        },
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}],
        "paths": {
            "/oncall": {
                "get": {
                    "operationId": "oncall",
                    "summary": "Who holds the pager and the backup, and who is next "
                    "(as `watchkeeper who --json`)",
                    "parameters": [
                        _query(
                            "team",
                            f"one team ({_TEAM_PARAM_TEXT}); default: every team",
                            {"type": "string"},
                        ),
                        _query(
                            "at",
                            f"the instant asked about, {_WHEN}; default: now",
                            {"type": "string"},
                        ),
                    ],
                    "responses": {"200": _json("Oncall", "each team at the instant"), **_ERRORS},
                }
            },
            "/teams/{team}/shifts": {
                "get": {
                    "operationId": "shifts",
                    "summary": "The final schedule of a team, one row per shift "
                    "(as `watchkeeper shifts --json`)",
                    "parameters": [
                        {
                            "name": "team",
                            "in": "path",
                            "required": True,
                            "description": _TEAM_PARAM_TEXT,
                            "schema": {"type": "string"},
                        },
                        _query("from", f"start, {_WHEN}; default: now", {"type": "string"}),
                        _query(
                            "to",
                            f"end, {_WHEN}; default: four weeks after `from`",
                            {"type": "string"},
                        ),
                        _query(
                            "role",
                            "whose shifts: the pager holder's or the backup's",
                            {"type": "string", "enum": ["oncall", "backup"], "default": "oncall"},
                        ),
                    ],
                    "responses": {
                        "200": _json("Shifts", "the shifts over [from, to), gaps included"),
                        **_ERRORS,
                        "404": _json("Error", "no such team"),
                    },
                }
            },
            "/alerts": {
                "get": {
                    "operationId": "alerts",
                    "summary": "The alerts, newest first, a page at a time",
                    "parameters": [
                        _query(
                            "status",
                            "only the alerts in this state",
                            {"type": "string", "enum": ["open", "acknowledged", "resolved"]},
                        ),
                        _query(
                            "team",
                            f"only this team's alerts ({_TEAM_PARAM_TEXT})",
                            {"type": "string"},
                        ),
                        _query(
                            "limit",
                            "alerts per page",
                            {"type": "integer", "minimum": 1, "maximum": 500, "default": 50},
                        ),
                        _query(
                            "cursor",
                            "from the `next` link of the previous page: the alerts older than it",
                            {"type": "integer", "minimum": 1},
                        ),
                    ],
                    "responses": {"200": _json("AlertPage", "one page of alerts"), **_ERRORS},
                }
            },
            "/openapi.json": {
                "get": {
                    "operationId": "openapi",
                    "summary": "This document",
                    "responses": {
                        "200": {
                            "description": "the OpenAPI document",
                            "content": {"application/json": {"schema": {"type": "object"}}},
                        },
                        "401": _ERRORS["401"],
                    },
                }
            },
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error", "field"],
                    "properties": {
                        "error": {"type": "string", "description": "what is wrong"},
                        "field": {"type": "string", "description": "the parameter at fault"},
                    },
                },
                "Oncall": {
                    "type": "object",
                    "required": ["at", "teams"],
                    "properties": {
                        "at": _INSTANT,
                        "teams": {
                            "type": "array",
                            "items": {"$ref": "#/components/schemas/TeamNow"},
                        },
                    },
                },
                "TeamNow": {
                    "type": "object",
                    "required": ["team", "oncall", "since", "until", "source", "backup", "next"],
                    "properties": {
                        "team": {"type": "string"},
                        "oncall": _MAYBE_USER,
                        "since": _MAYBE_INSTANT,
                        "until": _MAYBE_INSTANT,
                        "source": {
                            "type": "string",
                            "description": "rotation:<name>, swap, cover, override, or gap",
                        },
                        "backup": _MAYBE_USER,
                        "next": {
                            "type": ["object", "null"],
                            "required": ["user", "start"],
                            "properties": {"user": _USER, "start": _INSTANT},
                        },
                    },
                },
                "Shifts": {
                    "type": "object",
                    "required": ["team", "shifts"],
                    "properties": {
                        "team": {"type": "string"},
                        "shifts": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["user", "start", "end", "source"],
                                "properties": {
                                    "user": _MAYBE_USER,
                                    "start": _INSTANT,
                                    "end": _INSTANT,
                                    "source": {"type": "string"},
                                },
                            },
                        },
                    },
                },
                "AlertPage": {
                    "type": "object",
                    "required": ["alerts", "next"],
                    "properties": {
                        "alerts": {
                            "type": "array",
                            "items": {"$ref": "#/components/schemas/Alert"},
                        },
                        "next": {
                            "type": ["string", "null"],
                            "description": "the address of the next (older) page; null: last page",
                        },
                    },
                },
                "Alert": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "integer"},
                        "team": {"type": "string"},
                        "integration": {"type": "string"},
                        "status": {"type": "string", "enum": ["open", "acknowledged", "resolved"]},
                        "severity": {
                            "type": "string",
                            "enum": ["critical", "error", "warning", "info"],
                        },
                        "title": {"type": "string"},
                        "summary": {"type": "string"},
                        "customer": {"type": ["string", "null"]},
                        "source": {"type": ["string", "null"]},
                        "dedup_key": {"type": "string"},
                        "count": {"type": "integer", "description": "how many times it came"},
                        "first_seen": _INSTANT,
                        "last_seen": _INSTANT,
                        "oncall": _MAYBE_USER,
                        "acknowledged_at": _MAYBE_INSTANT,
                        "acknowledged_by": _MAYBE_USER,
                        "resolved_at": _MAYBE_INSTANT,
                        "resolved_by": {"type": ["string", "null"]},
                        "escalation_step": {"type": "integer"},
                        "runbook_url": {"type": ["string", "null"]},
                        "links": {
                            "type": "array",
                            "items": {"type": "object", "additionalProperties": {"type": "string"}},
                        },
                        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                    },
                },
            },
        },
    }
