"""The words people read: names where Slack shows plain text, and the same commands said with the
same words in /oncall help, the App Home, the DM's answer, the README and the Slack app guide."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.enums import Action, Command
from bot.sandbox.standin.records import Message
from bot.slack.blocks.commands import SUMMARIES, command_lines
from bot.slack.delivery.worker import Delivery
from tests.conftest import ROOT
from tests.harness import Harness, Sent, message_text, slack_harness
from tests.support.setup_files import SUPPORT_AND_INFRA as PLAN

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)  # Wed 25 Nov, 13:00 Paris: Dan's weekday shift


def plain_texts(node: Any) -> Iterator[str]:
    """Every plain_text object's text in a message, view or answer, wherever it sits (titles,
    labels, hints, placeholders, options, buttons, confirmation dialogs, headers)."""
    if isinstance(node, Mapping):
        if node.get("type") == "plain_text" and "text" in node:
            yield str(node["text"])
        for value in node.values():
            yield from plain_texts(value)
    elif isinstance(node, list):
        for item in node:
            yield from plain_texts(item)


def input_of(view: Any, block_id: str) -> dict[str, Any]:
    (block,) = [b for b in view.blocks if b.get("block_id") == block_id]
    return dict(block["element"])


async def walk_the_main_flows(h: Harness) -> list[Sent]:
    """Use the bot as a team would for a while; the form submissions answered with errors."""
    delivery = h.services.delivery
    assert isinstance(delivery, Delivery)
    refused: list[Sent] = []
    for text in ("", "week", "me", "help", "billing"):
        await h.command("/oncall", text, user="U0BOB")

    # /swap: errors in one line and in the form, then a request Bob accepts.
    await h.command("/swap", "<@U0IVAN|ivan> 2026-12-05 2026-12-12", user="U0ALICE")
    await h.command("/swap", user="U0ALICE")
    swap_form = h.standin.last_view("U0ALICE")
    assert swap_form is not None
    mine = input_of(swap_form, "my_shift")["options"][0]["value"]
    for teammate, day in (("U0IVAN", "2026-12-12"), ("U0BOB", "2026-12-09")):
        answers = {
            Action.swap_my_shift: mine,
            Action.swap_teammate: teammate,
            Action.swap_their_shift: day,
        }
        refused.append(await h.submit(swap_form, user="U0ALICE", answers=answers))
    answers = {
        Action.swap_my_shift: mine,
        Action.swap_teammate: "U0BOB",
        Action.swap_their_shift: "2026-12-12",
    }
    await h.submit(swap_form, user="U0ALICE", answers=answers)
    request = h.standin.dms("U0BOB")[-1]
    await h.click(request, Action.swap_accept, user="U0BOB")
    await h.click(request, Action.swap_decline, user="U0CAROL")

    # /cover: the form with a mistake, then a part of Bob's new weekend that Carol takes.
    await h.command("/cover", user="U0BOB")
    cover_form = h.standin.last_view("U0BOB")
    assert cover_form is not None
    weekend = input_of(cover_form, "shift")["options"][0]["value"]
    refused.append(
        await h.submit(
            cover_form,
            user="U0BOB",
            answers={Action.cover_shift: weekend, Action.cover_from: "2026-11-01 10:00"},
        )
    )
    await h.submit(
        cover_form,
        user="U0BOB",
        answers={Action.cover_shift: weekend, Action.cover_from: "sat 10:00"},
    )
    await delivery.drain()  # the request's post goes out through the outbox
    offer = h.standin.messages("C0SUPPORT")[-1]
    await h.click(offer, Action.cover_take, user="U0CAROL")
    await h.click(offer, Action.cover_take, user="U0ALICE")
    await delivery.drain()

    # /escalate in one line and through its form; then the alert's buttons, from the card.
    await h.command("/escalate", "support Acme says checkout fails", user="U0ALICE")
    await h.command("/escalate", user="U0CAROL")
    escalate_form = h.standin.last_view("U0CAROL")
    assert escalate_form is not None
    refused.append(
        await h.submit(escalate_form, user="U0CAROL", answers={Action.escalate_team: "support"})
    )
    await h.submit(
        escalate_form,
        user="U0CAROL",
        answers={
            Action.escalate_team: "support",
            Action.escalate_what: "Acme cannot log in",
            Action.escalate_severity: "critical",
        },
    )
    await delivery.drain()
    h.clock.advance(timedelta(seconds=5))  # the channel's next turns, at Slack's pace
    await delivery.drain()
    card = h.standin.messages("C0SUPPORT")[-1]
    for action, user in (
        (Action.alert_escalate_ceo, "U0CAROL"),
        (Action.alert_ack, "U0DAN"),
        (Action.alert_ack, "U0CAROL"),
        (Action.alert_escalate, "U0DAN"),
        (Action.alert_resolve, "U0DAN"),
    ):
        await h.click(card, action, user=user)
    await delivery.drain()

    # The Home tab, and messages typed in the DM.
    for user in ("U0ALICE", "U0BOB", "U0CEO"):
        await h.open_home(user)
    for text in ("hello", "who is on call?"):
        await h.send(h.slack.direct_message("U0DAN", text))
    return refused


async def test_no_raw_mention_where_slack_shows_plain_text(tmp_path: Path) -> None:
    async with slack_harness(PLAN, tmp_path=tmp_path, now=NOW) as h:
        refused = await walk_the_main_flows(h)

        # Field errors of the forms: refused, and in plain words.
        errors = [sent.response.json()["errors"] for sent in refused]
        assert errors[0] == {
            "teammate": "ivan is not in your team (Customer support), so you can't swap shifts "
            "with them."
        }
        assert errors[1] == {
            "their_shift": "bob has no shift in Customer support on Wed 9 Dec 2026."
        }
        assert list(errors[2]) == ["from"] and list(errors[3]) == ["escalate_what"]
        for error in errors:
            assert all("<@" not in text for text in error.values()), error

        # Every plain_text object of every message, view and answer the bot sent.
        shown = [text for _, item in h.every_message_and_view() for text in plain_texts(dict(item))]
        assert "Escalate to CEO" in shown and "Cover my shift" in shown  # the walk saw them
        assert [text for text in shown if "<@" in text] == []

        # The text of every DM, which its notification shows.
        dm_posts = [
            call
            for call in h.standin.calls_to("chat.postMessage")
            if str(call.args.get("channel", "")).startswith("D")
        ]
        notified = [str(call.args.get("text") or "") for call in dm_posts]
        assert len(notified) >= 10
        assert [text for text in notified if "<@" in text] == []
        assert "bob asks to swap shifts with you in Customer support" not in notified
        assert any(text.startswith("alice asks to swap shifts with you") for text in notified)
        h.assert_all_valid()


async def test_oncall_help_names_every_command_with_escalate(tmp_path: Path) -> None:
    async with slack_harness(PLAN, tmp_path=tmp_path, now=NOW) as h:
        helped = (await h.command("/oncall", "help", user="U0BOB")).reply_text()
        assert (
            "*/escalate* — Page your team's on-call person about something that just happened."
            in helped
        )
        assert "`/escalate [team] what happened`" in helped
        for command, summary in SUMMARIES.items():
            assert f"*{command.value}* — {summary}." in helped
        assert helped.splitlines()[0] == "How to use /oncall, /swap, /cover and /escalate"


async def test_help_home_dm_readme_and_guide_say_the_same_commands_in_the_same_words(
    tmp_path: Path,
) -> None:
    async with slack_harness(PLAN, tmp_path=tmp_path, now=NOW) as h:
        helped = (await h.command("/oncall", "help", user="U0BOB")).reply_text()
        await h.open_home("U0BOB")
        home = h.standin.home("U0BOB")
        assert home is not None
        home_text = message_text(Message("", "", "", home.blocks))
        await h.send(h.slack.direct_message("U0BOB", "hi"))
        (answer,) = h.standin.dms("U0BOB")
        dm_text = message_text(answer)

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    guide = (ROOT / "docs" / "slack-app.md").read_text(encoding="utf-8")
    assert set(SUMMARIES) == set(Command)
    for command, line in zip(SUMMARIES, command_lines(), strict=True):
        assert f"*{command.value}* — {SUMMARIES[command]}." in helped
        for where, text in (("home", home_text), ("dm", dm_text), ("README", readme)):
            assert line in text, (where, line)
        assert line in guide, ("docs/slack-app.md", line)
    for text in (home_text, dm_text):
        assert "`/oncall help` shows every way to type them." in text
