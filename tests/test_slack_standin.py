"""The Slack Web API stand-in, driven by slack_sdk's real clients over real HTTP."""

from __future__ import annotations

import asyncio
import re
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from bot.runtime.clock import FixedClock
from bot.sandbox.server import serve_in_thread, serving
from bot.sandbox.slack_requests import SlackRequest, SlackSide
from bot.sandbox.standin.app import BOT_SCOPES, SlackStandIn

TOKEN = "xoxb-1-sandbox"
SECRET = "sandbox-signing-secret"
SECTION = {"type": "section", "text": {"type": "mrkdwn", "text": "*Checkout errors*"}}


class FakeMonotonic:
    """A monotonic clock that moves only when told to."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def populate(standin: SlackStandIn) -> SlackStandIn:
    standin.add_user("U0ALICE", "alice", tz="Europe/Paris", real_name="Alice Martin")
    standin.add_user("U0BOB", "bob", tz="America/New_York", real_name="Bob Smith")
    standin.add_channel("C0SUPPORT", "support")
    standin.add_usergroup("S0ONCALL", "oncall-support")
    return standin


# The stand-in serves a few methods the bot's app has no scope for: these tests call them too.
EXTRA_SCOPES = (*BOT_SCOPES, "im:read", "reactions:write")


@pytest.fixture
def standin() -> Iterator[SlackStandIn]:
    running = populate(SlackStandIn(scopes=EXTRA_SCOPES)).start()
    yield running
    running.stop()


def client_for(standin: SlackStandIn, **kwargs: Any) -> AsyncWebClient:
    return AsyncWebClient(token=TOKEN, base_url=standin.base_url, **kwargs)


def sync_client_for(standin: SlackStandIn) -> WebClient:
    return WebClient(token=TOKEN, base_url=standin.base_url, retry_handlers=[])


# --------------------------------------------------------------------------- auth, routing


async def test_auth_test_answers_with_the_bot_identity(standin: SlackStandIn) -> None:
    answer = await client_for(standin).auth_test()
    assert answer["user_id"] == standin.identity.bot_user_id
    assert answer["team_id"] == "T0SANDBOX"
    assert answer["bot_id"] == standin.identity.bot_id
    assert "chat:write" in answer.headers["x-oauth-scopes"]


async def test_missing_or_bad_tokens_are_refused_like_slack(standin: SlackStandIn) -> None:
    with pytest.raises(SlackApiError) as missing:
        await AsyncWebClient(base_url=standin.base_url).chat_postMessage(
            channel="C0SUPPORT", text="hi"
        )
    assert missing.value.response["error"] == "not_authed"
    with pytest.raises(SlackApiError) as user_token:
        await AsyncWebClient(token="xoxp-1", base_url=standin.base_url).auth_test()
    assert user_token.value.response["error"] == "invalid_auth"
    assert standin.messages("C0SUPPORT") == []


async def test_a_configured_token_must_match() -> None:
    with SlackStandIn(token=TOKEN) as strict:
        with pytest.raises(SlackApiError) as wrong:
            await AsyncWebClient(token="xoxb-2-other", base_url=strict.base_url).auth_test()
        assert wrong.value.response["error"] == "invalid_auth"
        assert (await AsyncWebClient(token=TOKEN, base_url=strict.base_url).auth_test())["ok"]


async def test_unknown_methods_are_answered_unknown_method(standin: SlackStandIn) -> None:
    with pytest.raises(SlackApiError) as error:
        await client_for(standin).api_call("chat.scheduleMessage", json={"channel": "C0SUPPORT"})
    assert error.value.response["error"] == "unknown_method"
    assert standin.calls_to("chat.scheduleMessage")[0].error == "unknown_method"


def test_bad_setup_is_refused_with_what_is_wrong() -> None:
    standin = SlackStandIn()
    with pytest.raises(ValueError, match="user id 'alice'"):
        standin.add_user("alice", "alice")
    with pytest.raises(ValueError, match="unknown time zone 'Mars/Olympus'"):
        standin.add_user("U0ALICE", "alice", tz="Mars/Olympus")
    with pytest.raises(ValueError, match="channel id 'support'"):
        standin.add_channel("support", "support")
    with pytest.raises(ValueError, match="'xoxp-'"):
        SlackStandIn(token="xoxp-123")
    with pytest.raises(RuntimeError, match="not served yet"):
        _ = standin.base_url
    with pytest.raises(ValueError, match="'chat.postMesage' is not a method"):
        standin.fail_next("chat.postMesage")


# --------------------------------------------------------------------------- messages


async def test_posted_messages_get_unique_increasing_slack_timestamps(
    standin: SlackStandIn,
) -> None:
    client = client_for(standin)
    stamps = [
        (await client.chat_postMessage(channel="C0SUPPORT", text=f"n{i}"))["ts"] for i in range(6)
    ]
    assert all(re.fullmatch(r"\d{10}\.\d{6}", ts) for ts in stamps)
    assert len(set(stamps)) == 6
    assert stamps == sorted(stamps, key=float)
    assert [m.text for m in standin.messages("C0SUPPORT")] == [f"n{i}" for i in range(6)]


async def test_post_message_answers_like_slack_and_records_the_message(
    standin: SlackStandIn,
) -> None:
    answer = await client_for(standin).chat_postMessage(
        channel="#support", text="Checkout errors", blocks=[SECTION]
    )
    assert answer["channel"] == "C0SUPPORT"
    message = answer["message"]
    assert message["ts"] == answer["ts"]
    assert message["bot_id"] == standin.identity.bot_id
    assert message["user"] == standin.identity.bot_user_id
    assert message["text"] == "Checkout errors"
    # Slack gives blocks without a block_id one of its own.
    assert message["blocks"][0]["block_id"]
    (recorded,) = standin.messages("C0SUPPORT")
    assert recorded.ts == answer["ts"]
    assert recorded.blocks == message["blocks"]
    assert recorded.user == standin.identity.bot_user_id


async def test_blocks_sent_as_a_json_string_in_a_form_body_are_parsed(
    standin: SlackStandIn,
) -> None:
    async with httpx.AsyncClient() as http:
        answer = await http.post(
            standin.base_url + "chat.postMessage",
            data={"channel": "C0SUPPORT", "text": "t", "blocks": '[{"type": "divider"}]'},
            headers={"Authorization": f"Bearer {TOKEN}"},
        )
    assert answer.json()["ok"] is True
    assert standin.messages("C0SUPPORT")[0].blocks[0]["type"] == "divider"


async def test_json_without_a_charset_gets_slacks_warning(standin: SlackStandIn) -> None:
    async with httpx.AsyncClient() as http:
        answer = await http.post(
            standin.base_url + "chat.postMessage",
            json={"channel": "C0SUPPORT", "text": "t"},
            headers={"Authorization": f"Bearer {TOKEN}"},
        )
    body = answer.json()
    assert body["ok"] is True
    assert body["warning"] == "missing_charset"
    assert body["response_metadata"]["warnings"] == ["missing_charset"]


@pytest.mark.filterwarnings("ignore:The top-level `text` argument is missing:UserWarning")
async def test_posting_errors_match_slacks(standin: SlackStandIn) -> None:
    client = client_for(standin)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"channel": "C0NOWHERE", "text": "x"}, "channel_not_found"),
        ({"channel": "C0SUPPORT"}, "no_text"),
        ({"channel": "C0SUPPORT", "text": "x", "blocks": [{"type": "bogus"}]}, "invalid_blocks"),
    ]
    for args, error in cases:
        with pytest.raises(SlackApiError) as refused:
            await client.chat_postMessage(**args)
        assert refused.value.response["error"] == error
    long_text = {"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}
    with pytest.raises(SlackApiError) as invalid:
        await client.chat_postMessage(channel="C0SUPPORT", text="x", blocks=[SECTION, long_text])
    (problem,) = invalid.value.response["response_metadata"]["messages"]
    assert problem == "[ERROR] must be less than 3001 characters [json-pointer:/blocks/1/text/text]"
    assert standin.messages("C0SUPPORT") == []


async def test_a_user_id_as_channel_posts_to_the_apps_dm(standin: SlackStandIn) -> None:
    answer = await client_for(standin).chat_postMessage(channel="U0ALICE", text="You are on call")
    assert answer["channel"] == standin.dm_channel("U0ALICE")
    assert answer["channel"].startswith("D")
    assert [m.text for m in standin.dms("U0ALICE")] == ["You are on call"]
    assert standin.dms("U0BOB") == []


async def test_update_keeps_the_edit_history_and_refuses_unknown_messages(
    standin: SlackStandIn,
) -> None:
    client = client_for(standin)
    posted = await client.chat_postMessage(channel="C0SUPPORT", text="firing", blocks=[SECTION])
    updated = await client.chat_update(channel="C0SUPPORT", ts=posted["ts"], text="acked by alice")
    assert updated["ts"] == posted["ts"]
    assert updated["text"] == "acked by alice"
    (message,) = standin.messages("C0SUPPORT")
    assert message.text == "acked by alice"
    assert [e.text for e in message.edits] == ["firing"]
    assert message.edits[0].blocks[0]["text"]["text"] == "*Checkout errors*"

    with pytest.raises(SlackApiError) as unknown:
        await client.chat_update(channel="C0SUPPORT", ts="1700000000.000001", text="x")
    assert unknown.value.response["error"] == "message_not_found"
    dm = await client.chat_postMessage(channel="U0ALICE", text="dm")
    # Slack updates a DM only by its D… id, never by the user's id.
    with pytest.raises(SlackApiError) as by_user:
        await client.chat_update(channel="U0ALICE", ts=dm["ts"], text="x")
    assert by_user.value.response["error"] == "channel_not_found"
    await client.chat_update(channel=dm["channel"], ts=dm["ts"], text="edited dm")
    assert standin.dms("U0ALICE")[0].text == "edited dm"


async def test_threads_ephemerals_deletes_permalinks_and_reactions(standin: SlackStandIn) -> None:
    client = client_for(standin)
    parent = await client.chat_postMessage(channel="C0SUPPORT", text="handover")
    reply = await client.chat_postMessage(
        channel="C0SUPPORT", text="details", thread_ts=parent["ts"]
    )
    assert reply["message"]["thread_ts"] == parent["ts"]
    assert [m.text for m in standin.messages("C0SUPPORT")] == ["handover"]
    assert [m.text for m in standin.replies("C0SUPPORT", parent["ts"])] == ["details"]

    link = await client.chat_getPermalink(channel="C0SUPPORT", message_ts=parent["ts"])
    assert link["permalink"].endswith(f"/archives/C0SUPPORT/p{parent['ts'].replace('.', '')}")

    await client.reactions_add(channel="C0SUPPORT", name="eyes", timestamp=parent["ts"])
    with pytest.raises(SlackApiError) as twice:
        await client.reactions_add(channel="C0SUPPORT", name="eyes", timestamp=parent["ts"])
    assert twice.value.response["error"] == "already_reacted"
    assert standin.messages("C0SUPPORT")[0].reactions == {"eyes": [standin.identity.bot_user_id]}

    shown = await client.chat_postEphemeral(channel="C0SUPPORT", user="U0BOB", text="only bob")
    assert shown["message_ts"]
    assert [e.text for e in standin.ephemerals("U0BOB")] == ["only bob"]
    assert standin.ephemerals("U0ALICE") == []
    with pytest.raises(SlackApiError) as stranger:
        await client.chat_postEphemeral(channel="C0SUPPORT", user="U0NOBODY", text="x")
    assert stranger.value.response["error"] == "user_not_in_channel"

    await client.chat_delete(channel="C0SUPPORT", ts=parent["ts"])
    assert standin.messages("C0SUPPORT") == []
    assert [m.text for m in standin.deleted()] == ["handover"]
    with pytest.raises(SlackApiError) as gone:
        await client.chat_delete(channel="C0SUPPORT", ts=parent["ts"])
    assert gone.value.response["error"] == "message_not_found"


# --------------------------------------------------------------------------- conversations, users


async def test_conversations_open_gives_a_stable_dm_per_user(standin: SlackStandIn) -> None:
    client = client_for(standin)
    first = await client.conversations_open(users="U0ALICE")
    again = await client.conversations_open(users=["U0ALICE"])
    other = await client.conversations_open(users="U0BOB")
    assert first["channel"]["id"] == again["channel"]["id"]
    assert first["channel"]["id"].startswith("D")
    assert "already_open" not in first.data and again["already_open"] is True
    assert other["channel"]["id"] != first["channel"]["id"]
    with pytest.raises(SlackApiError) as unknown:
        await client.conversations_open(users="U0NOBODY")
    assert unknown.value.response["error"] == "user_not_found"

    info = await client.conversations_info(channel=first["channel"]["id"])
    assert info["channel"]["is_im"] is True and info["channel"]["user"] == "U0ALICE"
    channel = await client.conversations_info(channel="C0SUPPORT")
    assert channel["channel"]["name"] == "support" and channel["channel"]["is_channel"]
    with pytest.raises(SlackApiError) as missing:
        await client.conversations_info(channel="C0NOWHERE")
    assert missing.value.response["error"] == "channel_not_found"


@pytest.mark.parametrize(
    ("instant", "paris", "new_york"),
    [
        (
            datetime(2026, 7, 1, 12, tzinfo=UTC),
            (7200, "Central European Summer Time"),
            (-14400, "Eastern Daylight Time"),
        ),
        (
            datetime(2026, 1, 15, 12, tzinfo=UTC),
            (3600, "Central European Time"),
            (-18000, "Eastern Standard Time"),
        ),
    ],
)
async def test_users_info_gives_the_time_zone_offset_of_the_moment(
    instant: datetime, paris: tuple[int, str], new_york: tuple[int, str]
) -> None:
    with populate(SlackStandIn(clock=FixedClock(instant))) as standin:
        client = client_for(standin)
        alice = (await client.users_info(user="U0ALICE"))["user"]
        bob = (await client.users_info(user="U0BOB"))["user"]
    assert (alice["tz_offset"], alice["tz_label"]) == paris
    assert (bob["tz_offset"], bob["tz_label"]) == new_york
    assert alice["tz"] == "Europe/Paris"
    assert alice["name"] == "alice"
    assert alice["real_name"] == alice["profile"]["real_name"] == "Alice Martin"
    assert alice["profile"]["display_name"] == "alice"
    assert alice["is_bot"] is False


async def test_users_info_and_list(standin: SlackStandIn) -> None:
    client = client_for(standin)
    with pytest.raises(SlackApiError) as unknown:
        await client.users_info(user="U0NOBODY")
    assert unknown.value.response["error"] == "user_not_found"
    seen: list[str] = []
    pages = 0
    async for page in await client.users_list(limit=2):
        pages += 1
        seen.extend(member["id"] for member in page["members"])
    assert pages >= 2
    assert {"U0ALICE", "U0BOB", standin.identity.bot_user_id, "USLACKBOT"} == set(seen)
    assert len(seen) == len(set(seen))


# --------------------------------------------------------------------------- views


MODAL = {
    "type": "modal",
    "callback_id": "swap-submit",
    "title": {"type": "plain_text", "text": "Swap a shift"},
    "submit": {"type": "plain_text", "text": "Ask"},
    "private_metadata": "meta",
    "blocks": [
        {
            "type": "input",
            "block_id": "note",
            "label": {"type": "plain_text", "text": "Note"},
            "element": {"type": "plain_text_input", "action_id": "swap-note"},
        }
    ],
}


async def test_views_open_push_update_and_the_modal_stack(standin: SlackStandIn) -> None:
    client = client_for(standin)
    opened = await client.views_open(trigger_id=standin.issue_trigger("U0ALICE"), view=MODAL)
    view = opened["view"]
    assert view["id"].startswith("V") and view["hash"]
    assert view["callback_id"] == "swap-submit" and view["root_view_id"] == view["id"]
    last = standin.last_view("U0ALICE")
    assert last is not None and last.id == view["id"] and last.private_metadata == "meta"
    assert standin.last_view("U0BOB") is None

    pushed = await client.views_push(trigger_id=standin.issue_trigger("U0ALICE"), view=MODAL)
    assert pushed["view"]["previous_view_id"] == view["id"]
    assert [v["id"] for v in standin.open_views("U0ALICE")] == [view["id"], pushed["view"]["id"]]

    changed = dict(MODAL, title={"type": "plain_text", "text": "Sent"})
    updated = await client.views_update(view_id=view["id"], hash=view["hash"], view=changed)
    assert updated["view"]["id"] == view["id"]
    assert updated["view"]["hash"] != view["hash"]
    with pytest.raises(SlackApiError) as stale:
        await client.views_update(view_id=view["id"], hash=view["hash"], view=MODAL)
    assert stale.value.response["error"] == "hash_conflict"
    with pytest.raises(SlackApiError) as missing:
        await client.views_update(view_id="V0NOWHERE", view=MODAL)
    assert missing.value.response["error"] == "not_found"
    assert [r.method for r in standin.views("U0ALICE")] == [
        "views.open",
        "views.push",
        "views.update",
    ]
    standin.close_view("U0ALICE")
    assert [v["id"] for v in standin.open_views("U0ALICE")] == [view["id"]]


async def test_views_update_refuses_a_stale_hash_and_a_view_slack_no_longer_has(
    standin: SlackStandIn,
) -> None:
    client = client_for(standin)
    opened = await client.views_open(trigger_id=standin.issue_trigger("U0ALICE"), view=MODAL)
    root = opened["view"]
    on_top = await client.views_push(trigger_id=standin.issue_trigger("U0ALICE"), view=MODAL)
    pushed = on_top["view"]
    updated = (await client.views_update(view_id=root["id"], hash=root["hash"], view=MODAL))["view"]
    # Each update gives the view a new hash; the one read before it is stale.
    assert updated["hash"] != root["hash"]
    with pytest.raises(SlackApiError) as stale:
        await client.views_update(view_id=root["id"], hash=root["hash"], view=MODAL)
    assert stale.value.response["error"] == "hash_conflict"
    await client.views_update(view_id=root["id"], hash=updated["hash"], view=MODAL)
    for unknown in ({"view_id": "V0NOWHERE"}, {"external_id": "never-given"}):
        with pytest.raises(SlackApiError) as missing:
            await client.views_update(view=MODAL, **unknown)
        assert missing.value.response["error"] == "not_found"
    # A modal its user closed is gone for Slack, and so are the views pushed on top of it.
    standin.close_view("U0ALICE", root["id"])
    for view in (root, pushed):
        with pytest.raises(SlackApiError) as closed:
            await client.views_update(view_id=view["id"], view=MODAL)
        assert closed.value.response["error"] == "not_found"
    assert standin.open_views("U0ALICE") == []


async def test_views_refuse_expired_or_unknown_triggers_and_bad_views() -> None:
    tick = FakeMonotonic()
    with populate(SlackStandIn(monotonic=tick, strict_triggers=True)) as standin:
        client = client_for(standin)
        trigger = standin.issue_trigger("U0ALICE")
        tick.advance(3.5)
        with pytest.raises(SlackApiError) as expired:
            await client.views_open(trigger_id=trigger, view=MODAL)
        assert expired.value.response["error"] == "expired_trigger_id"
        with pytest.raises(SlackApiError) as unknown:
            await client.views_open(trigger_id="12345.98765.abcd2358fdea", view=MODAL)
        assert unknown.value.response["error"] == "invalid_arguments"
        too_long = dict(MODAL, title={"type": "plain_text", "text": "A title far too long for it"})
        with pytest.raises(SlackApiError) as bad:
            await client.views_open(trigger_id=standin.issue_trigger("U0ALICE"), view=too_long)
        assert (
            "json-pointer:/view/title/text"
            in bad.value.response["response_metadata"]["messages"][0]
        )
        assert standin.last_view("U0ALICE") is None


async def test_views_publish_sets_the_users_home(standin: SlackStandIn) -> None:
    client = client_for(standin)
    home = {"type": "home", "blocks": [SECTION]}
    first = await client.views_publish(user_id="U0ALICE", view=home)
    second = await client.views_publish(user_id="U0ALICE", view=dict(home, blocks=[]))
    assert first["view"]["id"] == second["view"]["id"]
    published = standin.home("U0ALICE")
    assert published is not None and published.blocks == []
    assert standin.home("U0BOB") is None
    with pytest.raises(SlackApiError) as modal_as_home:
        await client.views_publish(user_id="U0ALICE", view=MODAL)
    assert modal_as_home.value.response["error"] == "invalid_arguments"


# --------------------------------------------------------------------------- user groups


async def test_usergroup_membership_is_recorded(standin: SlackStandIn) -> None:
    client = client_for(standin)
    answer = await client.usergroups_users_update(usergroup="S0ONCALL", users=["U0ALICE"])
    assert answer["usergroup"]["users"] == ["U0ALICE"]
    await client.usergroups_users_update(usergroup="S0ONCALL", users="U0BOB")
    assert standin.usergroup_users("S0ONCALL") == ["U0BOB"]
    assert standin.usergroup_history("S0ONCALL") == [["U0ALICE"], ["U0BOB"]]
    listed = await client.usergroups_list(include_users=True)
    assert listed["usergroups"][0]["handle"] == "oncall-support"
    assert listed["usergroups"][0]["users"] == ["U0BOB"]
    for group, users, error in [
        ("S0NOWHERE", "U0BOB", "no_such_subteam"),
        ("S0ONCALL", "", "no_users_provided"),
        ("S0ONCALL", "U0NOBODY", "invalid_users"),
    ]:
        with pytest.raises(SlackApiError) as refused:
            await client.usergroups_users_update(usergroup=group, users=users)
        assert refused.value.response["error"] == error
    assert standin.usergroup_users("S0ONCALL") == ["U0BOB"]


def test_the_sync_web_client_is_answered_too(standin: SlackStandIn) -> None:
    client = sync_client_for(standin)
    posted = client.chat_postMessage(channel="C0SUPPORT", text="from a thread", blocks=[SECTION])
    client.chat_update(channel="C0SUPPORT", ts=posted["ts"], text="edited")
    assert client.conversations_open(users="U0BOB")["channel"]["id"].startswith("D")
    assert client.users_info(user="U0BOB")["user"]["tz"] == "America/New_York"
    client.usergroups_users_update(usergroup="S0ONCALL", users=["U0ALICE", "U0BOB"])
    assert standin.usergroup_users("S0ONCALL") == ["U0ALICE", "U0BOB"]
    assert standin.messages("C0SUPPORT")[0].text == "edited"


# --------------------------------------------------------------------------- rate limits, faults


async def test_a_429_carries_retry_after_and_slack_sdk_waits_then_retries(
    standin: SlackStandIn,
) -> None:
    standin.rate_limit("chat.postMessage", retry_after=1)
    client = client_for(
        standin, retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=1)]
    )
    answer = await client.chat_postMessage(channel="C0SUPPORT", text="after the wait")
    assert answer["ok"]
    assert [c.status for c in standin.calls_to("chat.postMessage")] == [429, 200]
    (event,) = standin.rate_limit_events
    assert event.retry_after == 1
    assert event.retried_at is not None and event.retried_at - event.sent_at >= 1
    assert event.respected is True
    assert [m.text for m in standin.messages("C0SUPPORT")] == ["after the wait"]


async def test_without_a_retry_handler_the_429_reaches_the_caller(standin: SlackStandIn) -> None:
    standin.rate_limit("chat.update", retry_after=2)
    client = client_for(standin)
    posted = await client.chat_postMessage(channel="C0SUPPORT", text="x")
    with pytest.raises(SlackApiError) as limited:
        await client.chat_update(channel="C0SUPPORT", ts=posted["ts"], text="y")
    assert limited.value.response.status_code == 429
    assert limited.value.response["error"] == "ratelimited"
    assert limited.value.response.headers["Retry-After"] == "2"
    # Coming back before Retry-After has passed earns another 429, as on Slack.
    with pytest.raises(SlackApiError):
        await client.chat_update(channel="C0SUPPORT", ts=posted["ts"], text="y")
    first, early = standin.rate_limit_events
    assert first.respected is False
    assert early.reason == "retried too early"
    assert standin.messages("C0SUPPORT")[0].text == "x"


async def test_the_posting_limit_is_counted_or_enforced_per_channel() -> None:
    tick = FakeMonotonic()
    with populate(SlackStandIn(monotonic=tick, posting_burst=3)) as standin:
        client = client_for(standin)
        for i in range(4):
            await client.chat_postMessage(channel="C0SUPPORT", text=f"burst {i}")
        await client.chat_postMessage(channel="U0ALICE", text="another channel")
        assert standin.would_rate_limit == 1
        assert len(standin.messages("C0SUPPORT")) == 4  # counted, not refused

        standin.enforce_rate_limits = True
        with pytest.raises(SlackApiError) as limited:
            await client.chat_postMessage(channel="C0SUPPORT", text="too fast")
        assert limited.value.response.status_code == 429
        assert limited.value.response.headers["Retry-After"] == "1"
        tick.advance(1.0)
        await client.chat_postMessage(channel="C0SUPPORT", text="in time")
        (event,) = standin.rate_limit_events
        assert (event.channel, event.reason, event.respected) == (
            "C0SUPPORT",
            "posting limit",
            True,
        )
        assert standin.would_rate_limit == 2
        assert standin.messages("C0SUPPORT")[-1].text == "in time"


def _fault_pattern(seed: int) -> tuple[list[bool], int]:
    with populate(SlackStandIn(seed=seed)) as standin:
        standin.fail_rate(0.4, ["chat.postMessage"], kinds=["http_500", "error"])
        client = sync_client_for(standin)
        outcomes = []
        for i in range(30):
            try:
                client.chat_postMessage(channel="C0SUPPORT", text=f"m{i}")
                outcomes.append(True)
            except SlackApiError as error:
                assert error.response["error"] == "internal_error"
                assert error.response.status_code in (200, 500)
                outcomes.append(False)
        # Other methods are not part of the fault injection.
        assert client.auth_test()["ok"]
        return outcomes, len(standin.messages("C0SUPPORT"))


def test_fail_rate_is_deterministic_for_a_seed() -> None:
    first, posted = _fault_pattern(seed=7)
    again, _ = _fault_pattern(seed=7)
    other, _ = _fault_pattern(seed=8)
    assert first == again
    assert first != other
    assert 0 < first.count(False) < 30
    # A failed call did nothing: only the successes were posted.
    assert posted == first.count(True)


async def post_message(http: httpx.AsyncClient, standin: SlackStandIn, text: str) -> None:
    """chat.postMessage of `text` to #support, straight over HTTP."""
    await http.post(
        standin.base_url + "chat.postMessage",
        json={"channel": "C0SUPPORT", "text": text},
        headers={"Authorization": f"Bearer {TOKEN}"},
    )


