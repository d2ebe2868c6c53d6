"""The App Home's "Wake me": methods shown masked, Add (a form checked with Apprise), Remove (with
a confirm dialog), Send a test (through the wake-up worker, once, its result said in a DM)."""

from __future__ import annotations

import logging
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, select

from bot.enums import Action, View
from bot.sandbox.standin.records import Message
from bot.slack.blocks.wake import add_method_modal
from bot.slack.delivery.worker import Delivery
from bot.wake.worker import Waker
from storage.models import WakeMethod, WakeTest
from tests.harness import Harness, message_text
from tests.support.push_receiver import PushReceiver
from tests.support.wake_home import home_text, wake_home

SECRET = "home-wake-secret-4c1d"
BOB_TOPIC = "bob-setup-topic-9q7w"
ALICE_TOPIC = "alice-home-topic-h3x8"


def home(
    tmp_path: Path, *, secret: str | None = SECRET
) -> AbstractAsyncContextManager[tuple[Harness, PushReceiver, Waker]]:
    return wake_home(tmp_path, bob_topic=BOB_TOPIC, secret=secret)


def delivery(h: Harness) -> Delivery:
    assert h.services.delivery is not None
    return h.services.delivery


def buttons(h: Harness, user: str, action_id: str) -> list[dict[str, Any]]:
    view = h.standin.home(user)
    assert view is not None
    return [
        e
        for b in view.blocks
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == action_id
    ]


async def add(h: Harness, user: str, url: str) -> Any:
    view = h.standin.home(user)
    assert view is not None
    await h.click(view, Action.wake_add, user=user)
    form = h.standin.last_view(user)
    assert form is not None and form.view["callback_id"] == View.wake_add
    return await h.submit(form, user=user, answers={Action.wake_url: url})


def added(h: Harness) -> list[WakeMethod]:
    with Session(h.services.engine) as session:
        return list(session.exec(select(WakeMethod)))


