"""The one way the bot calls Slack: what is sent again and what is not, Retry-After held for what
Slack applies it to, refusals raised at once, and every failure counted; against the stand-in
through slack_sdk's real client."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.runtime.metrics import metrics_of
from bot.slack.errors import Kind
from bot.slack.gateway import (
    ONCE,
    PATIENT,
    PROMPT,
    UNHURRIED,
    Policy,
    SlackCallError,
    SlackGateway,
    gateway,
    http_session,
)
from bot.slack.history import look_for_post
from tests.harness import Harness
from tests.support.relay import relay

CHANNEL = "C0SUPPORT"


@pytest.fixture
async def h(tmp_path: Path) -> AsyncIterator[Harness]:
    async with relay(tmp_path) as harness:
        harness.standin.add_channel("C0OTHER", "other", bot_member=True)
        yield harness


def errors_counted(h: Harness, method: str, error: str) -> float:
    value = metrics_of(h.services).registry.get_sample_value(
        "watchkeeper_slack_api_errors_total", {"method": method, "error": error}
    )
    return value or 0.0


async def test_a_post_whose_connection_dropped_after_it_left_is_not_sent_again(h: Harness) -> None:
    # The stand-in posts, then drops the connection before answering: sending it again would
    # post twice. A caller that gives no look (the outbox, which looks when it takes the row
    # again) is told the post may have gone through.
    h.standin.fail_rate(1.0, ["chat.postMessage"], kinds=("drop",))
    with pytest.raises(SlackCallError) as raised:
        await gateway(h.services).call("chat.postMessage", channel=CHANNEL, text="once")
    assert raised.value.failure.kind is Kind.transient
    assert raised.value.failure.may_have_succeeded
    assert len(h.standin.calls_to("chat.postMessage")) == 1
    assert [m.text for m in h.standin.messages(CHANNEL)] == ["once"]


async def post_looked_for(h: Harness, text: str, post: int) -> Any:
    """Post ``text`` as a caller posting outside the outbox does: its metadata names ``post``,
    and the gateway is told how to look for it by that."""
    payload = {"post": post}
    return await gateway(h.services).call(
        "chat.postMessage",
        policy=dataclasses.replace(PATIENT, backoff=0.01),
        found=look_for_post(
            gateway(h.services).call,
            CHANNEL,
            since=h.clock.now(),
            event_type="test_post",
            payload=payload,
        ),
        channel=CHANNEL,
        text=text,
        metadata={"event_type": "test_post", "event_payload": payload},
    )


async def test_a_post_whose_answer_was_lost_is_looked_for_and_not_posted_twice(
    h: Harness,
) -> None:
    # The stand-in posts, then drops the connection before answering. A caller that says how to
    # look for its post gets the post found as the call's answer, and it is posted once.
    h.standin.fail_rate(1.0, ["chat.postMessage"], kinds=("drop",))
    answer = await post_looked_for(h, "once", 7)
    (posted,) = h.standin.messages(CHANNEL)
    assert (answer["ok"], answer["channel"], answer["ts"]) == (True, CHANNEL, posted.ts)
    assert answer["message"]["text"] == "once"
    assert len(h.standin.calls_to("chat.postMessage")) == 1
    assert len(h.standin.calls_to("conversations.history")) == 1


async def test_a_post_failed_with_a_5xx_and_not_found_is_posted_again_once(h: Harness) -> None:
    # A 5xx may come after the work was done; here it was not: the look finds nothing, and
    # the post is sent again, once.
    h.standin.fail_next("chat.postMessage", status=500)
    answer = await post_looked_for(h, "once", 8)
    (posted,) = h.standin.messages(CHANNEL)
    assert (answer["channel"], answer["ts"]) == (CHANNEL, posted.ts)
    assert [c.ok for c in h.standin.calls_to("chat.postMessage")] == [False, True]
    assert len(h.standin.calls_to("conversations.history")) == 1


async def test_a_call_that_posts_nothing_is_sent_again_at_once_when_its_connection_drops(
    h: Harness,
) -> None:
    posted = await gateway(h.services).call("chat.postMessage", channel=CHANNEL, text="before")
    h.standin.fail_rate(1.0, ["chat.update"], kinds=("drop",))
    with pytest.raises(SlackCallError):
        await gateway(h.services).call(
            "chat.update", policy=ONCE, channel=CHANNEL, ts=posted["ts"], text="after"
        )
    # Once more on a new connection, even for a caller that tries once: an edit made twice is
    # made once.
    assert len(h.standin.calls_to("chat.update")) == 2
    assert [m.text for m in h.standin.messages(CHANNEL)] == ["after"]


async def test_a_call_whose_connection_cannot_be_made_is_tried_again_at_once(h: Harness) -> None:
    # Nothing listens there: the request never leaves, so even a post is safe to send again.
    away = dataclasses.replace(
        h.services, slack=AsyncWebClient(token="xoxb-x", base_url="http://127.0.0.1:9/api/")
    )
    away.metrics = h.services.metrics = metrics_of(h.services)
    with pytest.raises(SlackCallError) as raised:
        await SlackGateway(away).call("chat.postMessage", policy=ONCE, channel=CHANNEL, text="x")
    assert raised.value.failure.kind is Kind.transient
    assert not raised.value.failure.may_have_succeeded
    assert errors_counted(h, "chat.postMessage", raised.value.code) == 2


async def test_a_connection_the_server_closed_while_idle_is_not_written_on(h: Harness) -> None:
    # The stand-in's server closes a connection idle for 5 s, as servers do. A call made just
    # after, from an event loop too busy to have read the close, must not go out on it: it
    # would be lost (a post could not even be sent again, not knowing).
    session = http_session()
    try:
        client = AsyncWebClient(
            token=h.standin.token, base_url=h.standin.base_url, retry_handlers=[], session=session
        )
        slack = SlackGateway(dataclasses.replace(h.services, slack=client))
        await slack.call("chat.postMessage", policy=ONCE, channel=CHANNEL, text="first")
        await asyncio.sleep(4.95)
        time.sleep(0.06)  # noqa: ASYNC251 (the loop busy elsewhere as the server closes it)
        await slack.call("chat.postMessage", policy=ONCE, channel=CHANNEL, text="second")
    finally:
        await session.close()
    assert [m.text for m in h.standin.messages(CHANNEL)] == ["first", "second"]


async def test_a_refusal_is_raised_at_once_and_counted(h: Harness) -> None:
    h.standin.fail_next("chat.postMessage", error="not_in_channel")
    with pytest.raises(SlackCallError) as raised:
        await gateway(h.services).call(
            "chat.postMessage", policy=PATIENT, channel=CHANNEL, text="x"
        )
    assert (raised.value.failure.kind, raised.value.code) == (Kind.permanent, "not_in_channel")
    assert len(h.standin.calls_to("chat.postMessage")) == 1
    assert errors_counted(h, "chat.postMessage", "not_in_channel") == 1


async def test_a_passing_trouble_is_tried_again_by_a_caller_that_can_wait(h: Harness) -> None:
    # service_unavailable: Slack did nothing, and says so; a post is safe to send again.
    h.standin.fail_next("chat.postMessage", 2, error="service_unavailable")
    slack = SlackGateway(h.services)
    await slack.call(
        "chat.postMessage",
        policy=dataclasses.replace(PATIENT, backoff=0.01),
        channel=CHANNEL,
        text="third time",
    )
    assert [c.ok for c in h.standin.calls_to("chat.postMessage")] == [False, False, True]
    assert [m.text for m in h.standin.messages(CHANNEL)] == ["third time"]


async def test_a_429_on_a_post_holds_that_channel_and_no_other(h: Harness) -> None:
    h.standin.fail_next("chat.postMessage", error="ratelimited", status=429, channel=CHANNEL)
    slack = gateway(h.services)
    with pytest.raises(SlackCallError) as raised:
        await slack.call("chat.postMessage", policy=ONCE, channel=CHANNEL, text="x")
    assert raised.value.failure.kind is Kind.rate_limited
    assert raised.value.until is not None and raised.value.until > h.clock.now()
    # Until Retry-After has passed, the channel is not asked again...
    with pytest.raises(SlackCallError):
        await slack.call("chat.postMessage", policy=ONCE, channel=CHANNEL, text="y")
    assert len(h.standin.calls_to("chat.postMessage")) == 1
    # ...while another channel is.
    await slack.call("chat.postMessage", policy=ONCE, channel="C0OTHER", text="z")
    h.clock.advance(timedelta(seconds=2))
    await slack.call("chat.postMessage", policy=ONCE, channel=CHANNEL, text="later")
    assert [m.text for m in h.standin.messages(CHANNEL)] == ["later"]


async def test_a_check_run_by_hand_waits_out_429s_and_says_any_other_failure_at_once(
    h: Harness,
) -> None:
    h.standin.fail_next("users.info", 2, error="ratelimited", status=429)
    slack = SlackGateway(h.services)
    answer = await slack.call("users.info", policy=UNHURRIED, user="U0BOB")
    assert answer["user"]["id"] == "U0BOB"
    assert [c.ok for c in h.standin.calls_to("users.info")] == [False, False, True]
    h.clock.advance(timedelta(seconds=2))  # past the Retry-After
    h.standin.fail_next("users.info", error="service_unavailable")
    with pytest.raises(SlackCallError) as raised:
        await slack.call("users.info", policy=UNHURRIED, user="U0BOB")
    assert (raised.value.failure.kind, raised.value.code) == (Kind.transient, "service_unavailable")
    assert len(h.standin.calls_to("users.info")) == 4


@pytest.mark.parametrize("policy", [UNHURRIED, PATIENT], ids=["check-by-hand", "patient"])
async def test_a_caller_naming_no_limit_waits_a_minute_at_most(h: Harness, policy: Policy) -> None:
    # `watchkeeper doctor` reports; it does not wait minutes. Only a caller that says until when
    # its answer is of use (the hand-offs) waits longer.
    h.standin.rate_limit("users.info", retry_after=90)
    with pytest.raises(SlackCallError) as raised:
        await gateway(h.services).call("users.info", policy=policy, user="U0BOB")
    assert raised.value.until is not None
    assert raised.value.until >= h.clock.now() + timedelta(seconds=90)
    assert len(h.standin.calls_to("users.info")) == 1


async def test_a_listener_answering_a_person_does_not_wait_out_a_long_retry_after(
    h: Harness,
) -> None:
    h.standin.rate_limit("views.publish", retry_after=30)
    slack = gateway(h.services)
    with pytest.raises(SlackCallError) as raised:
        await slack.call("views.publish", policy=PROMPT, user_id="U0BOB", view={"type": "home"})
    assert raised.value.until is not None
    assert raised.value.until > h.clock.now() + timedelta(seconds=20)
    with pytest.raises(SlackCallError):
        await slack.call("views.publish", policy=PROMPT, user_id="U0BOB", view={"type": "home"})
    assert len(h.standin.calls_to("views.publish")) == 1


async def test_a_caller_whose_right_to_call_may_end_is_asked_before_each_try(h: Harness) -> None:
    # A send whose claim another process may take: asked before the first try, then again once
    # Slack's Retry-After was waited out, where it says no: the post is not made.
    h.standin.fail_next("chat.postMessage", error="ratelimited", status=429, channel=CHANNEL)
    asked: list[int] = []

    async def before_try() -> None:
        asked.append(len(h.standin.calls_to("chat.postMessage")))
        if len(asked) == 2:
            raise LookupError("no longer this caller's to make")

    policy = dataclasses.replace(PATIENT, backoff=0.01, before_try=before_try)
    with pytest.raises(LookupError):
        await SlackGateway(h.services).call(
            "chat.postMessage", policy=policy, channel=CHANNEL, text="x"
        )
    assert asked == [0, 1]
    assert len(h.standin.calls_to("chat.postMessage")) == 1
    assert h.standin.messages(CHANNEL) == []