async def test_dropped_answers_happen_after_the_call_took_effect(standin: SlackStandIn) -> None:
    standin.fail_rate(1.0, ["chat.postMessage"], kinds=["drop"])
    async with httpx.AsyncClient() as http:
        with pytest.raises(httpx.HTTPError):
            await post_message(http, standin, "lost answer")
    assert [m.text for m in standin.messages("C0SUPPORT")] == ["lost answer"]
    assert standin.calls_to("chat.postMessage")[0].fault == "drop"


async def test_slow_answers_outlast_a_short_client_timeout(standin: SlackStandIn) -> None:
    standin.fail_rate(1.0, ["chat.postMessage"], kinds=["slow"], slow_seconds=1.0)
    async with httpx.AsyncClient(timeout=0.2) as http:
        with pytest.raises(httpx.ReadTimeout):
            await post_message(http, standin, "late")
    assert [m.text for m in standin.messages("C0SUPPORT")] == ["late"]


async def test_fail_next_fails_exactly_n_calls_then_recovers(standin: SlackStandIn) -> None:
    standin.fail_next("views.publish", 2, error="fatal_error")
    client = client_for(standin)
    home = {"type": "home", "blocks": []}
    for _ in range(2):
        with pytest.raises(SlackApiError) as failed:
            await client.views_publish(user_id="U0ALICE", view=home)
        assert failed.value.response["error"] == "fatal_error"
    assert standin.home("U0ALICE") is None
    assert (await client.views_publish(user_id="U0ALICE", view=home))["ok"]
    assert standin.home("U0ALICE") is not None


