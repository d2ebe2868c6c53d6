"""The alert messages: the card in the team channel, the DM to whoever is paged, and the DM that
puts an alert in front of leadership. Every update of an alert re-renders them from its data.

Times are written with Slack's date formatting, so each reader sees them in their own zone.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from bot.alerts.notes import Note, Said, kind_word, say, severity_word, someone
from bot.enums import Action
from bot.i18n import _, ngettext
from bot.plan.model import DEFAULT_LEADERSHIP_TITLE, Runbook
from bot.slack.blocks import (
    Block,
    Message,
    actions,
    button,
    context,
    cut,
    header,
    message,
    mrkdwn,
    plain,
    section,
)
from bot.slack.blocks.handover import SEVERITY_ICON
from bot.slack.metadata import AlertRef, dump
from bot.text.escaping import escape, link

# Timeline lines shown on a card; older ones are counted. Labels shown; the rest are counted.
TIMELINE_MAX = 8
LABELS_MAX = 8
DETAILS_MAX = 10
FIELD_TEXT_MAX = 2000
ACTIONS_BLOCK = "alert-actions"


@dataclass(frozen=True)
class TimelineLine:
    """One line of an alert's timeline: when, what, who."""

    at: datetime
    kind: str
    actor: str | None = None
    detail: str = ""  # its words, when stored before notes
    note: Note | None = None  # what it says, in the reader's words


@dataclass(frozen=True)
class AlertCard:
    """Everything an alert's messages show, loaded beforehand."""

    id: int
    team_name: str
    title: str
    severity: str
    status: str  # open | acknowledged | resolved
    integration: str
    first_seen: datetime
    last_seen: datetime
    count: int = 1
    summary: str = ""
    customer: str | None = None
    source: str | None = None
    runbook_url: str | None = None  # the sender's own (an annotation), shown among the links
    runbook: Runbook | None = None  # the setup file's first runbook for this alert
    links: tuple[tuple[str, str], ...] = ()  # (title, url)
    labels: tuple[tuple[str, str], ...] = ()  # (name, value), as the sender gave them
    details: tuple[tuple[str, str], ...] = ()  # other facts: values, custom details
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None
    resolved_at: datetime | None = None
    resolved_by: str | None = None
    leadership_at: datetime | None = None
    leadership_by: str | None = None
    timeline: tuple[TimelineLine, ...] = field(default_factory=tuple)
    leadership_title: str = DEFAULT_LEADERSHIP_TITLE  # "Escalate to CEO"


def when(at: datetime, style: str = "{date_short_pretty} {time}") -> str:
    """``at`` in Slack's date formatting: each reader sees it in their own time zone."""
    fallback = at.strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(at.timestamp())}^{style}|{fallback}>"


def _status_text(card: AlertCard) -> str:
    if card.status == "resolved" and card.resolved_at is not None:
        if card.resolved_by:
            return _(":white_check_mark: Resolved by {who} {when}").format(
                who=someone(card.resolved_by), when=when(card.resolved_at)
            )
        return _(":white_check_mark: Resolved {when}").format(when=when(card.resolved_at))
    if card.acknowledged_at is not None:
        return _(":eyes: Acknowledged by {who} {when}").format(
            who=someone(card.acknowledged_by), when=when(card.acknowledged_at)
        )
    return _(":bell: Open, not acknowledged")


def _fields(card: AlertCard) -> Block:
    seen = ""
    if card.count > 1:
        seen = " · " + ngettext("seen {count}×", "seen {count}×", card.count).format(
            count=card.count
        )
    facts = [
        _("*Severity*") + f"\n{severity_word(card.severity)}",
        _("*Status*") + f"\n{_status_text(card)}",
        _("*Team*") + f"\n{escape(card.team_name)}",
        _("*Customer*") + f"\n{escape(card.customer or '—')}",
        _("*First seen*") + f"\n{when(card.first_seen)}",
        _("*Last seen*") + f"\n{when(card.last_seen)}{seen}",
    ]
    source = card.source or card.integration
    facts.append(_("*Source*") + f"\n{escape(cut(source, 300))}")
    return {"type": "section", "fields": [mrkdwn(f, FIELD_TEXT_MAX) for f in facts]}


def _links(card: AlertCard) -> str:
    parts = []
    if card.runbook_url:
        parts.append(link(card.runbook_url, _("Runbook")))
    parts.extend(link(url, cut(title or url, 80)) for title, url in card.links)
    return " · ".join(parts)


def _runbook(card: AlertCard) -> list[Block]:
    """The setup file's runbook for the alert: its text, then its link."""
    runbook = card.runbook
    if runbook is None:
        return []
    lines = [escape(cut(runbook.text, 500))] if runbook.text else []
    if runbook.url:
        lines.append(link(runbook.url, cut(runbook.url, 80)))
    return [section(_(":hammer_and_wrench: *Runbook:*") + " " + "\n".join(lines))]


def _pairs(
    pairs: Sequence[tuple[str, str]], most: int, show: Callable[[str, str], str], lead: str = ""
) -> list[str]:
    """The first ``most`` name and value pairs as ``show`` writes them, then (after ``lead``) how
    many more there are; none for none."""
    lines = [show(name, value) for name, value in pairs[:most]]
    if len(pairs) > most:
        lines.append(lead + _("and {count} more").format(count=len(pairs) - most))
    return lines


def _label(name: str, value: str) -> str:
    return f"`{escape(cut(name, 60))}={escape(cut(value, 120))}`"


def _detail(name: str, value: str) -> str:
    return f"*{escape(cut(name, 80))}*: {escape(cut(value, 250))}"


