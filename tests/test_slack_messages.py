"""Writing in the DM with the bot: a message gets one answer saying what to type, "who is on call"
the answer to /oncall; the bot never answers bots, edits or a retried event."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.slack.blocks.commands import SUMMARIES
from tests.harness import message_text, slack_harness
from tests.support.setup_files import SUPPORT_AND_INFRA as PLAN

SATURDAY_NIGHT = datetime(2026, 11, 28, 20, 0, tzinfo=UTC)  # the CEO's weekend, 21:00 Paris


async def test_a_message_in_the_dm_gets_one_answer_saying_what_to_type(tmp_path: Path) -> None:
    async with slack_harness(PLAN, tmp_path=tmp_path, now=SATURDAY_NIGHT) as h:
        sent = h.slack.direct_message("U0BOB", "the checkout is down, help!")
        assert (await h.send(sent)).status == 200
        # Slack thought the first delivery timed out and sends it again: still one answer.
        assert (await h.send(h.slack.retried(sent))).status == 200

        (answer,) = h.standin.dms("U0BOB")
        text = message_text(answer)
        assert "I only read slash commands, so that message paged nobody." in text
        for command, summary in SUMMARIES.items():
            assert f"`{command.value}` — {summary}" in text
        assert "`/oncall help` shows every way to type them." in text
        h.assert_all_valid()


@pytest.mark.parametrize("typed", ["who is on call?", "oncall", "Who's on call now", "on call"])
async def test_asking_who_is_on_call_without_the_slash_gets_the_answer_to_oncall(
    tmp_path: Path, typed: str
) -> None:
    async with slack_harness(PLAN, tmp_path=tmp_path, now=SATURDAY_NIGHT) as h:
        await h.send(h.slack.direct_message("U0ALICE", typed))
        (answer,) = h.standin.dms("U0ALICE")
        text = message_text(answer)
        assert "*Customer support*: <@U0CEO> is on call now" in text
        assert "That is what `/oncall` answers: next time, type it with the slash." in text
        # The notification shows the text: a name, not the raw mention.
        assert answer.text.startswith("Customer support: ceo is on call now")
        assert "<@" not in answer.text


async def test_oncall_words_without_the_slash_read_like_the_command(tmp_path: Path) -> None:
    async with slack_harness(PLAN, tmp_path=tmp_path, now=SATURDAY_NIGHT) as h:
        await h.send(h.slack.direct_message("U0ALICE", "oncall infra week"))
        (answer,) = h.standin.dms("U0ALICE")
        assert "Infrastructure: the next seven days" in message_text(answer)


async def test_the_bot_answers_no_bot_no_edit_and_no_other_conversation(tmp_path: Path) -> None:
    async with slack_harness(PLAN, tmp_path=tmp_path, now=SATURDAY_NIGHT) as h:
        bot_user, bot_id = h.standin.identity.bot_user_id, h.standin.identity.bot_id
        ignored = [
            # The bot's own answer, as Slack echoes it to the app.
            h.slack.direct_message(bot_user, "I only read slash commands", bot_id=bot_id),
            # Another app writing in the conversation.
            h.slack.direct_message("U0BOB", "deploy finished", bot_id="B0DEPLOY"),
            h.slack.direct_message("U0BOB", "hi", subtype="bot_message", bot_id="B0DEPLOY"),
            # Bob edits and deletes his message: new events, not new messages.
            h.slack.direct_message(
                "U0BOB",
                "",
                subtype="message_changed",
                hidden=True,
                message={"type": "message", "user": "U0BOB", "text": "oncall?"},
            ),
            h.slack.direct_message("U0BOB", "", subtype="message_deleted", hidden=True),
            # A message in a channel the bot is in is not addressed to it.
            h.slack.direct_message(
                "U0BOB", "oncall", channel_id="C0SUPPORT", channel_type="channel"
            ),
        ]
        for request in ignored:
            assert (await h.send(request)).status == 200
        assert h.standin.calls_to("chat.postMessage") == []
        assert all(h.standin.dms(user) == [] for user in ("U0BOB", "U0ALICE"))