# --------------------------------------------------------------------------- response_url


async def test_response_url_answers_are_recorded_and_shown(standin: SlackStandIn) -> None:
    side = SlackSide.for_standin(standin, SECRET)
    command = side.slash_command("/oncall", user_id="U0ALICE", channel_id="C0SUPPORT")
    assert command.response_url is not None and command.response_key is not None
    webhook = AsyncWebhookClient(command.response_url)
    private = await webhook.send(text="Bob is on call until Monday 09:00")
    public = await webhook.send(text="Bob is on call", response_type="in_channel")
    assert private.status_code == public.status_code == 200
    posts = standin.responses(command.response_key)
    assert [p.body["text"] for p in posts] == [
        "Bob is on call until Monday 09:00",
        "Bob is on call",
    ]
    assert [p.effect for p in posts] == ["ephemeral", "in_channel"]
    (ephemeral,) = standin.ephemerals("U0ALICE", "C0SUPPORT")
    assert ephemeral.text == "Bob is on call until Monday 09:00"
    assert ephemeral.source == "response_url"
    assert [m.text for m in standin.messages("C0SUPPORT")] == ["Bob is on call"]


async def test_response_url_replaces_or_deletes_the_clicked_message(
    standin: SlackStandIn,
) -> None:
    client = client_for(standin)
    card = _button(value="7")
    posted = await client.chat_postMessage(channel="C0SUPPORT", text="alert", blocks=[card])
    side = SlackSide.for_standin(standin, SECRET)
    click = _bob_acks(side, posted)
    assert click.response_url is not None
    await AsyncWebhookClient(click.response_url).send(text="Acked by bob", replace_original=True)
    (message,) = standin.messages("C0SUPPORT")
    assert message.text == "Acked by bob" and len(message.edits) == 1

    other = _bob_acks(side, posted)
    assert other.response_url is not None
    await AsyncWebhookClient(other.response_url).send(delete_original=True)
    assert standin.messages("C0SUPPORT") == []
    assert other.response_key is not None
    assert standin.responses(other.response_key)[0].effect == "deleted"


