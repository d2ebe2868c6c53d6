"""The App Home in its reader's language, and the language menu there: a pick is kept and wins
over the setup file and the Slack client; "Automatic" gives the choice back to the bot."""

from __future__ import annotations

from pathlib import Path

from bot.enums import Action
from bot.sandbox.standin.records import Message
from tests.harness import message_text, slack_harness
from tests.support.setup_files import SATURDAY_NIGHT
from tests.support.setup_files import SUPPORT_AND_INFRA as PLAN


def home_text(h: object, user: str) -> str:
    home = h.standin.home(user)  # type: ignore[attr-defined]
    assert home is not None
    return message_text(Message("", "", "", home.blocks))


def picked(value: str, label: str) -> dict[str, object]:
    return {"selected_option": {"text": {"type": "plain_text", "text": label}, "value": value}}


async def test_a_person_picks_their_language_in_the_app_home(tmp_path: Path) -> None:
    async with slack_harness(
        PLAN, tmp_path=tmp_path, now=SATURDAY_NIGHT, locales={"U0ALICE": "fr-FR"}
    ) as h:
        await h.open_home("U0ALICE")
        assert "Vos prochaines astreintes" in home_text(h, "U0ALICE")

        home = h.standin.home("U0ALICE")
        assert home is not None
        await h.click(
            home,
            Action.home_language,
            user="U0ALICE",
            selected=picked("pt-BR", "Português (Brasil)"),
        )
        assert "Seus próximos plantões" in home_text(h, "U0ALICE")
        # The pick is kept: /oncall answers in Portuguese too, over her Slack's French.
        answer = (await h.command("/oncall", "", user="U0ALICE")).reply_text()
        assert "<@U0CEO> está de plantão agora" in answer

        home = h.standin.home("U0ALICE")
        assert home is not None
        await h.click(
            home, Action.home_language, user="U0ALICE", selected=picked("auto", "Automatique")
        )
        assert "Vos prochaines astreintes" in home_text(h, "U0ALICE")
        answer = (await h.command("/oncall", "", user="U0ALICE")).reply_text()
        assert "<@U0CEO> est d'astreinte en ce moment" in answer
        h.assert_all_valid()
