"""The bot's words in the reader's language: the gettext catalogs of English, French and
Brazilian Portuguese, and the language every message built in this context speaks.

Builders mark their words with ``_("…")`` (``ngettext`` for counts, ``N_`` for words kept in
tables and translated where they are shown); whoever knows the reader wraps the building in
``speaking(language)``. Placeholders are named, ``_("Next: {who}").format(who=…)``, so that a
translation may put them in its own order.
"""

from __future__ import annotations

import contextlib
import functools
import gettext
import io
from collections.abc import Iterator
from contextvars import ContextVar
from pathlib import Path

from babel import Locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

ENGLISH = "en"
# Every language the bot speaks, as the setup file and the App Home name them.
LANGUAGES = (ENGLISH, "fr", "pt-BR")
LANGUAGE_NAMES = {"en": "English", "fr": "Français", "pt-BR": "Português (Brasil)"}
DOMAIN = "watchkeeper"
LOCALES = Path(__file__).resolve().parent.parent / "locales"

_language: ContextVar[str] = ContextVar("language", default=ENGLISH)


def language_tag(text: object) -> str | None:
    """The language the bot speaks for a tag like Slack's "fr-FR" or "pt-BR", or a setup file's
    "fr"; None when it speaks none close enough (Portuguese of any country reads pt-BR)."""
    if not isinstance(text, str) or not text.strip():
        return None
    primary = text.strip().replace("_", "-").split("-")[0].lower()
    return {"en": ENGLISH, "fr": "fr", "pt": "pt-BR"}.get(primary)


def catalog_dir(language: str) -> Path:
    """Where a language's catalog lives: bot/locales/pt_BR/LC_MESSAGES (gettext's names)."""
    return LOCALES / language.replace("-", "_") / "LC_MESSAGES"


@functools.cache
def translations(language: str) -> gettext.NullTranslations:
    """The compiled catalog of ``language``: the built ``.mo`` when it is at least as new as its
    ``.po``, else the ``.po`` compiled in memory (an editable install, a fresh checkout)."""
    if language == ENGLISH:
        return gettext.NullTranslations()
    folder = catalog_dir(language)
    po, mo = folder / f"{DOMAIN}.po", folder / f"{DOMAIN}.mo"
    if mo.exists() and (not po.exists() or mo.stat().st_mtime >= po.stat().st_mtime):
        with mo.open("rb") as compiled:
            return gettext.GNUTranslations(compiled)
    with po.open("rb") as source:
        catalog = read_po(source, locale=language.replace("-", "_"), domain=DOMAIN)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


def preferred(accept_language: str | None) -> str:
    """The language we speak that a browser's Accept-Language header ranks first ("fr-CH,
    fr;q=0.9, en;q=0.8"), else English."""
    ranked = []
    for order, part in enumerate((accept_language or "").split(",")):
        tag, _sep, params = part.strip().partition(";")
        weight = 1.0
        name, _eq, value = params.strip().partition("=")
        if name.strip() == "q":
            try:
                weight = float(value)
            except ValueError:
                continue
        spoken = language_tag(tag)
        if spoken is not None and weight > 0:
            ranked.append((-weight, order, spoken))
    return min(ranked)[2] if ranked else ENGLISH


def current() -> str:
    """The language of the messages being built now."""
    return _language.get()


@contextlib.contextmanager
def speaking(language: str | None) -> Iterator[str]:
    """Build the messages inside in ``language`` (English when None or one we do not speak);
    threads started with ``asyncio.to_thread`` inside speak it too."""
    chosen = language if language in LANGUAGES else ENGLISH
    token = _language.set(chosen)
    try:
        yield chosen
    finally:
        _language.reset(token)


def _(message: str) -> str:
    """``message`` in the current language."""
    return translations(current()).gettext(message)


def ngettext(singular: str, plural: str, count: int) -> str:
    """The singular or plural form (or the language's own form) for ``count``."""
    return translations(current()).ngettext(singular, plural, count)


def N_(message: str) -> str:
    """Marks words kept in a table for translation; ``_(word)`` translates them where shown."""
    return message


def locale(language: str | None = None) -> Locale:
    """Babel's locale for ``language`` (the current one by default): dates, weekdays, numbers."""
    return Locale.parse((language or current()).replace("-", "_"))
