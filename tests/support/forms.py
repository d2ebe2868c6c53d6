"""The /cover form as the stand-in shows it."""

from __future__ import annotations

from typing import Any

from bot.enums import View
from bot.sandbox.standin.records import ViewRecord
from tests.harness import Harness


def form(h: Harness, user: str) -> ViewRecord:
    """The /cover form as the user sees it now (opened, then filled)."""
    view = h.standin.last_view(user)
    assert view is not None and view.callback_id == View.cover_request
    return view


def shift_options(view: ViewRecord) -> list[dict[str, Any]]:
    (block,) = [b for b in view.blocks if b.get("block_id") == "shift"]
    return list(block["element"]["options"])
