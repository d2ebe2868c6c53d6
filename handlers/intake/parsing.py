"""Reading untrusted JSON for the intake parsers: every wrong shape becomes an IntakeError."""

from __future__ import annotations

import codecs
import json
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, TypeVar

from bot.alerts.model import IntakeError, Link, clean_text
from bot.text.urls import http_url

MAX_ALERTS = 1000  # per request; Alertmanager's own max_alerts setting is usually far lower


def load_object(body: bytes) -> dict[str, Any]:
    """The request body as a JSON object."""
    return expect_object(load_json(body), "body")


def load_json(body: bytes) -> Any:
    """The request body decoded as UTF-8 JSON."""
    # A byte-order mark is still UTF-8, and some HTTP clients send one.
    skipped = len(codecs.BOM_UTF8) if body.startswith(codecs.BOM_UTF8) else 0
    try:
        text = body[skipped:].decode("utf-8")
    except UnicodeDecodeError as error:
        raise IntakeError(
            f"The body is not UTF-8 text (bad byte at position {skipped + error.start}).",
            "body",
            unparseable=True,
        ) from None
    try:
        return _DECODER.decode(text)
    except json.JSONDecodeError as error:
        raise IntakeError(
            f"The body is not valid JSON: {error.msg} at line {error.lineno}, "
            f"column {error.colno}.",
            "body",
            unparseable=True,
        ) from None
    except RecursionError:
        raise IntakeError(
            "The body is not usable JSON: it is nested too deeply.", "body", unparseable=True
        ) from None
    except ValueError as error:  # a number too long to read, or NaN/Infinity
        message = f"The body is not valid JSON: {error}"
        raise IntakeError(message, "body", unparseable=True) from None


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value.")


# Made once: json.loads given a hook builds a new decoder, and its scanner, at every call.
_DECODER = json.JSONDecoder(parse_constant=_refuse_constant)


def describe(value: Any) -> str:
    """The JSON type of a value in plain words, for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    return "an object"


def expect_object(value: Any, field: str) -> dict[str, Any]:
    """The value, which must be a JSON object."""
    if not isinstance(value, dict):
        raise IntakeError(f"{field} must be a JSON object, not {describe(value)}.", field)
    return value


def optional_str(obj: dict[str, Any], key: str, field: str) -> str | None:
    """obj[key] when it is text; None when absent or null."""
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise IntakeError(f"{field} must be text, not {describe(value)}.", field)
    return value


def required_str(obj: dict[str, Any], key: str, field: str) -> str:
    """obj[key], which must be non-blank text."""
    value = optional_str(obj, key, field)
    if value is None or blank(value):
        raise IntakeError(f"{field} is required and must not be blank.", field)
    return value


Choice = TypeVar("Choice", bound=StrEnum)


def required_choice(
    obj: dict[str, Any], key: str, field: str, choices: type[Choice], listed: str
) -> Choice:
    """obj[key], which must name one of ``choices`` (in any case): the error says ``listed``."""
    value = required_str(obj, key, field)
    try:
        return choices(value.strip().lower())
    except ValueError:
        raise IntakeError(f"{field} must be {listed}, not {value[:40]!r}.", field) from None


def text_or_number(obj: dict[str, Any], field: str) -> str | int | None:
    """obj[field] when it is text or a whole number (an unquoted template value); None when
    absent or null."""
    value = obj.get(field)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise IntakeError(f"{field} must be text, not {describe(value)}.", field)
    return value


def blank(text: str) -> bool:
    """Whether nothing but spaces and control characters is left of the text."""
    return not clean_text(text, one_line=True)


def first_text(*candidates: str | None) -> str | None:
    """The first candidate that is non-blank text."""
    for candidate in candidates:
        if candidate is not None and not blank(candidate):
            return candidate
    return None


def optional_int(obj: dict[str, Any], key: str, field: str) -> int | None:
    """obj[key] when it is a whole number; None when absent or null."""
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise IntakeError(f"{field} must be a whole number, not {describe(value)}.", field)
    return value


def string_map(obj: dict[str, Any], key: str, field: str) -> dict[str, str]:
    """obj[key] as an object whose values are all text (labels, annotations); {} when absent."""
    value = obj.get(key)
    if value is None:
        return {}
    mapping = expect_object(value, field)
    for name, item in mapping.items():
        if not isinstance(item, str):
            raise IntakeError(
                f"{field}.{name} must be text, not {describe(item)}.", f"{field}.{name}"
            )
    return mapping


def scalar_map(obj: dict[str, Any], key: str, field: str) -> dict[str, str]:
    """obj[key] as an object of text, numbers and booleans, each written as text; {} when absent.

    Nulls are left out; lists and objects are refused: a label holds one value.
    """
    value = obj.get(key)
    if value is None:
        return {}
    result: dict[str, str] = {}
    for name, item in expect_object(value, field).items():
        if item is None:
            continue
        if isinstance(item, list | dict):
            raise IntakeError(
                f"{field}.{name} must be text or a number, not {describe(item)}.",
                f"{field}.{name}",
            )
        result[name] = scalar_text(item)
    return result


def scalar_text(value: Any) -> str:
    """A JSON scalar written as text the way JSON writes it (true, 0.75, ...)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    return str(value)


