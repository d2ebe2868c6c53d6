"""The HTTP intake on a fresh database with a fixed clock, and the support team's plan it serves."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import func
from sqlmodel import Session, col, select

from bot.app.factory import build_services, create_app
from bot.app.services import Services
from bot.app.settings import load_settings
from bot.plan.holder import PlanHolder
from bot.plan.model import Plan
from bot.plan.reading import parse_plan
from bot.runtime.clock import FixedClock
from storage.models import Alert, AlertEvent, Outbox
from tests.support.setup_files import integration, setup_yaml, support_team, weekdays, weekend

PARIS = ZoneInfo("Europe/Paris")


# Friday 27 November 2026, 20:00 in Paris: the weekend rotation's third week (Bob's).
FRIDAY_NIGHT = datetime(2026, 11, 27, 20, 0, tzinfo=PARIS).astimezone(UTC)


# Who may send alerts to the team; the secrets are in the environment under token_env.
INTEGRATIONS = {
    "prometheus": integration("alertmanager", "support", "PROMETHEUS_ALERT_TOKEN"),
    "grafana": integration("grafana", "support", "GRAFANA_ALERT_TOKEN"),
    "pagerduty": integration("pagerduty", "support", "PAGERDUTY_ROUTING_KEY"),
    "datapipe": integration("pagerduty", "support", "DATAPIPE_ROUTING_KEY"),
    "helpdesk": integration("generic", "support", "HELPDESK_ALERT_TOKEN"),
    "forgotten": integration("generic", "support", "FORGOTTEN_ALERT_TOKEN"),  # never set
}


def support_plan(*, leadership_now: frozenset[str] = frozenset({"critical"})) -> Plan:
    """The DESIGN.md team: weekends and weekdays rotations, weekly backup, three-step policy."""
    team = support_team(
        rotations=[weekend(["U0ALICE", "U0BOB"]), weekdays()],
        # None leaves the key out: no severity goes to leadership at once.
        leadership_now=sorted(leadership_now) or None,
    )
    text = setup_yaml({"support": team}, integrations=INTEGRATIONS)
    return parse_plan(text, "oncall.yaml")


TOKENS = {
    "PROMETHEUS_ALERT_TOKEN": "prom-3f9a0c1d",
    "GRAFANA_ALERT_TOKEN": "graf-77b2e410",
    "HELPDESK_ALERT_TOKEN": "help-5c8d2e9a",
    "PAGERDUTY_ROUTING_KEY": "routingkeyhere",  # the key of PagerDuty's developer-docs samples
    "DATAPIPE_ROUTING_KEY": "e93facc04764012d7bfb002500d5d1a6",  # PagerDuty's OpenAPI example
}


BEARER = {"prometheus": "PROMETHEUS_ALERT_TOKEN", "grafana": "GRAFANA_ALERT_TOKEN"}


@dataclass
class Intake:
    """The HTTP app on a fresh database, a fixed clock, and helpers to post and look."""

    client: httpx.AsyncClient
    services: Services
    clock: FixedClock

    async def post(
        self, integration: str, body: bytes, *, token: str | None = "env", **kwargs: Any
    ) -> httpx.Response:
        """POST /alerts/{integration} with its right token as a bearer (unless told otherwise)."""
        headers = dict(kwargs.pop("headers", {}))
        if token == "env":
            token = TOKENS[BEARER.get(integration, "HELPDESK_ALERT_TOKEN")]
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        headers.setdefault("Content-Type", "application/json")
        return await self.client.post(
            f"/alerts/{integration}", content=body, headers=headers, **kwargs
        )

    async def enqueue(self, body: bytes) -> httpx.Response:
        """POST /v2/enqueue as a PagerDuty client does."""
        return await self.client.post(
            "/v2/enqueue", content=body, headers={"Content-Type": "application/json"}
        )

    def counts(self) -> tuple[int, int, int]:
        """How many alerts, timeline lines and outbox rows are stored."""
        with Session(self.services.engine) as session:
            return tuple(  # type: ignore[return-value]
                session.exec(select(func.count()).select_from(table)).one()
                for table in (Alert, AlertEvent, Outbox)
            )

    def alerts(self) -> list[Alert]:
        with Session(self.services.engine) as session:
            return list(session.exec(select(Alert).order_by(col(Alert.id))))

    def events(self, alert_id: int | None) -> list[tuple[str, str | None]]:
        with Session(self.services.engine) as session:
            rows = session.exec(
                select(AlertEvent)
                .where(AlertEvent.alert_id == alert_id)
                .order_by(col(AlertEvent.id))
            )
            return [(e.kind, e.actor) for e in rows]

    def outbox(self, alert_id: int | None = None) -> list[Outbox]:
        with Session(self.services.engine) as session:
            query = select(Outbox).order_by(col(Outbox.id))
            if alert_id is not None:
                query = query.where(Outbox.subject == f"alert:{alert_id}")
            return list(session.exec(query))


@asynccontextmanager
async def running_intake(
    database_url: str,
    *,
    plan: Plan | None = None,
    start: datetime = FRIDAY_NIGHT,
    env: dict[str, str] | None = None,
) -> AsyncIterator[Intake]:
    """The app as `watchkeeper serve` builds it, minus the background workers."""
    environ = {
        "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_SIGNING_SECRET": "secret",
        "SLACK_API_URL": "http://127.0.0.1:9/api/",  # the intake itself never calls Slack
        "DATABASE_URL": database_url,
        **TOKENS,
        **(env or {}),
    }
    settings = load_settings(environ, env_file=None)
    clock = FixedClock(start)
    services = build_services(settings, plans=PlanHolder(plan or support_plan()), clock=clock)
    app = create_app(settings, services=services, start_background=False)
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://wk") as client:
            yield Intake(client, services, clock)
    finally:
        services.engine.dispose()


Running = TypeVar("Running", bound=Intake)


def intake_fixtures(
    start: Callable[[str], AbstractAsyncContextManager[Running]],
) -> tuple[Any, Any]:
    """A test module's two fixtures: ``intake``, the app ``start`` runs on each database kind in
    turn, and ``sqlite_intake``, the same on SQLite alone."""

    @pytest.fixture
    async def intake(database_url: str) -> AsyncIterator[Running]:
        async with start(database_url) as running:
            yield running

    @pytest.fixture
    async def sqlite_intake(sqlite_url: str) -> AsyncIterator[Running]:
        async with start(sqlite_url) as running:
            yield running

    return intake, sqlite_intake
