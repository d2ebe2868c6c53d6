"""Prometheus metrics of one app: alerts received, relayed and escalated, time to acknowledge,
Slack API errors; served as text on ``GET /metrics``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client.exposition import generate_latest
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

if TYPE_CHECKING:
    from bot.app.services import Services


# Acknowledgement takes seconds when someone is at the desk and an hour or more on a Saturday
# night; the buckets cover both, with detail around the usual escalation waits (5-30 min).
ACK_BUCKETS = (15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0, 7200.0, 14400.0)


class Metrics:
    """The counters and histogram of one app, in a registry of its own (apps in one process
    — tests, benchmarks — never share counts)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.alerts_received = Counter(
            "watchkeeper_alerts_received",
            "Alerts accepted by the intake (one per alert, repeats included).",
            ["integration", "team"],
            registry=self.registry,
        )
        self.alerts_relayed = Counter(
            "watchkeeper_alerts_relayed",
            "Alert messages delivered to Slack (channel cards and DMs).",
            ["team"],
            registry=self.registry,
        )
        self.alerts_escalated = Counter(
            "watchkeeper_alerts_escalated",
            "Escalations of unacknowledged alerts, by the escalation step reached (1-based).",
            ["team", "step"],
            registry=self.registry,
        )
        self.time_to_acknowledge = Histogram(
            "watchkeeper_time_to_acknowledge_seconds",
            "Seconds from an alert's first sighting to its acknowledgement.",
            ["team"],
            buckets=ACK_BUCKETS,
            registry=self.registry,
        )
        self.slack_api_errors = Counter(
            "watchkeeper_slack_api_errors",
            "Slack Web API calls that failed, by method and Slack's error (or HTTP status).",
            ["method", "error"],
            registry=self.registry,
        )
        self.deliveries_failed = Counter(
            "watchkeeper_deliveries_failed",
            "Deliveries given up on: Slack refused them for good, or kept answering errors it "
            "does not document (by kind of delivery and Slack's error).",
            ["kind", "error"],
            registry=self.registry,
        )
        self.delivery_problems = Counter(
            "watchkeeper_delivery_problems",
            "Problems with a channel or a DM that Slack refuses for good (not a member, archived, "
            "unknown...), counted once each when first met (by problem and Slack's error).",
            ["problem", "error"],
            registry=self.registry,
        )

        self.wakeups = Counter(
            "watchkeeper_wakeups",
            "Pushes to wake a person paged, by push service and result: sent, failed (retried) "
            "or refused (the service refuses the method for good; the person is told once).",
            ["service", "result"],
            registry=self.registry,
        )

    def received(self, *, integration: str, team: str, count: int = 1) -> None:
        """Count alerts accepted from an integration for a team."""
        self.alerts_received.labels(integration=integration, team=team).inc(count)

    def relayed(self, *, team: str) -> None:
        """Count one alert message delivered to Slack."""
        self.alerts_relayed.labels(team=team).inc()

    def escalated(self, *, team: str, step: int) -> None:
        """Count one escalation to ``step`` (1-based, as people count steps)."""
        self.alerts_escalated.labels(team=team, step=str(step)).inc()

    def acknowledged(self, *, team: str, seconds: float) -> None:
        """Record how long an alert waited for its acknowledgement."""
        self.time_to_acknowledge.labels(team=team).observe(max(seconds, 0.0))

    def slack_error(self, *, method: str, error: str) -> None:
        """Count one failed Slack Web API call."""
        self.slack_api_errors.labels(method=method, error=error or "unknown").inc()

    def delivery_failed(self, *, kind: str, error: str) -> None:
        """Count one delivery given up on."""
        self.deliveries_failed.labels(kind=kind, error=error or "unknown").inc()

    def delivery_problem(self, *, problem: str, error: str) -> None:
        """Count a problem with a channel or a DM met for the first time."""
        self.delivery_problems.labels(problem=problem, error=error or "unknown").inc()

    def wakeup(self, *, service: str, result: str) -> None:
        """Count one push to wake someone, by its outcome."""
        self.wakeups.labels(service=service, result=result).inc()

    def render(self) -> bytes:
        """The registry in the Prometheus text exposition format."""
        return generate_latest(self.registry)


def metrics_of(services: Services) -> Metrics:
    """The app's metrics, created on first use and kept with its services."""
    if services.metrics is None:
        services.metrics = Metrics()
    return services.metrics


def _resolve(target: Services | Metrics | None) -> Metrics | None:
    if target is None or isinstance(target, Metrics):
        return target
    return metrics_of(target)


def count_relayed(target: Services | Metrics | None, *, team: str) -> None:
    """Count one alert message delivered to Slack (the delivery worker calls this)."""
    metrics = _resolve(target)
    if metrics is not None:
        metrics.relayed(team=team)


def count_slack_error(target: Services | Metrics | None, *, method: str, error: str) -> None:
    """Count one failed Slack Web API call (the Slack gateway calls this)."""
    metrics = _resolve(target)
    if metrics is not None:
        metrics.slack_error(method=method, error=error)


def observe_ack(target: Services | Metrics | None, *, team: str, seconds: float) -> None:
    """Record an alert's time to acknowledge (call it once the acknowledgement is committed)."""
    metrics = _resolve(target)
    if metrics is not None:
        metrics.acknowledged(team=team, seconds=seconds)


def routes(services: Services) -> list[BaseRoute]:
    """``GET /metrics`` for Prometheus to scrape."""
    metrics = metrics_of(services)

    async def serve_metrics(_: Request) -> Response:
        return Response(metrics.render(), media_type=CONTENT_TYPE_LATEST)

    return [Route("/metrics", serve_metrics, methods=["GET"])]