def detail_text(value: Any) -> str:
    """Any JSON value as text for a detail line: scalars plainly, the rest as compact JSON."""
    if not isinstance(value, list | dict):
        return scalar_text(value)
    try:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))[:2000]
    except (RecursionError, ValueError):
        return "(nested too deeply to show)"


def alert_list(doc: dict[str, Any], field: str = "alerts") -> list[Any]:
    """doc[field], which must be a non-empty list of at most MAX_ALERTS entries."""
    value = doc.get(field)
    if value is None:
        raise IntakeError(f"{field} is required: the list of alerts.", field)
    if not isinstance(value, list):
        raise IntakeError(f"{field} must be a list of alerts, not {describe(value)}.", field)
    if not value:
        raise IntakeError(f"{field} is empty: there is no alert to relay.", field)
    if len(value) > MAX_ALERTS:
        raise IntakeError(
            f"{field} has {len(value):,} alerts; at most {MAX_ALERTS:,} are accepted per request.",
            field,
        )
    return value


def instant(obj: dict[str, Any], key: str, field: str) -> datetime | None:
    """obj[key] as an aware instant (ISO 8601 / RFC 3339; UTC when it names no offset).

    None when absent, blank, or Go's zero time (year 1), which Alertmanager sends for "not yet".
    """
    text = optional_str(obj, key, field)
    if text is None or not text.strip():
        return None
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise IntakeError(
            f"{field} is not a date and time in ISO 8601 form (like 2026-11-22T10:10:14Z): "
            f"{text[:60]!r}.",
            field,
        ) from None
    if value.year <= 1:
        return None
    if value.tzinfo is None or value.utcoffset() is None:
        value = value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise IntakeError(f"{field} is out of range: {text[:60]!r}.", field) from None


def link(title: str, url: str | None) -> Link | None:
    """A link when the URL is an http(s) one, else None: a broken link never costs an alert."""
    if url is None:
        return None
    good = http_url(url)
    return Link(title=title, url=good) if good else None


def links(*candidates: Link | None) -> list[Link]:
    """The links that exist, each URL once, in order."""
    seen: set[str] = set()
    result: list[Link] = []
    for candidate in candidates:
        if candidate is not None and candidate.url not in seen:
            seen.add(candidate.url)
            result.append(candidate)
    return result


def details_of(doc: dict[str, Any]) -> dict[str, str]:
    """Opsgenie-style ``details``: any object, each value as text (absent: none)."""
    value = doc.get("details")
    if value is None:
        return {}
    return {
        name: detail_text(item)
        for name, item in expect_object(value, "details").items()
        if item is not None
    }
