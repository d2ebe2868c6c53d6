"""The JSON API: the documents of `who --json` and `shifts --json` on the same setup, the alerts
page by page, the token, and its OpenAPI description (validated, and matched by the answers)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate

from bot.plan.holder import PlanHolder
from bot.schedule import documents
from storage.db import read_scope
from tests.readme import curl_commands, curl_request
from tests.support.cli import cli_json, setup_for_cli, store_dans_swap
from tests.support.intake import TOKENS, Intake, running_intake
from tests.support.overrides import store_override
from tests.support.setup_files import SUPPORT as PLAN

API_TOKEN = "api-7d1e0b93c2"
BEARER = {"Authorization": f"Bearer {API_TOKEN}"}
# The friday evening of the weekend of Dan's swap (Saturday night, 28-29 November 2026).
FRIDAY = datetime.fromisoformat("2026-11-27T19:00:00+01:00")

SETUP = (
    PLAN
    + """\
  ops:
    name: Operations
    channel: C0OPS
    timezone: America/New_York
    rotations:
      - name: follow
        members: [U0OPS1, U0OPS2]
        start: 2026-10-30 09:00
        every: 1d
integrations:
  helpdesk:
    kind: generic
    team: support
    token_env: HELPDESK_ALERT_TOKEN
  opsdesk:
    kind: generic
    team: ops
    token_env: HELPDESK_ALERT_TOKEN
"""
)


@pytest.fixture
def setup_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The setup file, and the environment that points the command line at it and the database."""
    return setup_for_cli(tmp_path, monkeypatch, SETUP)


@pytest.fixture
async def api(setup_file: Path, tmp_path: Path) -> AsyncIterator[Intake]:
    """The app with the API on, Dan's swap stored in its database."""
    plan = PlanHolder.from_file(setup_file).current
    url = f"sqlite:///{tmp_path / 'wk.db'}"
    async with running_intake(url, plan=plan, start=FRIDAY, env={"API_TOKEN": API_TOKEN}) as app:
        store_dans_swap(app.services.engine)
        yield app


async def get(api: Intake, path: str, **params: str) -> httpx.Response:
    return await api.client.get(f"/api/v1{path}", params=params, headers=BEARER)


@pytest.mark.parametrize(
    "at",
    [
        "2026-11-28T21:00:00+01:00",  # Saturday night: Dan, by the swap
        "2026-11-28T12:00:00+01:00",  # Saturday noon: the weekend rotation
        "2026-12-01T20:00:00+01:00",  # a weekday night: a gap in support
        "2026-11-30T10:00",  # no offset: read in the plan's zone
        "2027-03-28",  # the night Paris springs forward (a 23-hour day)
        "2026-10-25T02:30:00+01:00",  # Paris falls back (a 25-hour day), before any rotation
    ],
)
async def test_oncall_is_the_document_of_who(
    api: Intake, capsys: pytest.CaptureFixture[str], at: str
) -> None:
    answer = await get(api, "/oncall", at=at)
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/json"
    assert answer.json() == cli_json(capsys, "who", "--at", at)
    for team in ("support", "ops"):
        answer = await get(api, "/oncall", at=at, team=team)
        assert answer.json() == cli_json(capsys, "who", "--team", team, "--at", at)


async def test_oncall_now_is_the_bots_now(api: Intake, capsys: pytest.CaptureFixture[str]) -> None:
    doc = (await get(api, "/oncall")).json()
    assert doc == cli_json(capsys, "who", "--at", FRIDAY.isoformat())
    support = next(team for team in doc["teams"] if team["team"] == "support")
    assert support["oncall"] == "U0CEO"  # the fourth weekend of the rotation
    assert support["next"] == {"user": "U0DAN", "start": "2026-11-28T18:00:00+01:00"}


