"""Slack's failures, sorted as its documentation says: answers from the stand-in through
slack_sdk's real client, and network failures as aiohttp raises them; and what the pager holder
is told of a problem."""

from __future__ import annotations

from collections.abc import Iterator

import aiohttp
import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.sandbox.standin.app import SlackStandIn
from bot.slack.blocks.problems import problem_notice
from bot.slack.errors import Kind, Problem, SlackFailure, classify, rate_scope
from tests.harness import message_text, validate_blocks

TOKEN = "xoxb-errors"


@pytest.fixture
def standin() -> Iterator[SlackStandIn]:
    server = SlackStandIn(token=TOKEN).start()
    server.add_channel("C0SUPPORT", "support")
    try:
        yield server
    finally:
        server.stop()


async def failure_of(standin: SlackStandIn, error: str, status: int = 200) -> SlackFailure:
    """How a chat.postMessage Slack answers with ``error`` (and ``status``) is sorted."""
    standin.fail_next("chat.postMessage", error=error, status=status)
    client = AsyncWebClient(token=TOKEN, base_url=standin.base_url, retry_handlers=[])
    with pytest.raises(Exception) as raised:
        await client.chat_postMessage(channel="C0SUPPORT", text="hello")
    failure = classify("chat.postMessage", raised.value)
    assert failure is not None
    return failure


@pytest.mark.parametrize(
    ("error", "status", "kind", "problem", "may_have_succeeded"),
    [
        # No retry mends these: say what is wrong, once.
        ("not_in_channel", 200, Kind.permanent, Problem.not_member, False),
        ("channel_not_found", 200, Kind.permanent, Problem.unknown_channel, False),
        ("is_archived", 200, Kind.permanent, Problem.archived, False),
        ("restricted_action", 200, Kind.permanent, Problem.restricted, False),
        ("invalid_blocks", 200, Kind.permanent, Problem.refused, False),
        ("msg_too_long", 200, Kind.permanent, Problem.refused, False),
        ("invalid_auth", 200, Kind.permanent, Problem.token, False),
        ("account_inactive", 200, Kind.permanent, Problem.token, False),
        ("hash_conflict", 200, Kind.permanent, Problem.view_changed, False),
        ("not_found", 200, Kind.permanent, Problem.view_changed, False),
        # Passing troubles. Slack says internal_error and fatal_error may have done the work.
        ("internal_error", 200, Kind.transient, None, True),
        ("fatal_error", 200, Kind.transient, None, True),
        ("service_unavailable", 200, Kind.transient, None, False),
        ("request_timeout", 200, Kind.transient, None, False),
        ("internal_error", 500, Kind.transient, None, True),
        ("service_unavailable", 503, Kind.transient, None, True),
        # A 5xx that names a permanent error came from behind Slack's front: not to be trusted.
        ("channel_not_found", 502, Kind.transient, None, True),
        # Nothing Slack documents: a few tries.
        ("brand_new_error", 200, Kind.unknown, None, False),
    ],
)
async def test_slack_answers_are_sorted_as_slack_documents_them(
    standin: SlackStandIn,
    error: str,
    status: int,
    kind: Kind,
    problem: Problem | None,
    may_have_succeeded: bool,
) -> None:
    failure = await failure_of(standin, error, status)
    assert (failure.kind, failure.problem, failure.may_have_succeeded) == (
        kind,
        problem,
        may_have_succeeded,
    )
    assert failure.code == error


async def test_a_429_says_how_long_to_wait_and_that_nothing_was_done(
    standin: SlackStandIn,
) -> None:
    standin.rate_limit("chat.postMessage", retry_after=7)
    client = AsyncWebClient(token=TOKEN, base_url=standin.base_url, retry_handlers=[])
    with pytest.raises(Exception) as raised:
        await client.chat_postMessage(channel="C0SUPPORT", text="hello")
    failure = classify("chat.postMessage", raised.value)
    assert failure is not None
    assert (failure.kind, failure.retry_after, failure.may_have_succeeded) == (
        Kind.rate_limited,
        7.0,
        False,
    )


@pytest.mark.parametrize(
    ("error", "may_have_succeeded"),
    [
        # The request never left: nothing can have been posted.
        (aiohttp.ClientConnectorError(None, OSError(111, "Connection refused")), False),  # type: ignore[arg-type]
        # Sent, and the answer lost: it may have been posted.
        (aiohttp.ServerDisconnectedError(), True),
        (aiohttp.ClientPayloadError("Response payload is not completed"), True),
        (TimeoutError(), True),
    ],
)
def test_network_failures_are_passing_and_say_whether_the_request_left(
    error: Exception, may_have_succeeded: bool
) -> None:
    failure = classify("chat.postMessage", error)
    assert failure is not None
    assert (failure.kind, failure.may_have_succeeded) == (Kind.transient, may_have_succeeded)


def test_a_bug_is_no_slack_failure() -> None:
    assert classify("chat.postMessage", KeyError("ts")) is None


def test_slack_holds_one_channel_for_posts_and_the_method_otherwise() -> None:
    assert rate_scope("chat.postMessage", "C0A") != rate_scope("chat.postMessage", "C0B")
    assert rate_scope("chat.update", "C0A") == rate_scope("chat.update", "C0B")
    assert rate_scope("conversations.open") == "conversations.open"


@pytest.mark.parametrize("problem", list(Problem))
def test_each_problem_someone_can_mend_is_said_in_valid_blocks(problem: Problem) -> None:
    notice = problem_notice(problem, "C0SUPPORT", "Customer support", "some_error")
    if problem in (Problem.message_gone, Problem.token, Problem.view_changed):
        # A card deleted by hand or a modal closed needs nothing; a refused token cannot carry
        # any message.
        assert notice is None
        return
    assert notice is not None
    validate_blocks(notice["blocks"])
    assert "C0SUPPORT" in notice["text"] and "C0SUPPORT" in message_text(notice)
    assert "alerts still reach whoever holds the pager by DM" in message_text(notice)
