"""What a claim of the outbox costs when many deliveries wait: the delivery worker's look, taken
twice a second and after every alert, against a backlog (a busy hour, a Slack outage).

A SQLite database in a temporary folder holds N alerts' worth of pending rows (a card sync and a
DM each, due over 30 s), 50 of them already held by a worker, and as many done rows; the claim
of the next 50 is timed (and rolled back, so each claim sees the same backlog).

Run: ``python bench/outbox.py`` (1500 and 5000 alerts' worth), ``--smoke`` for a small backlog.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from storage import outbox  # noqa: E402
from storage.db import make_engine, session_scope  # noqa: E402
from storage.migrate import upgrade  # noqa: E402

NOW = datetime(2026, 11, 27, 20, 0, tzinfo=UTC)
ROUNDS = 30


def backlog(url: str, alerts: int) -> None:
    engine = make_engine(url)
    upgrade(engine)
    with session_scope(engine) as session:
        for n in range(alerts):
            due = NOW + timedelta(seconds=n % 30)
            subject = f"alert:{n}"
            outbox.enqueue(session=session, kind=outbox.ALERT_SYNC, now=due, subject=subject)
            outbox.enqueue(
                session=session,
                kind=outbox.ALERT_NOTIFY,
                now=due,
                subject=subject,
                payload={"user": f"U0M{n % 100:03d}", "reason": "holds the pager"},
            )
            done = outbox.enqueue(
                session=session, kind=outbox.SLACK_POST, now=NOW - timedelta(hours=1)
            )
            assert done is not None
            outbox.complete(session=session, outbox_ids=[done], now=NOW)
    with session_scope(engine) as session:
        outbox.claim(session=session, now=NOW + timedelta(seconds=10), limit=50)
    engine.dispose()


def time_claims(url: str) -> tuple[float, int]:
    engine = make_engine(url)
    took = []
    taken = 0
    for _ in range(ROUNDS):
        began = time.perf_counter()
        with session_scope(engine) as session:
            taken = len(outbox.claim(session=session, now=NOW + timedelta(seconds=15), limit=50))
            session.rollback()
        took.append(time.perf_counter() - began)
    engine.dispose()
    return statistics.median(took), taken


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="a small backlog only")
    args = parser.parse_args()
    sizes = (200,) if args.smoke else (1500, 5000)
    for alerts in sizes:
        with tempfile.TemporaryDirectory() as folder:
            url = f"sqlite:///{Path(folder) / 'wk.db'}"
            backlog(url, alerts)
            median, taken = time_claims(url)
        if taken != 50:
            print(f"the claim took {taken} rows, not 50", file=sys.stderr)
            return 1
        print(
            f"{2 * alerts} pending rows ({alerts} alerts), 50 held: claim of 50 "
            f"p50 {median * 1000:.2f} ms over {ROUNDS} claims"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
