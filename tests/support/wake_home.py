"""The bot with its wake-up worker and a push service stood in, for the App Home's "Wake me":
Bob's wake-up method comes from the setup file (when WATCHKEEPER_SECRET is set), Alice has none."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path

from bot.sandbox.standin.records import Message
from bot.wake.worker import Waker
from tests.harness import Harness, message_text, slack_harness
from tests.support.push_receiver import PushReceiver, push_receiver
from tests.support.setup_files import SUPPORT_AND_INFRA as PLAN
from tests.support.shifts import NOW


@asynccontextmanager
async def wake_home(
    tmp_path: Path,
    *,
    bob_topic: str,
    secret: str | None,
    locales: Mapping[str, str] | None = None,
) -> AsyncIterator[tuple[Harness, PushReceiver, Waker]]:
    """The harness, the push receiver and the wake-up worker; Bob's method pushes to
    ``bob_topic`` (without ``secret``, nobody has a method)."""
    with push_receiver() as receiver:
        env = {"PUBLIC_URL": "https://oncall.example.com"}
        plan = PLAN
        if secret:
            env["WATCHKEEPER_SECRET"] = secret
            plan += f"people:\n  U0BOB:\n    wake:\n      - {receiver.url('json', bob_topic)}\n"
        async with slack_harness(plan, tmp_path=tmp_path, now=NOW, env=env, locales=locales) as h:
            waker = h.services.waker
            assert isinstance(waker, Waker)
            try:
                yield h, receiver, waker
            finally:
                waker.sender.close()


def home_text(h: Harness, user: str) -> str:
    """Every text of the user's Home tab."""
    view = h.standin.home(user)
    assert view is not None
    return message_text(Message("", "", "", view.blocks))
