"""Log lines: one event per line, key=value, the instant to the second with its offset."""

from __future__ import annotations

import logging
import time

from bot.logs import KeyValueFormatter


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
