"""/swap end to end: the request, the teammate's answer, the schedule after, and bad input."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlmodel import Session, select

from bot.enums import Action
from bot.sandbox.standin.records import Message
from storage.models import Override, SwapRequest
from tests.harness import Harness, Sent, message_text, slack_harness
from tests.support.overrides import store_override
from tests.support.setup_files import SUPPORT_AND_INFRA as PLAN
from tests.support.shifts import NOW, ONE_LINE, refused, request_dm

# Alice holds the weekend of 4-7 December, Bob 11-14 December (tests.support.shifts).
ALICE_WEEKEND = datetime(2026, 12, 5, 20, 0, tzinfo=UTC)  # Sat 5 Dec 21:00 Paris
BOB_WEEKEND = datetime(2026, 12, 12, 20, 0, tzinfo=UTC)  # Sat 12 Dec 21:00 Paris


def holder(h: Harness, at: datetime) -> str | None:
    return h.roster.status("support", at).oncall.user


def swaps(h: Harness) -> list[SwapRequest]:
    with Session(h.services.engine) as session:
        return list(session.exec(select(SwapRequest)))


def overrides(h: Harness) -> list[Override]:
    with Session(h.services.engine) as session:
        return list(session.exec(select(Override)))


async def test_the_whole_swap_flow(tmp_path: Path) -> None:
    async with slack_harness(PLAN, tmp_path=tmp_path, now=NOW) as h:
        asked = await h.command("/swap", ONE_LINE, user="U0ALICE")
        assert asked.status == 200
        assert (
            "I asked <@U0BOB> to swap with you in *Customer support*: you would take their shift "
            "Fri 11 Dec 18:00 – Mon 14 Dec 09:00 (Paris time), and they would take yours, "
            "Fri 4 Dec 18:00 – Mon 7 Dec 09:00 (Paris time)."
        ) in asked.reply_text()
        dm = request_dm(h)
        assert "<@U0ALICE> asks to swap shifts with you in *Customer support*." in message_text(dm)

        # Carol clicks Accept on Bob's request: refused, only she sees why, nothing changes.
        wrong = await h.click(dm, Action.swap_accept, user="U0CAROL")
        assert wrong.status == 200
        assert wrong.reply_text().endswith(
            "Only <@U0BOB> can answer this swap request: nothing changed."
        )
        assert wrong.replies()[0]["response_type"] == "ephemeral"
        assert [s.status for s in swaps(h)] == ["pending"]
        assert overrides(h) == []
        assert holder(h, ALICE_WEEKEND) == "U0ALICE" and holder(h, BOB_WEEKEND) == "U0BOB"
        assert not request_dm(h).edited

        # Bob accepts: the schedule changes, both are told, and so is the team channel.
        accepted = await h.click(dm, Action.swap_accept, user="U0BOB")
        assert accepted.status == 200
        assert holder(h, ALICE_WEEKEND) == "U0BOB"
        assert holder(h, BOB_WEEKEND) == "U0ALICE"
        assert h.roster.status("support", ALICE_WEEKEND).oncall.since == datetime(
            2026, 12, 4, 17, 0, tzinfo=UTC
        )
        assert [s.status for s in swaps(h)] == ["accepted"]
        assert sorted((o.user_id, o.kind) for o in overrides(h)) == [
            ("U0ALICE", "swap"),
            ("U0BOB", "swap"),
        ]
        updated = request_dm(h)
        assert updated.edited and "You accepted: the schedule is updated." in message_text(updated)
        assert not [b for b in updated.blocks if b["type"] == "actions"]
        assert any(
            "<@U0BOB> accepted your swap in *Customer support*: you now hold "
            "Fri 11 Dec 18:00 – Mon 14 Dec 09:00 (Paris time)" in text
            for text in h.dm_texts("U0ALICE")
        )
        (post,) = h.channel_texts("C0SUPPORT")
        assert "<@U0ALICE> and <@U0BOB> swapped shifts: <@U0BOB> holds Fri 4 Dec 18:00" in post
        assert h.plan_changes == ["support"]

        # A second click (the old message still shows the buttons) changes nothing.
        again = await h.click(dm, Action.swap_accept, user="U0BOB")
        assert "This swap request is already accepted: nothing changed." in again.reply_text()
        assert len(overrides(h)) == 2
        assert h.plan_changes == ["support"]
        assert len(h.channel_texts("C0SUPPORT")) == 1
        h.assert_all_valid()


async def test_a_declined_swap_changes_nothing_and_tells_the_requester(tmp_path: Path) -> None:
    async with slack_harness(PLAN, tmp_path=tmp_path, now=NOW) as h:
        await h.command("/swap", ONE_LINE, user="U0ALICE")
        dm = request_dm(h)
        await h.click(dm, Action.swap_decline, user="U0BOB")
        assert [s.status for s in swaps(h)] == ["declined"]
        assert overrides(h) == []
        assert holder(h, ALICE_WEEKEND) == "U0ALICE"
        assert "You declined: nothing changed." in message_text(request_dm(h))
        assert any(
            "<@U0BOB> declined your swap: your shift Fri 4 Dec 18:00 – Mon 7 Dec 09:00 "
            "(Paris time) stays yours." in text
            for text in h.dm_texts("U0ALICE")
        )
        assert h.channel_texts("C0SUPPORT") == []
        assert h.plan_changes == []
        # Accepting after declining (from a copy of the message still showing it) is too late.
        late = await h.click(dm, Action.swap_accept, user="U0BOB")
        assert "already declined" in late.reply_text()
        assert overrides(h) == []
        h.assert_all_valid()


async def test_a_request_whose_shift_changed_meanwhile_is_refused_as_out_of_date(
    tmp_path: Path,
) -> None:
    async with slack_harness(PLAN, tmp_path=tmp_path, now=NOW) as h:
        await h.command("/swap", ONE_LINE, user="U0ALICE")
        # Meanwhile Carol takes Saturday afternoon of Alice's weekend (a manual override).
        saturday_afternoon = datetime(2026, 12, 5, 13, 0, tzinfo=UTC)
        store_override(
            h.services.engine,
            "U0CAROL",
            saturday_afternoon,
            saturday_afternoon + timedelta(hours=4),
            kind="manual",
            now=NOW,
        )
        refused = await h.click(request_dm(h), Action.swap_accept, user="U0BOB")
        assert (
            "This swap request is out of date: <@U0ALICE>'s shift changed since the request was "
            "made. Nothing changed."
        ) in refused.reply_text()
        assert [s.status for s in swaps(h)] == ["stale"]
        assert [o.kind for o in overrides(h)] == ["manual"]
        assert holder(h, ALICE_WEEKEND) == "U0ALICE" and holder(h, BOB_WEEKEND) == "U0BOB"
        assert "Out of date" in message_text(request_dm(h))
        assert any("could not be applied" in text for text in h.dm_texts("U0ALICE"))
        assert h.plan_changes == []
        assert h.channel_texts("C0SUPPORT") == []


async def test_a_request_answered_after_its_shift_began_is_out_of_date(tmp_path: Path) -> None:
    async with slack_harness(PLAN, tmp_path=tmp_path, now=NOW) as h:
        await h.command("/swap", ONE_LINE, user="U0ALICE")
        h.clock.set(datetime(2026, 12, 4, 18, 0, tzinfo=UTC))  # Fri 4 Dec 19:00 Paris
        refused = await h.click(request_dm(h), Action.swap_accept, user="U0BOB")
        assert "out of date: one of the two shifts has already started" in refused.reply_text()
        assert overrides(h) == []


async def test_bad_input_gets_a_plain_answer_and_changes_nothing(tmp_path: Path) -> None:
    cases = {
        "<@U0IVAN|ivan> 2026-12-05 2026-12-12": (
            "<@U0IVAN> is not in your team (Customer support), so you can't swap shifts with them."
        ),
        "<@U0BOB|bob> 2026-12-5 2026-12-12": "I could not read “2026-12-5” as a date",
        "<@U0BOB|bob> 2026-02-30 2026-12-12": "“2026-02-30” is not a real date",
        "<@U0BOB|bob> 2026-11-07 2026-12-12": "Your shift on that day is in the past.",
        "<@U0BOB|bob> 2026-12-09 2026-12-12": (
            "You have no shift in Customer support on Wed 9 Dec 2026."
        ),
        "<@U0BOB|bob> 2026-12-05 2026-12-09": (
            "<@U0BOB> has no shift in Customer support on Wed 9 Dec 2026."
        ),
        "<@U0ALICE|alice> 2026-12-05 2026-12-12": "You can't swap with yourself",
        "@bob 2026-12-05 2026-12-12": "“@bob” is not a mention of a teammate",
        "bob next week": "“bob” is not a mention of a teammate",
        "<@U0BOB|bob> 2026-12-05": "I could not read “<@U0BOB|bob> 2026-12-05”",
    }
    # A backup lead holds no pager shift to trade.
    lead = {
        "<@U0LEAD2|lead2> 2026-12-05 2026-12-12": (
            "You have no shift in Customer support on Sat 5 Dec 2026."
        )
    }
    async with slack_harness(PLAN, tmp_path=tmp_path, now=NOW, extra_users=["U0ZOE"]) as h:
        await refused(h, "/swap", cases, user="U0ALICE")
        await refused(h, "/swap", {ONE_LINE: "You are not in any on-call team"}, user="U0ZOE")
        await refused(h, "/swap", lead, user="U0LEAD1")
        assert swaps(h) == []
        assert h.standin.dms("U0BOB") == []
        assert h.standin.calls_to("chat.postMessage") == []


async def test_swap_help_answers_with_the_help_and_asks_nobody(tmp_path: Path) -> None:
    async with slack_harness(PLAN, tmp_path=tmp_path, now=NOW) as h:
        for word in ("help", "?", "aide", "AJUDA"):
            helped = await h.command("/swap", word, user="U0ALICE")
            assert "• `/swap` opens a form; in one line: `/swap @bob" in helped.reply_text()
            assert helped.replies()[-1]["response_type"] == "ephemeral"
        assert h.standin.views("U0ALICE") == []
        assert swaps(h) == [] and h.standin.dms("U0BOB") == []


async def test_the_swap_modal_opens_within_the_triggers_life_however_slow_users_info_is(
    tmp_path: Path,
) -> None:
    zones = {"U0ALICE": "America/New_York"}
    async with slack_harness(PLAN, tmp_path=tmp_path, now=NOW, zones=zones) as h:
        # Slack's 3 seconds, scaled down with users.info's delay so that the test stays short.
        h.standin.trigger_ttl = 1.0
        h.standin.fail_rate(1.0, ["users.info"], kinds=["slow"], slow_seconds=1.5)
        await h.command("/swap", user="U0ALICE")
        (opened,) = h.standin.calls_to("views.open")
        assert opened.ok, opened.error
        modal = h.standin.last_view("U0ALICE")
        assert modal is not None and modal.id == opened.response["view"]["id"]
        (select_block,) = [b for b in modal.blocks if b.get("block_id") == "my_shift"]
        # Filled once Slack said where she is: her weekend in her own zone.
        assert "Times are shown in New York." in str(select_block["hint"])
        options = select_block["element"]["options"]
        assert [o["text"]["text"] for o in options] == ["Fri 4 Dec 12:00 – Mon 7 Dec 03:00"]
        assert [v["id"] for v in h.standin.open_views("U0ALICE")] == [modal.id]


async def test_the_swap_modal_checks_each_answer_then_asks_the_teammate(tmp_path: Path) -> None:
    async with slack_harness(PLAN, tmp_path=tmp_path, now=NOW) as h:
        opened = await h.command("/swap", user="U0ALICE")
        assert opened.replies() == []
        modal = h.standin.last_view("U0ALICE")
        assert modal is not None and modal.callback_id == "swap-request"
        (select_block,) = [b for b in modal.blocks if b.get("block_id") == "my_shift"]
        options = select_block["element"]["options"]
        # Her shifts of the next five weeks: one weekend (the next is 1 January).
        assert [o["text"]["text"] for o in options] == ["Fri 4 Dec 18:00 – Mon 7 Dec 09:00"]
        assert "Times are shown in Paris." in str(select_block["hint"])
        first = options[0]["value"]

        async def ask(teammate: str, their_shift: str) -> Sent:
            """Alice's answers: her first shift, for the teammate's shift on that day."""
            answers = {
                Action.swap_my_shift: first,
                Action.swap_teammate: teammate,
                Action.swap_their_shift: their_shift,
            }
            return await h.submit(modal, user="U0ALICE", answers=answers)

        outsider = await ask("U0IVAN", "2026-12-12")
        # Slack shows field errors as plain text: the teammate's name, not a raw mention.
        assert outsider.response.json() == {
            "response_action": "errors",
            "errors": {
                "teammate": "ivan is not in your team (Customer support), so you can't "
                "swap shifts with them."
            },
        }
        no_shift = await ask("U0BOB", "2026-12-09")
        assert no_shift.response.json()["errors"] == {
            "their_shift": "bob has no shift in Customer support on Wed 9 Dec 2026."
        }
        assert swaps(h) == [] and h.standin.dms("U0BOB") == []

        done = await ask("U0BOB", "2026-12-12")
        assert done.status == 200 and done.response.content in (b"", b"{}")
        (swap,) = swaps(h)
        assert (swap.requester, swap.target, swap.status) == ("U0ALICE", "U0BOB", "pending")
        assert swap.requester_start == datetime(2026, 12, 4, 17, 0, tzinfo=UTC)
        assert swap.target_end == datetime(2026, 12, 14, 8, 0, tzinfo=UTC)
        assert "asks to swap shifts with you" in message_text(request_dm(h))
        assert any("I asked <@U0BOB> to swap with you" in t for t in h.dm_texts("U0ALICE"))
        # The DMs' notification texts name people.
        assert request_dm(h).text.startswith("alice asks to swap shifts with you")
        assert h.standin.dms("U0ALICE")[-1].text == "Swap request sent to bob"
        h.assert_all_valid()


async def test_the_swap_modal_refuses_a_pick_it_cannot_read(tmp_path: Path) -> None:
    async with slack_harness(PLAN, tmp_path=tmp_path, now=NOW) as h:
        await h.command("/swap", user="U0ALICE")
        modal = h.standin.last_view("U0ALICE")
        assert modal is not None
        # A modal opened by an older version of the bot, whose options named shifts otherwise.
        older = copy.deepcopy(modal.view)
        (block,) = [b for b in older["blocks"] if b.get("block_id") == "my_shift"]
        block["element"]["options"][0]["value"] = "weekend-1"
        answers = {
            Action.swap_my_shift: "weekend-1",
            Action.swap_teammate: "U0BOB",
            Action.swap_their_shift: "2026-12-12",
        }
        refused = await h.submit(older, user="U0ALICE", answers=answers)
        assert refused.response.json() == {
            "response_action": "errors",
            "errors": {"my_shift": "Pick one of your shifts from the list."},
        }
        assert swaps(h) == [] and h.standin.dms("U0BOB") == []


async def test_a_swap_can_be_accepted_from_app_home(tmp_path: Path) -> None:
    async with slack_harness(PLAN, tmp_path=tmp_path, now=NOW) as h:
        await h.command("/swap", ONE_LINE, user="U0ALICE")
        await h.open_home("U0BOB")
        home = h.standin.home("U0BOB")
        assert home is not None
        assert "<@U0ALICE> asks to swap shifts with you" in message_text(
            Message("", "", "", home.blocks)
        )
        await h.click(home, Action.swap_accept, user="U0BOB")
        assert holder(h, ALICE_WEEKEND) == "U0BOB"
        # No response_url from App Home: the answer lands in the DM; the Home tab is refreshed.
        refreshed = h.standin.home("U0BOB")
        assert refreshed is not None
        assert "No pending swap requests." in message_text(Message("", "", "", refreshed.blocks))
        assert "You accepted" in message_text(request_dm(h))
        assert h.clock.now() - NOW == timedelta(0)
        h.assert_all_valid()