async def test_response_url_refuses_what_slack_refuses(standin: SlackStandIn) -> None:
    url = standin.response_url_for("k1", channel="C0SUPPORT", user="U0ALICE")
    async with httpx.AsyncClient() as http:
        empty = await http.post(url, json={"response_type": "ephemeral"})
        garbage = await http.post(url, content=b"not json")
    assert (empty.status_code, empty.text) == (400, "no_text")
    assert (garbage.status_code, garbage.text) == (400, "invalid_payload")
    assert standin.responses("k1") == []


# --------------------------------------------------------------------------- waiting


def test_wait_for_wakes_when_the_state_changes_from_another_thread(
    standin: SlackStandIn,
) -> None:
    def later() -> None:
        time.sleep(0.2)
        sync_client_for(standin).chat_postMessage(channel="U0BOB", text="your shift starts")

    threading.Thread(target=later).start()
    started = time.monotonic()
    dms = standin.wait_for(lambda s: s.dms("U0BOB"), timeout=5)
    assert [m.text for m in dms] == ["your shift starts"]
    assert time.monotonic() - started < 4


def test_wait_for_times_out_with_what_it_saw(standin: SlackStandIn) -> None:
    sync_client_for(standin).auth_test()
    with pytest.raises(TimeoutError, match=r"not met within 0.2s.*auth.test×1"):
        standin.wait_for(lambda s: s.dms("U0BOB"), timeout=0.2)


