"""`watchkeeper serve`: the HTTP server (or Socket Mode), workers and scheduler."""

from __future__ import annotations

import asyncio
import logging

import uvicorn

from bot.app import build_services, create_app
from bot.logs import setup_logging
from bot.settings import Settings

logger = logging.getLogger(__name__)


def serve(settings: Settings) -> int:
    """Run until interrupted; the database is migrated before anything listens."""
    setup_logging(settings.log_level)
    settings.require_slack()
    services = build_services(settings)
    app = create_app(settings, services=services)
    config = uvicorn.Config(
        app, host=settings.host, port=settings.port, log_config=None, access_log=False
    )
    server = uvicorn.Server(config)
    if settings.socket_mode:
        return asyncio.run(_serve_with_socket_mode(server, app, settings))
    logger.info("serving", extra={"host": settings.host, "port": settings.port, "mode": "http"})
    server.run()
    return 0


async def _serve_with_socket_mode(server: uvicorn.Server, app: object, settings: Settings) -> int:
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

    bolt = app.state.bolt  # type: ignore[attr-defined]
    handler = AsyncSocketModeHandler(bolt, settings.slack_app_token)
    await handler.connect_async()
    logger.info("serving", extra={"host": settings.host, "port": settings.port, "mode": "socket"})
    try:
        # The HTTP server still runs: alert intake, health, metrics and calendar need it.
        await server.serve()
    finally:
        await handler.close_async()
    return 0
