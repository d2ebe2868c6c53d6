"""/cover end to end: the post in the team channel, the first volunteer wins, and bad input."""

from __future__ import annotations

import asyncio
import copy
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, select

from bot.enums import Action
from bot.sandbox.standin.records import Message
from bot.slack.gateway import CHANNEL_BURST
from storage.models import CoverRequest, Override
from tests.harness import Harness, message_text, slack_harness
from tests.support.forms import form, shift_options
from tests.support.setup_files import SUPPORT_AND_INFRA as PLAN
from tests.support.setup_files import rotation, setup_yaml
from tests.support.shifts import NOW, click, cover, drain, post, refused, submit

SATURDAY_NOON = datetime(2026, 12, 5, 11, 0, tzinfo=UTC)  # in Alice's weekend of 4-7 December


def covers(h: Harness) -> list[CoverRequest]:
    with Session(h.services.engine) as session:
        return list(session.exec(select(CoverRequest)))


def cover_overrides(h: Harness) -> list[Override]:
    with Session(h.services.engine) as session:
        return list(session.exec(select(Override).where(Override.kind == "cover")))


async def test_two_volunteers_click_at_once_and_exactly_one_gets_the_shift(
    tmp_path: Path, database_url: str
) -> None:
    async with slack_harness(PLAN, tmp_path=tmp_path, now=NOW, database_url=database_url) as h:
        asked = await cover(h, "2026-12-05", user="U0ALICE")
        assert (
            "I asked your team to cover:\n• Sat 5 Dec 00:00 – Sun 6 Dec 00:00 (Paris time) "
            "in <#C0SUPPORT>"
        ) in asked.reply_text()
        offer = post(h)
        assert (
            "<@U0ALICE> needs someone to cover *Sat 5 Dec 00:00 – Sun 6 Dec 00:00 (Paris time)* "
            "in Customer support."
        ) in message_text(offer)

        bob, carol = await asyncio.gather(
            h.click(offer, Action.cover_take, user="U0BOB", settle=False),
            h.click(offer, Action.cover_take, user="U0CAROL", settle=False),
        )
        await h.settle()
        await drain(h)
        assert bob.status == carol.status == 200

        (taken,) = cover_overrides(h)
        winner = taken.user_id
        loser_sent = carol if winner == "U0BOB" else bob
        assert winner in ("U0BOB", "U0CAROL")
        assert (taken.start, taken.end) == (
            datetime(2026, 12, 4, 23, 0, tzinfo=UTC),
            datetime(2026, 12, 5, 23, 0, tzinfo=UTC),
        )
        assert [c.status for c in covers(h)] == ["taken"]
        assert h.roster.status("support", SATURDAY_NOON).oncall.user == winner
        # Everyone sees who took it: the post itself changed, and lost its button.
        updated = post(h)
        assert updated.edited
        assert f"<@{winner}> covers <@U0ALICE>'s shift Sat 5 Dec 00:00" in message_text(updated)
        assert not [b for b in updated.blocks if b["type"] == "actions"]
        assert f"Too late: <@{winner}> already took this shift." in loser_sent.reply_text()
        assert any(f"<@{winner}> covers your shift" in t for t in h.dm_texts("U0ALICE"))
        assert h.plan_changes == ["support"]
        h.assert_all_valid()


async def test_the_requester_and_outsiders_cannot_take_it(tmp_path: Path) -> None:
    async with slack_harness(PLAN, tmp_path=tmp_path, now=NOW) as h:
        await cover(h, "2026-12-05", user="U0ALICE")
        offer = post(h)
        own = await click(h, offer, Action.cover_take, user="U0ALICE")
        assert "This is your own shift: a teammate has to take it." in own.reply_text()
        outsider = await click(h, offer, Action.cover_take, user="U0IVAN")
        assert "Only members of Customer support can cover this shift" in outsider.reply_text()
        assert outsider.replies()[0]["response_type"] == "ephemeral"
        assert [c.status for c in covers(h)] == ["open"]
        assert cover_overrides(h) == []
        assert not post(h).edited
        assert h.roster.status("support", SATURDAY_NOON).oncall.user == "U0ALICE"
        assert h.plan_changes == []


