"""A flood of alerts into one channel, which Slack takes at about a post a second: what someone
waits on (a critical alert, a change to a card already shown) goes before the cards still
waiting their turn; more than a few seconds of cards make one roll-up message instead, updated in
place, whose menus open each alert's card with its buttons (the card then shows, in place, what
a click on them did), and one DM to the pager holder, also when the flood comes from many teams
they hold the pager of."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from bot.enums import Action
from bot.sandbox.standin.records import Message, ViewRecord
from bot.slack.metadata import AlertRef, load
from storage import rollups
from storage.db import session_scope
from storage.models import Alert, Rollup
from tests.conftest import fixture_bytes
from tests.harness import Harness, buttons, message_text
from tests.support.relay import (
    FRIDAY_NIGHT,
    TOKENS,
    cards,
    delivery_of,
    post_to_teams,
    relay,
    teams_relay,
)
from tests.support.rows import alert_row


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
        # Then the eighteen waiting: more than a few seconds of cards, so one roll-up of them.
        (rollup,) = rollups_in(cards(h))
        assert "18 new alerts since" in message_text(rollup)
        assert len(cards(h)) == 4
        # The pager holder's pages did not wait on the channel: the first few and the critical
        # one went as DMs of their own, the others folded into one DM.
        dms = h.standin.dms("U0BOB")
        assert len(rollups_in(dms)) == 1
        assert len(carded(dms)) <= 4
        assert any("alertname=flood-20`" in message_text(dm) for dm in dms)


# --- roll-ups ----------------------------------------------------------------------------------

ROLLUP_MARK = " since "


def rollups_in(messages: list[Message]) -> list[Message]:
    return [
        m
        for m in messages
        if any(b.get("block_id", "").startswith("rollup-menu") for b in m.blocks)
    ]


def menu_options(message: Message) -> list[dict[str, Any]]:
    """The options of a roll-up's menus, the newest alert first."""
    return [
        option
        for block in message.blocks
        if block.get("block_id", "").startswith("rollup-menu")
        for element in block["elements"]
        for option in element["options"]
    ]


def rolled_up(message: Message) -> list[int]:
    """The alerts a roll-up's menus open."""
    return [load(AlertRef, option["value"]).alert_id for option in menu_options(message)]


def carded(messages: list[Message]) -> list[int]:
    """The alerts that have a card (or a DM) of their own among these messages."""
    found = []
    for message in messages:
        values = [
            element.get("value")
            for block in message.blocks
            if block["type"] == "actions"
            for element in block["elements"]
            if element.get("action_id") == Action.alert_ack
        ]
        found += [load(AlertRef, v).alert_id for v in values[:1]]
    return found


def alert_ids(h: Harness) -> list[int]:
    with Session(h.services.engine) as session:
        return [a for a in session.exec(select(Alert.id).order_by(col(Alert.id))) if a]


async def flood_for_ten_seconds(h: Harness, count: int) -> None:
    """``count`` alerts over ten seconds, the worker delivering as they come."""
    per_second = count // 10
    for second in range(10):
        await post_flood(h, per_second, first=second * per_second)
        await delivery_of(h).drain()
        await tick(h)


async def test_a_flood_of_300_is_one_rollup_and_one_dm_with_every_alert_a_click_away(
    tmp_path: Path,
) -> None:
    async with relay(tmp_path) as h:
        await flood_for_ten_seconds(h, 300)
        await tick(h, 2)

        channel = cards(h)
        (rollup,) = rollups_in(channel)
        own = carded(channel)
        # The first cards went before anything said a flood was coming; the others are counted.
        assert len(own) <= 3
        assert sorted(own + rolled_up(rollup)) == alert_ids(h)
        assert f"{300 - len(own)} new alerts since" in message_text(rollup)
        # One DM for the flood besides the pages that went before it.
        dms = h.standin.dms("U0BOB")
        (dm_rollup,) = rollups_in(dms)
        assert len(carded(dms)) <= 3
        assert sorted(carded(dms) + rolled_up(dm_rollup)) == alert_ids(h)
        assert "alerts paged you since" in message_text(dm_rollup)
        # Never faster than Slack takes: no 429 at all.
        assert h.standin.rate_limit_events == []
        assert len(h.standin.calls_to("chat.postMessage")) <= 10
        h.assert_all_valid()

        # Any alert of the flood opens, with its buttons, and they work.
        options = menu_options(rollup)
        picked = options[150]
        await h.click(
            rollup,
            Action.rollup_open,
            user="U0BOB",
            block_id="rollup-menu-1",
            selected={"selected_option": picked},
        )
        modal = h.standin.last_view("U0BOB")
        assert modal is not None
        alert_id = load(AlertRef, picked["value"]).alert_id
        with Session(h.services.engine) as session:
            alert = session.get(Alert, alert_id)
            assert alert is not None
            name = alert.labels["alertname"]
        assert f"alertname={name}`" in message_text(modal.view)
        await h.click(modal, Action.alert_ack, user="U0BOB")
        await tick(h, 3)
        with Session(h.services.engine) as session:
            acked = session.get(Alert, alert_id)
            assert acked is not None and acked.acknowledged_by == "U0BOB"
        updated = h.standin.message("C0SUPPORT", rollup.ts)
        assert updated is not None and "1 acknowledged" in message_text(updated)
        h.assert_all_valid()


