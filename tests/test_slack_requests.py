"""Signed Slack requests: byte-compatible with what Slack sends, verifiable like Slack's."""

from __future__ import annotations

import json
import time
from datetime import date
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest
from slack_sdk.signature import SignatureVerifier
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bot.sandbox.identity import WorkspaceIdentity
from bot.sandbox.slack_requests import (
    FORM,
    JSON,
    SlackRequest,
    SlackSide,
    find_element,
    sign,
    state_values_from,
)
from tests.conftest import fixture_bytes

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"

# The worked example of Slack's "Verifying requests from Slack": a real slash command body,
# its timestamp and the signature Slack computed for it.
DOC_TIMESTAMP = 1531420618
DOC_BODY = (
    b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow"
    b"&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner"
    b"&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands"
    b"%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
    b"&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
)
DOC_SIGNATURE = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"


def fixture_side() -> SlackSide:
    """A SlackSide for the workspace of the bolt-python fixtures (team T111 in org E111)."""
    return SlackSide(
        SECRET,
        identity=WorkspaceIdentity(
            team_id="T111", team_domain="workspace-domain", app_id="A111", bot_id="B111"
        ),
        verification_token="verification_token",
        enterprise_id="E111",
        enterprise_name="Sandbox Org",
    )


def verifies(request: SlackRequest, secret: str = SECRET) -> bool:
    return SignatureVerifier(secret).is_valid(
        request.body,
        request.headers["X-Slack-Request-Timestamp"],
        request.headers["X-Slack-Signature"],
    )


# --------------------------------------------------------------------------- slash commands


def test_slash_command_reproduces_slacks_documented_example_and_signature() -> None:
    side = SlackSide(
        SECRET,
        identity=WorkspaceIdentity(team_id="T1DC2JH3J", team_domain="testteamnow"),
        verification_token="xyzz0WbapA4vBCDEFasx0q6G",
    )
    request = side.slash_command(
        "/webhook-collect",
        "",
        user_id="U2CERLKJA",
        user_name="roadrunner",
        channel_id="G8PSS9T3V",
        channel_name="foobar",
        response_url="https://hooks.slack.com/commands/T1DC2JH3J/397700885554/96rGlfmibIGlgcZRskXaIFfN",
        trigger_id="398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c",
        timestamp=DOC_TIMESTAMP,
    )
    body, headers = request
    assert body == DOC_BODY
    assert headers["X-Slack-Signature"] == DOC_SIGNATURE
    assert headers["X-Slack-Request-Timestamp"] == str(DOC_TIMESTAMP)
    assert headers["Content-Type"] == FORM


def test_slash_command_in_an_enterprise_workspace_is_the_fixture_byte_for_byte() -> None:
    side = SlackSide(
        SECRET,
        identity=WorkspaceIdentity(team_id="T111", team_domain="test-domain"),
        verification_token="verification_token",
        enterprise_id="E111",
        enterprise_name="Org Name",
    )
    request = side.slash_command(
        "/hello-world",
        "Hi",
        user_id="W111",
        user_name="primary-owner",
        channel_id="C111",
        channel_name="random",
        response_url="https://hooks.slack.com/commands/T111/111/xxxxx",
        trigger_id="111.111.xxx",
    )
    assert request.body == fixture_bytes("slack/slash_command.form-body.txt")
    assert verifies(request)


def test_slash_command_outside_enterprise_grid_has_the_fixture_fields_but_enterprise() -> None:
    fixture = parse_qsl(fixture_bytes("slack/slash_command.form-body.txt").decode())
    expected = [k for k, _ in fixture if not k.startswith("enterprise_")]
    side = SlackSide(SECRET)
    request = side.slash_command("/oncall", "week", user_id="U0ALICE", channel_id="C0SUPPORT")
    fields = parse_qsl(request.body.decode(), keep_blank_values=True)
    assert [k for k, _ in fields] == expected
    values = dict(fields)
    assert values["command"] == "/oncall"
    assert values["text"] == "week"
    assert values["team_id"] == "T0SANDBOX"
    assert values["response_url"] == request.response_url
    assert values["trigger_id"] == request.trigger_id


def test_slash_command_text_with_mentions_and_spaces_round_trips() -> None:
    text = "@bob 2026-11-28 2026-12-05 <@U0BOB|bob> & more"
    request = SlackSide(SECRET).slash_command(
        "/swap", text, user_id="U0ALICE", channel_id="C0SUPPORT"
    )
    assert request.payload()["text"] == text
    assert b"+" in request.body  # spaces are form-encoded as Slack does