async def test_wait_for_async_does_not_block_the_loop(standin: SlackStandIn) -> None:
    client = client_for(standin)

    async def later() -> None:
        await asyncio.sleep(0.1)
        await client.chat_postMessage(channel="C0SUPPORT", text="handover")

    task = asyncio.create_task(later())
    messages = await standin.wait_for_async(lambda s: s.messages("C0SUPPORT"), timeout=5)
    await task
    assert [m.text for m in messages] == ["handover"]
    with pytest.raises(RuntimeError, match="wait_for_async"):
        standin.wait_for(lambda s: True)
    with pytest.raises(TimeoutError):
        await standin.wait_for_async(lambda s: s.dms("U0ALICE"), timeout=0.1)


def test_reset_forgets_the_conversation_but_keeps_the_workspace(standin: SlackStandIn) -> None:
    client = sync_client_for(standin)
    client.chat_postMessage(channel="C0SUPPORT", text="x")
    standin.fail_next("auth.test")
    standin.reset()
    assert standin.messages("C0SUPPORT") == [] and standin.calls == []
    assert client.auth_test()["ok"]  # the scripted failure went too
    assert {"U0ALICE", "U0BOB"} <= {u.id for u in standin.users()}
    assert client.chat_postMessage(channel="C0SUPPORT", text="y")["ok"]