async def test_cover_without_arguments_opens_a_form_then_fills_it(tmp_path: Path) -> None:
    async with slack_harness(
        PLAN, tmp_path=tmp_path, now=NOW, zones={"U0ALICE": "America/New_York"}
    ) as h:
        opened = await h.command("/cover", user="U0ALICE")
        assert opened.replies() == []
        # The form opens before any look-up (a trigger dies 3 s after the command), then it is
        # filled in place.
        methods = [c.method for c in h.standin.calls]
        assert methods.index("views.open") < methods.index("users.info")
        assert methods.index("users.info") < methods.index("views.update")
        loading, filled = h.standin.views("U0ALICE")
        assert (loading.method, filled.method) == ("views.open", "views.update")
        assert loading.id == filled.id and not loading.view.get("submit")
        assert "Looking up your shifts" in message_text(Message("", "", "", loading.blocks))
        view = form(h, "U0ALICE")
        assert view.view["submit"]["text"] == "Ask the team"
        # Her one weekend in the next five weeks, in her own time.
        (weekend,) = shift_options(view)
        assert weekend["text"]["text"] == "Fri 4 Dec 12:00 – Mon 7 Dec 03:00"
        hints = message_text(Message("", "", "", view.blocks))
        assert "Times are shown in New York." in hints
        assert "When the cover starts, in team time (Paris): 2026-12-05 10:00" in hints
        assert covers(h) == [] and h.standin.messages("C0SUPPORT") == []

        # All of it: only the shift picked.
        done = await submit(h, view, user="U0ALICE", answers={Action.cover_shift: weekend["value"]})
        assert done.status == 200 and done.response.content in (b"", b"{}")
        assert "*Fri 4 Dec 18:00 – Mon 7 Dec 09:00 (Paris time)*" in message_text(post(h))
        (told,) = h.standin.dms("U0ALICE")
        assert (
            "I asked your team to cover:\n• Fri 4 Dec 12:00 – Mon 7 Dec 03:00 (your time, New York;"
            " team time Paris: Fri 4 Dec 18:00 – Mon 7 Dec 09:00) in <#C0SUPPORT>"
        ) in message_text(told)

        # Part of it, with a note: from Sunday 18:00 to the Monday 09:00 after, team time.
        await submit(
            h,
            view,
            user="U0ALICE",
            answers={
                Action.cover_shift: weekend["value"],
                Action.cover_from: "sun 18:00",
                Action.cover_to: "09:00",
                Action.cover_note: "Family dinner & <b>cake</b>\nI can take yours in January",
            },
        )
        second = h.standin.messages("C0SUPPORT")[-1]
        shown = message_text(second)
        assert "*Sun 6 Dec 18:00 – Mon 7 Dec 09:00 (Paris time)*" in shown
        assert (
            "> Family dinner &amp; &lt;b&gt;cake&lt;/b&gt;\n> I can take yours in January" in shown
        )
        assert covers(h)[-1].note == "Family dinner & <b>cake</b>\nI can take yours in January"
        taken = await click(h, second, Action.cover_take, user="U0CAROL")
        assert taken.replies() == []
        (override,) = cover_overrides(h)
        assert (override.user_id, override.start, override.end) == (
            "U0CAROL",
            datetime(2026, 12, 6, 17, 0, tzinfo=UTC),
            datetime(2026, 12, 7, 8, 0, tzinfo=UTC),
        )
        assert h.roster.status("support", SATURDAY_NOON).oncall.user == "U0ALICE"
        h.assert_all_valid()


async def test_the_form_offers_the_rest_of_the_shift_under_way(tmp_path: Path) -> None:
    async with slack_harness(PLAN, tmp_path=tmp_path, now=SATURDAY_NOON) as h:
        await h.command("/cover", user="U0ALICE")
        view = form(h, "U0ALICE")
        now_on, later = shift_options(view)
        assert now_on["text"]["text"] == "The rest of your current shift, until Mon 7 Dec 09:00"
        assert later["text"]["text"] == "Fri 1 Jan 18:00 – Mon 4 Jan 09:00"
        await submit(h, view, user="U0ALICE", answers={Action.cover_shift: now_on["value"]})
        (cover,) = covers(h)
        assert (cover.start, cover.end) == (SATURDAY_NOON, datetime(2026, 12, 7, 8, tzinfo=UTC))
        assert "*Sat 5 Dec 12:00 – Mon 7 Dec 09:00 (Paris time)*" in message_text(post(h))


