"""Alerts from the real payloads to Slack: the card in the team channel, the DM to the pager holder,
the buttons, Escalate to CEO, /escalate, storms of repeats, and deliveries that survive a dead
worker, failing Slack calls and 429s."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, col, select

from bot.alerts.escalation_worker import Escalator
from bot.enums import Action, View
from bot.runtime.clock import FixedClock
from bot.slack.delivery.queue import MAX_UNKNOWN_ERRORS
from bot.slack.delivery.worker import Delivery
from bot.slack.gateway import CHANNEL_BURST
from storage import outbox
from storage.db import session_scope
from storage.models import Alert, Outbox
from tests.conftest import fixture_bytes
from tests.harness import Harness, buttons, message_text, slack_harness
from tests.support.relay import (
    FRIDAY_NIGHT,
    PLAN,
    TOKENS,
    card_of,
    cards,
    delivery_of,
    grafana_memory_card,
    post_alert,
    post_to_teams,
    relay,
    teams_relay,
)


def one_card_each(h: Harness) -> Harness:
    """The worker never rolls a flood up: every alert waits for a card (and a DM) of its own,
    however many wait, which is what the tests of the posting pace follow."""
    delivery_of(h).flood_backlog = 1_000_000
    return h


async def post_warnings(h: Harness, count: int, first: int = 0) -> None:
    """Alertmanager's firing sample as ``count`` distinct warnings (fingerprints fp-<first>,
    fp-<first + 1>...)."""
    body = json.loads(fixture_bytes("alertmanager/v0.25-firing.json"))
    body["alerts"][0]["labels"]["severity"] = "warning"
    for n in range(first, first + count):
        body["alerts"][0]["fingerprint"] = f"fp-{n}"
        answer = await h.client.post(
            "/alerts/prometheus",
            json=body,
            headers={"Authorization": f"Bearer {TOKENS['PROMETHEUS_ALERT_TOKEN']}"},
        )
        assert answer.status_code == 202


def alerts(h: Harness) -> list[Alert]:
    with Session(h.services.engine) as session:
        return list(session.exec(select(Alert).order_by(col(Alert.id))))


def pending_deliveries(h: Harness) -> list[Outbox]:
    with Session(h.services.engine) as session:
        return list(session.exec(select(Outbox).where(Outbox.status == "pending")))


async def test_alertmanager_firing_posts_a_card_and_dms_the_pager_holder(tmp_path: Path) -> None:
    async with relay(tmp_path) as h:
        await post_alert(h, "prometheus", "alertmanager/v0.25-firing.json")
        await delivery_of(h).drain()

        (card,) = cards(h)
        text = message_text(card)
        assert "CRITICAL · Checkout 5xx rate above 5%" in text
        assert "https://runbooks.example.com/checkout-5xx" in text
        assert buttons(card) == [
            Action.alert_ack,
            Action.alert_resolve,
            Action.alert_escalate,
            Action.alert_escalate_ceo,
        ]
        # One name on the button, its dialog and its confirmation.
        ceo_button = card.blocks[-1]["elements"][-1]
        assert ceo_button["text"]["text"] == "Escalate to CEO"
        assert ceo_button["confirm"]["title"]["text"] == "Escalate to CEO?"
        assert ceo_button["confirm"]["confirm"]["text"] == "Escalate to CEO"
        assert "to the CEO now, by direct message" in ceo_button["confirm"]["text"]["text"]
        # Bob holds the weekend pager; a critical alert is also bad news for the CEO at once.
        (dm,) = h.standin.dms("U0BOB")
        assert "You are paged for *Customer support*: on call." in message_text(dm)
        assert Action.alert_escalate_ceo in buttons(dm)
        (ceo_dm,) = h.standin.dms("U0CEO")
        assert "Bad news now" in message_text(ceo_dm)
        # The CEO is not offered to page the CEO.
        assert buttons(ceo_dm) == [Action.alert_ack, Action.alert_resolve, Action.alert_escalate]
        assert h.standin.dms("U0ALICE") == []
        h.assert_all_valid()
        scraped = (await h.client.get("/metrics")).text
        # The card, Bob's DM and the CEO's DM.
        assert 'watchkeeper_alerts_relayed_total{team="support"} 3.0' in scraped


async def test_resolution_updates_the_same_card_and_drops_its_buttons(tmp_path: Path) -> None:
    async with relay(tmp_path) as h:
        await post_alert(h, "prometheus", "alertmanager/v0.25-firing.json")
        await delivery_of(h).drain()
        h.clock.advance(timedelta(minutes=3))
        await post_alert(h, "prometheus", "alertmanager/v0.25-resolved.json")
        await delivery_of(h).drain()

        (card,) = cards(h)
        assert card.edited
        assert "Resolved by prometheus" in message_text(card)
        assert buttons(card) == []
        (dm,) = h.standin.dms("U0BOB")
        assert "Resolved by prometheus" in message_text(dm)
        assert len(h.standin.calls_to("chat.postMessage")) == 3  # card, Bob's DM, the CEO's DM


async def test_escalate_to_ceo_pages_leadership_once_after_three_clicks(tmp_path: Path) -> None:
    async with relay(tmp_path) as h:
        first = await grafana_memory_card(h)

        clicks = [
            await h.click(first, Action.alert_escalate_ceo, user=user)
            for user in ("U0BOB", "U0ALICE", "U0BOB")
        ]
        await delivery_of(h).drain()

        (ceo_dm,) = h.standin.dms("U0CEO")
        assert "<@U0BOB> escalated this to the CEO" in message_text(ceo_dm)
        assert "Escalated to the CEO: <@U0CEO> got a DM." in clicks[0].reply_text()
        for later in clicks[1:]:
            assert "Already escalated to the CEO by <@U0BOB>." in later.reply_text()
        h.clock.advance(timedelta(seconds=5))
        await delivery_of(h).drain()
        card = h.standin.message("C0SUPPORT", first.ts)
        assert card is not None
        assert "Escalated to the CEO by <@U0BOB>" in message_text(card)
        assert "escalated to the CEO: paged <@U0CEO> — <@U0BOB>" in message_text(card)
        # The other alert of the same Grafana batch was not escalated.
        other = card_of(h, "High CPU usage")
        assert "Escalated to the CEO" not in message_text(other)


async def test_the_setup_names_the_role_and_leaders_are_not_offered_to_page_themselves(
    tmp_path: Path,
) -> None:
    """Bob holds the pager and is one of the two leaders: his DMs page nobody above him."""
    plan = PLAN.replace(
        "leadership: [U0CEO]", "leadership: [U0CEO, U0BOB]\nleadership_title: Head of Ops"
    )
    async with slack_harness(plan, tmp_path=tmp_path, now=FRIDAY_NIGHT, env=TOKENS) as h:
        await post_alert(h, "prometheus", "alertmanager/v0.25-firing.json")
        await delivery_of(h).drain()
        (card,) = cards(h)
        ceo_button = card.blocks[-1]["elements"][-1]
        assert ceo_button["action_id"] == Action.alert_escalate_ceo
        assert ceo_button["text"]["text"] == "Escalate to Head of Ops"
        assert ceo_button["confirm"]["title"]["text"] == "Escalate to Head of Ops?"
        assert ceo_button["confirm"]["confirm"]["text"] == "Escalate to Head of Ops"
        # Bob's DMs, as the pager holder and as a leader told of bad news, and the other leader's.
        bob_dms = h.standin.dms("U0BOB")
        assert len(bob_dms) == 2
        for dm in [*bob_dms, *h.standin.dms("U0CEO")]:
            assert Action.alert_escalate_ceo not in buttons(dm), message_text(dm)
            assert Action.alert_escalate in buttons(dm)
        # From the card, Alice escalates anyway: it is already done ("bad news now").
        sent = await h.click(card, Action.alert_escalate_ceo, user="U0ALICE")
        assert (
            "Already escalated to the Head of Ops automatically (bad news now)."
            in sent.reply_text()
        )
        h.assert_all_valid()


async def test_acknowledge_stops_escalation_and_says_who(tmp_path: Path) -> None:
    async with relay(tmp_path) as h:
        memory = await grafana_memory_card(h)
        sent = await h.click(memory, Action.alert_ack, user="U0BOB")
        assert "Acknowledged" in sent.reply_text()

        # Past the 10-minute wait: the unacknowledged CPU alert goes to the backup, not memory.
        h.clock.advance(timedelta(minutes=11))
        escalator = h.services.escalator
        assert isinstance(escalator, Escalator)
        await escalator.run_once()
        await delivery_of(h).drain()

        (lead_dm,) = h.standin.dms("U0LEAD2")
        assert "`alertname=High CPU usage`" in message_text(lead_dm)
        assert "escalation step 2 (backup)" in message_text(lead_dm)
        memory_now = h.standin.message("C0SUPPORT", memory.ts)
        assert memory_now is not None
        assert "Acknowledged by <@U0BOB>" in message_text(memory_now)
        assert Action.alert_ack not in buttons(memory_now)
        by_title = {a.labels["alertname"]: a for a in alerts(h)}
        assert by_title["High memory usage"].acknowledged_by == "U0BOB"
        assert by_title["High CPU usage"].escalation_step == 1


async def test_pagerduty_trigger_acknowledge_resolve_through_one_card(tmp_path: Path) -> None:
    async with relay(tmp_path) as h:
        trigger = json.loads(fixture_bytes("pagerduty/trigger_devdocs.json"))
        # The docs' trigger sample names other keys than their acknowledge and resolve samples;
        # one incident's three events share them.
        trigger.update(routing_key="routingkeyhere", dedup_key="dedupkeyhere")
        answers = [await h.client.post("/v2/enqueue", json=trigger)]
        await delivery_of(h).drain()
        (card,) = cards(h)
        assert "INFO · Example alert on host1.example.com" in message_text(card)
        assert "<https://example.com/|Link text>" in message_text(card)
        assert "*load avg*: 0.75\n*ping time*: 1500ms" in message_text(card)

        for step in ("acknowledge", "resolve"):
            h.clock.advance(timedelta(minutes=2))
            body = fixture_bytes(f"pagerduty/{step}_devdocs.json")
            answers.append(
                await h.client.post(
                    "/v2/enqueue", content=body, headers={"Content-Type": "application/json"}
                )
            )
            await delivery_of(h).drain()
            now = h.standin.message("C0SUPPORT", card.ts)
            assert now is not None
            if step == "acknowledge":
                assert "Acknowledged by datapipe" in message_text(now)
                assert Action.alert_ack not in buttons(now)
            else:
                assert "Resolved by datapipe" in message_text(now)
                assert buttons(now) == []
        assert [a.status_code for a in answers] == [202, 202, 202]
        assert [a.json()["dedup_key"] for a in answers] == ["dedupkeyhere"] * 3
        assert len(cards(h)) == 1


async def test_a_second_acknowledgement_changes_nothing(tmp_path: Path) -> None:
    async with relay(tmp_path) as h:
        memory = await grafana_memory_card(h)
        await h.click(memory, Action.alert_ack, user="U0BOB")
        again = await h.click(memory, Action.alert_ack, user="U0ALICE")
        assert "<@U0BOB> already acknowledged this alert" in again.reply_text()
        assert alerts(h)[0].acknowledged_by == "U0BOB"


async def test_two_hundred_repeats_make_one_card_with_a_counter(tmp_path: Path) -> None:
    async with relay(tmp_path) as h:
        worker = delivery_of(h)
        for n in range(200):
            await post_alert(h, "prometheus", "alertmanager/v0.25-firing.json")
            if n % 4 == 0:
                await worker.drain()
            h.clock.advance(timedelta(milliseconds=300))
        h.clock.advance(timedelta(seconds=11))
        await worker.drain()

        (card,) = cards(h)
        assert "seen 200×" in message_text(card)
        channel_posts = [
            c for c in h.standin.calls_to("chat.postMessage") if c.args["channel"] == "C0SUPPORT"
        ]
        assert len(channel_posts) == 1
        assert alerts(h)[0].count == 200

        def updates_of(channel: str) -> int:
            return sum(1 for c in h.standin.calls_to("chat.update") if c.args["channel"] == channel)

        # 60 s of repeats: the card at most every 2 s, Bob's DM at most every 10 s, and both
        # end on the last count.
        (dm,) = h.standin.dms("U0BOB")
        assert "seen 200×" in message_text(dm)
        assert 20 <= updates_of("C0SUPPORT") <= 31
        assert 3 <= updates_of(dm.channel) <= 7

        # A change of state reaches the DM with the card, without waiting its 10 s.
        before = updates_of(dm.channel)
        await post_alert(h, "prometheus", "alertmanager/v0.25-firing.json")
        await worker.drain()
        assert updates_of(dm.channel) == before
        await h.click(card, Action.alert_ack, user="U0BOB")
        h.clock.advance(timedelta(seconds=2))
        await worker.drain()
        dm_now = h.standin.message(dm.channel, dm.ts)
        assert dm_now is not None
        assert "Acknowledged by <@U0BOB>" in message_text(dm_now)
        assert "seen 201×" in message_text(dm_now)


@pytest.mark.parametrize(
    ("chatter", "slack_behind"),
    [
        (0, timedelta(0)),
        (450, timedelta(0)),
        # Slack's clock two minutes behind ours: the lost post's ts is older than the row.
        (0, timedelta(minutes=2)),
    ],
)
async def test_a_worker_that_dies_after_posting_does_not_post_twice(
    tmp_path: Path, chatter: int, slack_behind: timedelta
) -> None:
    async with relay(tmp_path, slack_behind=slack_behind) as h:
        await post_alert(h, "grafana", "grafana/webhook-docs-example.json")
        dying = delivery_of(h)
        jobs = await asyncio.to_thread(dying._claim, 50)
        assert {job.kind for job in jobs} == {"alert-sync", "alert-notify"}
        # It posts the first card, then dies before recording it: no record, no completion.
        first_sync = next(job for job in jobs if job.kind == "alert-sync")
        await dying._handle(first_sync)
        assert len(cards(h)) == 1
        # A busy channel: the lost post is pages deep in its history by the time anyone looks.
        for n in range(chatter):
            await h.services.slack.chat_postMessage(channel="C0SUPPORT", text=f"chatter {n}")

        # A new worker takes over once the dead one's lease has run out.
        h.clock.advance(timedelta(seconds=61))
        fresh = Delivery(h.services)
        await fresh.drain()

        titles = [message_text(c).splitlines()[0] for c in cards(h)]
        titles = [t for t in titles if not t.startswith("chatter")]
        assert len(titles) == 2, titles  # one card per alert, the first one not posted again
        assert len(h.standin.dms("U0BOB")) == 2
        assert pending_deliveries(h) == []


async def test_a_repeat_queued_while_a_card_post_lost_its_answer_does_not_post_it_again(
    tmp_path: Path,
) -> None:
    async with relay(tmp_path) as h:
        await post_alert(h, "prometheus", "alertmanager/v0.25-firing.json")
        worker = delivery_of(h)
        jobs = await asyncio.to_thread(worker._claim, 50)
        # A repeat comes while the card is being posted: its sync is queued apart (the one under
        # way may have read the alert before it).
        await post_alert(h, "prometheus", "alertmanager/v0.25-firing.json")
        # The post is made, but its answer is lost on the way back.
        h.standin.fail_rate(1.0, ["chat.postMessage"], kinds=("drop",))
        await asyncio.gather(*(worker._deliver(job) for job in jobs))
        h.standin.clear_faults()
        assert len(cards(h)) == 1

        # The repeat's sync is due before the lost post's retry: it leaves the card to that row,
        # which finds its post, and the repeat then brings the card up to date.
        await worker.drain()
        assert len(cards(h)) == 1
        for _ in range(5):
            h.clock.advance(timedelta(seconds=2))
            await worker.drain()
        (card,) = cards(h)
        assert "seen 2×" in message_text(card)
        assert len(h.standin.dms("U0BOB")) == 1
        assert pending_deliveries(h) == []


async def test_paged_twice_before_the_first_dm_went_makes_one_dm_that_says_the_latest(
    tmp_path: Path,
) -> None:
    async with relay(tmp_path) as h:
        await post_alert(h, "prometheus", "alertmanager/v0.25-firing.json")
        (alert,) = alerts(h)
        # A second page of Bob is queued before the worker has sent the first.
        with session_scope(h.services.engine) as session:
            outbox.enqueue(
                session=session,
                kind=outbox.ALERT_NOTIFY,
                now=h.now(),
                subject=f"alert:{alert.id}",
                payload={"user": "U0BOB", "reason": "escalated by <@U0ALICE>"},
            )
        await delivery_of(h).drain()

        (dm,) = h.standin.dms("U0BOB")
        assert "escalated by <@U0ALICE>" in message_text(dm)
        assert pending_deliveries(h) == []


async def test_a_row_slack_keeps_longer_than_its_lease_is_not_taken_again(
    tmp_path: Path,
) -> None:
    # Slack takes seconds to open the DM while 80 s (more than two leases) pass on the clock:
    # the worker renews the lease of what it still holds, so neither it nor another worker
    # takes the row again.
    async with relay(tmp_path, start_background=True) as h:
        h.standin.fail_rate(1.0, ["conversations.open"], kinds=("slow",), slow_seconds=5.0)
        await post_alert(h, "prometheus", "alertmanager/v0.25-firing.json")
        await asyncio.sleep(0.3)  # woken by the intake, the worker has claimed the rows
        for _ in range(4):
            h.clock.advance(timedelta(seconds=20))
            await asyncio.sleep(0.7)  # the worker looks about twice a second
        assert await asyncio.to_thread(Delivery(h.services)._claim, 50) == []
        await h.standin.wait_for_async(lambda s: len(s.dms("U0BOB")) == 1, timeout=10)

        def notify_row() -> Outbox:
            with Session(h.services.engine) as session:
                return session.exec(select(Outbox).where(Outbox.kind == "alert-notify")).one()

        for _ in range(50):  # its outcome is written just after the post
            if notify_row().status != "pending":
                break
            await asyncio.sleep(0.1)
        assert (notify_row().status, notify_row().claims) == ("done", 1)
        opened = [c for c in h.standin.calls_to("conversations.open") if "U0BOB" in str(c.args)]
        assert len(opened) == 1
        assert len(h.standin.dms("U0BOB")) == 1


async def follow_real_time(clock: FixedClock) -> None:
    """Move the test clock with the wall clock (retries wait real seconds against the stand-in)."""
    started, base = time.monotonic(), clock.now()
    while True:
        clock.set(base + timedelta(seconds=time.monotonic() - started))
        await asyncio.sleep(0.02)


async def test_a_card_slack_keeps_refusing_is_tried_again_at_least_every_half_minute(
    tmp_path: Path,
) -> None:
    async with relay(tmp_path) as h:
        worker = delivery_of(h)
        h.standin.fail_next("chat.postMessage", 20, error="internal_error")
        trigger = json.loads(fixture_bytes("pagerduty/trigger_devdocs.json"))
        trigger.update(routing_key="routingkeyhere")
        assert (await h.client.post("/v2/enqueue", json=trigger)).status_code == 202
        waits = []
        while not cards(h):
            await worker.drain()
            [sync] = [r for r in pending_deliveries(h) if r.kind == "alert-sync"] or [None]
            if sync is None:
                break
            waits.append((sync.next_attempt_at - h.clock.now()).total_seconds())
            h.clock.advance(sync.next_attempt_at - h.clock.now())
        # Doubling from a second, then every half minute: a page is not left waiting for
        # minutes because Slack failed a few times in a row.
        assert waits[:7] == [1, 2, 4, 8, 16, 30, 30]
        assert max(waits) == 30
        assert len(cards(h)) == 1


async def test_every_alert_arrives_through_failures_and_429s(tmp_path: Path) -> None:
    async with relay(tmp_path, start_background=True) as h:
        one_card_each(h)
        ticking = asyncio.create_task(follow_real_time(h.clock))
        try:
            h.standin.fail_rate(
                0.3,
                ["chat.postMessage", "chat.update", "conversations.open"],
                kinds=("http_500", "error", "drop"),
            )
            h.standin.rate_limit("chat.postMessage", retry_after=1, times=2)
            body = json.loads(fixture_bytes("alertmanager/v0.25-firing.json"))
            for n in range(12):
                body["alerts"][0]["fingerprint"] = f"fp-{n}"
                body["alerts"][0]["labels"]["instance"] = f"web-{n}"
                body["alerts"][0]["labels"]["severity"] = "warning"
                answer = await h.client.post(
                    "/alerts/prometheus",
                    json=body,
                    headers={"Authorization": f"Bearer {TOKENS['PROMETHEUS_ALERT_TOKEN']}"},
                )
                assert answer.status_code == 202

            def delivered(standin: Any) -> bool:
                return len(standin.messages("C0SUPPORT")) >= 12 and len(standin.dms("U0BOB")) >= 12

            await asyncio.to_thread(h.standin.wait_for, delivered, 60.0)
            await asyncio.sleep(1.0)  # anything posted twice would show by now
        finally:
            ticking.cancel()
            h.standin.clear_faults()

        instances = sorted(
            next(line for line in message_text(c).splitlines() if "CheckoutHighErrorRate" in line)
            for c in cards(h)
        )
        assert len(cards(h)) == 12, instances
        assert len(h.standin.dms("U0BOB")) == 12
        assert [e.reason for e in h.standin.rate_limit_events].count("scripted") == 2
        # Each delivery Slack answered 429 came back no sooner than Retry-After said.
        posts = h.standin.calls_to("chat.postMessage")
        for n, call in enumerate(posts):
            if call.status != 429:
                continue
            tag = (call.args["channel"], json.dumps(call.args.get("metadata"), sort_keys=True))
            retry = next(
                later
                for later in posts[n + 1 :]
                if (later.args["channel"], json.dumps(later.args.get("metadata"), sort_keys=True))
                == tag
            )
            assert retry.at - call.at >= 1.0


async def test_escalate_command_pages_the_pager_holder(tmp_path: Path) -> None:
    async with relay(tmp_path) as h:
        sent = await h.command(
            "/escalate", "support Acme says checkout fails since 21:40", user="U0ALICE"
        )
        assert "Paged <@U0BOB>" in sent.reply_text()
        await delivery_of(h).drain()
        (card,) = cards(h)
        assert "ERROR · Acme says checkout fails since 21:40" in message_text(card)
        assert "/escalate by alice" in message_text(card)
        (dm,) = h.standin.dms("U0BOB")
        assert "Acme says checkout fails" in message_text(dm)


async def fill_escalate_form(
    h: Harness,
    view: Any,
    *,
    user: str,
    team: str,
    what: str,
    severity: str = "error",
    customer: str | None = None,
) -> Any:
    """``user`` fills in and submits the /escalate form."""
    answers = {
        Action.escalate_team: team,
        Action.escalate_what: what,
        Action.escalate_severity: severity,
    }
    if customer is not None:
        answers[Action.escalate_customer] = customer
    return await h.submit(view, user=user, answers=answers)


async def test_escalate_without_words_opens_a_form(tmp_path: Path) -> None:
    async with relay(tmp_path) as h:
        await h.command("/escalate", "", user="U0ALICE")
        view = h.standin.last_view("U0ALICE")
        assert view is not None and view.callback_id == View.escalate_request

        refused = await fill_escalate_form(
            h, view, user="U0ALICE", team="support", what="   ", severity="critical"
        )
        assert refused.response.json()["errors"] == {
            "escalate_what": "Say what happened, in a few words."
        }
        assert alerts(h) == []

        await fill_escalate_form(
            h,
            view,
            user="U0ALICE",
            team="support",
            what="Acme cannot log in\nThree tickets in ten minutes.",
            severity="critical",
            customer="Acme",
        )
        (alert,) = alerts(h)
        assert (alert.title, alert.severity, alert.customer) == (
            "Acme cannot log in",
            "critical",
            "Acme",
        )
        assert alert.summary == "Three tickets in ten minutes."
        assert alert.oncall_user == "U0BOB"


def many_teams(n: int) -> str:
    """A setup with ``n`` teams, each with its own channel and pager holder."""
    lines = ["timezone: Europe/Paris", "teams:"]
    for i in range(1, n + 1):
        lines += [
            f"  team{i:03d}:",
            f"    name: Team {i:03d}",
            f"    channel: C0T{i:03d}",
            "    rotations:",
            "      - name: all week",
            f"        members: [U0P{i:03d}]",
            "        start: 2026-11-02 09:00",
            "        every: 1w",
        ]
    return "\n".join(lines) + "\n"


async def test_escalate_offers_every_one_of_150_teams(tmp_path: Path) -> None:
    async with slack_harness(many_teams(150), tmp_path=tmp_path, now=FRIDAY_NIGHT) as h:
        await h.command("/escalate", "", user="U0P120")
        view = h.standin.last_view("U0P120")
        assert view is not None and view.callback_id == View.escalate_request
        (menu,) = [b["element"] for b in view.blocks if b.get("block_id") == "escalate_team"]
        offered = [o["value"] for g in menu["option_groups"] for o in g["options"]]
        assert offered == [f"team{i:03d}" for i in range(1, 151)]
        assert [g["label"]["text"] for g in menu["option_groups"]] == [
            "Team 001 … Team 100",
            "Team 101 … Team 150",
        ]
        assert menu["initial_option"]["value"] == "team120"  # the team of the person typing

        await fill_escalate_form(h, view, user="U0P120", team="team150", what="Acme cannot log in")
        (alert,) = alerts(h)
        assert (alert.team, alert.oncall_user) == ("team150", "U0P150")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("billing the site is down", "Alert raised for *Customer support*"),
        ("", None),
    ],
)
async def test_escalate_reads_the_team_or_uses_the_only_one(
    tmp_path: Path, text: str, expected: str | None
) -> None:
    async with relay(tmp_path, extra_users=["U0ZED"]) as h:
        sent = await h.command("/escalate", text, user="U0ZED")
        if expected is None:
            assert h.standin.last_view("U0ZED") is not None
        else:
            # "billing" is no team: with one team in the setup, the words all go to it.
            assert expected in sent.reply_text()
            assert alerts(h)[0].title == "billing the site is down"


async def test_escalate_button_pages_the_next_step_now(tmp_path: Path) -> None:
    async with relay(tmp_path) as h:
        memory = await grafana_memory_card(h)
        sent = await h.click(memory, Action.alert_escalate, user="U0BOB")
        assert "Escalated to step 2 (backup): paged <@U0LEAD2>" in sent.reply_text()
        h.clock.advance(timedelta(seconds=3))
        await delivery_of(h).drain()
        (lead_dm,) = h.standin.dms("U0LEAD2")
        assert "`alertname=High memory usage`" in message_text(lead_dm)
        card = h.standin.message("C0SUPPORT", memory.ts)
        assert card is not None
        assert "escalated by hand: step 2 (backup), paged <@U0LEAD2> — <@U0BOB>" in message_text(
            card
        )


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
async def test_simultaneous_escalate_to_ceo_clicks_page_leadership_once(
    tmp_path: Path, kind: str, request: pytest.FixtureRequest
) -> None:
    url = None
    if kind == "postgresql":
        url = request.getfixturevalue("postgres_url")
    async with relay(tmp_path, database_url=url) as h:
        memory = await grafana_memory_card(h)
        for user in ("U0ALICE", "U0BOB", "U0DAN", "U0ERIN"):
            await h.click(memory, Action.alert_escalate_ceo, user=user, settle=False)
        await h.settle()
        await delivery_of(h).drain()
        assert len(h.standin.dms("U0CEO")) == 1
        (alert,) = [a for a in alerts(h) if a.labels["alertname"] == "High memory usage"]
        assert alert.leadership_escalated_by in {"U0ALICE", "U0BOB", "U0DAN", "U0ERIN"}


async def test_a_button_whose_value_is_not_ours_changes_nothing(tmp_path: Path) -> None:
    async with relay(tmp_path) as h:
        await post_alert(h, "grafana", "grafana/webhook-docs-example.json")
        await delivery_of(h).drain()
        request = h.slack.block_action(
            Action.alert_ack,
            '{"alert_id": "drop table"}',
            user_id="U0BOB",
            channel_id="C0SUPPORT",
            message_ts=cards(h)[0].ts,
            text="Acknowledge",
        )
        sent = await h.send(request)
        assert "This button is not one I can read any more." in sent.reply_text()
        assert all(a.acknowledged_at is None for a in alerts(h))


async def test_card_updates_in_one_channel_keep_to_slacks_posting_pace(tmp_path: Path) -> None:
    async with relay(tmp_path) as h:
        one_card_each(h)
        await post_warnings(h, 10)
        await delivery_of(h).drain()
        assert len(cards(h)) == CHANNEL_BURST  # a burst; the others wait their turn
        for second in range(1, 11 - CHANNEL_BURST):
            h.clock.advance(timedelta(seconds=1))
            await delivery_of(h).drain()
            assert len(cards(h)) == CHANNEL_BURST + second
        assert h.standin.calls_to("conversations.history") == []  # waiting is not failing
        h.clock.advance(timedelta(seconds=10))
        await post_warnings(h, 10)  # every card now says "seen 2×"

        def channel_updates() -> int:
            return sum(
                1 for c in h.standin.calls_to("chat.update") if c.args["channel"] == "C0SUPPORT"
            )

        await delivery_of(h).drain()
        assert channel_updates() == CHANNEL_BURST
        for second in range(1, 11 - CHANNEL_BURST):
            h.clock.advance(timedelta(seconds=1))
            await delivery_of(h).drain()
            assert channel_updates() == CHANNEL_BURST + second
        assert all("seen 2×" in message_text(c) for c in cards(h))


async def test_two_replicas_on_postgresql_keep_one_channel_to_slacks_pace_together(
    tmp_path: Path, postgres_url: str
) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    async with relay(tmp_path / "a", database_url=postgres_url) as a:
        # The second replica posts to the same Slack as the first.
        to_a = {**TOKENS, "SLACK_API_URL": a.standin.base_url}
        async with slack_harness(
            PLAN, tmp_path=tmp_path / "b", now=FRIDAY_NIGHT, env=to_a, database_url=postgres_url
        ) as b:
            await post_warnings(a, 8)
            # Each replica takes half of the cards to post, and both post at once (the first
            # takes the eight DMs as well: pages go first).
            replicas = [delivery_of(one_card_each(a)), delivery_of(one_card_each(b))]
            taken = [await asyncio.to_thread(r._claim, 12) for r in replicas]
            assert [sum(j.kind == outbox.ALERT_SYNC for j in jobs) for jobs in taken] == [4, 4]
            await asyncio.gather(
                *(r._deliver(job) for r, jobs in zip(replicas, taken, strict=True) for job in jobs)
            )
            assert len(cards(a)) == CHANNEL_BURST  # one burst between them, not one each
            for second in range(1, 9 - CHANNEL_BURST):
                a.clock.advance(timedelta(seconds=1))
                b.clock.advance(timedelta(seconds=1))
                await asyncio.gather(*(r.drain() for r in replicas))
                assert len(cards(a)) == CHANNEL_BURST + second
            assert len({c.ts for c in cards(a)}) == 8


async def test_on_sqlite_a_restart_takes_over_a_dead_process_rows_at_once(tmp_path: Path) -> None:
    async with relay(tmp_path) as h:
        await post_alert(h, "grafana", "grafana/webhook-docs-example.json")
        dying = delivery_of(h)
        jobs = await asyncio.to_thread(dying._claim, 50)
        await dying._handle(next(job for job in jobs if job.kind == "alert-sync"))
        assert len(cards(h)) == 1

        # The process restarts at once: its leases, 30 s long, have not run out.
        restarted = asyncio.create_task(Delivery(h.services).run())
        try:
            await asyncio.to_thread(
                h.standin.wait_for,
                lambda s: len(s.messages("C0SUPPORT")) >= 2 and len(s.dms("U0BOB")) >= 2,
                10.0,
            )
            await asyncio.sleep(0.5)  # a second post of the first card would show by now
        finally:
            restarted.cancel()
        assert len(cards(h)) == 2
        assert len(h.standin.dms("U0BOB")) == 2


def channel_posts(h: Harness, channel: str) -> list[Any]:
    """Every chat.postMessage the bot made to ``channel``, answered or refused."""
    return [c for c in h.standin.calls_to("chat.postMessage") if c.args["channel"] == channel]


async def test_a_channel_that_refuses_the_bot_is_said_once_and_the_dms_go_on(
    tmp_path: Path,
) -> None:
    async with relay(tmp_path) as h:
        # Slack's answer for a channel the bot was never invited to.
        h.standin.fail_next("chat.postMessage", 100, error="not_in_channel", channel="C0SUPPORT")
        await post_warnings(h, 1)
        await delivery_of(h).drain()

        assert cards(h) == []
        # Bob gets the alert, and one DM that says what is wrong and what to do.
        alert_dm, notice = h.standin.dms("U0BOB")
        assert "You are paged for *Customer support*" in message_text(alert_dm)
        assert (
            "I can't post in <#C0SUPPORT>: I'm not a member of it. "
            "Type `/invite @watchkeeper` in <#C0SUPPORT>" in message_text(notice)
        )

        # Acknowledge from the DM: the DM follows, though its card never made it.
        await h.click(alert_dm, Action.alert_ack, user="U0BOB")
        await delivery_of(h).drain()
        acknowledged = h.standin.message(alert_dm.channel, alert_dm.ts)
        assert acknowledged is not None
        assert "Acknowledged by <@U0BOB>" in message_text(acknowledged)

        # A second alert into the same channel: its DM, and nothing said again.
        h.clock.advance(timedelta(seconds=5))
        await post_warnings(h, 1, first=1)
        await delivery_of(h).drain()
        texts = h.dm_texts("U0BOB")
        assert len(texts) == 3
        assert "warning" in texts[2].lower() and "/invite" not in texts[2]
        assert 1 <= len(channel_posts(h, "C0SUPPORT")) <= 3
        assert pending_deliveries(h) == []

        # The cards are failed, visibly: in the outbox, and in /metrics.
        with Session(h.services.engine) as session:
            failed = outbox.failed_deliveries(session=session)
        assert {row.kind for row in failed} == {outbox.ALERT_SYNC}
        assert all("not_in_channel" in (row.last_error or "") for row in failed)
        scraped = (await h.client.get("/metrics")).text
        assert (
            'watchkeeper_delivery_problems_total{error="not_in_channel",problem="not_member"} 1.0'
            in scraped
        )
        assert (
            'watchkeeper_deliveries_failed_total{error="not_in_channel",kind="alert-sync"}'
            in scraped
        )


async def test_an_invited_bot_posts_again_and_a_later_refusal_is_said_again(
    tmp_path: Path,
) -> None:
    async with relay(tmp_path) as h:
        h.standin.fail_next("chat.postMessage", 1, error="is_archived", channel="C0SUPPORT")
        await post_warnings(h, 1)
        await delivery_of(h).drain()
        assert "<#C0SUPPORT> is archived" in h.dm_texts("U0BOB")[-1]

        # Unarchived: a minute on, the next alert's card goes through.
        h.clock.advance(timedelta(minutes=2))
        await post_warnings(h, 1, first=1)
        await delivery_of(h).drain()
        assert len(cards(h)) == 1

        # Archived again: said again, since it had been mended.
        h.clock.advance(timedelta(minutes=2))
        h.standin.fail_next("chat.postMessage", 1, error="is_archived", channel="C0SUPPORT")
        await post_warnings(h, 1, first=2)
        await delivery_of(h).drain()
        notices = [t for t in h.dm_texts("U0BOB") if "is archived" in t]
        assert len(notices) == 2


async def test_an_error_slack_does_not_document_is_tried_a_few_times_then_failed(
    tmp_path: Path,
) -> None:
    async with relay(tmp_path) as h:
        worker = delivery_of(h)
        h.standin.fail_next("chat.postMessage", 50, error="brand_new_error", channel="C0SUPPORT")
        await post_warnings(h, 1)
        for _ in range(20):
            await worker.drain()
            waiting = pending_deliveries(h)
            if not waiting:
                break
            h.clock.set(min(row.next_attempt_at for row in waiting))
        assert len(channel_posts(h, "C0SUPPORT")) == MAX_UNKNOWN_ERRORS
        assert pending_deliveries(h) == []
        (dm,) = h.standin.dms("U0BOB")  # the DM went at once; nobody is told of a mystery
        assert "You are paged" in message_text(dm)
        with Session(h.services.engine) as session:
            (failed,) = outbox.failed_deliveries(session=session)
        assert failed.kind == outbox.ALERT_SYNC
        assert "brand_new_error" in (failed.last_error or "")


# Three teams, a channel and a pager holder each, for what one channel's trouble must not do to
# the others.
THREE_TEAMS = {"alpha": "U0ANN", "beta": "U0BEN", "gamma": "U0GUS"}


async def test_a_429_in_one_channel_holds_back_that_channel_only(tmp_path: Path) -> None:
    async with teams_relay(tmp_path, THREE_TEAMS) as h:
        # Slack applies chat.postMessage's limit per channel: a 429 for #alpha says nothing of
        # #beta, #gamma or the DMs.
        h.standin.fail_next("chat.postMessage", error="ratelimited", status=429, channel="C0ALPHA")
        await post_to_teams(h, ["alpha"], "first")
        await delivery_of(h).drain()
        assert len(channel_posts(h, "C0ALPHA")) == 1  # answered 429, Retry-After running

        await post_to_teams(h, ["beta", "gamma"], "first")
        await delivery_of(h).drain()
        assert [len(h.standin.messages(f"C0{t.upper()}")) for t in THREE_TEAMS] == [0, 1, 1]
        assert [len(h.standin.dms(holder)) for holder in THREE_TEAMS.values()] == [1, 1, 1]
        assert len(channel_posts(h, "C0ALPHA")) == 1  # not asked again before Retry-After
        # A 429 says nothing was done: no need to look for the post in the channel.
        assert h.standin.calls_to("conversations.history") == []

        h.clock.advance(timedelta(seconds=1))
        await delivery_of(h).drain()
        assert [len(h.standin.messages(f"C0{t.upper()}")) for t in THREE_TEAMS] == [1, 1, 1]
        assert h.standin.calls_to("conversations.history") == []
        assert pending_deliveries(h) == []


async def test_acknowledging_many_alerts_updates_every_dm_at_once_and_the_cards_in_turn(
    tmp_path: Path,
) -> None:
    async with relay(tmp_path) as h:
        for n in range(6):  # one a second: no flood
            await post_warnings(h, 1, first=n)
            await delivery_of(h).drain()
            h.clock.advance(timedelta(seconds=1))
        assert len(cards(h)) == 6 and len(h.standin.dms("U0BOB")) == 6
        h.clock.advance(timedelta(seconds=10))

        for dm in h.standin.dms("U0BOB"):
            await h.click(dm, Action.alert_ack, user="U0BOB", settle=False)
        await h.settle()
        await delivery_of(h).drain()

        # Every DM says so at once; the channel's cards follow at Slack's pace.
        assert all("Acknowledged by <@U0BOB>" in t for t in h.dm_texts("U0BOB"))
        acknowledged = ["Acknowledged by <@U0BOB>" in message_text(c) for c in cards(h)]
        assert acknowledged.count(True) == CHANNEL_BURST
        for _ in range(6):
            h.clock.advance(timedelta(seconds=1))
            await delivery_of(h).drain()
        assert all("Acknowledged by <@U0BOB>" in message_text(c) for c in cards(h))
