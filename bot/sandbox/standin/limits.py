"""Block Kit's limits as Slack enforces them: each block's texts, ids and menus, and the blocks of a
message or view checked with slack_sdk's models, as Slack refuses them."""

from __future__ import annotations

import copy
import hashlib
import json
from typing import Any

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block

from bot.sandbox.standin.base import ApiError

# Block Kit's per-element limits (docs.slack.dev/reference/block-kit): characters of a field.
MAX_ACTION_ID = 255
MAX_BLOCK_ID = 255
MAX_BUTTON_TEXT = 75
MAX_BUTTON_VALUE = 2000
MAX_URL = 3000
MAX_SECTION_TEXT = 3000
MAX_FIELD_TEXT = 2000
MAX_HEADER_TEXT = 150
MAX_LABEL_TEXT = 2000
MAX_PLACEHOLDER_TEXT = 150
MAX_OPTION_TEXT = 75
MAX_OPTION_VALUE = 150
MAX_OPTION_GROUP_LABEL = 75
# ...and counts: options of one menu (each select's own cap), option groups, options per group.
MAX_OPTIONS = {
    "static_select": 100,
    "multi_static_select": 100,
    "overflow": 5,
    "radio_buttons": 10,
    "checkboxes": 10,
}
MAX_OPTION_GROUPS = 100
MAX_CONFIRM = {"title": 100, "text": 300, "confirm": 30, "deny": 30}


class Limits:
    """Slack's answers to one block's breaches of Block Kit's limits, as it words them."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def text(self, value: Any, limit: int, where: str) -> None:
        """A string (or a text object's text) of at most ``limit`` characters."""
        if isinstance(value, dict):
            value, where = value.get("text"), f"{where}/text"
        if isinstance(value, str) and len(value) > limit:
            self.problems.append(
                f"[ERROR] must be less than {limit + 1} characters [json-pointer:{where}]"
            )

    def count(self, items: Any, limit: int, where: str) -> None:
        if isinstance(items, list) and len(items) > limit:
            self.problems.append(
                f"[ERROR] no more than {limit} items allowed [json-pointer:{where}]"
            )

    def element(self, element: Any, where: str) -> None:
        """An interactive element: its ids, texts, options and confirmation dialog."""
        if not isinstance(element, dict):
            return
        kind = element.get("type")
        self.text(element.get("action_id"), MAX_ACTION_ID, f"{where}/action_id")
        self.text(element.get("placeholder"), MAX_PLACEHOLDER_TEXT, f"{where}/placeholder")
        if kind == "button":
            self.text(element.get("text"), MAX_BUTTON_TEXT, f"{where}/text")
            self.text(element.get("value"), MAX_BUTTON_VALUE, f"{where}/value")
            self.text(element.get("url"), MAX_URL, f"{where}/url")
        if kind in MAX_OPTIONS:
            self.count(element.get("options"), MAX_OPTIONS[kind], f"{where}/options")
        for i, option in enumerate(_dicts(element.get("options"))):
            self.option(option, f"{where}/options/{i}")
        self.count(element.get("option_groups"), MAX_OPTION_GROUPS, f"{where}/option_groups")
        for i, group in enumerate(_dicts(element.get("option_groups"))):
            at = f"{where}/option_groups/{i}"
            self.text(group.get("label"), MAX_OPTION_GROUP_LABEL, f"{at}/label")
            self.count(group.get("options"), MAX_OPTIONS["static_select"], f"{at}/options")
            for j, option in enumerate(_dicts(group.get("options"))):
                self.option(option, f"{at}/options/{j}")
        if isinstance(element.get("initial_option"), dict):
            self.option(element["initial_option"], f"{where}/initial_option")
        confirm = element.get("confirm")
        if isinstance(confirm, dict):
            for name, limit in MAX_CONFIRM.items():
                self.text(confirm.get(name), limit, f"{where}/confirm/{name}")

    def option(self, option: dict[str, Any], where: str) -> None:
        self.text(option.get("text"), MAX_OPTION_TEXT, f"{where}/text")
        self.text(option.get("value"), MAX_OPTION_VALUE, f"{where}/value")
        self.text(option.get("description"), MAX_OPTION_TEXT, f"{where}/description")
        self.text(option.get("url"), MAX_URL, f"{where}/url")


def _dicts(items: Any) -> list[dict[str, Any]]:
    return [i for i in items if isinstance(i, dict)] if isinstance(items, list) else []


def block_limit_problems(block: dict[str, Any], where: str) -> list[str]:
    """What Slack says about ``block``'s texts, ids and menus past Block Kit's limits."""
    limits = Limits()
    kind = block.get("type")
    limits.text(block.get("block_id"), MAX_BLOCK_ID, f"{where}/block_id")
    if kind == "section":
        limits.text(block.get("text"), MAX_SECTION_TEXT, f"{where}/text")
        for i, item in enumerate(_dicts(block.get("fields"))):
            limits.text(item, MAX_FIELD_TEXT, f"{where}/fields/{i}")
        limits.element(block.get("accessory"), f"{where}/accessory")
    elif kind == "header":
        limits.text(block.get("text"), MAX_HEADER_TEXT, f"{where}/text")
    elif kind == "actions":
        for i, element in enumerate(_dicts(block.get("elements"))):
            limits.element(element, f"{where}/elements/{i}")
    elif kind == "input":
        limits.text(block.get("label"), MAX_LABEL_TEXT, f"{where}/label")
        limits.text(block.get("hint"), MAX_LABEL_TEXT, f"{where}/hint")
        limits.element(block.get("element"), f"{where}/element")
    return limits.problems


def checked_blocks(
    blocks: list[Any], pointer: str, error: str, *, validate: bool
) -> list[dict[str, Any]]:
    """Blocks checked like Slack checks them (via slack_sdk's models), missing ids filled in."""
    problems = []
    filled = []
    for i, block in enumerate(blocks):
        where = f"{pointer}/{i}"
        if not isinstance(block, dict) or not block.get("type"):
            problems.append(f"[ERROR] a block must be an object with a type [json-pointer:{where}]")
            continue
        if validate:
            parsed = Block.parse(copy.deepcopy(block))
            if parsed is None or type(parsed) is Block:
                problems.append(f"[ERROR] unsupported type: {block['type']} [json-pointer:{where}]")
                continue
            # slack_sdk checks a block's own fields, not the elements inside it.
            over = block_limit_problems(block, where)
            if over:
                problems.extend(over)
                continue
            try:
                parsed.validate_json()
            except SlackObjectFormationError as problem:
                problems.append(f"[ERROR] {problem} [json-pointer:{where}]")
                continue
        filled.append(_with_ids(copy.deepcopy(block)))
    if problems:
        raise ApiError(error, messages=problems)
    return filled


def _with_ids(block: dict[str, Any]) -> dict[str, Any]:
    """The block with the ids Slack invents for it and its elements when they are missing."""
    digest = hashlib.sha1(json.dumps(block, sort_keys=True).encode()).digest()
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    short = "".join(alphabet[b % len(alphabet)] for b in digest)
    block.setdefault("block_id", short[:4])
    elements: list[dict[str, Any]] = []
    if isinstance(block.get("elements"), list) and block["type"] == "actions":
        elements = [e for e in block["elements"] if isinstance(e, dict)]
    for name in ("accessory", "element"):
        if isinstance(block.get(name), dict):
            elements.append(block[name])
    for i, element in enumerate(elements):
        if element.get("type") not in ("image", None):
            element.setdefault("action_id", short[4 + i * 5 : 9 + i * 5] or f"a{i}")
    return block