@pytest.mark.parametrize(
    ("start", "end", "block", "says"),
    [
        ("25:00", "", "from", "“25:00” is not a time of day: write 2026-11-28 10:00, sat 10:00 "
         "or 10:00 (24h, team time)."),
        ("noon", "", "from", "I could not read “noon” as a moment: write 2026-11-28 10:00, sat "
         "10:00 or 10:00 (24h, team time)."),
        ("2026-11-20 10:00", "", "from", "“2026-11-20 10:00” is in the past: a cover starts now "
         "at the earliest."),
        ("2026-12-10 10:00", "", "from", "“2026-12-10 10:00” is not within the shift, Fri 4 Dec "
         "18:00 – Mon 7 Dec 09:00 (team time, Paris)."),
        ("", "mon 12:00", "to", "“mon 12:00” is after the end of the shift, Fri 4 Dec 18:00 – "
         "Mon 7 Dec 09:00 (team time, Paris)."),
        ("sat 10:00", "2026-12-05 09:00", "to", "“2026-12-05 09:00” is not after the start of "
         "the cover."),
    ],
)  # fmt: skip
async def test_the_form_refuses_bounds_it_cannot_use_next_to_the_input(
    tmp_path: Path, start: str, end: str, block: str, says: str
) -> None:
    async with slack_harness(PLAN, tmp_path=tmp_path, now=NOW) as h:
        await h.command("/cover", user="U0ALICE")
        view = form(h, "U0ALICE")
        (weekend,) = shift_options(view)
        answers: dict[str, Any] = {Action.cover_shift: weekend["value"]}
        if start:
            answers[Action.cover_from] = start
        if end:
            answers[Action.cover_to] = end
        refused = await submit(h, view, user="U0ALICE", answers=answers)
        assert refused.response.json() == {"response_action": "errors", "errors": {block: says}}
        assert covers(h) == [] and h.standin.messages("C0SUPPORT") == []
        assert h.standin.dms("U0ALICE") == []


async def test_the_form_refuses_a_shift_that_is_no_longer_yours(tmp_path: Path) -> None:
    async with slack_harness(PLAN, tmp_path=tmp_path, now=NOW) as h:
        await h.command("/cover", user="U0ALICE")
        view = form(h, "U0ALICE")
        (weekend,) = shift_options(view)
        # While the form is open, Alice swaps that weekend with Bob.
        await h.command("/swap", "<@U0BOB|bob> 2026-12-05 2026-12-12", user="U0ALICE")
        (dm,) = h.standin.dms("U0BOB")
        await click(h, dm, Action.swap_accept, user="U0BOB")
        refused = await submit(
            h, view, user="U0ALICE", answers={Action.cover_shift: weekend["value"]}
        )
        assert refused.response.json()["errors"] == {
            "shift": "That shift is no longer yours as it was: pick it again."
        }
        assert covers(h) == []


async def test_the_form_refuses_a_pick_it_cannot_read(tmp_path: Path) -> None:
    async with slack_harness(PLAN, tmp_path=tmp_path, now=NOW) as h:
        await h.command("/cover", user="U0ALICE")
        # A form opened by an older version of the bot, whose options named shifts otherwise.
        older = copy.deepcopy(form(h, "U0ALICE").view)
        (block,) = [b for b in older["blocks"] if b.get("block_id") == "shift"]
        block["element"]["options"][0]["value"] = "weekend-1"
        refused = await submit(h, older, user="U0ALICE", answers={Action.cover_shift: "weekend-1"})
        assert refused.response.json() == {
            "response_action": "errors",
            "errors": {"shift": "Pick one of your shifts from the list."},
        }
        assert covers(h) == [] and h.standin.messages("C0SUPPORT") == []


