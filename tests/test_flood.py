"""A flood of alerts into one channel, which Slack takes at about a post a second: what someone
waits on (a critical alert, a change to a card already shown) goes before the cards still
waiting their turn."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from bot.enums import Action
from bot.sandbox.slack_api import Message
from tests.conftest import fixture_bytes
from tests.harness import Harness, message_text
from tests.test_alert_relay import TOKENS, cards, delivery_of, relay


async def post_flood(h: Harness, count: int, first: int = 0, severity: str = "warning") -> None:
    """``count`` distinct alerts from Alertmanager's firing sample, named flood-<first>,
    flood-<first + 1>..."""
    body = json.loads(fixture_bytes("alertmanager/v0.25-firing.json"))
    labels = body["alerts"][0]["labels"]
    labels["severity"] = severity
    for n in range(first, first + count):
        labels["alertname"] = f"flood-{n}"
        body["alerts"][0]["fingerprint"] = f"flood-{n}"
        answer = await h.client.post(
            "/alerts/prometheus",
            json=body,
            headers={"Authorization": f"Bearer {TOKENS['PROMETHEUS_ALERT_TOKEN']}"},
        )
        assert answer.status_code == 202, answer.text


def named(message: Message) -> str:
    """The flood-<n> name a card shows."""
    text = message_text(message)
    start = text.index("alertname=flood-") + len("alertname=")
    return text[start:].split("`")[0]


async def tick(h: Harness, seconds: int = 1) -> None:
    """Let Slack's clock and ours move on a second at a time, the worker delivering what is due."""
    for _ in range(seconds):
        h.clock.advance(timedelta(seconds=1))
        await delivery_of(h).drain()


async def test_a_critical_alert_and_an_acknowledgement_go_before_the_cards_waiting(
    tmp_path: Path,
) -> None:
    async with relay(tmp_path) as h:
        await post_flood(h, 20)
        await delivery_of(h).drain()
        shown = cards(h)
        assert [named(c) for c in shown] == ["flood-0", "flood-1"]  # a burst; the rest wait
        await h.click(shown[0], Action.alert_ack, user="U0BOB")
        await post_flood(h, 1, first=20, severity="critical")
        await delivery_of(h).drain()  # both wait for the channel's next turn, as the cards do

        await tick(h)
        assert [named(c) for c in cards(h)] == ["flood-0", "flood-1", "flood-20"]
        # A card is edited at most every two seconds: the acknowledgement then takes the turn.
        await tick(h)
        acknowledged = h.standin.message("C0SUPPORT", shown[0].ts)
        assert acknowledged is not None
        assert "Acknowledged by <@U0BOB>" in message_text(acknowledged)
        assert len(cards(h)) == 3
        await tick(h)
        assert named(cards(h)[-1]) == "flood-2"  # then the waiting cards, in the order they came
        # The pager holder's DMs did not wait on the channel: one per alert already.
        assert len(h.standin.dms("U0BOB")) == 21
