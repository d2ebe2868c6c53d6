"""The HTTP app's own routes: health, readiness, the calendar feed matching `watchkeeper shifts`."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from icalendar import Calendar

from bot.app.cli import main
from bot.app.factory import build_services, create_app
from bot.app.settings import load_settings
from bot.plan.holder import PlanHolder
from bot.runtime.clock import FixedClock
from tests.support.setup_files import SUPPORT as PLAN

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


@pytest.fixture
def setup_file(tmp_path: Path) -> Path:
    path = tmp_path / "oncall.yaml"
    path.write_text(PLAN)
    return path


async def _client(tmp_path: Path, setup_file: Path, **env: str) -> AsyncIterator[httpx.AsyncClient]:
    environ = {
        "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_SIGNING_SECRET": "secret",
        # Nothing listens there: these routes never call Slack.
        "SLACK_API_URL": "http://127.0.0.1:9/api/",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'wk.db'}",
        "WATCHKEEPER_CONFIG": str(setup_file),
        **env,
    }
    settings = load_settings(environ, env_file=None)
    services = build_services(
        settings, plans=PlanHolder.from_file(setup_file), clock=FixedClock(NOW)
    )
    services.calendar_names = {"U0CEO": "Chief Executive", "U0ERIN": "Erin"}
    app = create_app(settings, services=services, start_background=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://wk") as client:
        yield client


@pytest.fixture
async def client(tmp_path: Path, setup_file: Path) -> AsyncIterator[httpx.AsyncClient]:
    async for c in _client(tmp_path, setup_file):
        yield c


async def test_health_and_readiness(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200, ready.text


async def test_calendar_feed_matches_the_shifts_command(
    client: httpx.AsyncClient,
    setup_file: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    answer = await client.get("/calendar/support.ics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/calendar")
    cal = Calendar.from_ical(answer.content)
    events = sorted(
        (
            (
                str(e["x-watchkeeper-user"]),
                e.decoded("dtstart").astimezone(UTC),
                e.decoded("dtend").astimezone(UTC),
            )
            for e in cal.walk("VEVENT")
        ),
        key=lambda row: row[1],
    )
    assert any(str(e["summary"]) == "On call: Chief Executive" for e in cal.walk("VEVENT"))

    monkeypatch.setenv("WATCHKEEPER_CONFIG", str(setup_file))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'wk.db'}")
    start, end = events[1][1].isoformat(), events[-2][2].isoformat()
    assert main(["shifts", "--team", "support", "--from", start, "--to", end, "--json"]) == 0
    shifts = json.loads(capsys.readouterr().out)["shifts"]
    expected = [
        (s["user"], datetime.fromisoformat(s["start"]), datetime.fromisoformat(s["end"]))
        for s in shifts
        if s["user"] is not None
    ]
    assert events[1:-1] == expected
    assert len(expected) > 20


async def test_calendar_feed_asks_for_its_token(tmp_path: Path, setup_file: Path) -> None:
    async for client in _client(tmp_path, setup_file, CALENDAR_TOKEN="s3cret"):
        refused = await client.get("/calendar/support.ics")
        assert refused.status_code == 401
        assert refused.json()["field"] == "token"
        assert (await client.get("/calendar/support.ics?token=wrong")).status_code == 401
        assert (await client.get("/calendar/support.ics?token=s3cret")).status_code == 200


async def test_calendar_of_an_unknown_team_is_a_404(client: httpx.AsyncClient) -> None:
    answer = await client.get("/calendar/sales.ics")
    assert answer.status_code == 404
    assert "sales" in answer.json()["error"]
