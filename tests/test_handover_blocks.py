"""The handover post and the reminder DM, built from loaded data: exact words, mentions, spans in
team time across DST, carried-over alerts with links, the last shift's numbers."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from bot.handovers.digest import ShiftReport
from bot.slack.blocks.handover import (
    CARRIED_MAX,
    CarriedAlert,
    ReminderSummary,
    handover_message,
    reminder_message,
)
from tests.support.handover import (
    CARD_LINK,
    CARRIED,
    HANDOFF,
    TEAM,
    facts,
    sections,
    summary,
    utc,
)

TOKYO = ZoneInfo("Asia/Tokyo")


def test_the_handover_post_says_everything_in_team_time() -> None:
    report = ShiftReport(alerts=5, resolved=4, escalations=2, worst_ack=timedelta(minutes=12))
    message = handover_message(summary(carried=CARRIED, last_shift=report))
    assert message["text"] == "Handover in Customer support: <@U0ALICE> → <@U0BOB>"
    assert sections(dict(message)) == [
        "Handover — Customer support",
        "<@U0ALICE> → <@U0BOB>\n*New shift:* Fri 27 Nov 18:00 – Mon 30 Nov 09:00 (Paris time)",
        "*Open alerts carried over (2):*\n"
        "• :red_circle: <https://grafana.example/d/checkout|Checkout error rate 12%> — critical, "
        "customer ACME, open since Fri 27 Nov 17:40, acknowledged by <@U0ALICE>\n"
        f"• :large_yellow_circle: <{CARD_LINK}|Disk 91% full on db-1> — warning, "
        "open since Fri 27 Nov 16:02, *not acknowledged*",
        "*Last shift* — <@U0ALICE>, Fri 20 Nov 18:00 – Fri 27 Nov 18:00 (Paris time): "
        "5 alerts · 4 resolved · 2 escalations · worst time to acknowledge 12 min.",
        "*Next:* <@U0CAROL> from Fri 4 Dec 18:00 (Paris time).",
    ]


def test_a_shift_across_the_autumn_change_keeps_its_wall_times() -> None:
    # Paris leaves summer time on Sunday 25 October 2026: the shift is 40 hours, not 39.
    start = utc(2026, 10, 23, 16, 0)  # Friday 18:00 CEST
    end = utc(2026, 10, 26, 8, 0)  # Monday 09:00 CET
    texts = sections(dict(handover_message(summary(instant=start, incoming_until=end))))
    assert "*New shift:* Fri 23 Oct 18:00 – Mon 26 Oct 09:00 (Paris time)" in texts[1]
    spring = handover_message(
        summary(
            instant=utc(2027, 3, 26, 17, 0),
            incoming_until=utc(2027, 3, 29, 7, 0),
            outgoing_since=utc(2027, 3, 19, 17, 0),
        )
    )
    texts = sections(dict(spring))
    assert "*New shift:* Fri 26 Mar 18:00 – Mon 29 Mar 09:00 (Paris time)" in texts[1]
    assert "Fri 19 Mar 18:00 – Fri 26 Mar 18:00 (Paris time)" in texts[3]


def test_a_handover_into_a_gap_says_nobody_until_when() -> None:
    message = handover_message(summary(incoming=None, incoming_until=utc(2026, 11, 30, 8, 0)))
    texts = sections(dict(message))
    assert texts[1] == (
        "<@U0ALICE> → *nobody* — gap until Mon 30 Nov 09:00 (Paris time)\n"
        "*New shift:* none — nobody holds the pager; alerts go straight to escalation."
    )
    assert message["text"] == "Handover in Customer support: <@U0ALICE> → nobody"
    assert texts[2] == "*Open alerts carried over:* none."
    assert texts[3].endswith(": 0 alerts · 0 resolved · 0 escalations · nothing acknowledged.")


def test_a_handover_out_of_a_gap_reports_what_the_gap_saw() -> None:
    report = ShiftReport(alerts=1, resolved=0, escalations=1, worst_ack=None)
    message = handover_message(summary(outgoing=None, last_shift=report))
    texts = sections(dict(message))
    assert texts[1].startswith("*nobody* (a gap) → <@U0BOB>\n")
    assert texts[3] == (
        "*While nobody held the pager* — Fri 20 Nov 18:00 – Fri 27 Nov 18:00 (Paris time): "
        "1 alert · 0 resolved · 1 escalation · nothing acknowledged."
    )


def test_no_next_shift_within_the_horizon() -> None:
    texts = sections(dict(handover_message(summary(next=None, incoming_until=None))))
    assert "*New shift:* Fri 27 Nov 18:00 – … (Paris time)" in texts[1]
    assert texts[-1] == "*Next:* nobody is scheduled in the next five weeks."


def test_a_late_handover_says_the_bot_was_down() -> None:
    message = handover_message(summary(late=True))
    texts = sections(dict(message))
    assert ":hourglass: Posted late: the bot was down at 18:00 on Fri 27 Nov (Paris time)." in (
        texts
    )
    assert message["text"].endswith("(posted late)")


def test_many_open_alerts_are_capped_and_counted_and_titles_are_escaped() -> None:
    carried = tuple(
        CarriedAlert(facts(n, f"Queue <{n}> & co", "info", HANDOFF - timedelta(hours=n)), None)
        for n in range(CARRIED_MAX + 5)
    )
    texts = sections(dict(handover_message(summary(carried=carried))))
    lines = texts[2].split("\n")
    assert lines[0] == f"*Open alerts carried over ({CARRIED_MAX + 5}):*"
    assert len(lines) == 1 + CARRIED_MAX + 1
    assert lines[-1] == "… and 5 more open alerts."
    # Oldest first within a severity; no link, so the title stands alone, escaped.
    assert lines[1].startswith(f"• :large_blue_circle: Queue &lt;{CARRIED_MAX + 4}&gt; &amp; co")


def test_the_reminder_dm_in_the_incoming_persons_zone() -> None:
    start = HANDOFF
    message = reminder_message(
        ReminderSummary(
            team=TEAM,
            user="U0BOB",
            start=start,
            end=utc(2026, 11, 30, 8, 0),
            now=start - timedelta(hours=1),
            outgoing="U0ALICE",
            carried=(
                CarriedAlert(facts(3, "Login slow", "error", utc(2026, 11, 27, 12, 0)), CARD_LINK),
            ),
            viewer=TOKYO,
        )
    )
    texts = sections(dict(message))
    assert message["text"] == "Your on-call shift for Customer support starts in 1 h"
    assert texts[0] == (
        ":bell: Your on-call shift for *Customer support* starts in 1 h.\n"
        "*Shift:* Sat 28 Nov 02:00 – Mon 30 Nov 17:00 (your time, Tokyo; "
        "team time Paris: Fri 27 Nov 18:00 – Mon 30 Nov 09:00)\n"
        "You take over from <@U0ALICE>."
    )
    assert texts[1] == (
        "*Open alerts you will inherit (1):*\n"
        f"• :large_orange_circle: <{CARD_LINK}|Login slow> — error, "
        "open since Fri 27 Nov 13:00, *not acknowledged*"
    )


def test_a_late_reminder_after_a_gap_says_so() -> None:
    message = reminder_message(
        ReminderSummary(
            team=TEAM,
            user="U0BOB",
            start=HANDOFF,
            end=None,
            now=HANDOFF - timedelta(minutes=25),
            outgoing=None,
            carried=(),
            viewer=None,
            late_from=HANDOFF - timedelta(hours=1),
        )
    )
    texts = sections(dict(message))
    assert texts[0] == (
        ":bell: Your on-call shift for *Customer support* starts in 25 min.\n"
        "*Shift:* Fri 27 Nov 18:00 – … (team time, Paris)\n"
        "Nobody holds the pager before you (a gap): alerts until then go to escalation."
    )
    assert ":hourglass: Sent late: this reminder was due Fri 27 Nov 17:00 (team time, Paris)." in (
        texts
    )
    assert texts[-1] == "*Open alerts you will inherit:* none."


def test_forty_open_alerts_with_links_keep_their_count_line_and_whole_links() -> None:
    long_title = "Checkout fails for customers paying by card in the EU region " * 2
    carried = tuple(
        CarriedAlert(
            facts(n, f"{long_title}#{n}", "critical", HANDOFF - timedelta(minutes=n)),
            f"{CARD_LINK}{n:03d}",
        )
        for n in range(40)
    )
    texts = sections(dict(handover_message(summary(carried=carried))))
    lines = texts[2].split("\n")
    assert lines[0] == "*Open alerts carried over (40):*"
    shown = lines[1:-1]
    assert 0 < len(shown) <= CARRIED_MAX
    assert lines[-1] == f"… and {40 - len(shown)} more open alerts."
    assert len(texts[2]) <= 3000
    for line in shown:  # each alert whole: its link opened and closed, its title intact
        assert line.count("<") == line.count(">") == 1
        assert line.startswith(f"• :red_circle: <{CARD_LINK}")
        assert "… " not in line
