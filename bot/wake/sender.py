"""Sending one push through Apprise, on threads of our own, its logs kept out of ours.

Apprise logs what it sends (payloads, topics, keys) and requests' urllib3 logs the URLs it
calls: both carry the secret of a wake-up URL. Their loggers are cut off from the app's log;
what Apprise says while sending is only read here, for the HTTP status that tells a refusal
(a key the service does not know) from a passing failure (the service is down).
"""

from __future__ import annotations

import asyncio
import logging
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from enum import StrEnum

import apprise

from bot.i18n import N_, _
from bot.wake.message import Push
from bot.wake.methods import NOT_APPRISE, MethodError, error_words

THREADS = 16
# Statuses a retry does not mend: the service refuses the key, the topic, the request.
_RETRIED_4XX = frozenset({408, 425, 429})
_STATUS = re.compile(r"error=(\d{3})")
# Read, never sent to: reading any URL has Apprise load every plugin it has.
WARM_URL = "json://localhost"

_local = threading.local()


class Result(StrEnum):
    sent = "sent"
    failed = "failed"  # try again later
    refused = "refused"  # the service refuses this method for good


@dataclass(frozen=True)
class Outcome:
    result: Result
    service: str  # the service's name, as Apprise says it: "ntfy", "Pushover"…
    reason: str = ""  # never the URL nor what the service said back
    error: MethodError | None = None  # why the method cannot be used, when that is the reason

    def service_words(self) -> str:
        """The service, as the person whose method it is reads it."""
        return _(PUSH_SERVICE) if self.service == PUSH_SERVICE else self.service

    def reason_words(self) -> str:
        """The reason, as the person whose method it is reads it (a status code as it is)."""
        if self.error is not None:
            return error_words(self.error)
        return _(NO_ANSWER) if self.reason == NO_ANSWER else self.reason


# What a service without a name of its own, and a push nobody answered, are called.
PUSH_SERVICE = N_("push service")
NO_ANSWER = N_("no answer (connection failed or timed out)")


class _Capture(logging.Handler):
    """Keeps what Apprise logs on a sending thread, for that thread to read."""

    def emit(self, record: logging.LogRecord) -> None:
        kept = getattr(_local, "records", None)
        if kept is not None and record.levelno >= logging.WARNING:
            kept.append(record.getMessage())


_guard_lock = threading.Lock()
_guarded = False


def guard_logs() -> None:
    """Cut Apprise's and urllib3's loggers off from the app's log (they carry secrets)."""
    global _guarded
    with _guard_lock:
        if _guarded:
            return
        for name in ("apprise", "urllib3"):
            quiet = logging.getLogger(name)
            quiet.propagate = False
            quiet.handlers.clear()
        apprise_logger = logging.getLogger("apprise")
        apprise_logger.setLevel(logging.WARNING)
        apprise_logger.addHandler(_Capture())
        urllib3_logger = logging.getLogger("urllib3")
        urllib3_logger.addHandler(logging.NullHandler())
        # Its lines name the URL's path (a topic, a key), even its warnings: none is made at all,
        # so no handler added to it later (a test's capture, a user's config) can print one.
        urllib3_logger.setLevel(logging.CRITICAL + 1)
        _guarded = True


def describe(url: str) -> str:
    """The service a URL goes to ("ntfy", "Pushover"), or MethodError when Apprise cannot use
    it (the message never repeats the URL)."""
    plugin = _plugin(url)
    return str(getattr(plugin, "service_name", None) or "push service")


def _plugin(url: str) -> apprise.NotifyBase:
    guard_logs()
    plugin = apprise.Apprise.instantiate(url, suppress_exceptions=True)
    if plugin is None:
        raise MethodError(NOT_APPRISE)
    return plugin


def _send_now(url: str, push: Push) -> Outcome:
    try:
        plugin = _plugin(url)
    except MethodError as error:
        return Outcome(Result.refused, PUSH_SERVICE, str(error), error)
    service = str(getattr(plugin, "service_name", None) or PUSH_SERVICE)
    _local.records = []
    try:
        sent = plugin.notify(title=push.title, body=push.body)
        said = list(_local.records)
    except Exception as error:  # a plugin's bug is a failure of this try, never a crash
        return Outcome(Result.failed, service, error.__class__.__name__)
    finally:
        _local.records = None
    if sent:
        return Outcome(Result.sent, service)
    statuses = [int(s) for line in said for s in _STATUS.findall(line)]
    if statuses:
        status = statuses[-1]
        result = (
            Result.refused if 400 <= status < 500 and status not in _RETRIED_4XX else Result.failed
        )
        return Outcome(result, service, f"HTTP {status}")
    return Outcome(Result.failed, service, NO_ANSWER)


class Sender:
    """Sends pushes on threads of its own: a slow push service never holds up the event loop,
    the database threads, or the other pushes."""

    def __init__(self, threads: int = THREADS) -> None:
        self._threads = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="wake")
        guard_logs()
        # Apprise loads its hundred plugins the first time it reads a URL, a third of a second
        # the first alert's wake-up would wait on: read one now, before the app serves.
        _plugin(WARM_URL)

    async def send(self, url: str, push: Push) -> Outcome:
        """Send one push to one expanded URL."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._threads, _send_now, url, push)

    def close(self) -> None:
        self._threads.shutdown(wait=False, cancel_futures=True)