# --------------------------------------------------------------------------- the server helper


def test_serve_in_thread_serves_on_an_ephemeral_port_until_stopped() -> None:
    async def hello(request: Request) -> Response:
        return PlainTextResponse("hello")

    app = Starlette(routes=[Route("/", hello)])
    with serve_in_thread(app) as server:
        assert server.port > 0 and server.url == f"http://127.0.0.1:{server.port}"
        assert httpx.get(server.url + "/").text == "hello"
        with pytest.raises(OSError, match=f"cannot listen on 127.0.0.1:{server.port}"):
            serve_in_thread(app, port=server.port)
    assert not server.running
    with pytest.raises(httpx.ConnectError):
        httpx.get(server.url + "/")


async def test_serving_is_an_async_context_manager() -> None:
    async def hello(request: Request) -> Response:
        return PlainTextResponse("hi")

    app = Starlette(routes=[Route("/", hello)])
    async with serving(app) as server, httpx.AsyncClient() as http:
        assert (await http.get(server.url + "/")).text == "hi"
    assert not server.running


# --------------------------------------------------------------------------- end to end with bolt


async def test_a_bolt_app_understands_slack_side_and_is_answered_by_the_standin(
    standin: SlackStandIn,
) -> None:
    bolt = AsyncApp(
        token=TOKEN,
        signing_secret=SECRET,
        client=AsyncWebClient(token=TOKEN, base_url=standin.base_url),
    )

    @bolt.command("/oncall")
    async def oncall(ack: Any, respond: Any, command: dict[str, Any], client: Any) -> None:
        await ack()
        await respond(f"asked: {command['text']}")
        await client.views_open(trigger_id=command["trigger_id"], view=MODAL)

    @bolt.view("swap-submit")
    async def submitted(ack: Any, view: dict[str, Any], body: dict[str, Any], client: Any) -> None:
        await ack()
        note = view["state"]["values"]["note"]["swap-note"]["value"]
        await client.chat_postMessage(channel=body["user"]["id"], text=f"noted: {note}")

    @bolt.event("app_home_opened")
    async def home(event: dict[str, Any], client: Any) -> None:
        await client.views_publish(user_id=event["user"], view={"type": "home", "blocks": []})

    @bolt.action("alert-ack")
    async def acked(ack: Any, body: dict[str, Any], client: Any) -> None:
        await ack()
        who = body["user"]["id"]
        await client.chat_update(
            channel=body["channel"]["id"], ts=body["message"]["ts"], text=f"acked by {who}"
        )

    handler = AsyncSlackRequestHandler(bolt)

    async def events(request: Request) -> Response:
        return await handler.handle(request)

    app = Starlette(routes=[Route("/slack/events", events, methods=["POST"])])
    side = SlackSide.for_standin(standin, SECRET, app=app)

    command = side.slash_command("/oncall", "week", user_id="U0ALICE", channel_id="C0SUPPORT")
    assert (await side.send(command)).status_code == 200
    assert command.response_key is not None
    key = command.response_key
    await standin.wait_for_async(lambda s: s.responses(key) and s.last_view("U0ALICE"))
    assert standin.responses(key)[0].body["text"] == "asked: week"

    opened = standin.last_view("U0ALICE")
    assert opened is not None
    submission = side.view_submission(
        user_id="U0ALICE", view=opened.view, answers={"swap-note": "thanks"}
    )
    assert (await side.send(submission)).status_code == 200
    dms = await standin.wait_for_async(lambda s: s.dms("U0ALICE"))
    assert dms[0].text == "noted: thanks"

    assert (await side.send(side.app_home_opened("U0BOB"))).status_code == 200
    await standin.wait_for_async(lambda s: s.home("U0BOB"))

    card = _button(value="7")
    posted = await client_for(standin).chat_postMessage(
        channel="C0SUPPORT", text="alert", blocks=[card]
    )
    click = _bob_acks(side, posted)
    assert (await side.send(click)).status_code == 200

    def card_edited(s: SlackStandIn) -> bool:
        found = s.message("C0SUPPORT", posted["ts"])
        return found is not None and found.edited

    await standin.wait_for_async(card_edited)
    assert standin.messages("C0SUPPORT")[-1].text == "acked by U0BOB"

    forged = SlackSide.for_standin(standin, "wrong-secret", app=app)
    assert (await forged.send(forged.app_home_opened("U0ALICE"))).status_code == 401


# --------------------------------------------------------------------------- what Slack refuses


def _bob_acks(side: SlackSide, posted: Any) -> SlackRequest:
    """Bob's click on the Acknowledge button of the card just posted in #support."""
    return side.block_action(
        "alert-ack",
        user_id="U0BOB",
        channel_id="C0SUPPORT",
        message_ts=posted["ts"],
        message_blocks=posted["message"]["blocks"],
    )


def _button(**changes: Any) -> dict[str, Any]:
    button = {
        "type": "button",
        "text": {"type": "plain_text", "text": "Acknowledge"},
        "action_id": "alert-ack",
        "value": '{"alert_id":1}',
    }
    return {"type": "actions", "elements": [{**button, **changes}]}


def _options(n: int, value: str = "v") -> list[dict[str, Any]]:
    return [
        {"text": {"type": "plain_text", "text": f"team {i}"}, "value": f"{value}{i}"}
        for i in range(n)
    ]


