"""The App Home tab: published when a user opens it, and again when their swaps change."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from sqlmodel import Session

from bot.enums import Action
from bot.i18n import LANGUAGES, speaking
from bot.schedule.swaps import TeamShift, upcoming_shifts
from bot.slack.blocks.home import home_view
from bot.slack.blocks.wake import wake_blocks
from bot.slack.gateway import gateway
from bot.slack.language import person_language
from bot.slack.users import directory
from bot.wake.methods import Method
from bot.wake.worker import methods_for
from storage.people import read_chosen_language, save_chosen_language
from storage.swaps import pending_swaps
from storage.wakeups import methods_of

if TYPE_CHECKING:
    from slack_bolt.async_app import AsyncApp

    from bot.app.services import Services
    from bot.schedule.roster import TeamStatus
    from storage.models import SwapRequest

logger = logging.getLogger(__name__)

HOME_SHIFTS = 8


def _load(
    services: Services, user: str
) -> tuple[list[TeamShift], list[TeamStatus], list[SwapRequest], list[SwapRequest], list[Method]]:
    """Everything the Home tab of ``user`` shows, read at one instant."""
    now = services.clock.now()
    roster = services.roster
    mine = upcoming_shifts(roster, user, now, limit=HOME_SHIFTS, include_running=True)
    statuses = [roster.status(team.id, now) for team in roster.teams_of(user)]
    with Session(services.engine) as session:
        pending = pending_swaps(session=session, user=user)
        added = [Method(m.url, "home", m.id) for m in methods_of(session=session, user_id=user)]
    incoming = [s for s in pending if s.target == user]
    outgoing = [s for s in pending if s.requester == user]
    return mine, statuses, incoming, outgoing, methods_for(roster.plan, user, added)


async def publish_home(services: Services, user: str) -> None:
    """Build and publish the user's Home tab, in their language."""
    mine, statuses, incoming, outgoing, methods = await services.in_database(_load, services, user)
    viewer = await directory(services).tz(user)
    picked = await services.in_database(read_chosen_language, services.engine, user)
    enabled = bool(services.settings.watchkeeper_secret)
    with speaking(await person_language(services, user)):
        wake = wake_blocks(methods, enabled=enabled)
        view = home_view(
            mine, statuses, incoming, outgoing, services.roster.plan.teams, viewer, picked, wake
        )
    await gateway(services).call("views.publish", user_id=user, view=view)


async def refresh_homes(services: Services, *users: str) -> None:
    """Publish the Home tab again for each user; a failure is logged, never raised."""
    for user in dict.fromkeys(users):
        try:
            await publish_home(services, user)
        except Exception:
            logger.exception("app home refresh failed", extra={"user": user})


def register(bolt: AsyncApp, services: Services) -> None:
    @bolt.event("app_home_opened")
    async def home_opened(event: dict[str, Any]) -> None:
        # Events are acknowledged by Bolt before this runs.
        if event.get("tab", "home") != "home":
            return
        await publish_home(services, event["user"])

    @bolt.action(Action.home_language.value)
    async def language_picked(ack: Any, body: dict[str, Any]) -> None:
        await ack()
        user = str(body["user"]["id"])
        value = str((body["actions"][0].get("selected_option") or {}).get("value") or "")
        language = value if value in LANGUAGES else None  # anything else: the bot chooses
        now = services.clock.now()
        await services.in_database(save_chosen_language, services.engine, user, language, now)
        logger.info("language picked", extra={"user": user, "language": language or "auto"})
        await publish_home(services, user)
