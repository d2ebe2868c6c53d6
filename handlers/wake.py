"""The App Home's wake-up methods: add one (a form, checked with Apprise), remove one, and send a
test through the wake-up worker. A URL is a secret: never logged, never said back whole."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from sqlmodel import Session

from bot.enums import Action, View
from bot.i18n import _, speaking
from bot.slack.blocks import answer_text
from bot.slack.blocks.wake import URL_BLOCK, WAKE_OFF_TEXT, add_method_modal, wake_off_modal
from bot.slack.gateway import PROMPT, gateway
from bot.slack.language import person_language
from bot.wake.methods import Method, MethodError, error_words, expand
from bot.wake.sender import describe
from bot.wake.worker import NO_METHOD, methods_for
from handlers.home import refresh_homes
from storage import wakeups as store
from storage.db import session_scope

if TYPE_CHECKING:
    from slack_bolt.async_app import AsyncApp

    from bot.app.services import Services

logger = logging.getLogger(__name__)


def methods_of_user(services: Services, user: str) -> list[Method]:
    """A person's wake-up methods, the setup file's first (read from the database: blocking)."""
    with Session(services.engine) as session:
        added = [
            Method(m.url, "home", m.id) for m in store.methods_of(session=session, user_id=user)
        ]
    return methods_for(services.roster.plan, user, added)


def check_url(services: Services, url: str) -> str | None:
    """Why a wake-up URL typed in the form cannot be used, in words that never repeat it."""
    if not url:
        return _("Please fill this in.")
    try:
        describe(expand(url, services.settings.environ))
    except MethodError as error:
        return _("This URL cannot be used: {why}.").format(why=error_words(error))
    return None


def _add(services: Services, user: str, url: str) -> bool:
    now = services.clock.now()
    with session_scope(services.engine) as session:
        added = store.add_method(session=session, user_id=user, url=url, now=now)
        # Told once that nothing could wake them: with a method, it may be said again if lost.
        store.forget_notice(session=session, user_id=user, about=NO_METHOD)
    return added


def _remove(services: Services, user: str, method_id: int) -> bool:
    with session_scope(services.engine) as session:
        return store.remove_method(session=session, user_id=user, method_id=method_id)


def _queue_test(services: Services, user: str, key: str) -> bool:
    if not any(m.key == key for m in methods_of_user(services, user)):
        return False
    with session_scope(services.engine) as session:
        store.queue_test(session=session, user_id=user, method=key, now=services.clock.now())
    return True


def register(bolt: AsyncApp, services: Services) -> None:
    @bolt.action(Action.wake_add.value)
    async def wake_add(ack: Any, body: dict[str, Any]) -> None:
        await ack()
        enabled = bool(services.settings.watchkeeper_secret)
        # The trigger dies 3 s after the click: the language the App Home was shown in (cached
        # when it was), no users.info call before the form opens.
        user = body["user"]["id"]
        with speaking(await person_language(services, user, look_up=False)):
            view = add_method_modal() if enabled else wake_off_modal()
        await gateway(services).call(
            "views.open", policy=PROMPT, trigger_id=body["trigger_id"], view=view
        )

    @bolt.view(View.wake_add.value)
    async def wake_submitted(ack: Any, body: dict[str, Any], view: dict[str, Any]) -> None:
        # Checked before the ack: a refusal travels in the ack, next to the URL's input.
        user = body["user"]["id"]
        url = answer_text(view, URL_BLOCK, Action.wake_url.value).strip()
        # Answered in the ack: the language cached when the form opened, no users.info call.
        with speaking(await person_language(services, user, look_up=False)):
            problem = check_url(services, url)
            if not services.settings.watchkeeper_secret:
                problem = _(WAKE_OFF_TEXT)
            if problem is None and not await services.in_database(_add, services, user, url):
                problem = _("You have this wake-up method already.")
        if problem is not None:
            await ack(response_action="errors", errors={URL_BLOCK: problem})
            return
        await ack()
        logger.info("wake-up method added", extra={"user": user, "method": store.fingerprint(url)})
        await refresh_homes(services, user)

    @bolt.action(Action.wake_remove.value)
    async def wake_remove(ack: Any, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        user = body["user"]["id"]
        try:
            method_id = int(action.get("value", ""))
        except ValueError:
            return
        if await services.in_database(_remove, services, user, method_id):
            logger.info("wake-up method removed", extra={"user": user})
        await refresh_homes(services, user)

    @bolt.action(Action.wake_test.value)
    async def wake_test(ack: Any, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        user = body["user"]["id"]
        if await services.in_database(_queue_test, services, user, str(action.get("value"))):
            if services.waker is not None:
                services.waker.wake()
        else:  # removed meanwhile (an old Home tab): show the methods as they are
            await refresh_homes(services, user)