async def test_a_new_alert_after_the_flood_shows_within_two_seconds(tmp_path: Path) -> None:
    async with relay(tmp_path) as h:
        await flood_for_ten_seconds(h, 300)
        await post_flood(h, 1, first=1000)
        await delivery_of(h).drain()
        await tick(h, 2)
        (rollup,) = rollups_in(cards(h))
        (new,) = [a for a in alert_ids(h) if a == max(alert_ids(h))]
        assert new in carded(cards(h)) + rolled_up(rollup)


async def test_a_critical_alert_in_a_flood_has_its_own_card_at_once(tmp_path: Path) -> None:
    async with relay(tmp_path) as h:
        await post_flood(h, 100)
        await delivery_of(h).drain()
        await tick(h)
        await post_flood(h, 1, first=100, severity="critical")
        await delivery_of(h).drain()
        await tick(h, 2)
        assert "flood-100" in [named(c) for c in cards(h) if "alertname=flood-" in message_text(c)]
        # ...and its page is a DM of its own.
        assert any("flood-100" in text for text in h.dm_texts("U0BOB"))


FORTY_TEAMS = {f"team{n:02d}": "U0BOB" for n in range(40)}


async def test_two_hundred_alerts_over_forty_teams_one_holder_gets_one_dm_for_them(
    tmp_path: Path,
) -> None:
    async with teams_relay(tmp_path, FORTY_TEAMS) as h:
        for n in range(200):
            await post_to_teams(h, [list(FORTY_TEAMS)[n % 40]], str(n))
            if n % 20 == 19:
                await delivery_of(h).drain()
                await tick(h)
        await tick(h, 3)
        dms = h.standin.dms("U0BOB")
        (rollup,) = rollups_in(dms)
        assert len(carded(dms)) <= 3
        assert sorted(carded(dms) + rolled_up(rollup)) == alert_ids(h)
        assert h.standin.rate_limit_events == []
        # Each team's channel has its five cards: none is flooded.
        assert all(len(h.standin.messages(f"C0{team.upper()}")) == 5 for team in FORTY_TEAMS)
        h.assert_all_valid()


def test_two_replicas_joining_one_channel_at_once_share_one_rollup(pg_engine: Engine) -> None:
    at = FRIDAY_NIGHT
    with Session(pg_engine) as session:
        first, second = (alert_row(key, at) for key in ("one", "two"))
        session.add_all([first, second])
        session.commit()
        assert first.id is not None and second.id is not None
        ids = (first.id, second.id)
    joined: list[tuple[int, bool]] = []

    def join(alert_id: int) -> None:
        with session_scope(pg_engine) as session:
            joined.append(
                rollups.join(
                    session=session,
                    kind=rollups.CHANNEL,
                    target="C0SUPPORT",
                    alert_id=alert_id,
                    now=at,
                    open_for=timedelta(minutes=10),
                )
            )

    # One replica starts the channel's roll-up; the other joins before that is committed: it
    # waits for it, and counts its alert in the same roll-up instead of starting a second.
    with session_scope(pg_engine) as session:
        started = rollups.join(
            session=session,
            kind=rollups.CHANNEL,
            target="C0SUPPORT",
            alert_id=ids[0],
            now=at,
            open_for=timedelta(minutes=10),
        )
        other = threading.Thread(target=join, args=(ids[1],))
        other.start()
        other.join(0.5)
    other.join(30)
    assert started[1] and joined == [(started[0], False)]
    with Session(pg_engine) as session:
        assert [r.id for r in session.exec(select(Rollup))] == [started[0]]
        members = rollups.members(session=session, rollup_id=started[0], limit=10)
        assert members is not None and sorted(a.id or 0 for a in members[1]) == sorted(ids)


