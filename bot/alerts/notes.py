"""What an alert's timeline and its pages say: kept as data (a key and its parameters, JSON in the
database), and said in the language of whoever reads it.

A line stored before the notes existed is English text, and is shown as it is.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import timedelta
from enum import StrEnum
from typing import Any

from bot.alerts.policy import StepChoice
from bot.i18n import N_, _, ngettext
from bot.plan.model import EscalationStep, NotifyTarget
from bot.schedule.timefmt import duration_text
from bot.text.escaping import escape, who

# A note as stored: {"key": "escalated", "number": 2, ...}; or, from before, English text.
Note = dict[str, Any]
Said = Note | str


class Key(StrEnum):
    received = "received"
    repeated = "repeated"
    nobody_to_page = "nobody-to-page"
    skipped = "skipped"
    escalated = "escalated"
    no_further_step = "no-further-step"
    team_gone = "team-gone"
    leadership = "leadership"
    # Why an alert moved on (inside the lines above).
    by_hand = "by-hand"
    not_acknowledged = "not-acknowledged"
    bad_news_now = "bad-news-now"
    escalated_to = "escalated-to"
    # Why someone was paged (their DM says it), and whom a step pages.
    on_call = "on-call"
    step = "step"
    target = "target"


ON_CALL = N_("on call")  # why the first step's pager holder is paged; stored so before notes
# What the lines with nothing more to say show: the kind of the line.
_KINDS = {"acknowledged": N_("acknowledged"), "resolved": N_("resolved")}
# Translators: an alert's severity, as its card, DMs and wake-ups show it.
_SEVERITIES = {
    "critical": N_("critical"),
    "error": N_("error"),
    "warning": N_("warning"),
    "info": N_("info"),
}
# Whom a step pages, in words (or the users it lists).
_TARGETS = {
    NotifyTarget.oncall.value: N_("on-call person"),
    NotifyTarget.backup.value: N_("backup"),
    NotifyTarget.leadership.value: N_("leadership"),
}


def note(key: Key, **params: Any) -> Note:
    """A note to store: its key and its parameters (JSON values, notes among them)."""
    return {"key": key.value, **params}


def target(step: EscalationStep) -> Note:
    """Whom a step pages: the pager holder, the backup, leadership, or the users it lists."""
    return note(Key.target, notify=step.notify.value, users=list(step.users))


def paged_for(choice: StepChoice) -> Note:
    """Why the users of a step are paged, as their DM says it: on call, or the step."""
    if choice.index == 0 and choice.step.notify is NotifyTarget.oncall:
        return note(Key.on_call)
    return note(Key.step, number=choice.number, target=target(choice.step))


def not_acknowledged(wait: timedelta | None) -> Note:
    """Why an alert moved on by itself: nobody acknowledged it (within its step's wait)."""
    minutes = int(wait.total_seconds() // 60) if wait else None
    return note(Key.not_acknowledged, minutes=minutes)


def mentions(users: Iterable[str]) -> str:
    """The users as Slack mentions, "<@U1>, <@U2>"."""
    return ", ".join(f"<@{u}>" for u in users)


def say(said: Said | None) -> str:
    """A note in the current language (text from before the notes, as it is)."""
    if said is None:
        return _("paged")
    if isinstance(said, str):
        return _(ON_CALL) if said == ON_CALL else said
    return _say(said)


def kind_word(kind: str) -> str:
    """What a line with no words of its own says: its kind."""
    return _(_KINDS[kind]) if kind in _KINDS else kind


def _say(said: Mapping[str, Any]) -> str:
    p = dict(said)
    users = mentions(str(u) for u in p.get("users") or ())
    why = say(p["why"]) if p.get("why") is not None else ""
    target_words = say(p["target"]) if p.get("target") is not None else ""
    match p.get("key"):
        case Key.received:
            integration = escape(str(p.get("integration", "")))
            return _("received from {integration}").format(integration=integration)
        case Key.repeated:
            count = int(p.get("count", 2))
            return ngettext("seen {count} time", "seen {count} times", count).format(count=count)
        case Key.nobody_to_page:
            return _("nobody to page: every escalation step is empty right now")
        case Key.skipped:
            return _(
                "nobody on step {skipped}: straight to step {number} ({target}), paged {users}"
            ).format(
                skipped=p.get("skipped"), number=p.get("number"), target=target_words, users=users
            )
        case Key.escalated:
            return _("{why}: step {number} ({target}), paged {users}").format(
                why=why, number=p.get("number"), target=target_words, users=users
            )
        case Key.no_further_step:
            return _("{why}: no further escalation step, everyone in the policy was paged").format(
                why=why
            )
        case Key.team_gone:
            team = escape(str(p.get("team", "")))
            return _("team '{team}' is no longer in the setup file: escalation stopped").format(
                team=team
            )
        case Key.leadership:
            return _("{why}: paged {users}").format(why=why, users=users)
        case Key.by_hand:
            return _("escalated by hand")
        case Key.not_acknowledged if p.get("minutes") is not None:
            wait = duration_text(timedelta(minutes=int(p["minutes"])))
            return _("not acknowledged within {wait}").format(wait=wait)
        case Key.not_acknowledged:
            return _("not acknowledged")
        case Key.bad_news_now:
            return _("bad news now")
        case Key.escalated_to:
            return _("escalated to the {title}").format(title=escape(str(p.get("title", ""))))
        case Key.on_call:
            return _(ON_CALL)
        case Key.step:
            return _("escalation step {number} ({target})").format(
                number=p.get("number"), target=target_words
            )
        case Key.target if p.get("notify") in _TARGETS:
            return _(_TARGETS[str(p["notify"])])
        case Key.target:
            return users or _("nobody")
    return _("paged")


def someone(name: str | None) -> str:
    """Who did something to an alert, for its reader: a mention, an integration's name, or their
    word for "someone" when nobody is known."""
    return who(name, unknown=_("someone"))


def severity_word(severity: str) -> str:
    """An alert's severity in the reader's language (one we do not know, as the sender wrote it)."""
    return _(_SEVERITIES[severity]) if severity in _SEVERITIES else severity