def _menu(**element: Any) -> dict[str, Any]:
    return {
        "type": "input",
        "label": {"type": "plain_text", "text": "Team"},
        "element": {"type": "static_select", "action_id": "escalate-team", **element},
    }


# Each row breaks one of Block Kit's limits by one, with the message Slack answers.
BLOCK_LIMITS = [
    (
        "button text, 75",
        _button(text={"type": "plain_text", "text": "x" * 76}),
        "[ERROR] must be less than 76 characters [json-pointer:/blocks/0/elements/0/text/text]",
    ),
    (
        "button value, 2000",
        _button(value="v" * 2001),
        "[ERROR] must be less than 2001 characters [json-pointer:/blocks/0/elements/0/value]",
    ),
    (
        "action_id, 255",
        _button(action_id="a" * 256),
        "[ERROR] must be less than 256 characters [json-pointer:/blocks/0/elements/0/action_id]",
    ),
    (
        "section field text, 2000",
        {"type": "section", "fields": [{"type": "mrkdwn", "text": "f" * 2001}]},
        "[ERROR] must be less than 2001 characters [json-pointer:/blocks/0/fields/0/text]",
    ),
    (
        "options in a select, 100",
        _menu(options=_options(101)),
        "[ERROR] no more than 100 items allowed [json-pointer:/blocks/0/element/options]",
    ),
    (
        "option value, 150",
        _menu(options=[{"text": {"type": "plain_text", "text": "a"}, "value": "v" * 151}]),
        "[ERROR] must be less than 151 characters [json-pointer:/blocks/0/element/options/0/value]",
    ),
    (
        "option groups, 100",
        _menu(
            option_groups=[
                {"label": {"type": "plain_text", "text": f"g{i}"}, "options": _options(1)}
                for i in range(101)
            ]
        ),
        "[ERROR] no more than 100 items allowed [json-pointer:/blocks/0/element/option_groups]",
    ),
    (
        "options in a group, 100",
        _menu(
            option_groups=[
                {"label": {"type": "plain_text", "text": "A-Z"}, "options": _options(101)}
            ]
        ),
        "[ERROR] no more than 100 items allowed "
        "[json-pointer:/blocks/0/element/option_groups/0/options]",
    ),
]


@pytest.mark.parametrize(
    ("limit", "block", "message"), BLOCK_LIMITS, ids=[r[0] for r in BLOCK_LIMITS]
)
async def test_block_kit_limits_are_refused_in_messages_like_slack(
    standin: SlackStandIn, limit: str, block: dict[str, Any], message: str
) -> None:
    client = client_for(standin)
    if block["type"] == "input":  # inputs live in modals; a message shows a menu in a section
        block = {
            "type": "section",
            "text": {"type": "mrkdwn", "text": "Pick"},
            "accessory": block["element"],
        }
        message = message.replace("/blocks/0/element/", "/blocks/0/accessory/")
    with pytest.raises(SlackApiError) as refused:
        await client.chat_postMessage(channel="C0SUPPORT", text="x", blocks=[block])
    assert refused.value.response["error"] == "invalid_blocks"
    assert refused.value.response["response_metadata"]["messages"] == [message]
    assert standin.messages("C0SUPPORT") == []


@pytest.mark.parametrize(
    ("limit", "block", "message"), BLOCK_LIMITS, ids=[r[0] for r in BLOCK_LIMITS]
)
async def test_block_kit_limits_are_refused_in_modals_like_slack(
    standin: SlackStandIn, limit: str, block: dict[str, Any], message: str
) -> None:
    view = dict(MODAL, blocks=[block])
    with pytest.raises(SlackApiError) as refused:
        await client_for(standin).views_open(trigger_id=standin.issue_trigger("U0ALICE"), view=view)
    assert refused.value.response["error"] == "invalid_arguments"
    expected = message.replace("json-pointer:/blocks/", "json-pointer:/view/blocks/")
    assert refused.value.response["response_metadata"]["messages"] == [expected]
    assert standin.last_view("U0ALICE") is None


async def test_the_largest_values_slack_takes_are_taken(standin: SlackStandIn) -> None:
    client = client_for(standin)
    blocks = [
        _button(
            text={"type": "plain_text", "text": "x" * 75}, value="v" * 2000, action_id="a" * 255
        ),
        {"type": "section", "fields": [{"type": "mrkdwn", "text": "f" * 2000}]},
    ]
    await client.chat_postMessage(channel="C0SUPPORT", text="x", blocks=blocks)
    view = dict(
        MODAL,
        private_metadata="m" * 3000,
        blocks=[_menu(options=_options(99, value="v" * 148))],
    )
    await client.views_open(trigger_id=standin.issue_trigger("U0ALICE"), view=view)
    assert len(standin.messages("C0SUPPORT")) == 1
    assert standin.last_view("U0ALICE") is not None


async def test_a_modal_keeps_3000_characters_of_metadata_and_24_of_title_and_buttons(
    standin: SlackStandIn,
) -> None:
    client = client_for(standin)
    cases = [
        ({"private_metadata": "m" * 3001}, "/view/private_metadata", 3001),
        ({"title": {"type": "plain_text", "text": "t" * 25}}, "/view/title/text", 25),
        ({"submit": {"type": "plain_text", "text": "s" * 25}}, "/view/submit/text", 25),
        ({"close": {"type": "plain_text", "text": "c" * 25}}, "/view/close/text", 25),
        ({"callback_id": "c" * 256}, "/view/callback_id", 256),
    ]
    for change, pointer, length in cases:
        with pytest.raises(SlackApiError) as refused:
            await client.views_open(
                trigger_id=standin.issue_trigger("U0ALICE"), view=dict(MODAL, **change)
            )
        assert refused.value.response["error"] == "invalid_arguments"
        assert refused.value.response["response_metadata"]["messages"] == [
            f"[ERROR] must be less than {length} characters [json-pointer:{pointer}]"
        ]
    huge = {"type": "section", "text": {"type": "mrkdwn", "text": "x" * 2900}}
    with pytest.raises(SlackApiError) as too_large:
        await client.views_open(
            trigger_id=standin.issue_trigger("U0ALICE"), view=dict(MODAL, blocks=[huge] * 90)
        )
    assert too_large.value.response["error"] == "view_too_large"
    assert standin.last_view("U0ALICE") is None