def test_slash_command_rejects_bad_input_with_a_clear_error() -> None:
    side = SlackSide(SECRET)
    with pytest.raises(ValueError, match="must be one word starting with '/'"):
        side.slash_command("oncall", user_id="U0ALICE", channel_id="C0SUPPORT")
    with pytest.raises(ValueError, match="user id 'alice'"):
        side.slash_command("/oncall", user_id="alice", channel_id="C0SUPPORT")
    with pytest.raises(ValueError, match="channel id '#support'"):
        side.slash_command("/oncall", user_id="U0ALICE", channel_id="#support")
    with pytest.raises(ValueError, match="signing secret"):
        SlackSide("")


# --------------------------------------------------------------------------- signatures


def test_every_kind_of_request_verifies_with_slack_sdks_verifier() -> None:
    side = SlackSide(SECRET)
    requests = [
        side.slash_command("/oncall", user_id="U0ALICE", channel_id="C0SUPPORT"),
        side.block_action(
            "alert-ack", "42", user_id="U0ALICE", channel_id="C0SUPPORT", message_ts="1.000100"
        ),
        side.view_submission(user_id="U0ALICE", callback_id="swap-submit"),
        side.event_callback({"type": "app_home_opened", "user": "U0ALICE"}),
    ]
    for request in requests:
        assert verifies(request), request.headers
        assert not verifies(request, secret="another-secret")
        tampered = SlackRequest(request.body + b"x", request.headers)
        assert not verifies(tampered)


def test_a_request_older_than_five_minutes_is_refused_by_the_verifier() -> None:
    side = SlackSide(SECRET)
    stale = side.slash_command(
        "/oncall", user_id="U0ALICE", channel_id="C0SUPPORT", timestamp=int(time.time()) - 6 * 60
    )
    fresh = side.slash_command(
        "/oncall", user_id="U0ALICE", channel_id="C0SUPPORT", timestamp=int(time.time()) - 4 * 60
    )
    assert not verifies(stale)
    assert verifies(fresh)


def test_sign_refuses_an_empty_secret() -> None:
    with pytest.raises(ValueError, match="signing secret"):
        sign(b"body", "", 1)


# --------------------------------------------------------------------------- block actions


def test_block_action_on_an_ephemeral_message_is_the_fixture_byte_for_byte() -> None:
    request = fixture_side().block_action(
        "a",
        "click_me_123",
        user_id="W111",
        user_name="primary-owner",
        channel_id="C111",
        channel_name="test-channel",
        message_ts="111.222",
        is_ephemeral=True,
        block_id="b",
        text="Button",
        response_url="https://hooks.slack.com/actions/T111/111/random-value",
        trigger_id="111.222.valid",
        action_ts="1596530385.194939",
    )
    assert request.body == fixture_bytes("slack/block_actions_button.form-body.txt")
    assert request.payload() == json.loads(fixture_bytes("slack/block_actions_button.json"))


def test_block_action_describes_the_clicked_element_and_shows_the_message() -> None:
    blocks: list[dict[str, Any]] = [
        {"type": "section", "block_id": "head", "text": {"type": "mrkdwn", "text": "*Alert*"}},
        {
            "type": "actions",
            "block_id": "buttons",
            "elements": [
                {
                    "type": "button",
                    "action_id": "alert-ack",
                    "text": {"type": "plain_text", "text": "Acknowledge"},
                    "value": "alert:7",
                    "style": "primary",
                },
                {
                    "type": "button",
                    "action_id": "alert-resolve",
                    "text": {"type": "plain_text", "text": "Resolve"},
                    "value": "alert:7",
                },
            ],
        },
    ]
    request = SlackSide(SECRET).block_action(
        "alert-ack",
        user_id="U0ALICE",
        channel_id="C0SUPPORT",
        message_ts="1700000000.000100",
        message_blocks=blocks,
        message_text="Alert",
    )
    payload = request.payload()
    fixture = json.loads(fixture_bytes("slack/block_actions_button.json"))
    assert set(fixture) | {"message", "state"} == set(payload)
    (action,) = payload["actions"]
    assert action["block_id"] == "buttons"
    assert action["value"] == "alert:7"
    assert action["text"] == {"type": "plain_text", "text": "Acknowledge"}
    assert action["type"] == "button"
    assert action["style"] == "primary"
    assert payload["message"]["blocks"] == blocks
    assert payload["message"]["ts"] == "1700000000.000100"
    assert payload["container"]["is_ephemeral"] is False


