"""The app factory: builds the services, the Bolt app, the HTTP routes and the background work."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from bot.app.services import Services
from bot.app.settings import Settings, SettingsError
from bot.plan.holder import PlanHolder
from bot.runtime.clock import Clock, SystemClock
from bot.schedule.roster import Roster
from bot.slack.gateway import http_session
from bot.slack.identity import bolt_authorize
from bot.slack.verification import SlackRequestVerifier
from bot.wake.methods import secret_missing
from storage import wakeups
from storage.db import make_engine, read_scope
from storage.migrate import upgrade

logger = logging.getLogger(__name__)


def build_services(
    settings: Settings,
    *,
    plans: PlanHolder | None = None,
    clock: Clock | None = None,
    migrate: bool = True,
) -> Services:
    """The shared services: database (migrated), plan, roster, clock and Slack Web API client."""
    engine = make_engine(settings.database_url)
    if migrate:
        upgrade(engine)
    plans = plans or PlanHolder.from_file(settings.config_path)
    return Services(
        settings=settings,
        engine=engine,
        plans=plans,
        roster=Roster(plans, engine),
        clock=clock or SystemClock(),
        slack=slack_client(settings),
    )


def slack_client(settings: Settings) -> AsyncWebClient:
    """The Web API client the Slack gateway calls through, with the bot's token."""
    # No retry of the client's own (it would send a post whose answer was lost again): the
    # gateway, bot.slack.gateway, decides what may be sent again.
    return AsyncWebClient(
        token=settings.slack_bot_token, base_url=settings.slack_api_url, retry_handlers=[]
    )


def build_bolt(services: Services) -> AsyncApp:
    """The Bolt app with every listener module registered."""
    settings = services.settings
    bolt = AsyncApp(
        # Bolt takes the token, and who the bot is, from ``authorize``: one auth.test through
        # the gateway (Bolt would call it itself). Its own client has no token, for Bolt would
        # warn that a token given beside ``authorize`` goes unused.
        client=AsyncWebClient(base_url=settings.slack_api_url, retry_handlers=[]),
        # Bolt's type leaves out the None it takes as "not authorized".
        authorize=bolt_authorize(services),  # type: ignore[arg-type]
        signing_secret=settings.slack_signing_secret or "",
        # Socket Mode needs no signature check: the traffic comes over our own websocket.
        request_verification_enabled=not settings.socket_mode,
    )
    from handlers import register_all

    register_all(bolt, services)
    return bolt


def create_app(
    settings: Settings,
    *,
    services: Services | None = None,
    start_background: bool = True,
) -> Starlette:
    """The ASGI application: Slack requests, alert intake, health, metrics and calendar."""
    services = services or build_services(settings)
    # Before anything is made: wake-up methods and no secret to sign their links stop here.
    require_secret(services)
    bolt = build_bolt(services)
    make_workers(services)
    slack_handler = AsyncSlackRequestHandler(bolt)
    verifier = (
        None if settings.socket_mode else SlackRequestVerifier(settings.slack_signing_secret or "")
    )

    async def slack_events(request: Request) -> Response:
        assert verifier is not None  # the route exists in HTTP mode only
        body = await request.body()
        refusal = verifier.check(body, request.headers)
        if refusal is not None:
            # Say why, never what was sent: the body and the signature stay out of the log.
            logger.warning(
                "slack request refused",
                extra={
                    "why": refusal.reason,
                    "age_s": refusal.age_s,
                    "client": request.client.host if request.client else None,
                    "retry": request.headers.get("x-slack-retry-num"),
                },
            )
            return JSONResponse({"error": f"refused: {refusal.reason}"}, status_code=401)
        try:
            response = await slack_handler.handle(request)
        except UnicodeDecodeError:
            response = JSONResponse({"error": "request body is not UTF-8"}, status_code=400)
        except BaseException:
            verifier.forget(request.headers)
            raise
        if response.status_code >= 500:
            # We failed it: should Slack send the very same request again, it is taken (an
            # event still runs once per event_id).
            verifier.forget(request.headers)
        return response

    async def healthz(_: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(_: Request) -> Response:
        problems = []
        try:
            await services.in_database(_ping, services)
        except Exception as error:  # any failure means "not ready", and says why
            problems.append(f"database: {error.__class__.__name__}")
        planner = services.handovers
        if start_background and planner is not None and not planner.scheduler.running:
            problems.append("scheduler: not running")
        if problems:
            return JSONResponse({"status": "unavailable", "problems": problems}, status_code=503)
        return JSONResponse({"status": "ready"})

    routes: list[BaseRoute] = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
    ]
    if verifier is not None:
        # In Socket Mode, Slack's traffic comes over the websocket: a /slack/events on the port
        # that alert senders reach would take anyone's word for who they are.
        routes.insert(0, Route("/slack/events", slack_events, methods=["POST"]))
    from handlers import http_routes

    routes.extend(http_routes(services))

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        tasks: list[asyncio.Task[Any]] = []
        # One HTTP session for every Slack call: connections (and their TLS handshakes with
        # Slack) are kept and reused rather than made anew for each call.
        slack_session = http_session()
        services.slack.session = slack_session
        if start_background:
            for start in services.startup:
                await start()
            tasks = [asyncio.create_task(worker()) for worker in services.workers]
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            for stop in services.shutdown:
                with contextlib.suppress(Exception):
                    await stop()
            services.close_writer()
            services.slack.session = None
            await slack_session.close()

    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.services = services
    app.state.bolt = bolt
    return app


def make_workers(services: Services) -> None:
    """Every worker of the bot, made once and hooked to the app's start and stop (the lifespan
    below): the outbox's delivery worker, the escalation timer, the handover scheduler, the setup
    file's reloader, the email intake's SMTP listener (when SMTP_PORT is set), the wake-up pushes
    and the heartbeat watcher."""
    if services.delivery is not None:
        return
    from bot.alerts.escalation_worker import Escalator
    from bot.alerts.heartbeats import Watcher
    from bot.app.reload import Reloader
    from bot.handovers.planner import HandoverPlanner
    from bot.slack.delivery.worker import Delivery
    from bot.wake.worker import Waker
    from handlers.intake.email import MailListener

    services.delivery = delivery = Delivery(services)
    services.escalator = escalator = Escalator(services)
    services.handovers = handovers = HandoverPlanner(services)
    services.reloader = reloader = Reloader(services)
    services.waker = waker = Waker(services)
    services.heartbeats = heartbeats = Watcher(services)
    services.workers += [delivery.run, escalator.run, reloader.watch, waker.run, heartbeats.run]
    services.startup += [handovers.start, reloader.start]
    services.shutdown += [handovers.stop, reloader.stop]
    services.plan_changed_hooks.append(handovers.replan)
    port = services.settings.smtp_port
    if port is not None:
        mail = MailListener(services, services.settings.host, port)
        services.startup.append(mail.start)
        services.shutdown.append(mail.stop)


def _ping(services: Services) -> None:
    with services.engine.connect() as conn:
        conn.execute(text("SELECT 1"))


def require_secret(services: Services) -> None:
    """SettingsError when wake-up methods exist and WATCHKEEPER_SECRET, which signs their
    links, is not set: better no start than pushes nobody can acknowledge from."""
    secret = services.settings.watchkeeper_secret
    if secret:
        return
    with read_scope(services.engine) as session:
        added = wakeups.any_method(session=session)
    refusal = secret_missing(services.roster.plan, added=added, secret=secret)
    if refusal is not None:
        raise SettingsError(refusal)
