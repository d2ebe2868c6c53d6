"""The catalogs against the code: every word marked in bot/ and handlers/ has a French and a
Brazilian Portuguese translation with the same placeholders and Slack markup as the English."""

from __future__ import annotations

import re
import string
from functools import cache
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from bot.i18n import LANGUAGES, N_, _, catalog_dir, language_tag, ngettext, speaking

ROOT = Path(__file__).resolve().parent.parent
TRANSLATED = [language for language in LANGUAGES if language != "en"]
# Slack markup a translation must keep as it is: mentions, links, dates and escaped brackets.
MARKUP = re.compile(r"<[@#!][^>]*>|&lt;|&gt;|&amp;|`[^`]*\{[^`]*`")


@cache
def code_ids() -> dict[str | tuple[str, str], str]:
    """Every message id marked in the code (plurals as a pair), with where it is."""
    found: dict[str | tuple[str, str], str] = {}
    for folder in ("bot", "handlers"):
        for path, line, message, _comments, _context in extract_from_dir(ROOT / folder):
            key = message if isinstance(message, str) else (message[0], message[1])
            found.setdefault(key, f"{folder}/{path}:{line}")
    return found


@cache
def catalog(language: str) -> Catalog:
    with (catalog_dir(language) / "watchkeeper.po").open("rb") as source:
        return read_po(source, locale=language.replace("-", "_"))


def placeholders(text: str) -> set[str]:
    return {name for _text, name, _spec, _conv in string.Formatter().parse(text) if name}


def test_the_code_marks_words_for_translation() -> None:
    assert "*{team}*: <@{user}> is on call now, {span}." in code_ids()


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_word_in_the_code_is_translated(language: str) -> None:
    problems = []
    messages = catalog(language)
    for key, where in sorted(code_ids().items(), key=lambda item: item[1]):
        msgid = key if isinstance(key, str) else key[0]
        entry = messages.get(msgid)
        english = [key] if isinstance(key, str) else list(key)
        if entry is None:
            problems.append(f"{where}: no {language} entry for {msgid!r} (run make messages)")
            continue
        forms = [entry.string] if isinstance(entry.string, str) else list(entry.string)
        if entry.fuzzy or not all(forms):
            problems.append(f"{where}: {msgid!r} is not translated in {language}")
            continue
        wanted = set().union(*(placeholders(e) for e in english))
        for form in forms:
            if isinstance(key, str) and placeholders(form) != wanted:
                problems.append(
                    f"{where}: {language} {form!r} has placeholders {sorted(placeholders(form))}, "
                    f"the English {sorted(wanted)}"
                )
            if not isinstance(key, str) and not placeholders(form) <= wanted:
                problems.append(f"{where}: {language} {form!r} names a placeholder not in English")
        if not isinstance(key, str) and set().union(*(placeholders(f) for f in forms)) != wanted:
            problems.append(f"{where}: {language} plural forms of {msgid!r} drop a placeholder")
        for form in forms:
            kept = {m for m in MARKUP.findall(form) if not m.startswith("`")}
            expected = {m for e in english for m in MARKUP.findall(e) if not m.startswith("`")}
            if kept != expected:
                problems.append(
                    f"{where}: {language} {form!r} changes Slack markup {sorted(expected)}"
                )
    assert problems == []


def test_words_are_read_in_the_language_being_spoken() -> None:
    word = "No backup."
    with speaking("fr"):
        assert _(word) == "Pas de renfort."
        with speaking("pt-BR"):
            assert _(word) == "Sem reserva."
        assert _(word) == "Pas de renfort."
    assert _(word) == word
    with speaking("de"):  # a language we do not speak reads English
        assert _(word) == word
    assert N_(word) == word
    with speaking("fr"):
        assert ngettext(word, word + "s", 2) == word + "s"  # not in a catalog: English


@pytest.mark.parametrize(
    ("tag", "language"),
    [
        ("en-US", "en"),
        ("en-GB", "en"),
        ("fr-FR", "fr"),
        ("fr-CA", "fr"),
        ("pt-BR", "pt-BR"),
        ("pt-PT", "pt-BR"),
        ("pt_BR", "pt-BR"),
        ("es-ES", None),
        ("", None),
        (None, None),
    ],
)
def test_a_slack_locale_reads_as_the_closest_language_we_speak(
    tag: str | None, language: str | None
) -> None:
    assert language_tag(tag) == language
