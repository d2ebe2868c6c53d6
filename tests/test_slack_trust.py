"""Who may speak for Slack: in HTTP mode a request to /slack/events is signed with our secret,
fresh, and new, or refused (401) having changed nothing; in Socket Mode the route does not exist
(404), since Slack's traffic comes over the websocket."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, select

from bot.enums import Action
from bot.sandbox.slack_requests import SlackRequest, sign
from bot.slack.verification import FRESHNESS_S, SeenSignatures, SlackRequestVerifier
from storage.models import Alert, AlertEvent, Outbox
from tests.harness import SIGNING_SECRET, Harness, slack_harness
from tests.support.relay import FRIDAY_NIGHT, PLAN, TOKENS, delivery_of, post_alert

APP_TOKEN = "xapp-1-A0WATCH-1-s3cret"
# What a forger types: the whole channel paged on Friday night, as any user.
FORGED_TEXT = "support Checkout is down for everyone, call me"


@contextlib.asynccontextmanager
async def bot(tmp_path: Path, *, socket_mode: bool) -> AsyncIterator[Harness]:
    env = {**TOKENS, **({"SLACK_APP_TOKEN": APP_TOKEN} if socket_mode else {})}
    async with slack_harness(PLAN, tmp_path=tmp_path, now=FRIDAY_NIGHT, env=env) as h:
        assert h.settings.socket_mode is socket_mode
        yield h


def rows(h: Harness, model: type) -> list[Any]:
    with Session(h.services.engine) as session:
        return list(session.exec(select(model)))


def escalate(h: Harness, **kwargs: Any) -> SlackRequest:
    """Alice's /escalate, signed with the app's secret as Slack signs it."""
    return h.slack.slash_command(
        "/escalate", FORGED_TEXT, user_id="U0ALICE", channel_id="C0SUPPORT", **kwargs
    )


def with_headers(request: SlackRequest, **changes: str | None) -> SlackRequest:
    """The same body with some headers changed (None: left out)."""
    headers = {k: v for k, v in request.headers.items() if k not in changes}
    headers.update({k: v for k, v in changes.items() if v is not None})
    return SlackRequest(request.body, headers, response_url=request.response_url)


def forged(h: Harness) -> SlackRequest:
    """Signed with a secret that is not the app's."""
    request = escalate(h)
    stamp = int(request.headers["X-Slack-Request-Timestamp"])
    return SlackRequest(request.body, sign(request.body, "not-the-secret", stamp))


def unsigned(h: Harness) -> SlackRequest:
    request = escalate(h)
    return with_headers(request, **{"X-Slack-Signature": None, "X-Slack-Request-Timestamp": None})


def stale(h: Harness) -> SlackRequest:
    """A genuine request captured six minutes ago and sent now."""
    return escalate(h, timestamp=int(time.time()) - 6 * 60)


def from_the_future(h: Harness) -> SlackRequest:
    return escalate(h, timestamp=int(time.time()) + 6 * 60)


def bad_stamp(h: Harness) -> SlackRequest:
    return with_headers(escalate(h), **{"X-Slack-Request-Timestamp": "yesterday"})


REFUSED: dict[str, tuple[Callable[[Harness], SlackRequest], str]] = {
    "forged": (forged, "signature does not match"),
    "unsigned": (unsigned, "not signed"),
    "stale": (stale, "more than five minutes"),
    "from the future": (from_the_future, "more than five minutes"),
    "unreadable timestamp": (bad_stamp, "not a number"),
}


def assert_nothing_happened(h: Harness) -> None:
    """Nothing paged, stored or posted: no alert, no timeline, no delivery, no Slack call."""
    assert rows(h, Alert) == []
    assert rows(h, AlertEvent) == []
    assert rows(h, Outbox) == []
    assert h.standin.calls == []


def refusal_logs(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.getMessage() == "slack request refused"]


@pytest.mark.parametrize("kind", sorted(REFUSED))
async def test_http_mode_refuses_a_request_slack_did_not_sign_now_and_changes_nothing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, kind: str
) -> None:
    build, why = REFUSED[kind]
    async with bot(tmp_path, socket_mode=False) as h:
        request = build(h)
        with caplog.at_level(logging.WARNING):
            sent = await h.send(request)
        await delivery_of(h).drain()
        assert sent.status == 401
        assert why in sent.response.json()["error"]
        assert sent.replies() == []
        assert_nothing_happened(h)
        (record,) = refusal_logs(caplog)
        assert record.levelno == logging.WARNING
        assert why in record.why  # type: ignore[attr-defined]
        # The log says why, never what was sent: no signature, no body, no secret.
        logged = " ".join(str(v) for v in vars(record).values())
        signature = request.headers.get("X-Slack-Signature")
        assert signature is None or signature not in logged
        assert "Checkout is down" not in logged
        assert SIGNING_SECRET not in logged