# --- an alert's card opened from a roll-up ------------------------------------------------------


async def rollup_of_twenty(h: Harness) -> Message:
    """Twenty alerts at once: two cards, then the channel's roll-up of the eighteen others."""
    await post_flood(h, 20)
    await delivery_of(h).drain()
    await tick(h, 3)
    (rollup,) = rollups_in(cards(h))
    return rollup


async def open_from(h: Harness, rollup: Message, user: str) -> tuple[ViewRecord, int]:
    """``user`` picks the roll-up's newest alert in its menu: the modal of its card, and its id."""
    picked = menu_options(rollup)[0]
    await h.click(
        rollup,
        Action.rollup_open,
        user=user,
        block_id="rollup-menu-0",
        selected={"selected_option": picked},
    )
    modal = h.standin.last_view(user)
    assert modal is not None and modal.method == "views.open"
    return modal, load(AlertRef, picked["value"]).alert_id


def shown_in(h: Harness, modal: ViewRecord) -> ViewRecord:
    """What the modal shows now: its latest update."""
    (*_, last) = [v for v in h.standin.views("U0BOB") if v.id == modal.id]
    return last


EVERY_BUTTON = [
    Action.alert_ack,
    Action.alert_resolve,
    Action.alert_escalate,
    Action.alert_escalate_ceo,
]


@pytest.mark.parametrize(
    ("action", "says", "left", "counted"),
    [
        (Action.alert_ack, "Acknowledged by <@U0BOB>", EVERY_BUTTON[1:], " (1 acknowledged)"),
        (Action.alert_resolve, "Resolved by <@U0BOB>", [], " (1 resolved)"),
        (Action.alert_escalate, "escalated by hand", EVERY_BUTTON, ""),
    ],
)
async def test_a_button_in_a_rollups_modal_shows_what_it_did_there_and_in_the_rollup(
    tmp_path: Path, action: Action, says: str, left: list[Action], counted: str
) -> None:
    async with relay(tmp_path) as h:
        rollup = await rollup_of_twenty(h)
        modal, _alert = await open_from(h, rollup, "U0BOB")
        assert says not in message_text(modal.view)
        assert buttons(modal) == EVERY_BUTTON

        await h.click(modal, action, user="U0BOB")
        shown = shown_in(h, modal)
        assert shown.method == "views.update"
        assert says in message_text(shown.view)
        assert buttons(shown) == left
        (update,) = h.standin.calls_to("views.update")
        assert update.args["hash"] == modal.view["hash"] and update.ok
        # The roll-up counts what was handled at its next refresh (at most every two seconds).
        await tick(h, 2)
        updated = h.standin.message("C0SUPPORT", rollup.ts)
        assert updated is not None and f"— 18 warning{counted}\n" in message_text(updated)
        h.assert_all_valid()


async def test_a_modal_updated_since_the_click_is_written_over_with_the_newest_state(
    tmp_path: Path,
) -> None:
    async with relay(tmp_path) as h:
        rollup = await rollup_of_twenty(h)
        modal, alert_id = await open_from(h, rollup, "U0BOB")
        await h.click(modal, Action.alert_ack, user="U0BOB")
        # A second click made in the modal as it was before the first one's update: its hash
        # is stale by the time it is handled.
        await h.click(modal, Action.alert_resolve, user="U0BOB")

        first, stale, over = h.standin.calls_to("views.update")
        assert first.ok and stale.error == "hash_conflict" and over.ok
        assert over.args["view_id"] == modal.id
        shown = shown_in(h, modal)
        assert "Resolved by <@U0BOB>" in message_text(shown.view)
        assert buttons(shown) == []
        with Session(h.services.engine) as session:
            alert = session.get(Alert, alert_id)
            assert alert is not None and alert.status == "resolved"
        # The click was answered as any other: the conflict was mended, not said.
        assert h.dm_texts("U0BOB")[-1].startswith("Resolved.")


async def test_a_modal_closed_before_its_update_is_left_alone(tmp_path: Path) -> None:
    async with relay(tmp_path) as h:
        rollup = await rollup_of_twenty(h)
        modal, alert_id = await open_from(h, rollup, "U0BOB")
        h.standin.close_view("U0BOB", modal.id)

        await h.click(modal, Action.alert_ack, user="U0BOB")
        (gone,) = h.standin.calls_to("views.update")
        assert gone.error == "not_found"
        with Session(h.services.engine) as session:
            alert = session.get(Alert, alert_id)
            assert alert is not None and alert.acknowledged_by == "U0BOB"