def test_block_action_names_the_action_ids_present_when_the_element_is_missing() -> None:
    blocks = [
        {"type": "actions", "block_id": "b1", "elements": [{"type": "button", "action_id": "x"}]}
    ]
    with pytest.raises(ValueError, match=r"'alert-ack'.*b1/x"):
        SlackSide(SECRET).block_action(
            "alert-ack",
            user_id="U0ALICE",
            channel_id="C0SUPPORT",
            message_ts="1.1",
            message_blocks=blocks,
        )
    with pytest.raises(ValueError, match="needs channel_id and message_ts"):
        SlackSide(SECRET).block_action("alert-ack", "1", user_id="U0ALICE")


def test_block_action_in_a_modal_carries_the_view_not_a_message() -> None:
    view = {
        "id": "V00000001",
        "type": "modal",
        "blocks": [
            {
                "type": "section",
                "block_id": "pick",
                "text": {"type": "mrkdwn", "text": "Shift"},
                "accessory": {
                    "type": "static_select",
                    "action_id": "swap-shift",
                    "options": [
                        {"text": {"type": "plain_text", "text": "28 Nov"}, "value": "2026-11-28"}
                    ],
                },
            }
        ],
    }
    option = view["blocks"][0]["accessory"]["options"][0]  # type: ignore[index]
    payload = (
        SlackSide(SECRET)
        .block_action(
            "swap-shift", user_id="U0ALICE", view=view, selected={"selected_option": option}
        )
        .payload()
    )
    assert payload["container"] == {"type": "view", "view_id": "V00000001"}
    assert payload["view"]["id"] == "V00000001"
    assert "message" not in payload and "response_url" not in payload
    assert payload["actions"][0]["selected_option"]["value"] == "2026-11-28"
    assert payload["actions"][0]["type"] == "static_select"


# --------------------------------------------------------------------------- view submissions


def test_view_submission_is_the_fixture_byte_for_byte() -> None:
    fixture = json.loads(fixture_bytes("slack/view_submission.json"))
    request = fixture_side().view_submission(
        user_id="W111",
        user_name="primary-owner",
        view_id="V111",
        blocks=fixture["view"]["blocks"],
        private_metadata="This is for you!",
        callback_id="view-id",
        state_values={"hspI": {"maBWU": {"type": "plain_text_input", "value": "test"}}},
        hash="1596530361.3wRYuk3R",
        title="My App",
        trigger_id="111.222.valid",
    )
    assert request.body == fixture_bytes("slack/view_submission.form-body.txt")
    assert request.payload() == fixture


def test_view_submission_from_an_opened_view_answers_like_slack() -> None:
    opened = {
        "id": "V00000007",
        "type": "modal",
        "callback_id": "swap-submit",
        "private_metadata": '{"team": "support"}',
        "hash": "1700000000.abc",
        "title": {"type": "plain_text", "text": "Swap a shift"},
        "blocks": [
            {
                "type": "input",
                "block_id": "mate",
                "label": {"type": "plain_text", "text": "Teammate"},
                "element": {"type": "users_select", "action_id": "swap-mate"},
            },
            {
                "type": "input",
                "block_id": "day",
                "label": {"type": "plain_text", "text": "Their shift"},
                "element": {"type": "datepicker", "action_id": "swap-day"},
            },
            {
                "type": "input",
                "block_id": "why",
                "optional": True,
                "label": {"type": "plain_text", "text": "Note"},
                "element": {"type": "plain_text_input", "action_id": "swap-note"},
            },
        ],
    }
    payload = (
        SlackSide(SECRET)
        .view_submission(
            user_id="U0ALICE",
            view=opened,
            answers={"swap-mate": "U0BOB", "swap-day": date(2026, 12, 5)},
        )
        .payload()
    )
    view = payload["view"]
    assert view["id"] == "V00000007"
    assert view["callback_id"] == "swap-submit"
    assert view["private_metadata"] == '{"team": "support"}'
    assert view["hash"] == "1700000000.abc"
    assert view["state"]["values"] == {
        "mate": {"swap-mate": {"type": "users_select", "selected_user": "U0BOB"}},
        "day": {"swap-day": {"type": "datepicker", "selected_date": "2026-12-05"}},
        "why": {"swap-note": {"type": "plain_text_input", "value": None}},
    }
    fixture = json.loads(fixture_bytes("slack/view_submission.json"))
    assert set(payload) == set(fixture)
    assert set(view) == set(fixture["view"])