async def test_http_mode_takes_a_signed_request_once_and_refuses_it_sent_again(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with bot(tmp_path, socket_mode=False) as h:
        request = escalate(h)
        taken = await h.send(request)
        await delivery_of(h).drain()
        assert taken.status == 200
        (alert,) = rows(h, Alert)
        assert alert.title == "Checkout is down for everyone, call me"
        posts = len(h.standin.calls_to("chat.postMessage"))
        assert posts == 2  # the card in the channel, the DM to Bob who holds the pager
        calls = len(h.standin.calls)

        # The very same request again, within the five minutes: a replay.
        with caplog.at_level(logging.WARNING):
            replayed = await h.send(request)
        await delivery_of(h).drain()
        assert replayed.status == 401
        assert "already received" in replayed.response.json()["error"]
        assert rows(h, Alert) == [alert]
        assert len(h.standin.calls) == calls
        (record,) = refusal_logs(caplog)
        assert "already received" in record.why  # type: ignore[attr-defined]

        # The same words typed again are a new request, with a stamp and signature of its own.
        again = escalate(h, timestamp=int(time.time()) + 1)
        assert (await h.send(again)).status == 200
        assert len(rows(h, Alert)) == 2


async def test_http_mode_a_forged_click_does_not_acknowledge_the_alert(tmp_path: Path) -> None:
    async with bot(tmp_path, socket_mode=False) as h:
        await post_alert(h, "prometheus", "alertmanager/v0.25-firing.json")
        await delivery_of(h).drain()
        (card,) = h.standin.messages("C0SUPPORT")
        click = h.click_request(card, Action.alert_ack, user="U0BOB")
        stamp = int(click.headers["X-Slack-Request-Timestamp"])
        calls = len(h.standin.calls)
        for request in (
            SlackRequest(click.body, sign(click.body, "not-the-secret", stamp)),
            with_headers(click, **{"X-Slack-Signature": None}),
            h.click_request(
                card,
                Action.alert_ack,
                user="U0BOB",
                timestamp=int(time.time()) - FRESHNESS_S - 60,
            ),
        ):
            assert (await h.send(request)).status == 401
        await delivery_of(h).drain()
        (alert,) = rows(h, Alert)
        assert alert.acknowledged_at is None
        assert len(h.standin.calls) == calls

        # Bob's real click acknowledges it; the same click replayed changes nothing more.
        assert (await h.send(click)).status == 200
        await delivery_of(h).drain()
        (alert,) = rows(h, Alert)
        assert alert.acknowledged_by == "U0BOB"
        events = len(rows(h, AlertEvent))
        assert (await h.send(click)).status == 401
        assert len(rows(h, AlertEvent)) == events


@pytest.mark.parametrize("kind", ["genuine", *sorted(REFUSED)])
async def test_socket_mode_serves_no_slack_route_at_all(tmp_path: Path, kind: str) -> None:
    async with bot(tmp_path, socket_mode=True) as h:
        request = escalate(h) if kind == "genuine" else REFUSED[kind][0](h)
        sent = await h.send(request)
        await delivery_of(h).drain()
        assert sent.status == 404
        assert sent.replies() == []
        assert_nothing_happened(h)
        # The alert intake on the same port still works.
        await post_alert(h, "prometheus", "alertmanager/v0.25-firing.json")
        assert len(rows(h, Alert)) == 1


async def test_socket_mode_a_replayed_request_finds_no_route_either(tmp_path: Path) -> None:
    async with bot(tmp_path, socket_mode=True) as h:
        request = escalate(h)
        assert [(await h.send(request)).status for _ in range(2)] == [404, 404]
        assert_nothing_happened(h)


# --- the memory of signatures ------------------------------------------------------------------


class Wall:
    """A settable stand-in for the machine's clock, in seconds."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def signed(body: bytes, stamp: int) -> dict[str, str]:
    return sign(body, SIGNING_SECRET, stamp)


def test_a_signature_is_remembered_for_as_long_as_its_stamp_passes_then_forgotten() -> None:
    wall = Wall(1_800_000_000.0)
    verifier = SlackRequestVerifier(SIGNING_SECRET, wall=wall)
    headers = signed(b"command=%2Foncall", int(wall.now))
    assert verifier.check(b"command=%2Foncall", headers) is None
    wall.now += FRESHNESS_S  # the last second it passes: still a replay
    refusal = verifier.check(b"command=%2Foncall", headers)
    assert refusal is not None and "already received" in refusal.reason
    wall.now += 1  # now too old to pass at all, and forgotten
    refusal = verifier.check(b"command=%2Foncall", headers)
    assert refusal is not None and "more than five minutes" in refusal.reason
    verifier.check(b"other", signed(b"other", int(wall.now)))
    assert len(verifier.seen) == 1


def test_the_memory_of_signatures_is_bounded_forgetting_the_oldest_first() -> None:
    seen = SeenSignatures(capacity=3)
    for n in range(5):
        assert seen.add(f"v0={n}", expires=1000.0 + n, now=0.0)
    assert len(seen) == 3
    assert not seen.add("v0=4", expires=1004.0, now=0.0)  # the newest are kept
    assert seen.add("v0=0", expires=1000.0, now=0.0)  # the oldest were forgotten


def test_a_request_we_failed_can_be_taken_again_when_slack_resends_it() -> None:
    wall = Wall(1_800_000_000.0)
    verifier = SlackRequestVerifier(SIGNING_SECRET, wall=wall)
    headers = signed(b"{}", int(wall.now))
    assert verifier.check(b"{}", headers) is None
    verifier.forget(headers)
    assert verifier.check(b"{}", headers) is None


def test_without_a_signing_secret_every_request_is_refused() -> None:
    verifier = SlackRequestVerifier("")
    refusal = verifier.check(b"{}", signed(b"{}", int(time.time())))
    assert refusal is not None and "SLACK_SIGNING_SECRET" in refusal.reason
