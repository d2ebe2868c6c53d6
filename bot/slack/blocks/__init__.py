"""Block Kit builders: pure functions of loaded data that return Slack messages and views.

The pieces here keep every text within Slack's limits, so a long schedule is cut, never refused.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypedDict

# The one escape of what others typed, also reached as bot.slack.blocks.escape.
from bot.i18n import _
from bot.text.escaping import escape

__all__ = ["escape"]

# Slack's limits (api.slack.com/reference/block-kit): texts, counts and lengths.
SECTION_TEXT_MAX = 3000
CONTEXT_TEXT_MAX = 2000  # per element; 10 elements at most
HEADER_TEXT_MAX = 150
BUTTON_TEXT_MAX = 75
OPTION_TEXT_MAX = 75
OPTIONS_MAX = 100
OPTION_GROUPS_MAX = 100  # of at most OPTIONS_MAX options each
MESSAGE_BLOCKS_MAX = 50
VIEW_BLOCKS_MAX = 100
VIEW_TITLE_MAX = 24
FALLBACK_TEXT_MAX = 3000

Block = dict[str, Any]


class Message(TypedDict):
    """A message as chat.postMessage, chat.update and response_url take it."""

    text: str
    blocks: list[Block]


# What Slack reads as one unit in mrkdwn: a mention, channel, date or link in angle brackets,
# and the three escapes. Cut through, the rest shows as raw markup (or eats the text after it).
_TOKEN = re.compile(r"<[^<>\n]*>|&(?:amp|lt|gt);")


def cut(text: str, limit: int) -> str:
    """``text`` shortened to ``limit`` characters, ending in "…" when cut; a mention, link or
    escape that would be split is left out whole."""
    if len(text) <= limit:
        return text
    end = limit - 1
    for token in _TOKEN.finditer(text):
        if token.start() >= end:
            break
        if token.end() > end:
            end = token.start()
            break
    return text[:end] + "…"


def fit_lines(
    head: str,
    lines: Sequence[str],
    rest: Callable[[int], str],
    *,
    total: int | None = None,
    limit: int = SECTION_TEXT_MAX,
) -> str:
    """``head`` then as many whole ``lines`` as fit in ``limit`` characters, then ``rest(n)``
    for the ``n`` of ``total`` (default: the lines given) left out, when any are."""
    total = len(lines) if total is None else total
    shown: list[str] = []
    for i, line in enumerate(lines):
        left_after = total - i - 1
        tail = [rest(left_after)] if left_after else []
        if len("\n".join([head, *shown, line, *tail])) > limit:
            break
        shown.append(line)
    left = total - len(shown)
    return cut("\n".join([head, *shown, *([rest(left)] if left else [])]), limit)


def plain(text: str, limit: int = SECTION_TEXT_MAX) -> dict[str, Any]:
    """A plain_text object: Slack shows ``text`` as it is, so it is never escaped."""
    return {"type": "plain_text", "text": cut(text, limit), "emoji": True}


def mrkdwn(text: str, limit: int = SECTION_TEXT_MAX) -> dict[str, Any]:
    """A mrkdwn object of our markup: whatever others typed in ``text`` is escaped already."""
    return {"type": "mrkdwn", "text": cut(text, limit)}


def header(text: str) -> Block:
    return {"type": "header", "text": plain(text, HEADER_TEXT_MAX)}


def section(text: str, block_id: str | None = None) -> Block:
    block: Block = {"type": "section", "text": mrkdwn(text)}
    if block_id:
        block["block_id"] = block_id
    return block


def context(*texts: str) -> Block:
    return {"type": "context", "elements": [mrkdwn(t, CONTEXT_TEXT_MAX) for t in texts[:10]]}


def divider() -> Block:
    return {"type": "divider"}


def button(
    text: str, action_id: str, value: str, style: str | None = None, confirm: Block | None = None
) -> Block:
    element: Block = {
        "type": "button",
        "text": plain(text, BUTTON_TEXT_MAX),
        "action_id": action_id,
        "value": value,
    }
    if style:
        element["style"] = style
    if confirm:
        element["confirm"] = confirm
    return element


def actions(block_id: str, *elements: Block) -> Block:
    return {"type": "actions", "block_id": block_id, "elements": list(elements)}


def modal(
    title: str,
    blocks: list[Block],
    *,
    close: str,
    submit: str | None = None,
    callback_id: str | None = None,
    metadata: str | None = None,
) -> Block:
    """A modal view: its title and buttons within Slack's limits, then ``blocks``; a modal with
    no ``submit`` only closes."""
    view: Block = {"type": "modal"}
    if callback_id:
        view["callback_id"] = callback_id
    if metadata is not None:
        view["private_metadata"] = metadata
    view["title"] = plain(title, VIEW_TITLE_MAX)
    if submit:
        view["submit"] = plain(submit, VIEW_TITLE_MAX)
    view["close"] = plain(close, VIEW_TITLE_MAX)
    view["blocks"] = blocks
    return view


def input_block(
    block_id: str, label: str, element: Block, *, hint: str | None = None, optional: bool = False
) -> Block:
    """One input of a modal; Slack shows a refusal of its answer against ``block_id``."""
    block: Block = {"type": "input", "block_id": block_id}
    if optional:
        block["optional"] = True
    block["label"] = plain(label)
    if hint is not None:
        block["hint"] = plain(hint)
    block["element"] = element
    return block


def input_state(view: Mapping[str, Any], block_id: str, action_id: str) -> Mapping[str, Any]:
    """What a submitted ``view`` holds for one of its inputs (the words typed, the option
    picked…); empty when nothing is there."""
    found = view.get("state", {}).get("values", {}).get(block_id, {}).get(action_id, {})
    return found if isinstance(found, Mapping) else {}


def answer_text(view: Mapping[str, Any], block_id: str, action_id: str) -> str:
    """The answer to one input of a submitted ``view``: the value of the option picked, or the
    words typed ("" for none)."""
    state = input_state(view, block_id, action_id)
    option = state.get("selected_option")
    if isinstance(option, Mapping):
        return str(option.get("value") or "")
    return str(state.get("value") or "")


def sections_of_lines(lines: Iterable[str], limit: int = SECTION_TEXT_MAX) -> list[Block]:
    """Lines packed into as few sections as Slack's text limit allows, in order."""
    blocks: list[Block] = []
    chunk = ""
    for line in lines:
        line = cut(line, limit)
        if chunk and len(chunk) + 1 + len(line) > limit:
            blocks.append(section(chunk))
            chunk = line
        else:
            chunk = f"{chunk}\n{line}" if chunk else line
    if chunk:
        blocks.append(section(chunk))
    return blocks


def capped(blocks: list[Block], limit: int, note: str) -> list[Block]:
    """At most ``limit`` blocks; when some are left out, the last one says so."""
    if len(blocks) <= limit:
        return blocks
    return [*blocks[: limit - 1], context(note)]


def message(text: str, blocks: list[Block]) -> Message:
    """A message with its notification text and blocks within Slack's limits."""
    return Message(
        text=cut(text, FALLBACK_TEXT_MAX),
        blocks=capped(
            blocks, MESSAGE_BLOCKS_MAX, _("… more left out: the message would be too long.")
        ),
    )


def text_message(text: str) -> Message:
    """A one-section message, e.g. a plain-words refusal (mrkdwn: typed words escaped)."""
    return message(text, [section(text)])
