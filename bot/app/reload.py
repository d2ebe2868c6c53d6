"""Reloading the setup file at run time: on SIGHUP and when the file changes.

The new file is validated first; a broken one keeps the plan in force and the log says why,
problem by problem. A good one replaces the plan and every listener re-plans (the handover
jobs among them).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from bot.plan.reading import ConfigError, Problem, load_plan
from bot.runtime.rounds import run_rounds
from bot.wake.methods import secret_missing

if TYPE_CHECKING:
    from bot.app.services import Services

logger = logging.getLogger(__name__)

POLL_INTERVAL_S = 2.0

# What identifies one version of the file: an editor's save changes one of these.
Signature = tuple[int, int, int]


def _signature(path: Path) -> Signature | None:
    """The file's modification time, size and inode; None while it is missing."""
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return (stat.st_mtime_ns, stat.st_size, stat.st_ino)


class Reloader:
    """Reloads the setup file when told (SIGHUP) or when it changes on disk."""

    def __init__(self, services: Services, *, interval: float = POLL_INTERVAL_S) -> None:
        self.services = services
        self.interval = interval
        self.last_error: ConfigError | None = None
        self.reloads = 0
        self._seen: Signature | None = None
        self._lock = asyncio.Lock()
        self._signal_loop: asyncio.AbstractEventLoop | None = None
        self._pending: set[asyncio.Task[ConfigError | None]] = set()

    @property
    def path(self) -> Path | None:
        return self.services.plans.path

    async def reload(self, why: str) -> ConfigError | None:
        """Load the file again: on errors keep the plan in force and return them; otherwise
        put the new plan in force and tell every listener."""
        path = self.path
        if path is None:
            return None
        async with self._lock:
            self._seen = _signature(path)
            try:
                plan = await asyncio.to_thread(load_plan, path)
                secret = self.services.settings.watchkeeper_secret
                refusal = secret_missing(plan, added=False, secret=secret)
                if refusal is not None:
                    raise ConfigError([Problem(str(path), None, "", refusal)])
            except ConfigError as error:
                self.last_error = error
                logger.error(
                    "setup file rejected, keeping the plan in force",
                    extra={"file": str(path), "why": why, "problems": str(error)},
                )
                return error
            self.services.plans.replace(plan)
            self.last_error = None
            self.reloads += 1
            logger.info(
                "setup file reloaded",
                extra={"file": str(path), "why": why, "teams": ",".join(sorted(plan.teams))},
            )
        await self.services.plan_changed(None)
        return None

    async def check(self) -> ConfigError | None:
        """Reload when the file changed since it was last read; None when it did not."""
        path = self.path
        if path is None:
            return None
        signature = _signature(path)
        if signature == self._seen:
            return None
        return await self.reload("file changed")

    async def watch(self) -> None:
        """Look at the file every ``interval`` seconds until cancelled."""
        # The file was read at start: the first look comes after a pause. A listener's failure
        # must not stop the watching.
        await asyncio.sleep(self.interval)
        await run_rounds(
            self.check, interval=self.interval, failed="reloading the setup file failed", log=logger
        )

    async def start(self) -> None:
        """Take the file as read now, and reload on SIGHUP where the platform allows."""
        if self.path is not None:
            self._seen = _signature(self.path)
        loop = asyncio.get_running_loop()
        # Signal handlers can only be set from the main thread (and not at all on Windows).
        if threading.current_thread() is not threading.main_thread():
            return
        try:
            loop.add_signal_handler(signal.SIGHUP, self._on_sighup)
        except (NotImplementedError, RuntimeError, ValueError, AttributeError) as error:
            logger.info("no SIGHUP reload on this platform", extra={"why": str(error)})
            return
        self._signal_loop = loop

    async def stop(self) -> None:
        """Stop listening for SIGHUP and wait for a reload it started."""
        if self._signal_loop is not None:
            with contextlib.suppress(Exception):
                self._signal_loop.remove_signal_handler(signal.SIGHUP)
            self._signal_loop = None
        for task in list(self._pending):
            with contextlib.suppress(Exception):
                await task

    def _on_sighup(self) -> None:
        task = asyncio.get_running_loop().create_task(self.reload("SIGHUP"))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)