async def test_someone_with_nothing_to_cover_is_told_in_the_form(tmp_path: Path) -> None:
    async with slack_harness(PLAN, tmp_path=tmp_path, now=NOW, extra_users=["U0ZOE"]) as h:
        await h.command("/cover", user="U0ZOE")
        view = form(h, "U0ZOE")
        assert not view.view.get("submit")
        assert "You are not in any on-call team, so you have no shift to hand over." in (
            message_text(Message("", "", "", view.blocks))
        )
        # A backup lead holds no pager shift.
        await h.command("/cover", user="U0LEAD1")
        assert "You have no shift in the next five weeks, so there is nothing to cover." in (
            message_text(Message("", "", "", form(h, "U0LEAD1").blocks))
        )
        h.assert_all_valid()


async def test_a_span_typed_after_cover_is_clipped_to_my_shifts(tmp_path: Path) -> None:
    async with slack_harness(PLAN, tmp_path=tmp_path, now=NOW) as h:
        # Sunday evening to Monday noon: the part of her weekend inside the span.
        await cover(h, "2026-12-06 18:00 - 2026-12-07 12:00", user="U0ALICE")
        (offer,) = h.standin.messages("C0SUPPORT")
        assert "*Sun 6 Dec 18:00 – Mon 7 Dec 09:00 (Paris time)*" in message_text(offer)
        h.assert_all_valid()


DECEMBER_WEDNESDAY = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)  # before Alice's weekend


@pytest.mark.parametrize(
    ("now", "text", "shown"),
    [
        (DECEMBER_WEDNESDAY, "sat 10:00-14:00", "Sat 5 Dec 10:00 – 14:00"),
        (DECEMBER_WEDNESDAY, "samedi 22:00-06:00", "Sat 5 Dec 22:00 – Sun 6 Dec 06:00"),
        (DECEMBER_WEDNESDAY, "sáb 08:00 - dom 08:00", "Sat 5 Dec 08:00 – Sun 6 Dec 08:00"),
        (DECEMBER_WEDNESDAY, "SAT", "Sat 5 Dec 00:00 – Sun 6 Dec 00:00"),
        (DECEMBER_WEDNESDAY, "fri..mon", "Fri 4 Dec 18:00 – Mon 7 Dec 09:00"),
        # On the Saturday itself, what is left of today's span.
        (SATURDAY_NOON, "sat 10:00-14:00", "Sat 5 Dec 12:00 – 14:00"),
        (datetime(2026, 12, 5, 22, 59, tzinfo=UTC), "sat 22:00-06:00",
         "Sat 5 Dec 23:59 – Sun 6 Dec 06:00"),
    ],
)  # fmt: skip
async def test_a_weekday_typed_after_cover_names_the_next_such_day(
    tmp_path: Path, now: datetime, text: str, shown: str
) -> None:
    async with slack_harness(PLAN, tmp_path=tmp_path, now=now) as h:
        asked = await cover(h, text, user="U0ALICE")
        assert f"I asked your team to cover:\n• {shown} (Paris time) in <#C0SUPPORT>" in (
            asked.reply_text()
        )
        (offer,) = h.standin.messages("C0SUPPORT")
        assert f"<@U0ALICE> needs someone to cover *{shown} (Paris time)*" in message_text(offer)
        h.assert_all_valid()


async def test_a_weekday_that_names_none_of_my_shifts_is_refused(tmp_path: Path) -> None:
    async with slack_harness(PLAN, tmp_path=tmp_path, now=NOW) as h:
        # The Saturday of this week is the CEO's weekend, not Alice's.
        no_shift = "You have no shift in Sat 28 Nov 10:00 – 14:00 (team time, Paris)."
        await refused(h, "/cover", {"sat 10:00-14:00": no_shift}, user="U0ALICE")
        await refused(
            h,
            "/cover",
            {"caturday": "I could not read “caturday” as a date or a span: write a day "},
            user="U0ALICE",
        )
        # Her Saturday at 15:00: 10:00-14:00 is over, and the next Saturday is Bob's.
        h.clock.set(datetime(2026, 12, 5, 14, 0, tzinfo=UTC))
        no_shift = "You have no shift in Sat 12 Dec 10:00 – 14:00 (team time, Paris)."
        await refused(h, "/cover", {"sat 10:00-14:00": no_shift}, user="U0ALICE")
        assert covers(h) == []
        assert h.standin.messages("C0SUPPORT") == []


