"""Structured logs: one event per line, key=value pairs after the message."""

from __future__ import annotations

import logging
import re
import sys
import time
from typing import Any

_RESERVED = set(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime"}


def _quote(value: Any) -> str:
    text = str(value)
    if not text or any(c in text for c in ' "=\n'):
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    return text


class KeyValueFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__()
        # The timestamp is to the second: made once a second, not for every line. (Handlers
        # format under their lock, so one line at a time.)
        self._second = -1
        self._stamp = ""

    def _timestamp(self, created: float) -> str:
        second = int(created)
        if second != self._second:
            self._second = second
            self._stamp = time.strftime("%Y-%m-%dT%H:%M:%S%z", self.converter(created))
        return self._stamp

    def format(self, record: logging.LogRecord) -> str:
        fields = {
            "ts": self._timestamp(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        fields.update({k: v for k, v in vars(record).items() if k not in _RESERVED})
        line = " ".join(f"{k}={_quote(v)}" for k, v in fields.items())
        if record.exc_info:
            line += " exc=" + _quote(self.formatException(record.exc_info))
        return line


class OneLineRetries(logging.Filter):
    """Socket Mode's client logs a whole traceback at each failed attempt to reach Slack (every
    ten seconds while Slack or the network is down); its message already says what failed, so
    the attempt is one warning line."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and _SOCKET_RETRY.match(str(record.msg)):
            record.exc_info = None
            record.exc_text = None
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


_SOCKET_RETRY = re.compile(r"Failed to connect \(error: .*\); Retrying\.\.\.$", re.DOTALL)
# Loggers kept to warnings: httpx logs every request at INFO, and the sandbox's own requests to
# the bot would drown the rest.
QUIETED = ("apscheduler", "uvicorn.access", "httpx")


def setup_logging(level: str = "INFO") -> None:
    # What our lines never show is not gathered for every record: the caller's file and line
    # (a walk up the stack), the thread and the process (the logging HOWTO's "Optimization").
    # Each alert received writes a line; this halves what one costs.
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(KeyValueFormatter())
    handler.addFilter(OneLineRetries())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in QUIETED:
        logging.getLogger(noisy).setLevel(logging.WARNING)
