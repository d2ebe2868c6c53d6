"""`watchkeeper serve`: the HTTP server (or Socket Mode), workers and scheduler."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from typing import TYPE_CHECKING

import uvicorn
from starlette.applications import Starlette

from bot.app.factory import build_services, create_app
from bot.app.logs import setup_logging
from bot.app.settings import Settings

if TYPE_CHECKING:
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
    from slack_bolt.async_app import AsyncApp

logger = logging.getLogger(__name__)


def serve(settings: Settings) -> int:
    """Run until interrupted; the database is migrated before anything listens."""
    settings.require_slack()  # refused before anything is set up, the process's logs included
    setup_logging(settings.log_level)
    services = build_services(settings)
    app = create_app(settings, services=services)
    server = uvicorn.Server(http_config(app, settings))
    settle_memory()
    if settings.socket_mode:
        return asyncio.run(serve_with_socket_mode(server, app, settings))
    logger.info("serving", extra={"host": settings.host, "port": settings.port, "mode": "http"})
    server.run()
    return 0


def settle_memory() -> None:
    """Set aside what start-up made (modules, the plan, the app) from the garbage collector.

    A full collection walks every tracked object; with the libraries' hundreds of thousands of
    them it stalls the event loop for tens of milliseconds, several times a minute under load,
    and every alert in flight waits. Frozen, they are never walked again, and a full collection
    looks only at what was made since.
    """
    gc.collect()
    gc.freeze()


def http_config(app: Starlette, settings: Settings) -> uvicorn.Config:
    """Where and how uvicorn serves the app (logs go through our own setup)."""
    return uvicorn.Config(
        app, host=settings.host, port=settings.port, log_config=None, access_log=False
    )


def socket_mode_handler(bolt: AsyncApp, settings: Settings) -> AsyncSocketModeHandler:
    """The Socket Mode connection for the Bolt app: the app-level token, and the app's own Web
    API client (so that SLACK_API_URL holds for apps.connections.open too)."""
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

    if not settings.slack_app_token:
        raise ValueError("Socket Mode needs SLACK_APP_TOKEN")
    return AsyncSocketModeHandler(bolt, settings.slack_app_token, web_client=bolt.client)


async def serve_with_socket_mode(server: uvicorn.Server, app: Starlette, settings: Settings) -> int:
    """Serve HTTP while the Slack traffic comes over Socket Mode.

    The HTTP server starts at once and the websocket connects beside it: alert intake, health,
    metrics and the calendar must not wait for Slack, which may be slow or unreachable for a
    while (the connection keeps retrying on its own).
    """
    handler = socket_mode_handler(app.state.bolt, settings)
    connecting = asyncio.create_task(_connect(handler), name="socket-mode-connect")
    logger.info("serving", extra={"host": settings.host, "port": settings.port, "mode": "socket"})
    try:
        await server.serve()
    finally:
        connecting.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await connecting
        await handler.close_async()
    return 0


async def _connect(handler: AsyncSocketModeHandler) -> None:
    await handler.connect_async()
    logger.info("socket mode connected")
