"""Log lines: one event per line, key=value, the instant to the second with its offset."""

from __future__ import annotations

import io
import logging
import sys
import time

from bot.app.logs import KeyValueFormatter, OneLineRetries


def _record(created: float, **extra: object) -> logging.LogRecord:
    record = logging.LogRecord(
        "handlers.intake.routes", logging.INFO, "", 0, "alerts accepted", (), None
    )
    record.created = created
    record.__dict__.update(extra)
    return record


def test_a_line_says_when_what_and_the_facts_quoted_where_needed() -> None:
    formatter = KeyValueFormatter()
    formatter.converter = time.gmtime
    line = formatter.format(
        _record(1_796_000_000.25, integration="prometheus", team="support", error='said "no"')
    )
    assert line == (
        "ts=2026-11-30T00:53:20+0000 level=info logger=handlers.intake.routes "
        'msg="alerts accepted" integration=prometheus team=support error="said \\"no\\""'
    )


def test_the_timestamp_follows_the_records_second_by_second() -> None:
    formatter = KeyValueFormatter()
    formatter.converter = time.gmtime
    stamps = [
        formatter.format(_record(at)).split()[0]
        for at in (1_796_000_000.1, 1_796_000_000.9, 1_796_000_001.0, 1_796_000_000.5)
    ]
    assert stamps == [
        "ts=2026-11-30T00:53:20+0000",
        "ts=2026-11-30T00:53:20+0000",
        "ts=2026-11-30T00:53:21+0000",
        "ts=2026-11-30T00:53:20+0000",  # a late record keeps its own second
    ]


def _failed(message: str) -> logging.LogRecord:
    try:
        raise ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 9)")
    except ConnectionRefusedError:
        record = logging.LogRecord("slack_bolt.AsyncApp", logging.ERROR, "", 0, message, (), None)
        record.exc_info = sys.exc_info()
    return record


def test_a_failed_socket_mode_connection_is_one_warning_line_other_errors_keep_their_trace() -> (
    None
):
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(KeyValueFormatter())
    handler.addFilter(OneLineRetries())
    handler.handle(
        _failed(
            "Failed to connect (error: Cannot connect to host wss-primary.slack.com:443); "
            "Retrying..."
        )
    )
    handler.handle(_failed("Failed to run a message listener: boom, session: s-1"))
    retry, other = stream.getvalue().splitlines()
    assert "level=warning" in retry and "Retrying..." in retry and "exc=" not in retry
    assert "level=error" in other and "exc=" in other and "ConnectionRefusedError" in other
