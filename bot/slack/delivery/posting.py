"""Slack's side of a delivery, recorded on its job: a message posted once (an earlier try's post
looked for first), edited only when it would show something new, and a channel found refusing the
bot left alone for a while.

A worker killed between Slack's answer and its own commit, or a post whose answer was lost, cannot
know whether the post went through; every post carries the outbox row's id in its metadata, and a
row taken again after that first looks for that post in the conversation instead of posting twice.
A failure that says nothing was done (an error answer, a 429) needs no such look. Each call is
made once, through the gateway (``bot.slack.gateway``): the row, not the call, is tried again.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from bot.runtime.metrics import count_relayed
from bot.slack.blocks import Message
from bot.slack.blocks.alert import content_hash
from bot.slack.delivery.content import (
    CARD,
    DM,
    LEADERSHIP,
    as_posted,
    calm_hash,
    fingerprint,
    full_hash,
)
from bot.slack.delivery.jobs import Edited, Job, Postpone
from bot.slack.errors import SlackFailure
from bot.slack.gateway import ONCE, SlackCallError, gateway
from bot.slack.history import find_post
from bot.slack.users import directory
from storage.models import SlackMessage
from storage.slack_messages import Posted

if TYPE_CHECKING:
    from bot.app.services import Services

logger = logging.getLogger(__name__)

METADATA_EVENT = "watchkeeper_delivery"
# A channel found refusing the bot (not a member, archived...) is not asked again for this long:
# a storm into it costs one refused call a minute, not one per alert.
RECHECK_REFUSED = timedelta(minutes=1)


class Posting:
    """Posts and edits for the outbox's rows, each call made once through the gateway."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self._slack = gateway(services)
        # Channels found refusing the bot, with the refusal and when to ask them again.
        self._refused: dict[str, tuple[SlackFailure, datetime]] = {}

    def refuse(self, channel: str, failure: SlackFailure) -> None:
        """Leave ``channel``, found refusing the bot, alone for RECHECK_REFUSED."""
        self._refused[channel] = (failure, self.services.clock.now() + RECHECK_REFUSED)

    async def turn(self, channel: str, now: datetime) -> datetime | None:
        """The channel's posting turn: now (None), or the instant it comes."""
        return await self._slack.turn(channel, now)

    async def in_turn(self, method: str, channel: str, now: datetime) -> Postpone | None:
        """Refuse at once a call Slack would refuse (``check``); then wait for the channel's
        posting turn: None when it is now, else when to try again."""
        self.check(method, channel, now)
        ready_at = await self.turn(channel, now)
        return None if ready_at is None else Postpone(ready_at)

    async def update_in_turn(
        self, job: Job, row: SlackMessage, content: Message, now: datetime
    ) -> Postpone | None:
        """Edit a posted message to show ``content`` in its channel's turn; nothing is sent
        when it already does."""
        if full_hash(row.content_hash) == content_hash(content):
            return None
        return await self.in_turn("chat.update", row.channel, now) or await self.update(
            job, row, content
        )

    async def dm_once(
        self, job: Job, team: str, role: str, user: str, content: Message
    ) -> Postpone | None:
        """Open the app's DM with ``user`` and post ``content`` there once."""
        channel = await self.dm_channel(user)
        await self.post_once(job, team, role, user, channel, content)
        return None

    async def post_once(
        self, job: Job, team: str, role: str, recipient: str, channel: str, content: Message
    ) -> bool:
        """Post ``content`` and remember it, unless an earlier try's post of this row is found;
        whether the message then shows something else than ``content`` (the earlier try's)."""
        if await self.earlier_post(job, role, recipient, channel, content):
            return full_hash(job.posts[-1].content_hash) != content_hash(content)
        answer = await self.call(
            "chat.postMessage", channel=channel, metadata=post_metadata(job, recipient), **content
        )
        if role in (CARD, DM, LEADERSHIP):
            count_relayed(self.services, team=team)
        self._remember(job, role, recipient, (str(answer["channel"]), str(answer["ts"])), content)
        return False

    async def earlier_post(
        self, job: Job, role: str, recipient: str, channel: str, content: Message
    ) -> bool:
        """Whether an earlier try of the row may have posted to ``recipient`` and did: then that
        post is remembered as this one, with what it shows (the alert may have changed since
        that try: the next update brings it up to date), looked for once a try."""
        if not job.may_have_posted or recipient in job.searched:
            return False
        job.searched.add(recipient)
        posted = await self.find_posted(job, channel, recipient)
        if posted is None:
            return False
        channel_id, ts, shown = posted
        # Told apart from ``content`` by what Slack adds (block ids), it is remembered as it is.
        current = as_posted(shown) == as_posted(content)
        self._remember(job, role, recipient, (channel_id, ts), content if current else shown)
        return True

    def _remember(
        self, job: Job, role: str, recipient: str, posted: tuple[str, str], content: Message
    ) -> None:
        assert job.subject is not None
        job.reached.add(recipient)
        job.posts.append(
            Posted(
                subject=job.subject,
                role=role,
                recipient=recipient,
                channel=posted[0],
                ts=posted[1],
                content_hash=fingerprint(content, content),
                at=self.services.clock.now(),
            )
        )

    async def update(
        self,
        job: Job,
        row: SlackMessage,
        content: Message,
        calm: Message | None = None,
        interval: timedelta | None = None,
    ) -> Postpone | None:
        """Edit a posted message to show ``content``; nothing is sent when it already does.

        With ``calm`` (the message without what repeats change) and ``interval``, a change of
        repeats alone waits until ``interval`` after the last edit: returns when to try again.
        """
        digest = fingerprint(content, calm or content)
        if full_hash(row.content_hash) == full_hash(digest):
            return None
        if (
            calm is not None
            and interval is not None
            and calm_hash(row.content_hash) == calm_hash(digest)
        ):
            due = (row.updated_at or row.created_at) + interval
            if self.services.clock.now() < due:
                return Postpone(due)
        await self.call("chat.update", channel=row.channel, ts=row.ts, **content)
        job.reached.add(row.recipient)
        job.edits.append(Edited(row.id or 0, digest, self.services.clock.now()))
        return None

    async def find_posted(
        self, job: Job, channel: str, recipient: str
    ) -> tuple[str, str, Message] | None:
        """The message this row posted on an earlier try, looked up by its metadata: its
        channel, ts, and what it shows."""
        found = await find_post(
            self.call,
            channel,
            since=job.created_at,
            event_type=METADATA_EVENT,
            payload={"outbox_id": job.id, "recipient": recipient},
        )
        job.looked = True
        if found is None:
            logger.info(
                "no post of an earlier try found; posting",
                extra={"outbox": job.id, "channel": channel},
            )
            return None
        channel_id, message = found
        logger.info(
            "found the post of an earlier try; not posting again",
            extra={"outbox": job.id, "channel": channel},
        )
        shown = Message(
            text=str(message.get("text") or ""), blocks=list(message.get("blocks") or [])
        )
        return channel_id, str(message["ts"]), shown

    async def dm_channel(self, user: str) -> str:
        return await directory(self.services).dm_channel(user)

    def check(self, method: str, channel: str | None, now: datetime) -> None:
        """Refuse at once (SlackCallError) a call Slack would refuse: one whose Retry-After is
        still running, or to a channel found refusing the bot a moment ago."""
        self._slack.check(method, channel, now)
        refused = self._refused.get(channel) if channel else None
        if refused is not None:
            if now < refused[1]:
                raise SlackCallError(refused[0])
            self._refused.pop(channel or "", None)

    async def call(self, method: str, **args: Any) -> Any:
        """One Slack call, made once (the row is tried again later); a failure is a
        SlackCallError saying what kind it is."""
        channel = args.get("channel")
        self.check(method, channel, self.services.clock.now())
        answer = await self._slack.call(method, policy=ONCE, **args)
        if channel is not None:
            self._refused.pop(channel, None)
        return answer


def post_metadata(job: Job, recipient: str) -> dict[str, Any]:
    """What a post of the row carries in its metadata: by it a later try finds the post."""
    return {
        "event_type": METADATA_EVENT,
        "event_payload": {"outbox_id": job.id, "recipient": recipient},
    }
