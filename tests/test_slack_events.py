"""What reaches /slack/events: signatures checked, events handled once, App Home published."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlmodel import Session, select

from bot.enums import Action
from bot.sandbox.slack_requests import SlackRequest
from bot.sandbox.standin.records import Message
from storage.models import CoverRequest, SlackEventSeen, SwapRequest
from tests.harness import Harness, message_text, slack_harness
from tests.support.setup_files import SUPPORT_AND_INFRA as PLAN

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)  # Wed 25 Nov, 13:00 Paris: Dan's weekday shift


def forged(request: SlackRequest) -> SlackRequest:
    """The same request with a signature made with some other secret."""
    headers = dict(request.headers)
    headers["X-Slack-Signature"] = "v0=" + "0" * 64
    return SlackRequest(request.body, headers, response_url=request.response_url)


def rows(h: Harness, model: type) -> list:
    with Session(h.services.engine) as session:
        return list(session.exec(select(model)))


async def test_a_forged_signature_is_refused_with_401_and_changes_nothing(tmp_path: Path) -> None:
    async with slack_harness(PLAN, tmp_path=tmp_path, now=NOW) as h:
        cover = h.slack.slash_command(
            "/cover", "2026-12-05", user_id="U0ALICE", channel_id="C0SUPPORT"
        )
        refused = await h.send(forged(cover))
        assert refused.status == 401
        assert refused.replies() == []
        assert rows(h, CoverRequest) == []
        assert h.standin.messages("C0SUPPORT") == []

        # A pending swap: a forged Accept from Bob does not accept it.
        await h.command("/swap", "<@U0BOB|bob> 2026-12-05 2026-12-12", user="U0ALICE")
        (dm,) = h.standin.dms("U0BOB")
        click = h.slack.block_action(
            Action.swap_accept,
            user_id="U0BOB",
            channel_id=dm.channel,
            message_ts=dm.ts,
            message_blocks=dm.blocks,
        )
        assert (await h.send(forged(click))).status == 401
        assert [s.status for s in rows(h, SwapRequest)] == ["pending"]
        assert h.roster.status("support", datetime(2026, 12, 5, 20, tzinfo=UTC)).oncall.user == (
            "U0ALICE"
        )
        # The genuine click still works.
        assert (await h.send(click)).status == 200
        assert [s.status for s in rows(h, SwapRequest)] == ["accepted"]


async def test_a_request_older_than_five_minutes_is_refused_with_401(tmp_path: Path) -> None:
    async with slack_harness(PLAN, tmp_path=tmp_path, now=NOW) as h:

        def cover_asked(minutes_ago: int) -> SlackRequest:
            return h.slack.slash_command(
                "/cover",
                "2026-12-05",
                user_id="U0ALICE",
                channel_id="C0SUPPORT",
                timestamp=int(time.time()) - minutes_ago * 60,
            )

        refused = await h.send(cover_asked(6))
        assert refused.status == 401
        assert refused.replies() == []
        assert rows(h, CoverRequest) == []
        assert h.standin.calls_to("chat.postMessage") == []
        # Within the five minutes it is accepted.
        assert (await h.send(cover_asked(4))).status == 200
        assert len(rows(h, CoverRequest)) == 1


async def test_a_retried_event_is_handled_once(tmp_path: Path) -> None:
    async with slack_harness(PLAN, tmp_path=tmp_path, now=NOW) as h:
        first = h.slack.app_home_opened("U0BOB")
        assert (await h.send(first)).status == 200
        # Slack thought the first delivery timed out and sends it again, twice.
        for n in (1, 2):
            again = await h.send(h.slack.retried(first, n))
            assert again.status == 200
        assert len(h.standin.calls_to("views.publish")) == 1
        assert [e.event_id for e in rows(h, SlackEventSeen)] == [first.event_id]

        # A retry racing the first delivery of another event: still once.
        second = h.slack.app_home_opened("U0BOB")
        await asyncio.gather(
            h.send(second, settle=False), h.send(h.slack.retried(second), settle=False)
        )
        await h.settle()
        assert len(h.standin.calls_to("views.publish")) == 2


async def test_app_home_shows_my_shifts_who_is_on_call_and_my_requests(tmp_path: Path) -> None:
    async with slack_harness(
        PLAN, tmp_path=tmp_path, now=NOW, zones={"U0BOB": "America/New_York"}
    ) as h:
        await h.command("/swap", "<@U0BOB|bob> 2026-12-05 2026-12-12", user="U0ALICE")
        await h.open_home("U0BOB")
        home = h.standin.home("U0BOB")
        assert home is not None and home.type == "home"
        text = message_text(Message("", "", "", home.blocks))
        assert "Your next shifts" in text
        assert (
            "• Fri 11 Dec 12:00 – Mon 14 Dec 03:00 _(Fri 11 Dec 18:00 – Mon 14 Dec 09:00)_ "
            "— Customer support" in text
        )
        assert (
            "*Customer support*: <@U0DAN> until Wed 25 Nov 12:00 (your time, New York; "
            "team time Paris: Wed 25 Nov 18:00)." in text
        )
        assert "<@U0ALICE> asks to swap shifts with you in *Customer support*." in text
        buttons = [
            e["action_id"] for b in home.blocks if b["type"] == "actions" for e in b["elements"]
        ]
        # The swap's two buttons, Add a wake-up method, then the menu where she picks her language.
        assert buttons == [
            Action.swap_accept,
            Action.swap_decline,
            Action.wake_add,
            Action.home_language,
        ]

        # Alice's Home shows the request as hers, waiting.
        await h.open_home("U0ALICE")
        mine = h.standin.home("U0ALICE")
        assert mine is not None
        assert "Waiting for <@U0BOB>" in message_text(Message("", "", "", mine.blocks))
        # The Messages tab is not the Home tab: nothing is published for it.
        published = len(h.standin.calls_to("views.publish"))
        await h.send(h.slack.app_home_opened("U0ALICE", tab="messages"))
        assert len(h.standin.calls_to("views.publish")) == published
        h.assert_all_valid()