# Alice alone holds the pager in Paris, Bob alone in São Paulo.
NIGHTS = setup_yaml(
    {
        "paris": {
            "name": "Paris",
            "channel": "C0PARIS",
            "timezone": "Europe/Paris",
            "rotations": [rotation("always", ["U0ALICE"], "2026-10-05 09:00", "1w")],
        },
        "saopaulo": {
            "name": "São Paulo",
            "channel": "C0SAOPAULO",
            "timezone": "America/Sao_Paulo",
            "rotations": [rotation("always", ["U0BOB"], "2026-10-05 09:00", "1w")],
        },
    }
)
BEFORE_SPRING_FORWARD = datetime(2027, 3, 24, 12, 0, tzinfo=UTC)  # Paris: Sun 28 March 2027
BEFORE_FALL_BACK = datetime(2026, 10, 21, 12, 0, tzinfo=UTC)  # Paris: Sun 25 October 2026


@pytest.mark.parametrize(
    ("user", "now", "text", "shown", "hours"),
    [
        # Clocks go forward: a 7-hour night; 02:30 does not exist and means the change, 03:00.
        ("U0ALICE", BEFORE_SPRING_FORWARD, "sat 22:00-06:00",
         "Sat 27 Mar 22:00 – Sun 28 Mar 06:00 (Paris time)", 7),
        ("U0ALICE", BEFORE_SPRING_FORWARD, "dim 02:30 - 12:00",
         "Sun 28 Mar 03:00 – 12:00 (Paris time)", 9),
        # Clocks go back: a 9-hour night; 02:30 happens twice and means the first.
        ("U0ALICE", BEFORE_FALL_BACK, "samedi 22:00-06:00",
         "Sat 24 Oct 22:00 – Sun 25 Oct 06:00 (Paris time)", 9),
        ("U0ALICE", BEFORE_FALL_BACK, "sun 02:30 - 03:30",
         "Sun 25 Oct 02:30 – 03:30 (Paris time)", 2),
        # São Paulo keeps one offset: 8 hours both nights.
        ("U0BOB", BEFORE_SPRING_FORWARD, "sáb 22:00-06:00",
         "Sat 27 Mar 22:00 – Sun 28 Mar 06:00 (Sao Paulo time)", 8),
        ("U0BOB", BEFORE_FALL_BACK, "sabado 22:00-06:00",
         "Sat 24 Oct 22:00 – Sun 25 Oct 06:00 (Sao Paulo time)", 8),
    ],
)  # fmt: skip
async def test_a_weekday_night_across_a_clock_change_is_covered_in_team_time(
    tmp_path: Path, user: str, now: datetime, text: str, shown: str, hours: int
) -> None:
    zones = {"U0ALICE": "Europe/Paris", "U0BOB": "America/Sao_Paulo"}
    async with slack_harness(NIGHTS, tmp_path=tmp_path, now=now, zones=zones) as h:
        await cover(h, text, user=user)
        channel = "C0PARIS" if user == "U0ALICE" else "C0SAOPAULO"
        (offer,) = h.standin.messages(channel)
        assert f"<@{user}> needs someone to cover *{shown}*" in message_text(offer)
        (asked,) = covers(h)
        assert asked.end - asked.start == timedelta(hours=hours)
        h.assert_all_valid()


async def test_bad_input_gets_a_plain_answer_and_changes_nothing(tmp_path: Path) -> None:
    cases = {
        "tomorrow": "I could not read “tomorrow” as a date or a span",
        "2026-12-32": "“2026-12-32” is not a real date",
        "2026-11-07": "Sat 7 Nov 00:00 – Sun 8 Nov 00:00 (team time, Paris) is in the past",
        "2026-12-09": "You have no shift in Wed 9 Dec 00:00 – Thu 10 Dec 00:00 (team time, Paris).",
        "2026-12-07 12:00 - 2026-12-07 09:00": "ends before it starts",
    }
    async with slack_harness(PLAN, tmp_path=tmp_path, now=NOW, extra_users=["U0ZOE"]) as h:
        await refused(h, "/cover", cases, user="U0ALICE")
        await refused(h, "/cover", {"2026-12-05": "You are not in any on-call team"}, user="U0ZOE")
        assert covers(h) == []
        assert h.standin.messages("C0SUPPORT") == []


