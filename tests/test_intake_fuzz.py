"""Malformed bodies thrown at every intake route: never a 5xx, and a refusal never writes a row."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import fixture_bytes
from tests.support.fuzz import JSON_VALUES, TEXT
from tests.support.intake import TOKENS, Intake, intake_fixtures, running_intake

# Each intake route with the real payload its senders send.
ROUTES = {
    "prometheus": "alertmanager/v0.25-firing.json",
    "grafana": "grafana/webhook-docs-example.json",
    "helpdesk": "opsgenie/create_alert_request.json",
    "pagerduty": "pagerduty/trigger_devdocs.json",  # kind pagerduty, through /alerts/pagerduty
    "/v2/enqueue": "pagerduty/trigger_openapi_example.json",
}
# A field whose absence makes each payload unusable.
REQUIRED: dict[str, list[tuple[str | int, ...]]] = {
    "prometheus": [("alerts",)],
    "grafana": [("alerts",)],
    "helpdesk": [("message",)],
    "pagerduty": [("routing_key",), ("event_action",), ("payload",), ("payload", "summary")],
    "/v2/enqueue": [("routing_key",), ("event_action",), ("payload", "severity")],
}


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a JSON document a value sits."""
    found = []
    items = (
        value.items()
        if isinstance(value, dict)
        else enumerate(value)
        if isinstance(value, list)
        else []
    )
    for key, child in items:
        found.append((*prefix, key))
        found.extend(_paths(child, (*prefix, key)))
    return found


def _parent(doc: Any, path: tuple[Any, ...]) -> Any:
    for key in path[:-1]:
        doc = doc[key]
    return doc


def _fixture_doc(route: str) -> Any:
    doc = json.loads(fixture_bytes(ROUTES[route]))
    if route == "/v2/enqueue":
        doc["dedup_key"] = "fuzz"
    return doc


@st.composite
def mutated_fixture(draw: st.DrawFn, route: str) -> bytes:
    """The route's real payload with one value replaced by anything, or removed."""
    doc = copy.deepcopy(_fixture_doc(route))
    path = draw(st.sampled_from(_paths(doc)))
    parent = _parent(doc, path)
    if isinstance(parent, dict) and draw(st.booleans()):
        del parent[path[-1]]
    else:
        parent[path[-1]] = draw(JSON_VALUES)
    return json.dumps(doc).encode()


@st.composite
def broken_fixture(draw: st.DrawFn, route: str) -> bytes:
    """The route's real payload made unusable: cut short, or missing a required field."""
    raw = fixture_bytes(ROUTES[route]).rstrip()
    if draw(st.booleans()):
        return raw[: draw(st.integers(0, len(raw) - 1))]
    doc = copy.deepcopy(_fixture_doc(route))
    path = draw(st.sampled_from(REQUIRED[route]))
    del _parent(doc, path)[path[-1]]
    return json.dumps(doc).encode()


def malformed(route: str) -> st.SearchStrategy[bytes]:
    """Bodies that no intake may accept."""
    not_an_object = JSON_VALUES.filter(lambda v: not isinstance(v, dict)).map(
        lambda v: json.dumps(v).encode()
    )
    not_utf8 = st.binary(min_size=1, max_size=200).filter(_not_utf8)
    return not_an_object | not_utf8 | broken_fixture(route)


def anything(route: str) -> st.SearchStrategy[bytes]:
    """Bodies of every sort: some valid, most not."""
    objects = st.dictionaries(TEXT, JSON_VALUES, max_size=6).map(lambda v: json.dumps(v).encode())
    return st.binary(max_size=300) | objects | mutated_fixture(route) | malformed(route)


def _not_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


async def send(intake: Intake, route: str, body: bytes) -> tuple[int, Any]:
    if route.startswith("/"):
        answer = await intake.client.post(route, content=body)
    else:
        token = TOKENS["PAGERDUTY_ROUTING_KEY"] if route == "pagerduty" else None
        answer = await intake.post(route, body, **({"token": token} if token else {}))
    return answer.status_code, answer.json()


intake, _ = intake_fixtures(running_intake)


FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.mark.parametrize("route", list(ROUTES))
@pytest.mark.parametrize(
    ("bodies", "always_refused"), [(malformed, True), (anything, False)], ids=["malformed", "any"]
)
@FUZZ
@given(data=st.data())
async def test_no_body_makes_a_server_error_and_a_refused_one_writes_nothing(
    intake: Intake,
    route: str,
    bodies: Callable[[str], st.SearchStrategy[bytes]],
    always_refused: bool,
    data: st.DataObject,
) -> None:
    """Any body is answered below 500, accepted (202) or refused without a row written; a
    malformed one is always refused (400), saying what is wrong."""
    body = data.draw(bodies(route), label="body")
    before = intake.counts()
    status, answer = await send(intake, route, body)
    assert status < 500, (status, answer)
    if status >= 400:
        assert intake.counts() == before
    else:
        assert status == 202
    if always_refused:
        assert status == 400, (status, answer)
        if route == "/v2/enqueue":
            assert answer["status"] in ("invalid event", "Unrecognized object") and answer["errors"]
        else:
            assert answer["error"] and isinstance(answer["field"], str)
