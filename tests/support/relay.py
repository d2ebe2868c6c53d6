"""The relay through the Slack harness: the support team's setup file, its tokens, an alert."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bot.sandbox.standin.records import Message
from bot.slack.delivery.worker import Delivery
from tests.conftest import fixture_bytes
from tests.harness import Harness, message_text, slack_harness
from tests.support.setup_files import (
    holders_yaml,
    integration,
    setup_yaml,
    support_team,
    weekdays,
    weekend,
)

PARIS = ZoneInfo("Europe/Paris")


# Friday 27 November 2026, 21:00 in Paris: Bob holds the weekend pager, Lead 2 the backup.
FRIDAY_NIGHT = datetime(2026, 11, 27, 21, 0, tzinfo=PARIS).astimezone(UTC)


TOKENS = {
    "PROMETHEUS_ALERT_TOKEN": "prom-3f9a0c1d",
    "GRAFANA_ALERT_TOKEN": "graf-77b2e410",
    "PAGERDUTY_ROUTING_KEY": "routingkeyhere",  # the key of PagerDuty's acknowledge/resolve samples
}


PLAN = setup_yaml(
    {
        "support": support_team(
            rotations=[weekend(["U0ALICE", "U0BOB"]), weekdays()], leadership_now=["critical"]
        )
    },
    integrations={
        "prometheus": integration("alertmanager", "support", "PROMETHEUS_ALERT_TOKEN"),
        "grafana": integration("grafana", "support", "GRAFANA_ALERT_TOKEN"),
        "datapipe": integration("pagerduty", "support", "PAGERDUTY_ROUTING_KEY"),
    },
)


# The same setup, the team's channel speaking Brazilian Portuguese.
BRAZILIAN_TEAM = PLAN.replace(
    "    channel: C0SUPPORT\n", "    channel: C0SUPPORT\n    language: pt-BR\n", 1
)


def delivery_of(h: Harness) -> Delivery:
    worker = h.services.delivery
    assert isinstance(worker, Delivery)
    return worker


async def post_alert(h: Harness, integration: str, fixture: str) -> None:
    token = TOKENS[
        {"prometheus": "PROMETHEUS_ALERT_TOKEN", "grafana": "GRAFANA_ALERT_TOKEN"}[integration]
    ]
    answer = await h.client.post(
        f"/alerts/{integration}",
        content=fixture_bytes(fixture),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    assert answer.status_code == 202, answer.text


async def grafana_memory_card(h: Harness) -> Message:
    """Post Grafana's documented webhook (two alerts), deliver it, and return the card of its
    high-memory alert."""
    await post_alert(h, "grafana", "grafana/webhook-docs-example.json")
    await delivery_of(h).drain()
    return card_of(h, "High memory usage")


@contextlib.asynccontextmanager
async def relay(tmp_path: Path, plan: str = PLAN, **kwargs: Any) -> AsyncIterator[Harness]:
    """The bot on ``plan`` on Friday night, the intake's tokens set."""
    async with slack_harness(
        plan, tmp_path=tmp_path, now=FRIDAY_NIGHT, env=TOKENS, **kwargs
    ) as harness:
        yield harness


TEAMS_TOKEN = "teams-alert-token"


def teams_relay(
    tmp_path: Path, teams: Mapping[str, str]
) -> contextlib.AbstractAsyncContextManager[Harness]:
    """The bot on ``teams`` (team -> its only pager holder) on Friday night; each team's alerts
    come with TEAMS_TOKEN."""
    return slack_harness(
        holders_yaml(teams, "TEAMS_ALERT_TOKEN"),
        tmp_path=tmp_path,
        now=FRIDAY_NIGHT,
        env={"TEAMS_ALERT_TOKEN": TEAMS_TOKEN},
    )


async def post_to_teams(h: Harness, teams: Iterable[str], tag: str) -> None:
    """An alert to each of ``teams``, "<team> is slow <tag>", through teams_relay's intake."""
    for team in teams:
        answer = await h.client.post(
            f"/alerts/{team}",
            json={"title": f"{team} is slow {tag}", "dedup_key": f"{team}-{tag}"},
            headers={"Authorization": f"Bearer {TEAMS_TOKEN}"},
        )
        assert answer.status_code == 202


def cards(h: Harness) -> list[Message]:
    return h.standin.messages("C0SUPPORT")


def card_of(h: Harness, alertname: str) -> Message:
    """The card of the alert with this alertname label (cards of one batch post in any order)."""
    (found,) = [c for c in cards(h) if f"`alertname={alertname}`" in message_text(c)]
    return found
