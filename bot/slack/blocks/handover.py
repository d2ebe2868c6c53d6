"""The scheduled messages: the handover post in the team channel, the reminder DM to the incoming
person, and the weekly digest DM to leadership."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from bot.alerts.notes import severity_word
from bot.i18n import _, ngettext
from bot.plan.model import Team
from bot.schedule import timefmt
from bot.schedule.engine import Shift
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
from bot.text.escaping import link

if TYPE_CHECKING:
    from bot.handovers.digest import ShiftReport, TeamWeek
    from storage.alert_stats import AlertFacts

# Open alerts listed one by one; the rest are counted.
CARRIED_MAX = 15
SEVERITY_ICON = {
    "critical": ":red_circle:",
    "error": ":large_orange_circle:",
    "warning": ":large_yellow_circle:",
    "info": ":large_blue_circle:",
}
SEVERITY_ORDER = {"critical": 0, "error": 1, "warning": 2, "info": 3}


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
    return f"<@{user}>" if user else _("nobody")


def _alerts(count: int) -> str:
    return ngettext("{count} alert", "{count} alerts", count).format(count=count)


def _escalations(count: int) -> str:
    return ngettext("{count} escalation", "{count} escalations", count).format(count=count)


def _resolved(count: int) -> str:
    return ngettext("{count} resolved", "{count} resolved", count).format(count=count)


def _clock(at: datetime, tz: ZoneInfo) -> str:
    return f"{at.astimezone(tz):%H:%M}"


def _alert_line(carried: CarriedAlert, tz: ZoneInfo) -> str:
    """One open alert: severity, title (linked), since when, and who acknowledged it."""
    alert = carried.alert
    icon = SEVERITY_ICON.get(alert.severity, ":white_circle:")
    title = link(carried.link, alert.title) if carried.link else escape(alert.title)
    state = (
        _("acknowledged by {who}").format(who=_mention(alert.acknowledged_by))
        if alert.acknowledged_at is not None
        else _("*not acknowledged*")
    )
    since = timefmt.day_time(alert.first_seen, tz)
    if alert.customer:
        return _(
            "• {icon} {title} — {severity}, customer {customer}, open since {since}, {state}"
        ).format(
            icon=icon,
            title=title,
            severity=severity_word(alert.severity),
            customer=escape(alert.customer),
            since=since,
            state=state,
        )
    return _("• {icon} {title} — {severity}, open since {since}, {state}").format(
        icon=icon, title=title, severity=severity_word(alert.severity), since=since, state=state
    )


def _carried_text(title: str, carried: Sequence[CarriedAlert], tz: ZoneInfo) -> str:
    """The open alerts, worst severity first, then oldest, as many as fit in one section; the
    ones past the cap (or past Slack's length) counted on a last line of their own."""
    ordered = sorted(
        carried,
        key=lambda c: (SEVERITY_ORDER.get(c.alert.severity, 9), c.alert.first_seen, c.alert.id),
    )
    return fit_lines(
        _("*{title} ({count}):*").format(title=title, count=len(carried)),
        [_alert_line(c, tz) for c in ordered[:CARRIED_MAX]],
        lambda left: ngettext(
            "… and {count} more open alert.", "… and {count} more open alerts.", left
        ).format(count=left),
        total=len(ordered),
    )


def _carried_section(title: str, carried: Sequence[CarriedAlert], tz: ZoneInfo) -> Block:
    if not carried:
        return section(_("*{title}:* none.").format(title=title))
    return section(_carried_text(title, carried, tz))


def _report_text(report: ShiftReport) -> str:
    """A shift's numbers in one line."""
    worst = (
        _("worst time to acknowledge {duration}").format(
            duration=timefmt.duration_text(report.worst_ack)
        )
        if report.worst_ack is not None
        else _("nothing acknowledged")
    )
    return " · ".join(
        [
            _alerts(report.alerts),
            _resolved(report.resolved),
            _escalations(report.escalations),
            worst,
        ]
    )


def handover_message(summary: HandoverSummary) -> Message:
    """The handover post: outgoing → incoming, the new shift in team time, the open alerts
    carried over, what the last shift saw, and who is next."""
    team, tz = summary.team, summary.team.timezone
    zone = timefmt.zone_name(tz)
    if summary.incoming is None:
        if summary.incoming_until is not None:
            handoff = _("{outgoing} → *nobody* — gap until {until} ({zone} time)").format(
                outgoing=_mention(summary.outgoing),
                until=timefmt.day_time(summary.incoming_until, tz),
                zone=zone,
            )
        else:
            handoff = _(
                "{outgoing} → *nobody* — gap: nobody is scheduled in the next five weeks"
            ).format(outgoing=_mention(summary.outgoing))
        shift = _("*New shift:* none — nobody holds the pager; alerts go straight to escalation.")
    else:
        handoff = f"{_mention(summary.outgoing)} → {_mention(summary.incoming)}"
        if summary.outgoing is None:
            handoff = _("*nobody* (a gap) → {incoming}").format(incoming=_mention(summary.incoming))
        span = timefmt.span(summary.instant, summary.incoming_until, tz, tz)
        shift = _("*New shift:* {span}").format(span=span)

    last_span = timefmt.span(summary.outgoing_since, summary.instant, tz, tz)
    report = _report_text(summary.last_shift)
    if summary.outgoing is not None:
        last = _("*Last shift* — {outgoing}, {span}: {report}.").format(
            outgoing=_mention(summary.outgoing), span=last_span, report=report
        )
    else:
        last = _("*While nobody held the pager* — {span}: {report}.").format(
            span=last_span, report=report
        )

    if summary.next is not None and summary.next.user is not None:
        upcoming = _("*Next:* {who} from {start} ({zone} time).").format(
            who=_mention(summary.next.user),
            start=timefmt.day_time(summary.next.start, tz),
            zone=zone,
        )
    else:
        upcoming = _("*Next:* nobody is scheduled in the next five weeks.")

    blocks: list[Block] = [
        header(_("Handover — {team}").format(team=team.name)),
        section(f"{handoff}\n{shift}"),
    ]
    if summary.late:
        blocks.append(
            context(
                _(
                    ":hourglass: Posted late: the bot was down at {clock} on {day} ({zone} time)."
                ).format(
                    clock=_clock(summary.instant, tz),
                    day=timefmt.day_name(summary.instant.astimezone(tz).date(), year=False),
                    zone=zone,
                )
            )
        )
    blocks += [
        _carried_section(_("Open alerts carried over"), summary.carried, tz),
        section(last),
        section(upcoming),
    ]
    plain_handoff = f"{_mention(summary.outgoing)} → {_mention(summary.incoming)}"
    if summary.late:
        text = _("Handover in {team}: {handoff} (posted late)")
    else:
        text = _("Handover in {team}: {handoff}")
    return message(text.format(team=escape(team.name), handoff=plain_handoff), blocks)


def reminder_message(summary: ReminderSummary) -> Message:
    """The reminder DM: your shift starts soon, when, from whom, and the open alerts."""
    team, tz = summary.team, summary.team.timezone
    span = timefmt.span(summary.start, summary.end, summary.viewer, tz)
    wait = summary.start - summary.now
    name = escape(team.name)
    if wait.total_seconds() > 0:
        headline = _("Your on-call shift for {team} starts in {duration}").format(
            team=name, duration=timefmt.duration_text(wait)
        )
        bold = _(":bell: Your on-call shift for *{team}* starts in {duration}.").format(
            team=name, duration=timefmt.duration_text(wait)
        )
    else:
        headline = _("Your on-call shift for {team} starts now").format(team=name)
        bold = _(":bell: Your on-call shift for *{team}* starts now.").format(team=name)
    if summary.outgoing is None:
        before = _("Nobody holds the pager before you (a gap): alerts until then go to escalation.")
    elif summary.outgoing == summary.user:
        before = _("You hold the pager until then already; this is your next shift.")
    else:
        before = _("You take over from {who}.").format(who=_mention(summary.outgoing))
    blocks: list[Block] = [
        section(f"{bold}\n" + _("*Shift:* {span}").format(span=span) + f"\n{before}"),
    ]
    if summary.late_from is not None:
        due = timefmt.instant(summary.late_from, summary.viewer, tz)
        blocks.append(
            context(_(":hourglass: Sent late: this reminder was due {due}.").format(due=due))
        )
    blocks.append(_carried_section(_("Open alerts you will inherit"), summary.carried, tz))
    return message(headline, blocks)


def _team_week_text(week: TeamWeek) -> str:
    name = escape(week.name)
    if week.alerts == 0 and week.escalations == 0 and week.acknowledged == 0:
        return _("*{team}*: a quiet week — no alerts.").format(team=name)
    resolved = _resolved(week.resolved)
    lines = [f"*{name}*: {_alerts(week.alerts)} · {resolved} · {_escalations(week.escalations)}"]
    if week.worst_ack is not None and week.p90_ack is not None:
        lines.append(
            ngettext(
                "Time to acknowledge: worst {worst}, 90th percentile {p90} (over {count} "
                "acknowledged alert)",
                "Time to acknowledge: worst {worst}, 90th percentile {p90} (over {count} "
                "acknowledged alerts)",
                week.acknowledged,
            ).format(
                worst=timefmt.duration_text(week.worst_ack),
                p90=timefmt.duration_text(week.p90_ack),
                count=week.acknowledged,
            )
        )
    else:
        lines.append(_("Time to acknowledge: no alert was acknowledged this week"))
    if week.repeat_customers:
        names = ", ".join(
            f"*{escape(c.name)}* ({_alerts(c.alerts)})" for c in week.repeat_customers
        )
        lines.append(_("Repeat contacts (more than two alerts): {names}").format(names=names))
    else:
        lines.append(_("Repeat contacts: no customer raised more than two alerts"))
    return "\n".join(lines)


def digest_message(summary: DigestSummary) -> Message:
    """The weekly digest: per team, the week's alerts, the worst and the 90th-percentile time to
    acknowledge, the escalations, and the customers who raised alerts more than twice."""
    tz = summary.zone
    start, end = summary.start.astimezone(tz), summary.end.astimezone(tz)
    week = f"{timefmt.day_name(start.date())} – {timefmt.day_name(end.date())}"
    zone = timefmt.zone_name(tz)
    blocks: list[Block] = [header(_("Weekly on-call digest: {week}").format(week=week))]
    if summary.late:
        blocks.append(
            context(
                _(":hourglass: Sent late: the bot was down at {clock} ({zone} time).").format(
                    clock=_clock(summary.end, tz), zone=zone
                )
            )
        )
    if not summary.teams:
        blocks.append(section(_("No team is set up.")))
    for i, week_of_team in enumerate(summary.teams):
        if i:
            blocks.append(divider())
        blocks.append(section(_team_week_text(week_of_team)))
    blocks.append(
        context(
            _("From {start} to {end} ({zone} time).").format(
                start=timefmt.day_time(summary.start, tz),
                end=timefmt.day_time(summary.end, tz),
                zone=zone,
            )
        )
    )
    total = sum(w.alerts for w in summary.teams)
    return message(
        _("Weekly on-call digest ({week}): {alerts}").format(week=week, alerts=_alerts(total)),
        blocks,
    )
