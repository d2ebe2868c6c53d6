"""Slack users as the bot needs them: name, time zone and Slack language (users.info, cached for
a while) and the DM channel to reach them (conversations.open, kept)."""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.i18n import language_tag
from bot.runtime.clock import Clock
from bot.slack.gateway import ONCE, Policy, SlackCallError, SlackGateway, gateway

if TYPE_CHECKING:
    from bot.app.services import Services

logger = logging.getLogger(__name__)

DEFAULT_TTL = timedelta(hours=1)
# A failed look-up is retried sooner: a passing Slack error should not hide a zone for an hour.
FAILURE_TTL = timedelta(minutes=1)
# One try of at most 2 s: a name or a zone is not worth keeping a person waiting for.
LOOKUP = Policy(attempts=1, timeout=2.0)
# A user mention in Slack's markup: <@U123>, or <@U123|bob> as commands with escaping send it.
MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")


@dataclass(frozen=True)
class SlackUser:
    id: str
    name: str
    tz: ZoneInfo | None
    locale: str | None = None  # the bot's language closest to their Slack client's, if any


def _zone(name: Any) -> ZoneInfo | None:
    """The zone Slack names, or None when it names none we know."""
    if not isinstance(name, str) or not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def user_from_info(user_id: str, info: dict[str, Any]) -> SlackUser:
    """A SlackUser from the ``user`` object of a users.info answer."""
    profile = info.get("profile") or {}
    name = (
        profile.get("display_name")
        or profile.get("real_name")
        or info.get("real_name")
        or info.get("name")
        or user_id
    )
    return SlackUser(
        id=user_id, name=name, tz=_zone(info.get("tz")), locale=language_tag(info.get("locale"))
    )


class UserDirectory:
    """users.info answers kept for ``ttl`` by the injected clock; one look-up per user at a time."""

    def __init__(self, slack: SlackGateway, clock: Clock, ttl: timedelta = DEFAULT_TTL) -> None:
        self._slack = slack
        self._clock = clock
        self._ttl = ttl
        self._cache: dict[str, tuple[datetime, SlackUser]] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._dm_channels: dict[str, str] = {}

    async def get(self, user_id: str) -> SlackUser:
        """The user's name and zone; a user Slack cannot tell us about comes back zone-less."""
        cached = self._cache.get(user_id)
        if cached is not None and cached[0] > self._clock.now():
            return cached[1]
        lock = self._locks.setdefault(user_id, asyncio.Lock())
        async with lock:
            cached = self._cache.get(user_id)
            if cached is not None and cached[0] > self._clock.now():
                return cached[1]
            user, ttl = await self._look_up(user_id)
            self._cache[user_id] = (self._clock.now() + ttl, user)
            return user

    def known(self, user_id: str) -> SlackUser | None:
        """What the last look-up told of the user, without asking Slack, however old: where
        there is no time to ask (a form to open within Slack's 3 s), a zone or language an hour
        old is nearer the truth than none."""
        cached = self._cache.get(user_id)
        return cached[1] if cached is not None else None

    async def tz(self, user_id: str) -> ZoneInfo | None:
        """The user's zone from their Slack profile, or None when unknown."""
        return (await self.get(user_id)).tz

    async def locale(self, user_id: str) -> str | None:
        """The bot's language closest to the user's Slack client's, or None when none is."""
        return (await self.get(user_id)).locale

    async def named(self, text: str) -> str:
        """``text`` with each user mention replaced by the person's name, for the places Slack
        shows as plain text (modal errors, labels, options, notifications), where a mention
        reads as its raw id."""
        ids = list(dict.fromkeys(MENTION.findall(text)))
        if not ids:
            return text
        users = await asyncio.gather(*(self.get(user_id) for user_id in ids))
        names = {user.id: user.name for user in users}
        return MENTION.sub(lambda mention: names[mention[1]], text)

    def forget(self, user_id: str) -> None:
        self._cache.pop(user_id, None)

    async def dm_channel(self, user_id: str, *, policy: Policy = ONCE) -> str:
        """The id of the app's DM with the user (a DM channel never changes, so it is kept);
        SlackCallError when Slack does not give it under ``policy``."""
        known = self._dm_channels.get(user_id)
        if known is None:
            answer = await self._slack.call("conversations.open", policy=policy, users=user_id)
            known = str(answer["channel"]["id"])
            self._dm_channels[user_id] = known
        return known

    async def _look_up(self, user_id: str) -> tuple[SlackUser, timedelta]:
        try:
            answer = await self._slack.call(
                "users.info", policy=LOOKUP, user=user_id, include_locale=True
            )
            return user_from_info(user_id, answer["user"]), self._ttl
        except (SlackCallError, KeyError, TypeError) as error:
            # Times then show in team time, which the answer names: wrong-zone times never appear.
            logger.warning(
                "users.info failed",
                extra={
                    "user": user_id,
                    "error": error.code
                    if isinstance(error, SlackCallError)
                    else error.__class__.__name__,
                },
            )
            return SlackUser(id=user_id, name=user_id, tz=None), FAILURE_TTL


def directory(services: Services) -> UserDirectory:
    """The app's one user directory, made on first use and kept in ``services.users``."""
    if services.users is None:
        services.users = UserDirectory(gateway(services), services.clock)
    return services.users
