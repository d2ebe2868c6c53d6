"""The handover post's inputs, as loaded data: the support team's hand-off on Friday 27 November
(18:00 in Paris), alerts carried over, and the post's sections read back as text."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.handovers.digest import ShiftReport
from bot.plan.model import Every, Layer
from bot.schedule.engine import Shift
from bot.slack.blocks.handover import CarriedAlert, HandoverSummary
from storage.alert_stats import AlertFacts
from tests.harness import block_texts, validate_blocks
from tests.support.teams import support_team

PARIS = ZoneInfo("Europe/Paris")
TEAM = support_team(
    Layer(
        name="weekend",
        members=("U0ALICE", "U0BOB", "U0CAROL"),
        start=datetime(2026, 11, 6, 18, 0),
        every=Every(1, "w"),
        timezone=PARIS,
    ),
)
HANDOFF = datetime(2026, 11, 27, 17, 0, tzinfo=UTC)  # Friday 27 November, 18:00 in Paris
QUIET = ShiftReport(alerts=0, resolved=0, escalations=0, worst_ack=None)
CARD_LINK = "https://watchkeeper-sandbox.slack.com/archives/C0SUPPORT/p1764259320000100"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def facts(
    n: int,
    title: str,
    severity: str,
    first_seen: datetime,
    *,
    customer: str | None = None,
    acked_by: str | None = None,
) -> AlertFacts:
    return AlertFacts(
        id=n,
        title=title,
        severity=severity,
        customer=customer,
        first_seen=first_seen,
        acknowledged_at=first_seen + timedelta(minutes=4) if acked_by else None,
        acknowledged_by=acked_by,
    )


# Two alerts still open at the hand-off: a warning nobody acknowledged (linked to its card) and a
# customer's critical Alice acknowledged (linked to its Grafana dashboard).
CARRIED = (
    CarriedAlert(facts(7, "Disk 91% full on db-1", "warning", utc(2026, 11, 27, 15, 2)), CARD_LINK),
    CarriedAlert(
        facts(
            9,
            "Checkout error rate 12%",
            "critical",
            utc(2026, 11, 27, 16, 40),
            customer="ACME",
            acked_by="U0ALICE",
        ),
        "https://grafana.example/d/checkout",
    ),
)


def summary(**changes: object) -> HandoverSummary:
    """Alice hands the support team's pager to Bob; ``changes`` replace any field."""
    values: dict[str, object] = {
        "team": TEAM,
        "instant": HANDOFF,
        "outgoing": "U0ALICE",
        "outgoing_since": utc(2026, 11, 20, 17, 0),
        "incoming": "U0BOB",
        "incoming_until": utc(2026, 11, 30, 8, 0),
        "next": Shift("U0CAROL", utc(2026, 12, 4, 17, 0), utc(2026, 12, 7, 8, 0), "rotation"),
        "carried": (),
        "last_shift": QUIET,
    }
    values.update(changes)
    return HandoverSummary(**values)  # type: ignore[arg-type]


def sections(message: dict[str, object]) -> list[str]:
    """The text of each block of a valid message, in order."""
    blocks = message["blocks"]
    assert isinstance(blocks, list)
    validate_blocks(blocks)
    return block_texts(blocks)
