"""/oncall end to end: signed commands in, ephemeral answers out, times in the viewer's zone."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qsl, urlencode

from bot.sandbox.slack_requests import SlackRequest, sign
from tests.conftest import fixture_bytes
from tests.harness import SIGNING_SECRET, slack_harness
from tests.support.setup_files import SATURDAY_NIGHT
from tests.support.setup_files import SUPPORT_AND_INFRA as PLAN

# Tuesday 1 December 2026, 20:00 in Paris: after the weekday shift, a gap until 09:00.
TUESDAY_NIGHT = datetime(2026, 12, 1, 19, 0, tzinfo=UTC)


async def test_a_new_york_viewer_of_a_paris_team_reads_her_own_time_and_the_teams(
    tmp_path: Path,
) -> None:
    async with slack_harness(
        PLAN, tmp_path=tmp_path, now=SATURDAY_NIGHT, zones={"U0ALICE": "America/New_York"}
    ) as h:
        sent = await h.command("/oncall", "support", user="U0ALICE")
        assert sent.status == 200
        (reply,) = sent.replies()
        assert reply["response_type"] == "ephemeral"
        text = sent.reply_text()
        assert (
            "<@U0CEO> is on call now, Fri 27 Nov 12:00 – Mon 30 Nov 03:00 (your time, New York; "
            "team time Paris: Fri 27 Nov 18:00 – Mon 30 Nov 09:00)."
        ) in text
        assert "Backup: <@U0LEAD2>." in text
        # Monday 09:00 in Paris the weekday layer takes over: Erin on day 21 (30 Nov).
        assert (
            "Next: <@U0ERIN> from Mon 30 Nov 03:00 (your time, New York; team time Paris: "
            "Mon 30 Nov 09:00)."
        ) in text
        # Only Alice saw it: nothing was posted anywhere.
        assert h.standin.calls_to("chat.postMessage") == []
        # Her zone came from users.info.
        assert [c.args["user"] for c in h.standin.calls_to("users.info")] == ["U0ALICE"]


async def test_a_paris_viewer_sees_one_time_and_a_member_of_one_team_needs_no_team_name(
    tmp_path: Path,
) -> None:
    async with slack_harness(PLAN, tmp_path=tmp_path, now=SATURDAY_NIGHT) as h:
        text = (await h.command("/oncall", user="U0BOB")).reply_text()
        assert (
            "*Customer support*: <@U0CEO> is on call now, "
            "Fri 27 Nov 18:00 – Mon 30 Nov 09:00 (Paris time)." in text
        )
        assert "Infrastructure" not in text
        # Someone in no team sees every team.
        both = (await h.command("/oncall", user="U0CEO")).reply_text()
        assert "Customer support" in both  # the CEO is in support's rotation
        stranger = await h.command("/oncall", user="U0LEAD1")
        assert "Customer support" in stranger.reply_text()


async def test_in_a_gap_the_answer_says_nobody(tmp_path: Path) -> None:
    async with slack_harness(PLAN, tmp_path=tmp_path, now=TUESDAY_NIGHT) as h:
        text = (await h.command("/oncall", "support", user="U0BOB")).reply_text()
        assert (
            "*nobody* is on call now — a gap in the schedule until Wed 2 Dec 09:00 (Paris time)."
        ) in text
        # Weekday shifts alternate from Mon 9 Nov (Dan): 2 December is day 23, Erin's.
        assert "Next: <@U0ERIN> from Wed 2 Dec 09:00 (Paris time)." in text


async def test_the_next_seven_days_and_my_own_shifts(tmp_path: Path) -> None:
    async with slack_harness(
        PLAN, tmp_path=tmp_path, now=SATURDAY_NIGHT, zones={"U0ALICE": "America/New_York"}
    ) as h:
        week = (await h.command("/oncall", "support week", user="U0ALICE")).reply_text()
        assert "Customer support: the next seven days" in week
        # The running weekend is shown from its real start, the gaps as nobody.
        assert (
            "• Fri 27 Nov 12:00 – Mon 30 Nov 03:00 _(Fri 27 Nov 18:00 – Mon 30 Nov 09:00)_  "
            "<@U0CEO>" in week
        )
        assert "• Mon 30 Nov 03:00 – 12:00 _(Mon 30 Nov 09:00 – 18:00)_  <@U0ERIN>" in week
        assert (
            "• Mon 30 Nov 12:00 – Tue 1 Dec 03:00 _(Mon 30 Nov 18:00 – Tue 1 Dec 09:00)_  *nobody*"
            in week
        )
        # The last shift starts within the week and is shown whole, to Monday 09:00.
        assert week.endswith(
            "• Fri 4 Dec 12:00 – Mon 7 Dec 03:00 _(Fri 4 Dec 18:00 – Mon 7 Dec 09:00)_  <@U0ALICE>"
        )

        mine = (await h.command("/oncall", "me", user="U0ALICE")).reply_text()
        assert "*Your next shifts*" in mine
        assert (
            "• Fri 4 Dec 12:00 – Mon 7 Dec 03:00 _(Fri 4 Dec 18:00 – Mon 7 Dec 09:00)_ "
            "— Customer support" in mine
        )
        assert "Fri 1 Jan" in mine  # every fourth weekend, within five weeks


async def test_the_week_shows_whole_shifts_not_cut_at_now_or_seven_days_later(
    tmp_path: Path,
) -> None:
    # Wednesday 25 November, 02:49 in Paris: a weekday night, nobody on call.
    night = datetime(2026, 11, 25, 1, 49, tzinfo=UTC)
    async with slack_harness(PLAN, tmp_path=tmp_path, now=night) as h:
        week = (await h.command("/oncall", "support week", user="U0DAN")).reply_text()
        rows = [line for line in week.splitlines() if line.startswith("• ")]
        # The gap under way from its start, Tuesday 18:00; the last row the gap that starts
        # Tuesday 1 December at 18:00 and ends Wednesday 09:00: nothing ends at 02:49.
        assert rows[0] == "• Tue 24 Nov 18:00 – Wed 25 Nov 09:00  *nobody*"
        assert rows[1] == "• Wed 25 Nov 09:00 – 18:00  <@U0DAN>"
        assert "• Fri 27 Nov 18:00 – Mon 30 Nov 09:00  <@U0CEO>" in rows
        assert rows[-2:] == [
            "• Tue 1 Dec 09:00 – 18:00  <@U0DAN>",
            "• Tue 1 Dec 18:00 – Wed 2 Dec 09:00  *nobody*",
        ]
        assert "02:49" not in week
        # One row a shift: five weekdays and their nights, the weekend between.
        assert len(rows) == len(set(rows)) == 11


async def test_help_and_an_unknown_team(tmp_path: Path) -> None:
    async with slack_harness(
        PLAN, tmp_path=tmp_path, now=SATURDAY_NIGHT, extra_users=["U0ZOE"]
    ) as h:
        alone = (await h.command("/oncall", "me", user="U0ZOE")).reply_text()
        assert "You are not in any on-call team, so you have no shifts." in alone
        helped = (await h.command("/oncall", "help", user="U0BOB")).reply_text()
        assert "`/oncall me` — your own next shifts." in helped
        for command in ("/swap", "/cover", "/escalate"):
            assert f"*{command}* — " in helped and f"`{command}` opens a form" in helped
        assert "`/escalate [team] what happened`" in helped
        assert "or with a weekday for the next one, `/cover sat 22:00-06:00`" in helped
        unknown = await h.command("/oncall", "billing", user="U0BOB")
        (reply,) = unknown.replies()
        assert reply["text"] == "I don't know a team called “billing”. Teams: `infra`, `support`."
        assert reply["response_type"] == "ephemeral"
        # Team ids are matched whatever the case.
        assert "Infrastructure" in (await h.command("/oncall", "INFRA", user="U0BOB")).reply_text()
        h.assert_all_valid()


async def test_the_captured_slash_command_format_is_understood(tmp_path: Path) -> None:
    """Slack's own form body (the fixture), with our command, user and response_url in it."""
    async with slack_harness(PLAN, tmp_path=tmp_path, now=SATURDAY_NIGHT) as h:
        fields = parse_qsl(fixture_bytes("slack/slash_command.form-body.txt").decode())
        key = "fixture-oncall"
        response_url = h.standin.response_url_for(key)
        replaced = {
            "command": "/oncall",
            "text": "support",
            "user_id": "U0BOB",
            "user_name": "bob",
            "response_url": response_url,
        }
        body = urlencode([(k, replaced.get(k, v)) for k, v in fields]).encode()
        headers = sign(body, SIGNING_SECRET, int(time.time()))
        sent = await h.send(SlackRequest(body, headers, response_url=response_url))
        assert sent.status == 200
        (reply,) = sent.replies()
        assert "<@U0CEO> is on call now" in reply["text"]


async def test_zones_are_looked_up_once_an_hour_and_team_time_stands_in_when_slack_fails(
    tmp_path: Path,
) -> None:
    async with slack_harness(
        PLAN, tmp_path=tmp_path, now=SATURDAY_NIGHT, zones={"U0ALICE": "America/New_York"}
    ) as h:
        h.standin.fail_next("users.info", error="ratelimited")
        failed = (await h.command("/oncall", "support", user="U0ALICE")).reply_text()
        # Her zone is unknown: the times say plainly that they are team time.
        assert "Fri 27 Nov 18:00 – Mon 30 Nov 09:00 (team time, Paris)" in failed
        h.clock.advance(timedelta(minutes=2))
        for _ in range(3):
            text = (await h.command("/oncall", "support", user="U0ALICE")).reply_text()
            assert "(your time, New York;" in text
        assert len(h.standin.calls_to("users.info")) == 2
        h.clock.advance(timedelta(hours=2))
        await h.command("/oncall", "support", user="U0ALICE")
        assert len(h.standin.calls_to("users.info")) == 3