async def test_a_trigger_dies_after_3_seconds_and_opens_one_view() -> None:
    tick = FakeMonotonic()
    with populate(SlackStandIn(monotonic=tick)) as standin:
        client = client_for(standin)
        trigger = standin.issue_trigger("U0ALICE")
        tick.advance(3.0)
        opened = await client.views_open(trigger_id=trigger, view=MODAL)
        with pytest.raises(SlackApiError) as again:
            await client.views_open(trigger_id=trigger, view=MODAL)
        assert again.value.response["error"] == "exchanged_trigger_id"
        late = standin.issue_trigger("U0ALICE")
        tick.advance(3.01)
        with pytest.raises(SlackApiError) as expired:
            await client.views_open(trigger_id=late, view=MODAL)
        assert expired.value.response["error"] == "expired_trigger_id"
        assert [v["id"] for v in standin.open_views("U0ALICE")] == [opened["view"]["id"]]


async def test_the_bot_posts_only_where_it_was_invited() -> None:
    with populate(SlackStandIn()) as standin:
        standin.add_channel("C0SALES", "sales", members=["U0ALICE"], bot_member=False)
        standin.add_channel("G0SECRET", "secret", bot_member=False)
        client = client_for(standin)
        for channel, error in [("C0SALES", "not_in_channel"), ("G0SECRET", "channel_not_found")]:
            with pytest.raises(SlackApiError) as refused:
                await client.chat_postMessage(channel=channel, text="alert")
            assert refused.value.response["error"] == error
        with pytest.raises(SlackApiError) as history:
            await client.conversations_history(channel="C0SALES")
        assert history.value.response["error"] == "not_in_channel"
        info = (await client.conversations_info(channel="C0SALES"))["channel"]
        assert (info["is_member"], info["is_archived"], info["is_private"]) == (
            False,
            False,
            False,
        )
        with pytest.raises(SlackApiError) as hidden:
            await client.conversations_info(channel="G0SECRET")
        assert hidden.value.response["error"] == "channel_not_found"

        standin.invite_bot("C0SALES")
        await client.chat_postMessage(channel="C0SALES", text="alert")
        assert (await client.conversations_info(channel="C0SALES"))["channel"]["is_member"]
        assert [m.text for m in standin.messages("#sales")] == ["alert"]
        standin.remove_bot("#sales")
        assert standin.is_bot_member("C0SALES") is False


async def test_an_archived_channel_takes_no_post_and_no_edit(standin: SlackStandIn) -> None:
    client = client_for(standin)
    posted = await client.chat_postMessage(channel="C0SUPPORT", text="card")
    standin.archive_channel("C0SUPPORT")
    with pytest.raises(SlackApiError) as post:
        await client.chat_postMessage(channel="C0SUPPORT", text="another")
    assert post.value.response["error"] == "is_archived"
    with pytest.raises(SlackApiError) as edit:
        await client.chat_update(channel="C0SUPPORT", ts=posted["ts"], text="edited")
    assert edit.value.response["error"] == "is_inactive"
    assert (await client.conversations_info(channel="C0SUPPORT"))["channel"]["is_archived"]
    assert [m.text for m in standin.messages("C0SUPPORT")] == ["card"]


async def test_a_deactivated_user_is_deleted_and_cannot_be_messaged(standin: SlackStandIn) -> None:
    client = client_for(standin)
    standin.deactivate_user("U0BOB")
    assert (await client.users_info(user="U0BOB"))["user"]["deleted"] is True
    assert (await client.users_info(user="U0ALICE"))["user"]["deleted"] is False
    with pytest.raises(SlackApiError) as refused:
        await client.conversations_open(users="U0BOB")
    assert refused.value.response["error"] == "user_disabled"


@pytest.mark.parametrize(
    ("settings", "error"),
    [
        ({"plan": "free"}, "plan_upgrade_required"),
        ({"usergroups_admins_only": True}, "permission_denied"),
    ],
)
async def test_user_groups_cannot_be_written_on_a_free_or_locked_workspace(
    settings: dict[str, Any], error: str
) -> None:
    with populate(SlackStandIn(**settings)) as standin:
        client = client_for(standin)
        with pytest.raises(SlackApiError) as refused:
            await client.usergroups_users_update(usergroup="S0ONCALL", users=["U0ALICE"])
        assert refused.value.response["error"] == error
        assert standin.usergroup_users("S0ONCALL") == []
        assert (await client.usergroups_users_list(usergroup="S0ONCALL"))["users"] == []
        # A paid plan, or editing opened to everyone, and the same call goes through.
        standin.plan, standin.usergroups_admins_only = "pro", False
        await client.usergroups_users_update(usergroup="S0ONCALL", users=["U0ALICE"])
        assert (await client.usergroups_users_list(usergroup="S0ONCALL"))["users"] == ["U0ALICE"]
    with pytest.raises(ValueError, match="plan must be one of"):
        SlackStandIn(plan="gold")


async def test_chat_update_keeps_to_tier_3_per_workspace() -> None:
    tick = FakeMonotonic()
    with populate(SlackStandIn(monotonic=tick)) as standin:
        standin.add_channel("C0OPS", "ops")
        client = client_for(standin)
        cards = [
            await client.chat_postMessage(channel=channel, text="card")
            for channel in ("C0SUPPORT", "C0OPS")
        ]
        # A burst of 50 edits, over two channels: Tier 3 counts them per workspace.
        for i in range(50):
            card = cards[i % 2]
            await client.chat_update(channel=card["channel"], ts=card["ts"], text=f"seen {i}")
        with pytest.raises(SlackApiError) as limited:
            await client.chat_update(channel="C0OPS", ts=cards[1]["ts"], text="one too many")
        assert limited.value.response.status_code == 429
        assert limited.value.response["error"] == "ratelimited"
        wait = int(limited.value.response.headers["Retry-After"])
        assert wait == 2  # 50 a minute come back at one every 1.2 s
        tick.advance(wait)
        await client.chat_update(channel="C0OPS", ts=cards[1]["ts"], text="in time")
        assert standin.messages("C0OPS")[0].text == "in time"
        (event,) = standin.rate_limit_events
        assert (event.method, event.reason, event.respected) == ("chat.update", "rate tier", True)


async def test_a_method_outside_the_apps_scopes_is_refused_missing_scope() -> None:
    with populate(SlackStandIn(scopes=["chat:write"])) as standin:
        client = client_for(standin)
        with pytest.raises(SlackApiError) as refused:
            await client.conversations_info(channel="C0SUPPORT")
        assert refused.value.response["error"] == "missing_scope"
        assert refused.value.response["needed"] == "channels:read"
        assert refused.value.response["provided"] == "chat:write"
        await client.chat_postMessage(channel="C0SUPPORT", text="still allowed")
