"""Block builders: what each message and view says, valid for slack_sdk, within Slack's limits."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.enums import Action, View
from bot.plan.model import Every, Layer
from bot.plan.reading import ID_MAX
from bot.sandbox.standin.limits import block_limit_problems
from bot.schedule.engine import Holding, Shift
from bot.schedule.roster import TeamStatus
from bot.schedule.swaps import TeamShift
from bot.slack.blocks import MESSAGE_BLOCKS_MAX, SECTION_TEXT_MAX, VIEW_BLOCKS_MAX, Message, cut
from bot.slack.blocks.cover import cover_asked_notice, cover_post, cover_taken_notice
from bot.slack.blocks.home import home_view
from bot.slack.blocks.oncall import help_message, my_shifts_message, status_message, week_message
from bot.slack.blocks.swap import (
    swap_channel_post,
    swap_modal,
    swap_outcome_dm,
    swap_request_dm,
    swap_requested_notice,
    swap_result_notice,
)
from bot.slack.metadata import CoverRef, MetadataError, ShiftRef, SwapRef, dump, load
from storage.models import CoverRequest, SwapRequest
from tests.harness import block_texts, validate_blocks, validate_view
from tests.support.teams import support_team

PARIS = ZoneInfo("Europe/Paris")
NEW_YORK = ZoneInfo("America/New_York")
T0 = datetime(2026, 11, 27, 17, 0, tzinfo=UTC)  # Fri 27 Nov 18:00 Paris

TEAM = support_team(
    Layer("weekend", ("U0ALICE", "U0BOB"), datetime(2026, 11, 6, 18), Every(1, "w"), PARIS),
    backup=(Layer("leads", ("U0LEAD1",), datetime(2026, 11, 2, 9), Every(1, "w"), PARIS),),
)


def texts(message: Message) -> str:
    return "\n".join([message["text"], *block_texts(message["blocks"])])


def check(message: Message) -> None:
    validate_blocks(message["blocks"])
    assert 0 < len(message["text"]) <= 3000
    assert len(message["blocks"]) <= MESSAGE_BLOCKS_MAX


def swap_row(**changes: Any) -> SwapRequest:
    row = SwapRequest(
        id=7,
        team="support",
        requester="U0ALICE",
        requester_start=T0,
        requester_end=T0 + timedelta(hours=63),
        target="U0BOB",
        target_start=T0 + timedelta(weeks=1),
        target_end=T0 + timedelta(weeks=1, hours=63),
        status="pending",
        created_at=T0 - timedelta(days=2),
    )
    for key, value in changes.items():
        setattr(row, key, value)
    return row


def status(user: str | None, backup: str | None = "U0LEAD1") -> TeamStatus:
    return TeamStatus(
        team=TEAM,
        at=T0 + timedelta(hours=1),
        oncall=Holding(user, T0, T0 + timedelta(hours=63), "rotation:weekend" if user else "gap"),
        backup=Holding(backup, None, None, "rotation:leads"),
        next=Shift(
            "U0BOB", T0 + timedelta(weeks=1), T0 + timedelta(weeks=1, hours=63), "rotation:weekend"
        ),
    )


def test_status_names_holder_span_backup_and_next_in_the_viewers_zone() -> None:
    message = status_message([status("U0ALICE")], NEW_YORK)
    check(message)
    text = texts(message)
    assert (
        "<@U0ALICE> is on call now, Fri 27 Nov 12:00 – Mon 30 Nov 03:00 (your time, New York;"
        in text
    )
    assert "team time Paris: Fri 27 Nov 18:00 – Mon 30 Nov 09:00)" in text
    assert "Backup: <@U0LEAD1>." in text
    assert "Next: <@U0BOB> from Fri 4 Dec 12:00 (your time, New York" in text


def test_a_gap_says_nobody_plainly() -> None:
    message = status_message([status(None)], PARIS)
    check(message)
    assert "*nobody* is on call now — a gap in the schedule until Mon 30 Nov 09:00" in texts(
        message
    )


def test_week_rows_show_gaps_and_the_zone_note() -> None:
    shifts = [
        Shift("U0ALICE", T0, T0 + timedelta(hours=63), "rotation:weekend"),
        Shift(None, T0 + timedelta(hours=63), T0 + timedelta(days=7), "gap"),
    ]
    message = week_message(TEAM, shifts, NEW_YORK, T0)
    check(message)
    text = texts(message)
    assert "Times are your time (New York); team time (Paris) in brackets." in text
    assert (
        "• Fri 27 Nov 12:00 – Mon 30 Nov 03:00 _(Fri 27 Nov 18:00 – Mon 30 Nov 09:00)_  <@U0ALICE>"
        in text
    )
    assert "*nobody*" in text


def test_a_long_schedule_is_cut_to_slacks_limits_not_refused() -> None:
    hourly = [
        Shift(f"U0P{i:04d}", T0 + timedelta(hours=i), T0 + timedelta(hours=i + 1), "rotation:x")
        for i in range(24 * 7 * 4)
    ]
    message = week_message(TEAM, hourly, NEW_YORK, T0)
    check(message)
    assert all(
        len(b["text"]["text"]) <= SECTION_TEXT_MAX
        for b in message["blocks"]
        if b["type"] == "section"
    )


def test_my_shifts_and_help() -> None:
    mine = [TeamShift(TEAM, "U0ALICE", T0, T0 + timedelta(hours=63))]
    message = my_shifts_message(mine, NEW_YORK)
    check(message)
    assert (
        "Fri 27 Nov 12:00 – Mon 30 Nov 03:00 _(Fri 27 Nov 18:00 – Mon 30 Nov 09:00)_ "
        "— Customer support" in texts(message)
    )
    assert "no shift in the next five weeks" in texts(my_shifts_message([], None))
    helped = help_message(["infra", "support"])
    check(helped)
    assert "`infra`, `support`" in texts(helped) and "/swap @bob 2026-11-28 2026-12-05" in texts(
        helped
    )


def test_swap_request_dm_carries_its_id_on_both_buttons() -> None:
    message = swap_request_dm(swap_row(), TEAM, PARIS)
    check(message)
    buttons = [e for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert [b["action_id"] for b in buttons] == [Action.swap_accept, Action.swap_decline]
    assert {load(SwapRef, b["value"]).swap_id for b in buttons} == {7}
    text = texts(message)
    # Bob is asked to take Alice's weekend (27 Nov) and give her his (4 Dec).
    assert "You would take their shift: Fri 27 Nov 18:00 – Mon 30 Nov 09:00 (Paris time)" in text
    assert "They would take yours: Fri 4 Dec 18:00 – Mon 7 Dec 09:00 (Paris time)" in text


@pytest.mark.parametrize(
    ("outcome", "says"),
    [
        ("accepted", "You accepted"),
        ("declined", "You declined"),
        ("stale", "Out of date: the shifts changed"),
    ],
)
def test_swap_outcomes_replace_the_buttons(outcome: str, says: str) -> None:
    message = swap_outcome_dm(swap_row(status=outcome), TEAM, PARIS, outcome)
    check(message)
    assert says in texts(message)
    assert not [b for b in message["blocks"] if b["type"] == "actions"]
    result = swap_result_notice(swap_row(status=outcome), TEAM, NEW_YORK, outcome)
    check(result)


def test_swap_notices_and_channel_post() -> None:
    check(swap_requested_notice(swap_row(), TEAM, NEW_YORK))
    post = swap_channel_post(swap_row(status="accepted"), TEAM)
    check(post)
    assert (
        "<@U0BOB> holds Fri 27 Nov 18:00 – Mon 30 Nov 09:00 (Paris time), and <@U0ALICE> holds "
        "Fri 4 Dec 18:00 – Mon 7 Dec 09:00 (Paris time)"
    ) in texts(post)


def test_swap_modal_lists_my_shifts_with_their_refs() -> None:
    mine = [
        TeamShift(TEAM, "U0ALICE", T0 + timedelta(weeks=w), T0 + timedelta(weeks=w, hours=63))
        for w in range(3)
    ]
    view = swap_modal(mine, NEW_YORK)
    validate_view(view)
    assert view["callback_id"] == View.swap_request
    (select,) = [b["element"] for b in view["blocks"] if b.get("block_id") == "my_shift"]
    assert select["options"][0]["text"]["text"] == "Fri 27 Nov 12:00 – Mon 30 Nov 03:00"
    ref = load(ShiftRef, select["options"][1]["value"])
    assert (ref.team, ref.start_at, ref.end_at) == ("support", mine[1].start, mine[1].end)


def test_swap_options_of_the_longest_team_id_fit_slacks_150_characters() -> None:
    team = dataclasses.replace(TEAM, id="t" * ID_MAX, name="A team with a long id")
    mine = [
        TeamShift(t, "U0ALICE", T0 + timedelta(weeks=w), T0 + timedelta(weeks=w, hours=63))
        for w in range(2)
        for t in (TEAM, team)
    ]
    view = swap_modal(mine, NEW_YORK)
    assert [p for i, b in enumerate(view["blocks"]) for p in block_limit_problems(b, f"/{i}")] == []
    (select,) = [b["element"] for b in view["blocks"] if b.get("block_id") == "my_shift"]
    assert max(len(o["value"]) for o in select["options"]) <= 150
    assert {load(ShiftRef, o["value"]).team for o in select["options"]} == {"support", "t" * 64}


def test_cover_post_open_then_taken() -> None:
    row = CoverRequest(
        id=3,
        team="support",
        requester="U0ALICE",
        start=T0,
        end=T0 + timedelta(hours=63),
        status="open",
        created_at=T0,
    )
    open_post = cover_post(row, TEAM)
    check(open_post)
    (button,) = [e for b in open_post["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert (
        button["action_id"] == Action.cover_take and load(CoverRef, button["value"]).cover_id == 3
    )
    row.status, row.taken_by = "taken", "U0BOB"
    taken = cover_post(row, TEAM)
    check(taken)
    assert (
        "<@U0BOB> covers <@U0ALICE>'s shift Fri 27 Nov 18:00 – Mon 30 Nov 09:00 (Paris time)"
        in texts(taken)
    )
    assert not [b for b in taken["blocks"] if b["type"] == "actions"]
    check(cover_taken_notice(row, TEAM, NEW_YORK))
    row.status = "stale"
    check(cover_post(row, TEAM, "the shift changed"))
    check(
        cover_asked_notice(
            [TeamShift(TEAM, "U0ALICE", T0, T0 + timedelta(hours=5))],
            {"support": "C0SUPPORT"},
            None,
        )
    )


def test_home_shows_shifts_on_call_and_pending_requests() -> None:
    view = home_view(
        [TeamShift(TEAM, "U0BOB", T0, T0 + timedelta(hours=63))],
        [status("U0ALICE")],
        [swap_row()],
        [swap_row(id=8, requester="U0BOB", target="U0ALICE")],
        {"support": TEAM},
        NEW_YORK,
    )
    validate_view(view)
    text = "\n".join(block_texts(view["blocks"]))
    assert "*Customer support*: <@U0ALICE> until Mon 30 Nov 03:00" in text
    assert "<@U0ALICE> asks to swap shifts with you" in text
    assert "Waiting for <@U0ALICE>" in text
    block_ids = [b.get("block_id") for b in view["blocks"] if b["type"] == "actions"]
    # The swap's buttons and the language menu.
    assert len(block_ids) == len(set(block_ids)) == 2


def test_a_crowded_home_stays_within_the_view_limit() -> None:
    many = [swap_row(id=i) for i in range(1, 200)]
    view = home_view([], [], many, [], {"support": TEAM}, None)
    validate_view(view)
    assert len(view["blocks"]) == VIEW_BLOCKS_MAX
    # However crowded, the page keeps the menu where one picks one's language.
    assert view["blocks"][-1]["elements"][0]["action_id"] == "home-language"


def test_metadata_round_trips_and_refuses_strangers() -> None:
    assert load(SwapRef, dump(SwapRef(swap_id=12))) == SwapRef(swap_id=12)
    with pytest.raises(MetadataError, match="expected SwapRef"):
        load(SwapRef, '{"cover_id": 1}')
    with pytest.raises(MetadataError, match="got nothing"):
        load(CoverRef, None)
    with pytest.raises(MetadataError, match="Slack keeps 150"):
        dump(ShiftRef(team="x" * 150, start=0, end=1))


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("short", 10, "short"),
        ("exactly ten", 11, "exactly ten"),
        ("plain words cut here", 12, "plain words…"),
        # A mention, a date, a link or an escape that the cut would split is left out whole.
        ("paged <@U0ALICE> at once", 12, "paged …"),
        ("since <!date^1764259320^{time}|21:42> today", 20, "since …"),
        ("see <https://example.com/runbooks/refunds|the runbook>", 30, "see …"),
        ("Queue &lt;7&gt; stuck", 8, "Queue …"),
        ("ok <@U0BOB> then more words", 14, "ok <@U0BOB> t…"),
    ],
)
def test_cut_never_splits_a_mention_link_or_escape(text: str, limit: int, expected: str) -> None:
    assert cut(text, limit) == expected
    assert len(cut(text, limit)) <= limit
