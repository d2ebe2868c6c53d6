"""Who the bot is: Bolt learns the bot's team and ids from one auth.test, made through the gateway
on the first request Slack sends and kept; while Slack refuses the token, requests are refused as
Bolt refuses them, and the failure is counted."""

from __future__ import annotations

from pathlib import Path

from bot.runtime.metrics import metrics_of
from tests.harness import Harness, slack_harness
from tests.support.setup_files import SATURDAY_NIGHT
from tests.support.setup_files import SUPPORT_AND_INFRA as PLAN

ON_CALL = "*Customer support*: <@U0CEO> is on call now"


def errors_counted(h: Harness, method: str, error: str) -> float:
    value = metrics_of(h.services).registry.get_sample_value(
        "watchkeeper_slack_api_errors_total", {"method": method, "error": error}
    )
    return value or 0.0


async def test_the_first_request_asks_slack_who_the_bot_is_and_later_ones_do_not(
    tmp_path: Path,
) -> None:
    async with slack_harness(PLAN, tmp_path=tmp_path, now=SATURDAY_NIGHT) as h:
        assert h.standin.calls_to("auth.test") == []
        assert ON_CALL in (await h.command("/oncall", user="U0ALICE")).reply_text()
        assert ON_CALL in (await h.command("/oncall", user="U0BOB")).reply_text()
        await h.send(h.slack.direct_message("U0BOB", "who is on call?"))
        assert len(h.standin.calls_to("auth.test")) == 1
        # Bolt knows the bot's user from that answer: words of the bot's own user are not
        # taken for a person's.
        before = len(h.standin.calls_to("chat.postMessage"))
        own = h.slack.direct_message(
            h.standin.identity.bot_user_id,
            "who is on call?",
            channel_id=h.standin.dm_channel("U0BOB"),
        )
        assert (await h.send(own)).status == 200
        assert len(h.standin.calls_to("chat.postMessage")) == before
        assert len(h.standin.calls_to("auth.test")) == 1


async def test_a_token_slack_refuses_refuses_the_request_and_the_next_one_asks_again(
    tmp_path: Path,
) -> None:
    async with slack_harness(PLAN, tmp_path=tmp_path, now=SATURDAY_NIGHT) as h:
        h.standin.fail_next("auth.test", error="invalid_auth")
        refused = await h.command("/oncall", user="U0ALICE")
        assert refused.status == 200
        assert ON_CALL not in refused.reply_text()
        assert "Please reinstall this app into your workspace" in refused.reply_text()
        assert h.standin.calls_to("users.info") == []  # the listener never ran
        assert errors_counted(h, "auth.test", "invalid_auth") == 1
        # The token works again (the app was reinstalled): the next request is answered.
        assert ON_CALL in (await h.command("/oncall", user="U0ALICE")).reply_text()
        assert [c.ok for c in h.standin.calls_to("auth.test")] == [False, True]
