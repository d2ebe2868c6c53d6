"""GET and POST /ack/{token}: the acknowledge link of a wake-up.

``GET`` only shows the alert, who is paged, an **Acknowledge** form and **Open in Slack**: a
link preview or a mail scanner that fetches the link changes nothing. ``POST`` acknowledges as
the person the link was sent to, through the same path as the card's button, so the card says
who acknowledged. A token that is not ours, or whose alert is closed, gets a plain 4xx page. The
page speaks the language of the person the link was sent to, and gives times in their zone (else
the team's).
"""

from __future__ import annotations

import html
import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from babel.dates import format_date, get_datetime_format
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route

from bot.alerts.actions import ActionOutcome, acknowledge_now, wake_delivery
from bot.alerts.notes import severity_word
from bot.i18n import N_, _, current, locale, preferred, speaking
from bot.schedule.timefmt import zone_name
from bot.slack.language import person_language
from bot.slack.users import directory
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


# An alert's status as the page says it.
_STATUSES = {"open": N_("open"), "acknowledged": N_("acknowledged"), "resolved": N_("resolved")}


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(
        f'<!doctype html><html lang="{current()}"><head><meta charset=utf-8>'
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


def written_moment(at: datetime, zone: ZoneInfo) -> str:
    """An instant as the reader writes it, in ``zone``: "Saturday, November 28, 2026, 03:12
    (Paris)", "samedi 28 novembre 2026, 03:12 (Paris)"."""
    local = (at if at.tzinfo is not None else at.replace(tzinfo=UTC)).astimezone(zone)
    day = format_date(local, "full", locale=locale())
    when = str(get_datetime_format("full", locale=locale())).format(f"{local:%H:%M}", day)
    return f"{when.replace(chr(39), '')} ({zone_name(zone)})"


def _alert_page(
    services: Services, alert: Alert, user: str, card: str | None, note: str, zone: ZoneInfo | None
) -> str:
    team = services.roster.plan.teams.get(alert.team)
    channel = card or (team.channel if team else None)
    shown_zone = zone or (team.timezone if team else ZoneInfo("UTC"))
    rows = [
        (_("Severity"), severity_word(alert.severity)),
        (_("Team"), team.name if team else alert.team),
        (_("Customer"), alert.customer or ""),
        (_("First seen"), written_moment(alert.first_seen, shown_zone)),
        (_("Paged"), user),
        (_("Status"), _(_STATUSES[alert.status]) if alert.status in _STATUSES else alert.status),
    ]
    facts = "".join(f"<dt>{html.escape(k)}</dt><dd>{html.escape(v)}</dd>" for k, v in rows if v)
    parts = [f"<h1>{html.escape(alert.title)}</h1>"]
    if note:
        parts.append(f"<p><strong>{html.escape(note)}</strong></p>")
    if alert.summary:
        parts.append(f"<p>{html.escape(alert.summary)}</p>")
    parts.append(f"<dl>{facts}</dl>")
    if alert.status == "open":
        button = html.escape(_("Acknowledge"))
        parts.append(f'<form method="post"><button type="submit">{button}</button></form>')
    elif alert.acknowledged_by:
        said = _("Acknowledged by {who}.").format(who=alert.acknowledged_by)
        parts.append(f"<p>{html.escape(said)}</p>")
    if channel:
        link = f"https://slack.com/app_redirect?channel={html.escape(channel)}"
        label = html.escape(_("Open in Slack"))
        parts.append(f'<p><a href="{link}">{label}</a></p>')
    return "".join(parts)


def routes(services: Services) -> list[BaseRoute]:
    """The acknowledge link's page."""

    async def ack(request: Request) -> Response:
        secret = services.settings.watchkeeper_secret
        named = tokens.verify(secret, request.path_params["token"]) if secret else None
        if named is None:
            # Whose link it is is not known: in the browser's language.
            with speaking(preferred(request.headers.get("accept-language"))):
                if not secret:
                    return _refused(
                        404, _("Acknowledge links are off: WATCHKEEPER_SECRET is not set.")
                    )
                return _refused(403, _("This link is not valid."))
        # In the woken person's language and zone, as far as known without asking Slack: the
        # page must open at once, Slack reachable or not.
        with speaking(await person_language(services, named.user, look_up=False)):
            return await _answer(request, named)

    async def _answer(request: Request, named: tokens.AckToken) -> Response:
        alert, card = await services.in_database(_load, services, named.alert_id)
        if alert is None:
            return _refused(404, _("This alert no longer exists."))
        if alert.resolved_at is not None:
            return _refused(410, _("This alert is closed: there is nothing left to acknowledge."))
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
                note = _(
                    "Acknowledged: the wake-ups stopped, and the card in Slack says it is yours."
                )
            else:
                note = html.unescape(outcome.message).replace("<@", "").replace(">", "")
            alert, card = await services.in_database(_load, services, named.alert_id)
            assert alert is not None
        known = directory(services).known(named.user)
        zone = known.tz if known is not None else None
        return _page(alert.title, _alert_page(services, alert, named.user, card, note, zone))

    return [Route("/ack/{token}", ack, methods=["GET", "POST"])]
