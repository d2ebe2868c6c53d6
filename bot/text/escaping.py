"""Text that others typed, made safe for Slack's mrkdwn: Slack markup only ever comes from us.

Slack reads `&`, `<` and `>` in mrkdwn (and in a message's fallback `text`) as its control
characters: `<!channel>` pings a channel, `<https://x|y>` is a link, `<@U1>` a mention. Whatever a
sender or a user wrote is escaped before it joins our own markup, and links are built here from a
checked URL. plain_text objects (headers, buttons, options, modal titles) are not parsed: Slack
shows their text as it is, so it goes there unescaped.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_USER_ID = re.compile(r"[UW][A-Z0-9]{2,}")
_MENTION = re.compile(r"(<@[UW][A-Z0-9]{2,}(?:\|[^<>|&]*)?>)")
_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_ESCAPED = re.compile(r"&(amp|lt|gt);")
_UNESCAPED = {"amp": "&", "lt": "<", "gt": ">"}
# A URL Slack can link: http(s), and nothing that would end the link or its title early.
_LINKABLE = re.compile(r"https?://[^\s|<>\x00-\x1f\x7f]+", re.IGNORECASE)


def escape(text: str) -> str:
    """``text`` as Slack's mrkdwn shows it literally: `&`, `<` and `>` written as its escapes."""
    return "".join(_ESCAPES.get(char, char) for char in text)


def quoted(typed: str) -> str:
    """What someone typed, quoted back to them in mrkdwn as they typed it.

    A mention they picked from Slack's list (sent to us as `<@U123|bob>`) stays a mention of
    that user id; everything else is escaped.
    """
    parts = _MENTION.split(typed)
    # split() keeps the mentions at the odd places.
    shown = (part if i % 2 else escape(part) for i, part in enumerate(parts))
    return f"“{''.join(shown)}”"


def typed(command: Mapping[str, Any]) -> str:
    """The words typed after a slash command, as typed: Slack sends them escaped."""
    return unescape(str(command.get("text") or ""))


def unescape(text: str) -> str:
    """What Slack shows for escaped ``text``: its three escapes read back (escape's reverse)."""
    return _ESCAPED.sub(lambda match: _UNESCAPED[match[1]], text)


def who(actor: str | None, *, unknown: str) -> str:
    """A mention of a Slack user id; any other name (an integration's) as written, escaped;
    ``unknown`` (the reader's word for "someone") when there is none."""
    if not actor:
        return unknown
    return f"<@{actor}>" if _USER_ID.fullmatch(actor) else escape(actor)


def linkable(url: str) -> bool:
    """Whether ``url`` can be a Slack link: http(s), without `|`, `<`, `>` or blanks."""
    return _LINKABLE.fullmatch(url) is not None


def link(url: str, title: str | None = None) -> str:
    """A link to ``url`` showing ``title``; a URL that cannot be a link is shown as text."""
    # Slack's link is one line: a line break in the title would leave it unclosed.
    title = " ".join((title or "").split())
    shown = escape(title or url)
    if not linkable(url):
        return shown if not title or title == url else f"{shown} ({escape(url)})"
    return f"<{escape(url)}|{shown}>"