async def test_a_cover_whose_shift_was_swapped_away_is_out_of_date(tmp_path: Path) -> None:
    async with slack_harness(PLAN, tmp_path=tmp_path, now=NOW) as h:
        await cover(h, "2026-12-05", user="U0ALICE")
        offer = post(h)
        # Meanwhile Alice swaps that weekend with Bob.
        await h.command("/swap", "<@U0BOB|bob> 2026-12-05 2026-12-12", user="U0ALICE")
        (dm,) = h.standin.dms("U0BOB")
        await click(h, dm, Action.swap_accept, user="U0BOB")
        late = await click(h, offer, Action.cover_take, user="U0CAROL")
        assert (
            "This cover request is out of date: <@U0ALICE>'s shift changed since the request "
            "was made. Nothing changed."
        ) in late.reply_text()
        assert cover_overrides(h) == []
        assert [c.status for c in covers(h)] == ["stale"]
        assert "Closed: <@U0ALICE>'s shift changed" in message_text(post(h))
        assert h.roster.status("support", SATURDAY_NOON).oncall.user == "U0BOB"


async def test_when_slack_refuses_the_post_the_user_is_told_and_nothing_stays_open(
    tmp_path: Path,
) -> None:
    async with slack_harness(PLAN, tmp_path=tmp_path, now=NOW) as h:
        h.standin.fail_next("chat.postMessage", error="channel_not_found", channel="C0SUPPORT")
        await cover(h, "2026-12-05", user="U0ALICE")
        assert [c.status for c in covers(h)] == ["cancelled"]
        assert h.standin.messages("C0SUPPORT") == []
        assert (
            "I couldn't put up your request to cover *Sat 5 Dec 00:00 – Sun 6 Dec 00:00 (Paris "
            "time)* in <#C0SUPPORT>: Slack refuses my posts there (`channel_not_found`). Nothing "
            "changed: the shift is still yours."
        ) in h.dm_texts("U0ALICE")[-1]
        # Once the channel is mended (Slack is asked again a minute on), the same command works.
        h.clock.advance(timedelta(minutes=2))
        await cover(h, "2026-12-05", user="U0ALICE")
        assert [c.status for c in covers(h)] == ["cancelled", "open"]
        assert len(h.standin.messages("C0SUPPORT")) == 1


async def test_a_span_of_shifts_is_posted_at_slacks_pace_and_each_post_follows_its_click(
    tmp_path: Path,
) -> None:
    async with slack_harness(PLAN, tmp_path=tmp_path, now=NOW) as h:
        # Dan's weekdays over two weeks, one post each, as Slack allows them.
        asked = await cover(h, "2026-11-30 09:00 - 2026-12-11 18:00", user="U0DAN")
        assert "I asked your team to cover" in asked.reply_text()
        posted = h.standin.messages("C0SUPPORT")
        asked_for = len(covers(h))
        assert 1 <= len(posted) <= CHANNEL_BURST <= asked_for
        while len(h.standin.messages("C0SUPPORT")) < asked_for:
            h.clock.advance(timedelta(seconds=1))
            await drain(h)
        offers = h.standin.messages("C0SUPPORT")
        assert len(offers) == asked_for
        # Each post has its own button; a click updates that post, and that one only.
        taken = await click(h, offers[-1], Action.cover_take, user="U0ERIN")
        assert taken.status == 200
        h.clock.advance(timedelta(seconds=1))
        await drain(h)
        after = h.standin.messages("C0SUPPORT")
        assert [m.edited for m in after] == [False] * (asked_for - 1) + [True]
        assert "<@U0ERIN> covers <@U0DAN>'s shift" in message_text(after[-1])
