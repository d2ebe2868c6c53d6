"""The words of a wake-up: a pure function of the alert, its team and the link (plain text: a
push reaches lock screens, not Slack)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.alerts.notes import severity_word
from bot.i18n import _

# Lock screens show the first lines; push services cap a message (ntfy 4 KB, Pushover 1024).
TITLE_MAX = 120
SUMMARY_MAX = 400


@dataclass(frozen=True)
class WakeContent:
    title: str
    severity: str
    team: str
    customer: str | None
    summary: str
    ack_url: str
    runbook: str | None = None  # the setup file's runbook text
    runbook_urls: tuple[str, ...] = ()  # its link, and the alert's own
    repeat: int = 1  # the first wake-up, or which repeat


@dataclass(frozen=True)
class Push:
    title: str
    body: str


def _cut(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def wake_push(content: WakeContent) -> Push:
    """Title and body of one wake-up."""
    again = _(" (again, {count})").format(count=content.repeat) if content.repeat > 1 else ""
    severity = severity_word(content.severity)
    title = _cut(f"[{severity.upper()}] {content.title}", TITLE_MAX) + again
    lines = [
        _("Severity: {severity}").format(severity=severity),
        _("Team: {team}").format(team=content.team),
    ]
    if content.customer:
        lines.append(_("Customer: {customer}").format(customer=_cut(content.customer, 120)))
    if content.summary:
        lines.append(_cut(content.summary, SUMMARY_MAX))
    if content.runbook:
        lines.append(_("Runbook: {runbook}").format(runbook=_cut(content.runbook, SUMMARY_MAX)))
    # Links whole, or they lead nowhere.
    lines.extend(_("Runbook: {runbook}").format(runbook=url) for url in content.runbook_urls)
    lines.append(_("Acknowledge: {link}").format(link=content.ack_url))
    return Push(title=title, body="\n".join(lines))


def test_push(masked: str) -> Push:
    """The words of Send a test."""
    return Push(
        title=_("Watchkeeper test wake-up"),
        body=_(
            "This is a test through {method}. When you hold the pager, alerts wake you here."
        ).format(method=masked),
    )
