"""The App Home's "Wake me" section and the form that adds a wake-up method: methods are shown
masked, never whole (a wake-up URL is a secret)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from bot.enums import Action, View
from bot.i18n import N_, _
from bot.slack.blocks import (
    Block,
    actions,
    button,
    context,
    header,
    input_block,
    modal,
    mrkdwn,
    plain,
    section,
)
from bot.text.escaping import escape

if TYPE_CHECKING:
    from bot.wake.methods import Method

URL_BLOCK = "wake-url"
URL_MAX = 2000  # what the database keeps of a URL
ADD_TITLE = N_("Add a wake-up method")
WAKE_OFF_TEXT = N_(
    "Phone wake-ups are off in this workspace: WATCHKEEPER_SECRET, which signs the acknowledge "
    "link of every wake-up, is not set. Ask whoever runs Watchkeeper to set it; until then a "
    "wake-up method cannot be added."
)


def _method_line(method: Method) -> str:
    shown = escape(method.masked)
    if method.source == "setup":
        return _("• `{method}` — from the setup file (change it there)").format(method=shown)
    return _("• `{method}` — added here").format(method=shown)


def wake_blocks(methods: Sequence[Method], *, enabled: bool) -> list[Block]:
    """The "Wake me" section of the Home tab: each of the viewer's methods, with its buttons."""
    blocks: list[Block] = [header(_("Wake me"))]
    if not methods:
        blocks.append(
            section(
                _(
                    "You have no wake-up method: when you hold the pager, a Slack DM is all you "
                    "get, and it does not wake anyone at 3 a.m. Add one (an Apprise URL: ntfy, "
                    "Pushover, Telegram, Signal, SMS…), then *Send a test*."
                )
            )
        )
    for method in methods:
        shown = f"`{escape(method.masked)}`"
        blocks.append(section(_method_line(method)))
        elements = [button(_("Send a test"), Action.wake_test, method.key)]
        if method.source == "home" and method.method_id is not None:
            elements.append(
                button(
                    _("Remove"),
                    Action.wake_remove,
                    str(method.method_id),
                    style="danger",
                    confirm={
                        "title": plain(_("Remove this wake-up method?"), 100),
                        "text": mrkdwn(
                            _("Alerts will no longer wake you through {method}.").format(
                                method=shown
                            ),
                            300,
                        ),
                        "confirm": plain(_("Remove"), 30),
                        "deny": plain(_("Keep it"), 30),
                        "style": "danger",
                    },
                )
            )
        blocks.append(actions(f"wake-{method.key}", *elements))
    add = button(_(ADD_TITLE), Action.wake_add, "add", style="primary")
    blocks.append(actions("wake-add", add))
    if not enabled:
        blocks.append(context(_(WAKE_OFF_TEXT)))
    return blocks


def add_method_modal() -> dict[str, Any]:
    """The form that adds a wake-up method: one URL."""
    return modal(
        _(ADD_TITLE),
        [
            section(
                _(
                    "An Apprise URL that pushes to your phone, e.g. `ntfy://your-secret-topic` or "
                    "`pover://user@token`. `${VAR}` is read from the bot's environment. It is "
                    "kept secret: shown back masked, never whole."
                )
            ),
            input_block(
                URL_BLOCK,
                _("Wake-up URL"),
                {
                    "type": "plain_text_input",
                    "action_id": Action.wake_url.value,
                    "max_length": URL_MAX,
                    "placeholder": plain("ntfy://…, pover://…, tgram://…"),
                },
            ),
        ],
        callback_id=View.wake_add.value,
        submit=_("Add"),
        close=_("Cancel"),
    )


def wake_off_modal() -> dict[str, Any]:
    """Said instead of the form when wake-ups cannot be turned on."""
    return modal(_("Wake-ups are off"), [section(_(WAKE_OFF_TEXT))], close=_("OK"))