@pytest.mark.parametrize(
    ("team", "params"),
    [
        ("support", {"from": "2026-11-27", "to": "2026-12-07"}),
        ("support", {"from": "2026-11-27", "to": "2026-12-07", "role": "backup"}),
        ("support", {"from": "2027-03-26T18:00:00+01:00", "to": "2027-03-30"}),  # over the DST
        ("ops", {"from": "2026-11-01", "to": "2026-11-03"}),  # New York falls back on the 1st
        ("ops", {}),  # from the bot's now, four weeks
    ],
)
async def test_shifts_are_the_document_of_shifts(
    api: Intake, capsys: pytest.CaptureFixture[str], team: str, params: dict[str, str]
) -> None:
    answer = await get(api, f"/teams/{team}/shifts", **params)
    assert answer.status_code == 200
    argv = ["shifts", "--team", team]
    for name, value in params.items():
        argv += [f"--{name}", value]
    if "from" not in params:
        argv += ["--from", FRIDAY.isoformat()]
    expected = cli_json(capsys, *argv)
    assert answer.json() == expected
    assert expected["shifts"], "a span with shifts in it"


async def test_the_swap_stored_shows_in_both(api: Intake) -> None:
    doc = (
        await get(api, "/teams/support/shifts", **{"from": "2026-11-28", "to": "2026-11-30"})
    ).json()
    assert ("U0DAN", "swap") in [(s["user"], s["source"]) for s in doc["shifts"]]


async def post_alert(api: Intake, integration: str, **fields: Any) -> None:
    answer = await api.post(integration, json.dumps(fields).encode())
    assert answer.status_code == 202, answer.text


async def walk(api: Intake, **params: str) -> list[list[int]]:
    """The alert ids of each page, following the `next` links from the first page."""
    pages = []
    answer = await get(api, "/alerts", **params)
    while True:
        assert answer.status_code == 200, answer.text
        doc = answer.json()
        pages.append([alert["id"] for alert in doc["alerts"]])
        if doc["next"] is None:
            return pages
        answer = await api.client.get(doc["next"], headers=BEARER)


async def test_alerts_come_page_by_page_newest_first(api: Intake) -> None:
    for n in range(7):
        await post_alert(api, "helpdesk", title=f"Refunds stuck #{n}", dedup_key=f"r{n}")
    await post_alert(api, "opsdesk", title="Disk full", dedup_key="disk")
    await post_alert(api, "helpdesk", title="Refunds stuck #2", dedup_key="r2", resolved=True)
    everything = [a["id"] for a in (await get(api, "/alerts")).json()["alerts"]]
    assert everything == sorted(everything, reverse=True) and len(everything) == 8

    assert await walk(api, limit="3") == [everything[0:3], everything[3:6], everything[6:8]]
    support = await walk(api, team="support", limit="4")
    assert sum(support, []) == everything[1:]
    resolved = (await get(api, "/alerts", status="resolved")).json()["alerts"]
    assert [(a["title"], a["status"]) for a in resolved] == [("Refunds stuck #2", "resolved")]
    assert len(sum(await walk(api, status="open", team="support", limit="2"), [])) == 6


async def test_a_new_alert_does_not_shift_the_pages_being_read(api: Intake) -> None:
    for n in range(4):
        await post_alert(api, "helpdesk", title=f"Refunds stuck #{n}", dedup_key=f"r{n}")
    first = (await get(api, "/alerts", limit="2")).json()
    await post_alert(api, "helpdesk", title="Newest", dedup_key="new")
    second = (await api.client.get(first["next"], headers=BEARER)).json()
    seen = [a["title"] for a in first["alerts"] + second["alerts"]]
    assert seen == [f"Refunds stuck #{n}" for n in (3, 2, 1, 0)]
    assert second["next"] is None


async def test_an_alert_says_what_came_and_what_was_done(api: Intake) -> None:
    await post_alert(
        api,
        "helpdesk",
        title="Checkout down",
        summary="500s on /pay",
        severity="critical",
        customer="Acme",
        dedup_key="pay",
        link="https://status.example.com",
        labels={"region": "eu"},
    )
    await post_alert(api, "helpdesk", title="Checkout down", severity="critical", dedup_key="pay")
    (alert,) = (await get(api, "/alerts")).json()["alerts"]
    assert {k: alert[k] for k in ("team", "integration", "status", "severity", "count")} == {
        "team": "support",
        "integration": "helpdesk",
        "status": "open",
        "severity": "critical",
        "count": 2,
    }
    assert (alert["title"], alert["summary"], alert["customer"]) == (
        "Checkout down",
        "500s on /pay",
        "Acme",
    )
    assert alert["labels"] == {"region": "eu"}
    assert alert["first_seen"] == "2026-11-27T18:00:00+00:00"
    assert alert["resolved_at"] is None


