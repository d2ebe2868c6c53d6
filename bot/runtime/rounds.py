"""The loop of a background worker: a round now, then again every few seconds or when woken."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable


async def run_rounds(
    one_round: Callable[[], Awaitable[object]],
    *,
    interval: float,
    failed: str,
    log: logging.Logger,
    wakeup: asyncio.Event | None = None,
) -> None:
    """Run ``one_round`` until cancelled: at once, then ``interval`` seconds after each round
    ends, or as soon as ``wakeup`` is set. A round that raises is logged (``failed``) and the
    next one comes as usual: the database may be briefly away."""
    while True:
        try:
            await one_round()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception(failed)
        if wakeup is None:
            await asyncio.sleep(interval)
            continue
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(wakeup.wait(), timeout=interval)
        wakeup.clear()
