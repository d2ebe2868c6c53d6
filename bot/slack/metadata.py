"""Typed context carried by buttons, select options and modals, parsed back in one place.

Slack hands back, untouched, the string we put in a button's ``value``, an option's ``value`` or a
modal's ``private_metadata``; each is the compact JSON of one of the models below.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

# Slack keeps 150 characters of a button's or an option's value (3000 of private_metadata).
VALUE_MAX = 150


class MetadataError(ValueError):
    """A value that did not come from us, or no longer parses; the message says which."""


class _Meta(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SwapRef(_Meta):
    """A swap request, on its Accept and Decline buttons."""

    swap_id: int


class AlertRef(_Meta):
    """An alert, on the buttons of its card and DMs."""

    alert_id: int


class EscalateContext(_Meta):
    """Where /escalate was typed, carried by its modal (private_metadata)."""

    channel: str | None = None


class CoverRef(_Meta):
    """A cover request, on its "I'll cover" button."""

    cover_id: int


class ShiftRef(_Meta):
    """One shift of a team, as an option of the swap modal: epoch seconds keep it short."""

    team: str
    start: int
    end: int

    @classmethod
    def of(cls, team: str, start: datetime, end: datetime) -> ShiftRef:
        return cls(team=team, start=int(start.timestamp()), end=int(end.timestamp()))

    @property
    def start_at(self) -> datetime:
        return datetime.fromtimestamp(self.start, UTC)

    @property
    def end_at(self) -> datetime:
        return datetime.fromtimestamp(self.end, UTC)


M = TypeVar("M", bound=_Meta)


def dump(meta: _Meta, limit: int = VALUE_MAX) -> str:
    """The compact JSON of ``meta``, refused if Slack would cut it."""
    text = meta.model_dump_json()
    if len(text) > limit:
        raise MetadataError(f"{type(meta).__name__} is {len(text)} characters, Slack keeps {limit}")
    return text


def load(model: type[M], raw: str | None) -> M:
    """Parse what Slack handed back into ``model``; anything else is a MetadataError."""
    if not raw:
        raise MetadataError(f"expected {model.__name__}, got nothing")
    try:
        return model.model_validate_json(raw)
    except ValidationError as error:
        raise MetadataError(f"expected {model.__name__}, got {raw[:80]!r}: {error}") from None