@pytest.mark.parametrize(
    "path",
    ["/oncall", "/teams/support/shifts", "/alerts", "/openapi.json"],
)
async def test_without_the_token_nothing_is_told(api: Intake, path: str) -> None:
    nothing = await api.client.get(f"/api/v1{path}")
    assert nothing.status_code == 401
    assert nothing.headers["www-authenticate"] == 'Bearer realm="watchkeeper"'
    assert nothing.json()["field"] == "token"
    wrong = await api.client.get(
        f"/api/v1{path}", headers={"Authorization": "Bearer api-7d1e0b93c3"}
    )
    assert wrong.status_code == 401
    assert 'error="invalid_token"' in wrong.headers["www-authenticate"]
    assert "U0" not in wrong.text
    # The token goes in the header only: a URL ends up in logs and browser histories.
    in_url = await api.client.get(f"/api/v1{path}", params={"token": API_TOKEN})
    assert in_url.status_code == 401
    # An alert intake token is not the API token.
    intake = await api.client.get(
        f"/api/v1{path}", headers={"Authorization": f"Bearer {TOKENS['HELPDESK_ALERT_TOKEN']}"}
    )
    assert intake.status_code == 401


async def test_without_api_token_the_api_is_not_there(setup_file: Path, tmp_path: Path) -> None:
    plan = PlanHolder.from_file(setup_file).current
    async with running_intake(f"sqlite:///{tmp_path / 'wk.db'}", plan=plan) as app:
        for path in ("/oncall", "/teams/support/shifts", "/alerts", "/openapi.json"):
            answer = await app.client.get(f"/api/v1{path}", headers=BEARER)
            assert answer.status_code == 404, path
        assert (await app.client.get("/healthz")).status_code == 200


@pytest.mark.parametrize(
    ("path", "params", "field", "words"),
    [
        ("/oncall", {"at": "saturday night"}, "at", "ISO-8601"),
        ("/oncall", {"team": "sales"}, "team", "no team 'sales'"),
        ("/oncall", {"when": "now"}, "when", "unknown parameter"),
        ("/teams/support/shifts", {"from": "2026-12-02", "to": "2026-12-01"}, "to", "after"),
        ("/teams/support/shifts", {"to": "2026-13-01"}, "to", "ISO-8601"),
        ("/teams/support/shifts", {"role": "boss"}, "role", "oncall or backup"),
        ("/alerts", {"status": "firing"}, "status", "open, acknowledged, resolved"),
        ("/alerts", {"team": "sales"}, "team", "no team 'sales'"),
        ("/alerts", {"limit": "0"}, "limit", "from 1 to 500"),
        ("/alerts", {"limit": "501"}, "limit", "from 1 to 500"),
        ("/alerts", {"cursor": "abc"}, "cursor", "whole number"),
        ("/alerts", {"cursor": "-3"}, "cursor", "whole number"),
        ("/alerts", {"cursor": "²"}, "cursor", "whole number"),
        ("/alerts", {"cursor": "9" * 5000}, "cursor", "whole number"),
    ],
)
async def test_a_bad_value_is_a_400_naming_it(
    api: Intake, path: str, params: dict[str, str], field: str, words: str
) -> None:
    answer = await get(api, path, **params)
    assert answer.status_code == 400
    assert answer.json()["field"] == field
    assert answer.json()["error"].startswith(f"{field}: ")
    assert words in answer.json()["error"]


async def test_an_unknown_team_in_the_address_is_a_404(api: Intake) -> None:
    answer = await get(api, "/teams/sales/shifts")
    assert answer.status_code == 404
    assert answer.json()["field"] == "team"
    assert "support" in answer.json()["error"]


