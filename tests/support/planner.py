"""The running bot's handover planner, as the tests drive it."""

from __future__ import annotations

from dataclasses import replace

from bot.handovers.planner import HandoverPlanner
from tests.harness import Harness


def planner_of(h: Harness) -> HandoverPlanner:
    """The handover planner of ``h``, its Slack retries a few hundredths of a second apart."""
    planner = h.services.handovers
    assert isinstance(planner, HandoverPlanner)
    planner.policy = replace(planner.policy, backoff=0.05)
    return planner
