"""The edges: Slack listeners and HTTP routes, each module registering its own."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.routing import BaseRoute

if TYPE_CHECKING:
    from slack_bolt.async_app import AsyncApp

    from bot.app.services import Services


def register_all(bolt: AsyncApp, services: Services) -> None:
    """Register every Slack listener module on the Bolt app."""
    from handlers import errors

    errors.register(bolt, services)
    from handlers import alerts, cover, events, home, messages, oncall, swap, wake

    for module in (events, oncall, swap, cover, home, wake, alerts, messages):
        module.register(bolt, services)


def http_routes(services: Services) -> list[BaseRoute]:
    """Every HTTP route besides /slack/events and the health checks."""
    from handlers import api, calendar, heartbeat

    routes: list[BaseRoute] = []
    routes.extend(calendar.routes(services))
    routes.extend(api.routes(services))
    routes.extend(heartbeat.routes(services))
    from bot.runtime import metrics
    from handlers.intake import routes as intake_routes

    routes.extend(intake_routes.routes(services))
    routes.extend(metrics.routes(services))
    from handlers import ack

    routes.extend(ack.routes(services))
    return routes
