"""Wake-up methods: Apprise URLs, read from the environment where they say ``${VAR}``, shown
masked. A URL is a secret: this module is the one place that reads it whole."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.i18n import N_, _
from storage.wakeups import fingerprint

if TYPE_CHECKING:
    from bot.plan.model import Plan

_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_SCHEME = re.compile(r"([a-z][a-z0-9+.-]*)://", re.IGNORECASE)
# What a masked URL keeps of its end: enough to tell two methods apart, too little to use.
_SHOWN_TAIL = 4
_SHORTEST_WITH_TAIL = 24


class MethodError(ValueError):
    """A wake-up method that cannot be used; the message never repeats the URL."""


# Why Apprise cannot use a URL (its message, and the words a person reads in their language).
NOT_APPRISE = N_(
    "it is not a URL Apprise can send to (see its list of services: ntfy://, pover://, "
    "tgram://, json://…)"
)


def error_words(error: MethodError) -> str:
    """Why a wake-up method cannot be used, in the current language (never the URL)."""
    if isinstance(error, UnsetVariables):
        return _("it names {names}, which the environment does not set").format(
            names=", ".join(error.names)
        )
    return _(NOT_APPRISE)


class UnsetVariables(MethodError):
    """A wake-up method naming ``${VAR}`` the environment does not set."""

    def __init__(self, names: list[str]) -> None:
        self.names = names
        super().__init__(f"it names {', '.join(names)}, which the environment does not set")


@dataclass(frozen=True)
class Method:
    """One way to wake a person: where it comes from, and the URL as written (``${VAR}``
    unread)."""

    url: str
    source: str  # "setup" (the setup file) or "home" (added in the App Home)
    method_id: int | None = None  # the database row of one added in the App Home

    @property
    def key(self) -> str:
        return fingerprint(self.url)

    @property
    def masked(self) -> str:
        return mask(self.url)


def mask(url: str) -> str:
    """A URL shown back: its scheme and, when long enough, its last characters."""
    match = _SCHEME.match(url)
    scheme = match[1].lower() if match else "?"
    tail = url[-_SHOWN_TAIL:] if len(url) >= _SHORTEST_WITH_TAIL else ""
    return f"{scheme}://••••{tail}"


def expand(url: str, environ: Mapping[str, str]) -> str:
    """The URL with every ``${VAR}`` read from the environment; MethodError names a missing one."""
    missing = [name for name in _VARIABLE.findall(url) if not environ.get(name)]
    if missing:
        raise UnsetVariables(list(dict.fromkeys(missing)))
    return _VARIABLE.sub(lambda m: environ[m[1]], url)


def scheme_of(url: str) -> str:
    match = _SCHEME.match(url)
    return match[1].lower() if match else ""


def in_setup(plan: Plan) -> bool:
    """Whether the setup file gives anyone a wake-up method."""
    return any(person.wake for person in plan.people.values())


SECRET_FIX = (
    "set it in the environment or .env to a long random string (python -c 'import secrets; "
    "print(secrets.token_urlsafe(32))'), the same on every replica and across restarts"
)
SECRET_USE = "it signs the acknowledge link of every wake-up"


def methods_without_secret(plan: Plan, *, added: bool, secret: str | None) -> str | None:
    """Where wake-up methods exist (the setup file, or ``added`` in the App Home) while
    WATCHKEEPER_SECRET, which signs their acknowledge links, is not set; else None."""
    if secret:
        return None
    holders = sorted(user for user, person in plan.people.items() if person.wake)
    if holders:
        more = f" and {len(holders) - 1} more" if len(holders) > 1 else ""
        return f"the setup file gives people wake-up methods (people.{holders[0]}.wake{more})"
    if added:
        return "people added wake-up methods in the App Home (kept in the database)"
    return None


def secret_missing(plan: Plan, *, added: bool, secret: str | None) -> str | None:
    """The error to stop at when wake-up methods exist and WATCHKEEPER_SECRET is not set."""
    where = methods_without_secret(plan, added=added, secret=secret)
    if where is None:
        return None
    return f"WATCHKEEPER_SECRET is not set, and {where}: {SECRET_USE}: {SECRET_FIX}"
