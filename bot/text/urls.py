"""The check of a URL before it becomes a link: absolute http(s), of a sane length, nothing that
would end a link early."""

from __future__ import annotations

import unicodedata
from urllib.parse import urlsplit

URL_LIMIT = 2000


def http_url(value: str) -> str | None:
    """The value as an absolute http(s) URL fit for a link, or None when it is not one."""
    text = value.strip()
    # Some samples carry "&" escaped twice ("\\u0026" in the JSON); the link only works unescaped.
    text = text.replace("\\u0026", "&")
    if not text or len(text) > URL_LIMIT or any(c.isspace() or c in '<>"' for c in text):
        return None
    if any(unicodedata.category(c) in ("Cc", "Cs") for c in text):
        return None
    try:
        parts = urlsplit(text)
    except ValueError:  # e.g. an unbalanced "[" in the host
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return text
