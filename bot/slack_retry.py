"""What Slack says about trying a call again."""

from __future__ import annotations

import contextlib
from typing import Any


def retry_after(headers: Any, default: float) -> float:
    """The seconds Slack asks to wait before trying again (Retry-After), else ``default``."""
    for name in ("Retry-After", "retry-after"):
        value = headers.get(name) if headers else None
        if value is not None:
            with contextlib.suppress(TypeError, ValueError):
                return max(float(value), 0.0)
    return default