def test_state_values_pick_options_by_value_and_name_what_is_wrong() -> None:
    blocks = [
        {
            "type": "input",
            "block_id": "sev",
            "element": {
                "type": "static_select",
                "action_id": "severity",
                "options": [
                    {"text": {"type": "plain_text", "text": "Critical"}, "value": "critical"},
                    {"text": {"type": "plain_text", "text": "Warning"}, "value": "warning"},
                ],
            },
        }
    ]
    values = state_values_from(blocks, {"severity": "warning"})
    assert values["sev"]["severity"]["selected_option"]["value"] == "warning"
    with pytest.raises(ValueError, match="no option with value 'minor'.*'critical', 'warning'"):
        state_values_from(blocks, {"severity": "minor"})
    with pytest.raises(ValueError, match="not in the view: colour"):
        state_values_from(blocks, {"colour": "red"})
    with pytest.raises(ValueError, match="state_values or answers"):
        SlackSide(SECRET).view_submission(user_id="U0ALICE", state_values={}, answers={})


def test_find_element_filters_by_block_id() -> None:
    blocks = [
        {"type": "actions", "block_id": "one", "elements": [{"type": "button", "action_id": "a"}]},
        {"type": "actions", "block_id": "two", "elements": [{"type": "button", "action_id": "a"}]},
    ]
    assert find_element(blocks, "a")[0] == "one"
    assert find_element(blocks, "a", "two")[0] == "two"


# --------------------------------------------------------------------------- events


def test_event_callback_is_json_and_a_retry_repeats_it_with_retry_headers() -> None:
    side = SlackSide(SECRET)
    first = side.event_callback({"type": "app_home_opened", "user": "U0ALICE", "tab": "home"})
    assert first.headers["Content-Type"] == JSON
    payload = first.payload()
    assert payload["type"] == "event_callback"
    assert payload["event"]["user"] == "U0ALICE"
    assert payload["event_id"] == first.event_id
    assert payload["authorizations"][0]["user_id"] == "U0WKBOT"
    assert "X-Slack-Retry-Num" not in first.headers

    again = side.retried(first, 1)
    assert again.body == first.body
    # Slack retries after its 3-second timeout, signing the retry anew: never the same signature.
    stamp = int(first.headers["X-Slack-Request-Timestamp"])
    assert int(again.headers["X-Slack-Request-Timestamp"]) >= stamp + 3
    assert again.headers["X-Slack-Signature"] != first.headers["X-Slack-Signature"]
    assert again.headers["X-Slack-Retry-Num"] == "1"
    assert again.headers["X-Slack-Retry-Reason"] == "http_timeout"
    assert verifies(again)

    second = side.event_callback(
        {"type": "app_home_opened", "user": "U0ALICE"}, event_id="Ev0SAME", retry_num=2
    )
    assert second.payload()["event_id"] == "Ev0SAME"
    assert second.headers["X-Slack-Retry-Num"] == "2"
    assert second.event_id != first.event_id


def test_app_home_opened_names_the_users_dm_channel() -> None:
    payload = SlackSide(SECRET).app_home_opened("U0ALICE").payload()
    assert payload["event"]["type"] == "app_home_opened"
    assert payload["event"]["channel"] == "D0ALICE"
    assert payload["event"]["tab"] == "home"
    with pytest.raises(ValueError, match="tab must be"):
        SlackSide(SECRET).app_home_opened("U0ALICE", tab="about")
    with pytest.raises(ValueError, match="needs a type"):
        SlackSide(SECRET).event_callback({"user": "U0ALICE"})


# --------------------------------------------------------------------------- sending


async def test_send_delivers_the_exact_bytes_and_headers_to_the_bot() -> None:
    seen: list[dict[str, Any]] = []

    async def events(request: Request) -> JSONResponse:
        body = await request.body()
        valid = SignatureVerifier(SECRET).is_valid(
            body,
            request.headers.get("x-slack-request-timestamp"),
            request.headers.get("x-slack-signature"),
        )
        seen.append({"body": body, "valid": valid, "type": request.headers["content-type"]})
        return JSONResponse({"ok": valid}, status_code=200 if valid else 401)

    bot = Starlette(routes=[Route("/slack/events", events, methods=["POST"])])
    side = SlackSide(SECRET, app=bot)
    command = side.slash_command("/oncall", "me", user_id="U0ALICE", channel_id="C0SUPPORT")
    answer = await side.send(command)
    assert answer.status_code == 200
    assert seen[0] == {"body": command.body, "valid": True, "type": FORM}

    forged = SlackSide("not-the-secret", app=bot)
    refused = await forged.send(forged.app_home_opened("U0ALICE"))
    assert refused.status_code == 401

    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=bot), base_url="http://bot"
    ) as client:
        event = side.app_home_opened("U0ALICE")
        assert (await side.send(event, client)).status_code == 200
    assert seen[-1]["type"] == JSON
