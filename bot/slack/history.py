"""Finding a message the bot posted, by the metadata it carries: after a post whose answer was
lost (a timeout, a dropped connection, Slack's 5xx), the one way to know whether it went through
without posting it twice. ``look_for_post`` is that look as the gateway's ``found`` of a post."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

HISTORY_LIMIT = 200  # messages per page of conversations.history
HISTORY_PAGES = 10
# Our clock and Slack's may disagree: a post is looked for from this long before it was made
# (its metadata, not its time, says which post is ours).
CLOCK_SKEW = timedelta(minutes=10)

Call = Callable[..., Awaitable[Any]]


async def find_post(
    call: Call,
    channel: str,
    *,
    since: datetime,
    event_type: str,
    payload: Mapping[str, Any],
) -> tuple[str, dict[str, Any]] | None:
    """The message of ``channel`` posted from ``since`` on whose metadata is ``event_type`` with
    every item of ``payload``: the conversation's id (as Slack gives it) and the message; None
    when the pages looked at hold none. ``call(method, **args)`` makes the Slack call."""
    oldest = f"{(since - CLOCK_SKEW).timestamp():.6f}"
    cursor = None
    for _ in range(HISTORY_PAGES):
        answer = await call(
            "conversations.history",
            channel=channel,
            oldest=oldest,
            limit=HISTORY_LIMIT,
            include_all_metadata=True,
            cursor=cursor,
        )
        for found in answer.get("messages") or []:
            meta = found.get("metadata") or {}
            carried = meta.get("event_payload") or {}
            if meta.get("event_type") == event_type and all(
                carried.get(key) == value for key, value in payload.items()
            ):
                return str(answer.get("channel") or channel), found
        cursor = (answer.get("response_metadata") or {}).get("next_cursor")
        if not answer.get("has_more") or not cursor:
            return None
    return None


def look_for_post(
    call: Call,
    channel: str,
    *,
    since: datetime,
    event_type: str,
    payload: Mapping[str, Any],
) -> Callable[[], Awaitable[dict[str, Any] | None]]:
    """The look for a post to ``channel`` whose metadata is ``event_type`` with every item of
    ``payload`` (as ``find_post``), for the gateway's ``found``: the post found as
    chat.postMessage answers (ok, channel, ts, message), else None."""

    async def look() -> dict[str, Any] | None:
        found = await find_post(call, channel, since=since, event_type=event_type, payload=payload)
        if found is None:
            return None
        channel_id, message = found
        return {"ok": True, "channel": channel_id, "ts": message.get("ts"), "message": message}

    return look
