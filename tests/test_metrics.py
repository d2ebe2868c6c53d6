"""``GET /metrics``: Prometheus text that parses, and counts what the app really did."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.alerts.escalation_worker import Escalator
from bot.runtime.metrics import Metrics, count_relayed, count_slack_error, metrics_of, observe_ack
from tests.conftest import fixture_bytes
from tests.support.intake import Intake, running_intake


@pytest.fixture
async def intake(sqlite_url: str) -> AsyncIterator[Intake]:
    async with running_intake(sqlite_url) as running:
        yield running


async def scrape(intake: Intake) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of GET /metrics, by name and sorted labels."""
    answer = await intake.client.get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(answer.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


async def test_metrics_count_received_escalated_acknowledged_and_slack_errors(
    intake: Intake,
) -> None:
    before = await scrape(intake)
    assert not [name for name, _ in before if name == "watchkeeper_alerts_received_total"]

    # Two sightings of one Alertmanager alert, two Grafana alerts, one PagerDuty event.
    for _ in range(2):
        answer = await intake.post("prometheus", fixture_bytes("alertmanager/v0.25-firing.json"))
        assert answer.status_code == 202
    assert (
        await intake.post("grafana", fixture_bytes("grafana/webhook-docs-example.json"))
    ).status_code == 202
    assert (
        await intake.enqueue(fixture_bytes("pagerduty/trigger_openapi_example.json"))
    ).status_code == 202
    # A refused request counts nothing.
    assert (await intake.post("grafana", b'{"alerts": []}')).status_code == 400

    # Ten minutes without acknowledgement: the worker escalates the four alerts to step 2.
    intake.clock.advance(timedelta(minutes=10))
    escalator = intake.services.escalator
    assert isinstance(escalator, Escalator)
    assert len(await escalator.run_once()) == 4

    # PagerDuty acknowledges its alert two minutes after that.
    intake.clock.advance(timedelta(minutes=2))
    ack = json.loads(fixture_bytes("pagerduty/acknowledge_devdocs.json"))
    ack.update(routing_key="e93facc04764012d7bfb002500d5d1a6", dedup_key="srv01/mysql")
    assert (await intake.enqueue(json.dumps(ack).encode())).status_code == 202

    # What the delivery worker reports.
    count_relayed(intake.services, team="support")
    count_relayed(intake.services, team="support")
    count_slack_error(intake.services, method="chat.postMessage", error="ratelimited")

    samples = await scrape(intake)
    received = "watchkeeper_alerts_received_total"
    assert samples[(received, (("integration", "prometheus"), ("team", "support")))] == 2
    assert samples[(received, (("integration", "grafana"), ("team", "support")))] == 2
    assert samples[(received, (("integration", "datapipe"), ("team", "support")))] == 1
    escalated = ("watchkeeper_alerts_escalated_total", (("step", "2"), ("team", "support")))
    assert samples[escalated] == 4
    ack_labels = (("team", "support"),)
    assert samples[("watchkeeper_time_to_acknowledge_seconds_count", ack_labels)] == 1
    assert samples[("watchkeeper_time_to_acknowledge_seconds_sum", ack_labels)] == 12 * 60
    under_15_min = (
        "watchkeeper_time_to_acknowledge_seconds_bucket",
        (("le", "900.0"), ("team", "support")),
    )
    under_10_min = (
        "watchkeeper_time_to_acknowledge_seconds_bucket",
        (("le", "600.0"), ("team", "support")),
    )
    assert (samples[under_10_min], samples[under_15_min]) == (0, 1)
    assert samples[("watchkeeper_alerts_relayed_total", (("team", "support"),))] == 2
    errors = (
        "watchkeeper_slack_api_errors_total",
        (("error", "ratelimited"), ("method", "chat.postMessage")),
    )
    assert samples[errors] == 1


def test_each_app_counts_for_itself() -> None:
    first, second = Metrics(), Metrics()
    observe_ack(first, team="support", seconds=30)
    count_slack_error(first, method="chat.update", error="")
    count_relayed(None, team="support")  # no metrics wired: nothing happens, nothing breaks
    first_text = first.render().decode()
    assert 'watchkeeper_time_to_acknowledge_seconds_count{team="support"} 1.0' in first_text
    assert (
        'watchkeeper_slack_api_errors_total{error="unknown",method="chat.update"} 1.0' in first_text
    )
    assert "team=" not in second.render().decode()


async def test_the_app_keeps_one_registry(intake: Intake) -> None:
    metrics = metrics_of(intake.services)
    assert metrics_of(intake.services) is metrics
    metrics.relayed(team="support")
    samples = await scrape(intake)
    assert samples[("watchkeeper_alerts_relayed_total", (("team", "support"),))] == 1
