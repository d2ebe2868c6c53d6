"""The roll-up of a flood: one message in a team channel, or one DM to the person paged, counting
the alerts that came since the flood began; menus open each alert's card, with its buttons, in a
modal. Slack takes about a post a second in a conversation: 300 cards one by one would take five
minutes to show, and bury the channel."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.alerts.notes import severity_word
from bot.enums import Action, View
from bot.i18n import _, ngettext
from bot.slack.blocks import (
    OPTION_TEXT_MAX,
    OPTIONS_MAX,
    VIEW_BLOCKS_MAX,
    Block,
    Message,
    capped,
    context,
    cut,
    message,
    modal,
    plain,
    section,
)
from bot.slack.blocks.alert import AlertCard, alert_card, when
from bot.slack.blocks.handover import SEVERITY_ICON, SEVERITY_ORDER
from bot.slack.metadata import AlertRef, dump
from bot.text.escaping import escape

NEWEST_NAMED = 5
TITLE_MAX = 150  # of each alert named in the text
# Menus of a message (each of OPTIONS_MAX alerts, the newest first): the rest are counted.
MENUS_MAX = 10
MENU_BLOCK = "rollup-menu"
STATUS_MARK = {"acknowledged": "👀 ", "resolved": "✅ "}


@dataclass(frozen=True)
class RolledAlert:
    """One alert of a roll-up."""

    id: int
    title: str
    severity: str
    status: str
    team_name: str


@dataclass(frozen=True)
class RollupSummary:
    """What a roll-up shows, loaded beforehand: its alerts, the newest first."""

    in_dm: bool  # a DM to the person paged, or the team channel's message
    since: datetime
    alerts: tuple[RolledAlert, ...]

    @property
    def count(self) -> int:
        return len(self.alerts)


def _counts(summary: RollupSummary) -> str:
    by_severity: dict[str, int] = {}
    for alert in summary.alerts:
        by_severity[alert.severity] = by_severity.get(alert.severity, 0) + 1
    ranked = sorted(by_severity.items(), key=lambda kv: (SEVERITY_ORDER.get(kv[0], 9), kv[0]))
    counts = ", ".join(
        # Translators: how many alerts of one severity ("3 critical"), in a list of them.
        _("{count} {severity}").format(count=count, severity=escape(severity_word(severity)))
        for severity, count in ranked
    )
    acknowledged = sum(a.status == "acknowledged" for a in summary.alerts)
    resolved = sum(a.status == "resolved" for a in summary.alerts)
    handled = []
    if acknowledged:
        handled.append(
            ngettext("{count} acknowledged", "{count} acknowledged", acknowledged).format(
                count=acknowledged
            )
        )
    if resolved:
        handled.append(
            ngettext("{count} resolved", "{count} resolved", resolved).format(count=resolved)
        )
    return counts + (f" ({', '.join(handled)})" if handled else "")


def _headline(summary: RollupSummary, since: str) -> str:
    if summary.in_dm:
        headline = ngettext(
            "{count} alert paged you since {since} — {counts}",
            "{count} alerts paged you since {since} — {counts}",
            summary.count,
        )
    else:
        headline = ngettext(
            "{count} new alert since {since} — {counts}",
            "{count} new alerts since {since} — {counts}",
            summary.count,
        )
    return headline.format(count=summary.count, since=since, counts=_counts(summary))


def _option(alert: RolledAlert) -> Block:
    mark = STATUS_MARK.get(alert.status, "")
    return {
        "text": plain(
            cut(f"{mark}[{severity_word(alert.severity)}] {alert.title}", OPTION_TEXT_MAX)
        ),
        "value": dump(AlertRef(alert_id=alert.id)),
    }


def _menus(alerts: tuple[RolledAlert, ...]) -> list[Block]:
    menus = []
    for n, start in enumerate(range(0, len(alerts), OPTIONS_MAX)):
        if n == MENUS_MAX:
            break
        chunk = alerts[start : start + OPTIONS_MAX]
        placeholder = (
            _("Open an alert")
            if start == 0
            else _("Open an older one ({first}–)").format(first=start + 1)
        )
        menus.append(
            {
                "type": "actions",
                "block_id": f"{MENU_BLOCK}-{n}",
                "elements": [
                    {
                        "type": "static_select",
                        "action_id": Action.rollup_open.value,
                        "placeholder": plain(placeholder),
                        "options": [_option(a) for a in chunk],
                    }
                ],
            }
        )
    return menus


def rollup_message(summary: RollupSummary) -> Message:
    """The roll-up: how many alerts since when, by severity, the newest named, and menus that
    open each one's card."""
    lines = [
        f"{SEVERITY_ICON.get(a.severity, ':white_circle:')} *{cut(escape(a.title), TITLE_MAX)}*"
        f" · {escape(a.team_name)}"
        for a in summary.alerts[:NEWEST_NAMED]
    ]
    blocks = [section(f":rotating_light: *{_headline(summary, when(summary.since, '{time}'))}*")]
    if lines:
        blocks.append(section(_("*Newest*") + "\n" + "\n".join(lines)))
    blocks.extend(_menus(summary.alerts))
    listed = min(summary.count, MENUS_MAX * OPTIONS_MAX)
    note = _(
        "One message for the whole flood instead of one each: pick an alert to open its card, "
        "with its Acknowledge and Resolve buttons."
    )
    if listed < summary.count:
        note += " " + _("The {count} oldest are not listed.").format(count=summary.count - listed)
    blocks.append(context(note))
    return message(_headline(summary, summary.since.strftime("%H:%M UTC")), blocks)


def alert_modal(card: AlertCard) -> Block:
    """An alert's card, with its buttons, in a modal (opened from a roll-up)."""
    blocks = capped(
        alert_card(card)["blocks"], VIEW_BLOCKS_MAX, _("… more left out: too long to show.")
    )
    return modal(_("Alert"), blocks, callback_id=View.alert_card.value, close=_("Close"))
