"""The scheduled messages: the handover post in the team channel, the reminder DM to the incoming
person, and the weekly digest DM to leadership."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.handovers.digest import AlertFacts, ShiftReport, TeamWeek, duration_text
from bot.plan.model import Team
from bot.schedule.engine import Shift
from bot.slack import timefmt
from bot.slack.blocks import (
    Block,
    Message,
    context,
    divider,
    escape,
    fit_lines,
    header,
    message,
    section,
)
from bot.slack.blocks.escaping import link

# Open alerts listed one by one; the rest are counted.
CARRIED_MAX = 15
SEVERITY_ICON = {
    "critical": ":red_circle:",
    "error": ":large_orange_circle:",
    "warning": ":large_yellow_circle:",
    "info": ":large_blue_circle:",
}
SEVERITY_ORDER = {"critical": 0, "error": 1, "warning": 2, "info": 3}
HORIZON_TEXT = "the next five weeks"


@dataclass(frozen=True)
class CarriedAlert:
    """An open alert handed to the next person, with the link to follow."""

    alert: AlertFacts
    link: str | None  # the card in the team channel when known, else the alert's own link


@dataclass(frozen=True)
class HandoverSummary:
    """Everything the handover post says, loaded beforehand."""

    team: Team
    instant: datetime  # the hand-off
    outgoing: str | None  # None: the hand-off ends a gap
    outgoing_since: datetime  # start of the span the outgoing person (or gap) covered
    incoming: str | None  # None: the hand-off starts a gap
    incoming_until: datetime | None  # None: not within the schedule's horizon
    next: Shift | None  # the first shift held by someone after the incoming one
    carried: tuple[CarriedAlert, ...]
    last_shift: ShiftReport
    late: bool = False  # the bot was down at the hand-off


@dataclass(frozen=True)
class ReminderSummary:
    """Everything the reminder DM says, loaded beforehand."""

    team: Team
    user: str
    start: datetime
    end: datetime | None
    now: datetime
    outgoing: str | None
    carried: tuple[CarriedAlert, ...]
    viewer: ZoneInfo | None  # the incoming person's zone, when Slack tells it
    late_from: datetime | None = None  # when it was due, if it goes out late (down, late swap)


@dataclass(frozen=True)
class DigestSummary:
    """Everything the weekly digest says, loaded beforehand."""

    start: datetime
    end: datetime
    zone: ZoneInfo
    teams: tuple[TeamWeek, ...]
    late: bool = False


def _mention(user: str | None) -> str:
    return f"<@{user}>" if user else "nobody"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _clock(at: datetime, tz: ZoneInfo) -> str:
    return f"{at.astimezone(tz):%H:%M}"


def _day(at: datetime, tz: ZoneInfo) -> str:
    local = at.astimezone(tz)
    return f"{local:%a} {local.day} {local:%b}"


def _alert_line(carried: CarriedAlert, tz: ZoneInfo) -> str:
    """One open alert: severity, title (linked), since when, and who acknowledged it."""
    alert = carried.alert
    icon = SEVERITY_ICON.get(alert.severity, ":white_circle:")
    title = link(carried.link, alert.title) if carried.link else escape(alert.title)
    state = (
        f"acknowledged by {_mention(alert.acknowledged_by)}"
        if alert.acknowledged_at is not None
        else "*not acknowledged*"
    )
    customer = f", customer {escape(alert.customer)}" if alert.customer else ""
    since = timefmt.day_time(alert.first_seen, tz)
    return f"• {icon} {title} — {alert.severity}{customer}, open since {since}, {state}"


def _carried_text(title: str, carried: Sequence[CarriedAlert], tz: ZoneInfo) -> str:
    """The open alerts, worst severity first, then oldest, as many as fit in one section; the
    ones past the cap (or past Slack's length) counted on a last line of their own."""
    ordered = sorted(
        carried,
        key=lambda c: (SEVERITY_ORDER.get(c.alert.severity, 9), c.alert.first_seen, c.alert.id),
    )
    return fit_lines(
        f"*{title} ({len(carried)}):*",
        [_alert_line(c, tz) for c in ordered[:CARRIED_MAX]],
        lambda left: f"… and {_plural(left, 'more open alert')}.",
        total=len(ordered),
    )


def _carried_section(title: str, carried: Sequence[CarriedAlert], tz: ZoneInfo) -> Block:
    if not carried:
        return section(f"*{title}:* none.")
    return section(_carried_text(title, carried, tz))


def _report_text(report: ShiftReport) -> str:
    """A shift's numbers in one line."""
    worst = (
        f"worst time to acknowledge {duration_text(report.worst_ack)}"
        if report.worst_ack is not None
        else "nothing acknowledged"
    )
    return " · ".join(
        [
            _plural(report.alerts, "alert"),
            f"{report.resolved} resolved",
            _plural(report.escalations, "escalation"),
            worst,
        ]
    )


def handover_message(summary: HandoverSummary) -> Message:
    """The handover post: outgoing → incoming, the new shift in team time, the open alerts
    carried over, what the last shift saw, and who is next."""
    team, tz = summary.team, summary.team.timezone
    if summary.incoming is None:
        until = (
            f"until {timefmt.day_time(summary.incoming_until, tz)} ({timefmt.zone_name(tz)} time)"
            if summary.incoming_until is not None
            else f"nobody is scheduled in {HORIZON_TEXT}"
        )
        handoff = f"{_mention(summary.outgoing)} → *nobody* — gap {until}"
        shift = "*New shift:* none — nobody holds the pager; alerts go straight to escalation."
    else:
        handoff = f"{_mention(summary.outgoing)} → {_mention(summary.incoming)}"
        if summary.outgoing is None:
            handoff = f"*nobody* (a gap) → {_mention(summary.incoming)}"
        span = timefmt.span(summary.instant, summary.incoming_until, tz, tz)
        shift = f"*New shift:* {span}"

    last_span = timefmt.span(summary.outgoing_since, summary.instant, tz, tz)
    who_saw = (
        f"*Last shift* — {_mention(summary.outgoing)}, {last_span}"
        if summary.outgoing is not None
        else f"*While nobody held the pager* — {last_span}"
    )
    last = f"{who_saw}: {_report_text(summary.last_shift)}."

    if summary.next is not None and summary.next.user is not None:
        start = timefmt.day_time(summary.next.start, tz)
        upcoming = (
            f"*Next:* {_mention(summary.next.user)} from {start} ({timefmt.zone_name(tz)} time)."
        )
    else:
        upcoming = f"*Next:* nobody is scheduled in {HORIZON_TEXT}."

    blocks: list[Block] = [
        header(f"Handover — {team.name}"),
        section(f"{handoff}\n{shift}"),
    ]
    if summary.late:
        blocks.append(
            context(
                f":hourglass: Posted late: the bot was down at {_clock(summary.instant, tz)}"
                f" on {_day(summary.instant, tz)} ({timefmt.zone_name(tz)} time)."
            )
        )
    blocks += [
        _carried_section("Open alerts carried over", summary.carried, tz),
        section(last),
        section(upcoming),
    ]
    plain_handoff = f"{_mention(summary.outgoing)} → {_mention(summary.incoming)}"
    late = " (posted late)" if summary.late else ""
    return message(f"Handover in {escape(team.name)}: {plain_handoff}{late}", blocks)


def reminder_message(summary: ReminderSummary) -> Message:
    """The reminder DM: your shift starts soon, when, from whom, and the open alerts."""
    team, tz = summary.team, summary.team.timezone
    span = timefmt.span(summary.start, summary.end, summary.viewer, tz)
    wait = summary.start - summary.now
    when = f"starts in {duration_text(wait)}" if wait.total_seconds() > 0 else "starts now"
    if summary.outgoing is None:
        before = "Nobody holds the pager before you (a gap): alerts until then go to escalation."
    elif summary.outgoing == summary.user:
        before = "You hold the pager until then already; this is your next shift."
    else:
        before = f"You take over from {_mention(summary.outgoing)}."
    blocks: list[Block] = [
        section(
            f":bell: Your on-call shift for *{escape(team.name)}* {when}.\n"
            f"*Shift:* {span}\n{before}"
        ),
    ]
    if summary.late_from is not None:
        due = timefmt.instant(summary.late_from, summary.viewer, tz)
        blocks.append(context(f":hourglass: Sent late: this reminder was due {due}."))
    blocks.append(_carried_section("Open alerts you will inherit", summary.carried, tz))
    return message(f"Your on-call shift for {escape(team.name)} {when}", blocks)


def _team_week_text(week: TeamWeek) -> str:
    if week.alerts == 0 and week.escalations == 0 and week.acknowledged == 0:
        return f"*{escape(week.name)}*: a quiet week — no alerts."
    lines = [
        f"*{escape(week.name)}*: {_plural(week.alerts, 'alert')} · {week.resolved} resolved · "
        f"{_plural(week.escalations, 'escalation')}"
    ]
    if week.worst_ack is not None and week.p90_ack is not None:
        lines.append(
            f"Time to acknowledge: worst {duration_text(week.worst_ack)}, "
            f"90th percentile {duration_text(week.p90_ack)} "
            f"(over {_plural(week.acknowledged, 'acknowledged alert')})"
        )
    else:
        lines.append("Time to acknowledge: no alert was acknowledged this week")
    if week.repeat_customers:
        names = ", ".join(
            f"*{escape(c.name)}* ({_plural(c.alerts, 'alert')})" for c in week.repeat_customers
        )
        lines.append(f"Repeat contacts (more than two alerts): {names}")
    else:
        lines.append("Repeat contacts: no customer raised more than two alerts")
    return "\n".join(lines)


def digest_message(summary: DigestSummary) -> Message:
    """The weekly digest: per team, the week's alerts, the worst and the 90th-percentile time to
    acknowledge, the escalations, and the customers who raised alerts more than twice."""
    tz = summary.zone
    start, end = summary.start.astimezone(tz), summary.end.astimezone(tz)
    week = f"{timefmt.day_name(start.date())} – {timefmt.day_name(end.date())}"
    blocks: list[Block] = [header(f"Weekly on-call digest: {week}")]
    if summary.late:
        blocks.append(
            context(
                f":hourglass: Sent late: the bot was down at {_clock(summary.end, tz)} "
                f"({timefmt.zone_name(tz)} time)."
            )
        )
    if not summary.teams:
        blocks.append(section("No team is set up."))
    for i, week_of_team in enumerate(summary.teams):
        if i:
            blocks.append(divider())
        blocks.append(section(_team_week_text(week_of_team)))
    blocks.append(
        context(
            f"From {timefmt.day_time(summary.start, tz)} to {timefmt.day_time(summary.end, tz)} "
            f"({timefmt.zone_name(tz)} time)."
        )
    )
    total = sum(w.alerts for w in summary.teams)
    return message(f"Weekly on-call digest ({week}): {_plural(total, 'alert')}", blocks)
