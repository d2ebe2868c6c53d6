"""Swaps and covers through the harness: the day they are asked on, the one-line swap, the
teammate's request DM, /cover and its clicks with their posts delivered, and a message's buttons."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from bot.sandbox.standin.records import Message, ViewRecord
from bot.slack.delivery.worker import Delivery
from tests.harness import Harness, Sent

# Wednesday 25 November 2026, 13:00 in Paris. Weekends (Fri 18:00 - Mon 09:00) from 6 November go
# Alice, Bob, Carol, CEO: Alice holds 4-7 December, Bob 11-14 December.
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
ONE_LINE = "<@U0BOB|bob> 2026-12-05 2026-12-12"


def request_dm(h: Harness, user: str = "U0BOB") -> Message:
    """The one DM that asks ``user`` to swap."""
    (dm,) = h.standin.dms(user)
    return dm


async def drain(h: Harness) -> None:
    """Let the delivery worker post and update what the requests queued."""
    worker = h.services.delivery
    assert isinstance(worker, Delivery)
    await worker.drain()


async def cover(h: Harness, text: str = "", **kwargs: Any) -> Sent:
    """/cover typed, and its posts delivered."""
    sent = await h.command("/cover", text, **kwargs)
    await drain(h)
    return sent


async def refused(h: Harness, command: str, cases: Mapping[str, str], *, user: str) -> None:
    """Each text of ``cases`` typed after ``command`` by ``user`` (and whatever it queued
    delivered) is answered with the case's words, where only they see it."""
    for text, says in cases.items():
        sent = await h.command(command, text, user=user)
        await drain(h)
        assert says in sent.reply_text(), (text, sent.reply_text())
        assert sent.replies()[-1]["response_type"] == "ephemeral"


async def submit(h: Harness, view: ViewRecord, **kwargs: Any) -> Sent:
    """A form submitted, and the posts it queued delivered."""
    sent = await h.submit(view, **kwargs)
    await drain(h)
    return sent


async def click(h: Harness, where: Message, action: str, **kwargs: Any) -> Sent:
    """A click, and the updates it queued delivered."""
    sent = await h.click(where, action, **kwargs)
    await drain(h)
    return sent


def post(h: Harness) -> Message:
    """The first post in the team channel: the cover request."""
    return h.standin.messages("C0SUPPORT")[0]


def button_texts(blocks: list[dict[str, Any]]) -> dict[str, str]:
    """Each button's words, by its action id."""
    return {
        element["action_id"]: element["text"]["text"]
        for block in blocks
        if block["type"] == "actions"
        for element in block["elements"]
    }