async def test_wake_me_shows_methods_masked_and_adds_removes_and_tests_them(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with home(tmp_path) as (h, receiver, waker):
        # Bob's method comes from the setup file: shown masked, tested, never removable here.
        await h.open_home("U0BOB")
        text = home_text(h, "U0BOB")
        assert "Wake me" in text
        assert f"`json://••••{BOB_TOPIC[-4:]}` — from the setup file (change it there)" in text
        assert BOB_TOPIC not in text
        assert [b["value"] for b in buttons(h, "U0BOB", Action.wake_remove)] == []
        [bob_test] = buttons(h, "U0BOB", Action.wake_test)

        # Alice has none yet: told what it costs her, and adds one.
        await h.open_home("U0ALICE")
        assert "You have no wake-up method" in home_text(h, "U0ALICE")
        alice_url = receiver.url("json", ALICE_TOPIC)
        sent = await add(h, "U0ALICE", "  " + alice_url + " ")
        assert sent.status == 200 and sent.response.content in (b"", b"null")
        [kept] = added(h)
        assert (kept.user_id, kept.url) == ("U0ALICE", alice_url)
        text = home_text(h, "U0ALICE")
        assert f"`json://••••{ALICE_TOPIC[-4:]}` — added here" in text
        assert "You have no wake-up method" not in text
        assert ALICE_TOPIC not in str(h.standin.home("U0ALICE"))

        # The same URL again is refused next to the field.
        again = await add(h, "U0ALICE", alice_url)
        assert again.response.json() == {
            "response_action": "errors",
            "errors": {"wake-url": "You have this wake-up method already."},
        }
        assert len(added(h)) == 1

        # Send a test: queued, sent once by the worker, the result said in a DM.
        [alice_test] = buttons(h, "U0ALICE", Action.wake_test)
        await h.click(h.standin.home("U0ALICE"), Action.wake_test, user="U0ALICE")
        assert receiver.received == []  # the worker sends it, not the click
        assert await waker.run_once() == 1
        assert await waker.run_once() == 0
        [push] = receiver.received
        assert push.path == f"/{ALICE_TOPIC}"
        assert push.title == "Watchkeeper test wake-up"
        await delivery(h).run_once()
        [said] = h.dm_texts("U0ALICE")
        assert said.startswith(
            f"Your test wake-up went out through JSON (json://••••{ALICE_TOPIC[-4:]}): it should "
            "be on your phone now."
        )
        assert ALICE_TOPIC not in said

        # Bob's test goes to the setup file's method.
        await h.click(h.standin.home("U0BOB"), Action.wake_test, user="U0BOB")
        assert await waker.run_once() == 1
        assert [p.path for p in receiver.received] == [f"/{ALICE_TOPIC}", f"/{BOB_TOPIC}"]
        assert bob_test["value"] != alice_test["value"]

        # Remove asks first, then forgets the method.
        [remove] = buttons(h, "U0ALICE", Action.wake_remove)
        assert remove["confirm"]["confirm"]["text"] == "Remove"
        # Bob cannot remove Alice's method, even with a forged click.
        await h.click(h.standin.home("U0BOB"), Action.wake_test, user="U0BOB")
        await waker.run_once()
        await h.click(
            h.standin.home("U0ALICE"), Action.wake_remove, user="U0BOB", value=remove["value"]
        )
        assert len(added(h)) == 1
        await h.click(h.standin.home("U0ALICE"), Action.wake_remove, user="U0ALICE")
        assert added(h) == []
        assert "You have no wake-up method" in home_text(h, "U0ALICE")
        h.assert_all_valid()
    logged = "\n".join(r.getMessage() + str(r.__dict__) for r in caplog.records)
    assert ALICE_TOPIC not in logged and BOB_TOPIC not in logged


async def test_a_test_through_a_refused_method_says_what_refused_it(tmp_path: Path) -> None:
    async with home(tmp_path) as (h, receiver, waker):
        await h.open_home("U0BOB")
        receiver.status = 401
        await h.click(h.standin.home("U0BOB"), Action.wake_test, user="U0BOB")
        assert await waker.run_once() == 1
        assert await waker.run_once() == 0
        await delivery(h).run_once()
        [said] = h.dm_texts("U0BOB")
        assert "was refused (HTTP 401)" in said and "Fix it in the setup file" in said
        assert BOB_TOPIC not in said
        with Session(h.services.engine) as session:
            [test] = session.exec(select(WakeTest)).all()
        assert test.status == "failed"


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("", "Please fill this in."),
        ("https://not-a-push-service/secret-part-77", "not a URL Apprise can send to"),
        ("nosuchscheme://secret-part-77", "not a URL Apprise can send to"),
        ("pover://${NOT_SET_ANYWHERE}@secret-part-77", "it names NOT_SET_ANYWHERE"),
    ],
)
async def test_a_url_apprise_cannot_use_is_refused_without_repeating_it(
    tmp_path: Path, url: str, says: str
) -> None:
    async with home(tmp_path) as (h, _, _):
        await h.open_home("U0ALICE")
        sent = await add(h, "U0ALICE", url)
        error = sent.response.json()["errors"]["wake-url"]
        assert says in error
        assert "secret-part-77" not in error
        assert added(h) == []


async def test_without_watchkeeper_secret_a_method_cannot_be_added(tmp_path: Path) -> None:
    async with home(tmp_path, secret=None) as (h, receiver, _):
        await h.open_home("U0ALICE")
        assert "WATCHKEEPER_SECRET" in home_text(h, "U0ALICE")
        await h.click(h.standin.home("U0ALICE"), Action.wake_add, user="U0ALICE")
        opened = h.standin.last_view("U0ALICE")
        assert opened is not None
        said = opened.view
        assert said.get("callback_id") != View.wake_add and not said.get("submit")
        assert "WATCHKEEPER_SECRET, which signs the acknowledge link" in message_text(
            Message("", "", "", said["blocks"])
        )
        # A form opened before the secret was taken away is refused too.
        sent = await h.submit(
            {**add_method_modal(), "id": "V0FORM"},
            user="U0ALICE",
            answers={Action.wake_url: receiver.url("json", ALICE_TOPIC)},
        )
        assert "WATCHKEEPER_SECRET" in sent.response.json()["errors"]["wake-url"]
        assert added(h) == []