def _timeline_line(line: TimelineLine) -> str:
    # A line's words are our own markup, with whatever they quote escaped already.
    text = say(line.note) if line.note else line.detail or kind_word(line.kind)
    by = f" — {someone(line.actor)}" if line.actor and line.kind not in ("received",) else ""
    return f"{when(line.at, '{time}')} {cut(text, 300)}{by}"


def _timeline(card: AlertCard) -> list[Block]:
    lines = list(card.timeline)
    shown = lines[-TIMELINE_MAX:]
    texts = [_timeline_line(line) for line in shown]
    if len(lines) > len(shown):
        earlier = len(lines) - len(shown)
        texts.insert(
            0,
            ngettext("… {count} earlier line", "… {count} earlier lines", earlier).format(
                count=earlier
            ),
        )
    return [context("\n".join(texts))] if texts else []


def _buttons(card: AlertCard, offer_escalate_up: bool) -> list[Block]:
    if card.status == "resolved":
        return []
    value = dump(AlertRef(alert_id=card.id))
    elements = []
    if card.acknowledged_at is None:
        elements.append(button(_("Acknowledge"), Action.alert_ack, value, style="primary"))
    elements.append(button(_("Resolve"), Action.alert_resolve, value))
    elements.append(button(_("Escalate"), Action.alert_escalate, value))
    if offer_escalate_up:
        name = _("Escalate to {title}").format(title=card.leadership_title)
        confirm = {
            "title": plain(_("Escalate to {title}?").format(title=card.leadership_title), 100),
            "text": mrkdwn(
                _(
                    "This sends *{alert}* to the {title} now, by direct message, saying you "
                    "escalated it."
                ).format(alert=escape(cut(card.title, 200)), title=escape(card.leadership_title)),
                300,
            ),
            "confirm": plain(name, 30),
            "deny": plain(_("Cancel"), 30),
            "style": "danger",
        }
        elements.append(
            button(name, Action.alert_escalate_ceo, value, style="danger", confirm=confirm)
        )
    return [actions(ACTIONS_BLOCK, *elements)]


def _title_line(card: AlertCard) -> str:
    icon = SEVERITY_ICON.get(card.severity, ":white_circle:")
    if card.status == "resolved":
        icon = ":white_check_mark:"
    return f"{icon} {severity_word(card.severity).upper()} · {card.title}"


def _body(
    card: AlertCard, lead: Sequence[Block] = (), offer_escalate_up: bool = True
) -> list[Block]:
    blocks: list[Block] = [header(_title_line(card)), *lead]
    if card.summary:
        blocks.append(section(escape(card.summary)))
    blocks.extend(_runbook(card))
    blocks.append(_fields(card))
    details = _pairs(card.details, DETAILS_MAX, _detail, lead="… ")
    if details:
        blocks.append(section("\n".join(details)))
    labels = _pairs(card.labels, LABELS_MAX, _label)
    if labels:
        blocks.append(context(" ".join(labels)))
    links = _links(card)
    if links:
        blocks.append(section(links))
    if card.leadership_at is not None:
        title, at = escape(card.leadership_title), when(card.leadership_at)
        if card.leadership_by:
            line = _(":rotating_light: Escalated to the {title} by {who}, {when}").format(
                title=title, who=someone(card.leadership_by), when=at
            )
        else:
            line = _(":rotating_light: Escalated to the {title} at once (bad news now), {when}")
            line = line.format(title=title, when=at)
        blocks.append(context(line))
    blocks.extend(_timeline(card))
    blocks.extend(_buttons(card, offer_escalate_up))
    return blocks


def _fallback(card: AlertCard, prefix: str = "") -> str:
    if card.status == "resolved":
        state = _("Resolved")
    elif card.status == "acknowledged":
        state = _("Acknowledged")
    else:
        state = _("Alert")
    severity = severity_word(card.severity)
    return f"{prefix}{state} [{severity}] {escape(card.title)} ({escape(card.team_name)})"


def alert_card(card: AlertCard) -> Message:
    """The card in the team channel: what, how bad, who is on it, the timeline, the buttons."""
    return message(_fallback(card), _body(card))


def alert_dm(card: AlertCard, reason: Said | None, *, to_leader: bool = False) -> Message:
    """The DM to someone paged about the alert; ``reason`` says why them ("on call", a step).
    A leader's DM has no "Escalate to CEO": it would page the reader."""
    lead = [
        context(
            _("You are paged for *{team}*: {reason}.").format(
                team=escape(card.team_name), reason=say(reason)
            )
        )
    ]
    return message(
        _fallback(card, _("Paged: ")), _body(card, lead, offer_escalate_up=not to_leader)
    )


def leadership_dm(card: AlertCard, by: str | None, at: datetime) -> Message:
    """The DM that puts the alert in front of leadership: who escalated it, and when (without
    "Escalate to CEO", which would page its own readers)."""
    if by:
        title = escape(card.leadership_title)
        line = _(":rotating_light: {who} escalated this to the {title} {when}.").format(
            who=someone(by), title=title, when=when(at)
        )
        prefix = _("Escalated to the {title}: ").format(title=title)
    else:
        line = _(":rotating_light: Bad news now: a {severity} alert, {when}.").format(
            severity=severity_word(card.severity), when=when(at)
        )
        prefix = _("Bad news now: ")
    return message(_fallback(card, prefix), _body(card, [section(line)], offer_escalate_up=False))


def steady(card: AlertCard) -> AlertCard:
    """The card without what every repeat changes (the count, the last sighting, the repeat
    line of the timeline): what tells a change of state from one more sighting."""
    return replace(
        card,
        count=1,
        last_seen=card.first_seen,
        timeline=tuple(line for line in card.timeline if line.kind != "repeated"),
    )


def content_hash(content: Message) -> str:
    """A short fingerprint of a message, to skip updates that would change nothing."""
    raw = json.dumps(content, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(raw).hexdigest()[:32]