async def test_the_openapi_document_is_valid_and_the_answers_match_it(api: Intake) -> None:
    spec = (await get(api, "/openapi.json")).json()
    validate(spec)
    assert set(spec["paths"]) == {"/oncall", "/teams/{team}/shifts", "/alerts", "/openapi.json"}
    await post_alert(api, "helpdesk", title="Checkout down", severity="critical", customer="Acme")

    def check(schema: str, doc: Any) -> None:
        root = {"$ref": f"#/components/schemas/{schema}", "components": spec["components"]}
        errors = [e.message for e in Draft202012Validator(root).iter_errors(doc)]
        assert not errors, f"{schema}: {errors}"

    check("Oncall", (await get(api, "/oncall", at="2026-12-01T20:00:00+01:00")).json())
    check("Oncall", (await get(api, "/oncall")).json())
    check("Shifts", (await get(api, "/teams/support/shifts")).json())
    check("AlertPage", (await get(api, "/alerts", limit="1")).json())
    check("Error", (await get(api, "/alerts", limit="0")).json())
    check("Error", (await api.client.get("/api/v1/alerts")).json())
    # Every parameter the document names is taken, and no other.
    for path, params in (("/oncall", {"team": "ops", "at": "2026-11-28"}),):
        assert {p["name"] for p in spec["paths"][path]["get"]["parameters"]} == set(params)
        assert (await get(api, path, **params)).status_code == 200


def fresh_who(api: Intake) -> dict[str, Any]:
    """`who` of every team at the bot's now, computed anew (no memory)."""
    plan = api.services.plans.current
    query = documents.who_query(plan, team=None, at=None, now=api.clock.now())
    with read_scope(api.services.engine) as session:
        statuses = documents.who_statuses(api.services.roster, query, session)
    return documents.who_document(query, statuses)


@pytest.mark.parametrize(
    "start",
    [
        "2026-11-26T00:00:00+01:00",  # a week of weekdays, a weekend and the swap
        "2027-03-25T00:00:00+01:00",  # Paris springs forward on the 28th, New York is on DST
        "2026-10-29T00:00:00+01:00",  # the rotations begin; Paris then New York fall back
    ],
)
async def test_oncall_remembered_between_hand_offs_is_what_the_schedule_says(
    api: Intake, start: str
) -> None:
    api.clock.set(datetime.fromisoformat(start))
    for _ in range(8 * 24 * 4):  # eight days, every quarter of an hour
        assert (await get(api, "/oncall")).json() == fresh_who(api)
        api.clock.advance(timedelta(minutes=15))


async def test_oncall_sees_a_new_override_and_a_new_setup_at_once(
    api: Intake, tmp_path: Path
) -> None:
    saturday = datetime.fromisoformat("2026-11-28T12:00:00+01:00")
    api.clock.set(saturday)
    before = (await get(api, "/oncall", team="support")).json()
    assert before["teams"][0]["oncall"] == "U0CEO"
    store_override(
        api.services.engine,
        "U0ERIN",
        saturday - timedelta(hours=1),
        saturday + timedelta(hours=2),
        kind="cover",
        now=saturday,
    )
    after = (await get(api, "/oncall", team="support")).json()
    assert (after["teams"][0]["oncall"], after["teams"][0]["source"]) == ("U0ERIN", "cover")
    # The setup file reloaded: Bob now leads the weekend rotation.
    changed = tmp_path / "changed.yaml"
    changed.write_text(SETUP.replace("[U0ALICE, U0BOB, U0CAROL, U0CEO]", "[U0BOB]"))
    api.services.plans.replace(PlanHolder.from_file(changed).current)
    api.clock.advance(timedelta(hours=3))
    reloaded = (await get(api, "/oncall", team="support")).json()
    assert reloaded["teams"][0]["oncall"] == "U0BOB"


async def test_the_api_curls_of_the_readme_answer(api: Intake) -> None:
    commands = [c for c in curl_commands() if "/api/v1/" in c]
    assert len(commands) >= 3, "the README shows the oncall, shifts and alerts curls"
    for command in commands:
        sent = curl_request(command, {"API_TOKEN": API_TOKEN})
        target = urlsplit(sent.url)
        answer = await api.client.get(f"{target.path}?{target.query}", headers=sent.headers)
        assert answer.status_code == 200, (command, answer.text)
