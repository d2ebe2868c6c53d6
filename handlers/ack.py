"""GET and POST /ack/{token}: the acknowledge link of a wake-up.

``GET`` only shows the alert, who is paged, an **Acknowledge** form and **Open in Slack**: a
link preview or a mail scanner that fetches the link changes nothing. ``POST`` acknowledges as
the person the link was sent to, through the same path as the card's button, so the card says
who acknowledged. A token that is not ours, or whose alert is closed, gets a plain 4xx page.
"""

from __future__ import annotations

import html
import logging
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route

from bot.alerts.actions import ActionOutcome, acknowledge_now, wake_delivery
from bot.wake import tokens
from storage.alerts import get_alert
from storage.db import read_scope, session_scope
from storage.models import Alert
from storage.slack_messages import messages_of

if TYPE_CHECKING:
    from bot.app.services import Services

logger = logging.getLogger(__name__)

_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:32rem;margin:2rem auto;padding:0 1rem}"
    "button{font-size:1.2rem;padding:.6rem 1.4rem}dt{font-weight:bold}"
)


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(
        "<!doctype html><html><head><meta charset=utf-8>"
        '<meta name=viewport content="width=device-width,initial-scale=1">'
        '<meta name=robots content="noindex">'
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body>{body}</body></html>",
        status_code=status,
        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
    )


def _refused(status: int, message: str) -> HTMLResponse:
    return _page("Watchkeeper", f"<h1>{html.escape(message)}</h1>", status)


def _load(services: Services, alert_id: int) -> tuple[Alert | None, str | None]:
    with read_scope(services.engine) as session:
        alert = get_alert(session=session, alert_id=alert_id)
        cards = messages_of(session=session, subject=f"alert:{alert_id}")
    card = next((m.channel for m in cards if m.role == "card"), None)
    return alert, card


def _acknowledge(services: Services, alert_id: int, user: str) -> ActionOutcome:
    with session_scope(services.engine) as session:
        return acknowledge_now(
            session=session,
            services_or_plan=services,
            alert_id=alert_id,
            actor=user,
            now=services.clock.now(),
        )


def _alert_page(services: Services, alert: Alert, user: str, card: str | None, note: str) -> str:
    team = services.roster.plan.teams.get(alert.team)
    channel = card or (team.channel if team else None)
    rows = [
        ("Severity", alert.severity),
        ("Team", team.name if team else alert.team),
        ("Customer", alert.customer or ""),
        ("Paged", user),
        ("Status", alert.status),
    ]
    facts = "".join(f"<dt>{html.escape(k)}</dt><dd>{html.escape(v)}</dd>" for k, v in rows if v)
    parts = [f"<h1>{html.escape(alert.title)}</h1>"]
    if note:
        parts.append(f"<p><strong>{html.escape(note)}</strong></p>")
    if alert.summary:
        parts.append(f"<p>{html.escape(alert.summary)}</p>")
    parts.append(f"<dl>{facts}</dl>")
    if alert.status == "open":
        parts.append('<form method="post"><button type="submit">Acknowledge</button></form>')
    elif alert.acknowledged_by:
        parts.append(f"<p>Acknowledged by {html.escape(alert.acknowledged_by)}.</p>")
    if channel:
        link = f"https://slack.com/app_redirect?channel={html.escape(channel)}"
        parts.append(f'<p><a href="{link}">Open in Slack</a></p>')
    return "".join(parts)


def routes(services: Services) -> list[BaseRoute]:
    """The acknowledge link's page."""

    async def ack(request: Request) -> Response:
        secret = services.settings.watchkeeper_secret
        if not secret:
            return _refused(404, "Acknowledge links are off: WATCHKEEPER_SECRET is not set.")
        named = tokens.verify(secret, request.path_params["token"])
        if named is None:
            return _refused(403, "This link is not valid.")
        alert, card = await services.in_database(_load, services, named.alert_id)
        if alert is None:
            return _refused(404, "This alert no longer exists.")
        if alert.resolved_at is not None:
            return _refused(410, "This alert is closed: there is nothing left to acknowledge.")
        note = ""
        if request.method == "POST":
            outcome = await services.in_database(_acknowledge, services, alert.id or 0, named.user)
            logger.info(
                "alert acknowledged from a link",
                extra={"alert": alert.id, "user": named.user, "changed": outcome.changed},
            )
            if outcome.changed:
                if services.escalator is not None:
                    services.escalator.wake()
                wake_delivery(services)
                note = "Acknowledged: the wake-ups stopped, and the card in Slack says it is yours."
            else:
                note = html.unescape(outcome.message).replace("<@", "").replace(">", "")
            alert, card = await services.in_database(_load, services, named.alert_id)
            assert alert is not None
        return _page(alert.title, _alert_page(services, alert, named.user, card, note))

    return [Route("/ack/{token}", ack, methods=["GET", "POST"])]
