"""Acknowledge links' tokens: one alert and one person, signed with WATCHKEEPER_SECRET (HMAC)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass

_TOKEN = re.compile(r"(\d{1,12})\.([A-Z0-9]{1,32})\.([A-Za-z0-9_-]{22})")


@dataclass(frozen=True)
class AckToken:
    alert_id: int
    user: str


def _signature(secret: str, alert_id: int, user: str) -> str:
    digest = hmac.new(secret.encode(), f"ack:{alert_id}:{user}".encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(digest.digest()[:16]).decode().rstrip("=")


def sign(secret: str, alert_id: int, user: str) -> str:
    """The token of the link that acknowledges ``alert_id`` as ``user``."""
    return f"{alert_id}.{user}.{_signature(secret, alert_id, user)}"


def verify(secret: str, token: str) -> AckToken | None:
    """What a token names, or None when it is not one we signed (tampered, made up)."""
    match = _TOKEN.fullmatch(token)
    if match is None:
        return None
    alert_id, user = int(match[1]), match[2]
    if not hmac.compare_digest(match[3], _signature(secret, alert_id, user)):
        return None
    return AckToken(alert_id, user)
