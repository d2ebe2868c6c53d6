"""/swap and /cover in their readers' languages: each answer, form, field error and DM in the
language of the person who reads it, each channel post in its team's; French and Portuguese words
after the commands."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.enums import Action
from bot.sandbox.standin.records import Message, ViewRecord
from tests.harness import message_text, slack_harness
from tests.support.forms import form, shift_options
from tests.support.setup_files import SUPPORT_AND_INFRA as PLAN
from tests.support.shifts import (
    NOW,
    ONE_LINE,
    button_texts,
    click,
    cover,
    post,
    request_dm,
    submit,
)

FRENCH_TEAM = PLAN.replace(
    "    channel: C0SUPPORT\n", "    channel: C0SUPPORT\n    language: fr\n", 1
)


def title(view: ViewRecord) -> str:
    return str(view.view["title"]["text"])


async def test_a_swap_speaks_to_each_person_in_theirs_and_to_the_channel_in_the_teams(
    tmp_path: Path,
) -> None:
    async with slack_harness(
        PLAN, tmp_path=tmp_path, now=NOW, locales={"U0ALICE": "pt-BR", "U0BOB": "fr-FR"}
    ) as h:
        asked = await h.command("/swap", ONE_LINE, user="U0ALICE")
        assert (
            "Pedi a <@U0BOB> para trocar com você em *Customer support*: você ficaria com o "
            "plantão sex., 11 de dez. 18:00 – seg., 14 de dez. 09:00 (horário de Paris), e essa "
            "pessoa com o seu, sex., 4 de dez. 18:00 – seg., 7 de dez. 09:00 (horário de Paris). "
            "Aviso você da resposta."
        ) in asked.reply_text()

        dm = request_dm(h)
        assert (
            "<@U0ALICE> vous propose d'échanger vos astreintes dans *Customer support*.\n"
            "• Vous prendriez son astreinte : ven. 4 déc. 18:00 – lun. 7 déc. 09:00 "
            "(heure de Paris)\n"
        ) in message_text(dm)
        assert button_texts(dm.blocks) == {
            Action.swap_accept: "Accepter",
            Action.swap_decline: "Refuser",
        }
        # Carol's Slack speaks English: her refusal is in English.
        wrong = await h.click(dm, Action.swap_accept, user="U0CAROL")
        assert wrong.reply_text().endswith(
            "Only <@U0BOB> can answer this swap request: nothing changed."
        )

        await h.click(dm, Action.swap_accept, user="U0BOB")
        assert ":white_check_mark: Vous avez accepté : le planning est à jour." in message_text(
            request_dm(h)
        )
        assert any(
            "<@U0BOB> aceitou sua troca em *Customer support*: agora o plantão sex., 11 de dez. "
            "18:00 – seg., 14 de dez. 09:00 (horário de Paris) é seu" in text
            for text in h.dm_texts("U0ALICE")
        )
        # The team says no language: its channel reads English.
        (post_text,) = h.channel_texts("C0SUPPORT")
        assert "<@U0ALICE> and <@U0BOB> swapped shifts: <@U0BOB> holds Fri 4 Dec 18:00" in (
            post_text
        )
        again = await h.click(dm, Action.swap_accept, user="U0BOB")
        assert "Cette demande d'échange est déjà acceptée : rien n'a changé." in again.reply_text()
        h.assert_all_valid()


@pytest.mark.parametrize(
    ("user", "text", "says"),
    [
        ("U0ALICE", "aide", "• `/swap` ouvre un formulaire"),
        ("U0BOB", "ajuda", "• `/swap` abre um formulário"),
        ("U0CAROL", "ajuda", "• `/swap` opens a form"),
        (
            "U0ALICE",
            "<@U0ALICE|alice> 2026-12-05 2026-12-12",
            "Vous ne pouvez pas échanger avec vous-même : choisissez un collègue.",
        ),
        (
            "U0ALICE",
            "<@U0BOB|bob> 2026-11-07 2026-12-12",
            "Votre astreinte ce jour-là est déjà passée.",
        ),
        (
            "U0BOB",
            "<@U0ALICE|alice> 2026-12-09 2026-12-05",
            "Você não tem plantão em Customer support no dia qua., 9 de dez. de 2026.",
        ),
        (
            "U0BOB",
            "<@U0IVAN|ivan> 2026-12-12 2026-12-05",
            "<@U0IVAN> não faz parte da sua equipe (Customer support), então vocês não podem "
            "trocar de plantão.",
        ),
        ("U0BOB", "bob amanhã sábado", "“bob” não é a menção de um colega: digite @"),
        (
            "U0ALICE",
            "<@U0BOB|bob> 2026-12-5 2026-12-12",
            "Je n'ai pas compris “2026-12-5” comme une date",
        ),
    ],
)
async def test_swap_words_and_refusals_in_the_typists_language(
    tmp_path: Path, user: str, text: str, says: str
) -> None:
    async with slack_harness(
        PLAN, tmp_path=tmp_path, now=NOW, locales={"U0ALICE": "fr-FR", "U0BOB": "pt-BR"}
    ) as h:
        sent = await h.command("/swap", text, user=user)
        assert says in sent.reply_text()
        assert h.standin.calls_to("chat.postMessage") == []


async def test_the_swap_form_and_its_field_errors_in_french(tmp_path: Path) -> None:
    async with slack_harness(PLAN, tmp_path=tmp_path, now=NOW, locales={"U0ALICE": "fr-FR"}) as h:
        await h.command("/swap", user="U0ALICE")
        modal = h.standin.last_view("U0ALICE")
        assert modal is not None
        assert title(modal) == "Échanger une astreinte"
        assert modal.view["submit"]["text"] == "Envoyer la demande"
        (select_block,) = [b for b in modal.blocks if b.get("block_id") == "my_shift"]
        assert select_block["label"]["text"] == "Votre astreinte"
        assert select_block["hint"]["text"] == "Heures indiquées à l'heure de Paris."
        options = select_block["element"]["options"]
        assert [o["text"]["text"] for o in options] == ["ven. 4 déc. 18:00 – lun. 7 déc. 09:00"]

        refused = await h.submit(
            modal,
            user="U0ALICE",
            answers={
                Action.swap_my_shift: options[0]["value"],
                Action.swap_teammate: "U0BOB",
                Action.swap_their_shift: "2026-12-09",
            },
        )
        # Plain text in a form: names, not mentions.
        assert refused.response.json()["errors"] == {
            "their_shift": "bob n'a pas d'astreinte dans Customer support le mer. 9 déc. 2026."
        }
        h.assert_all_valid()


async def test_a_cover_request_reads_in_the_teams_language_in_its_channel(
    tmp_path: Path,
) -> None:
    async with slack_harness(
        FRENCH_TEAM, tmp_path=tmp_path, now=NOW, locales={"U0ALICE": "pt-BR", "U0BOB": "en-US"}
    ) as h:
        asked = await cover(h, "2026-12-05", user="U0ALICE")
        assert (
            "Pedi à sua equipe para cobrir:\n• sáb., 5 de dez. 00:00 – dom., 6 de dez. 00:00 "
            "(horário de Paris) em <#C0SUPPORT>\nO plantão continua seu até alguém assumir"
        ) in asked.reply_text()

        offer: Message = post(h)
        assert (
            ":sos: <@U0ALICE> cherche quelqu'un pour reprendre son astreinte *sam. 5 déc. 00:00 – "
            "dim. 6 déc. 00:00 (heure de Paris)* dans Customer support."
        ) in message_text(offer)
        assert button_texts(offer.blocks) == {Action.cover_take: "Je prends"}

        own = await click(h, offer, Action.cover_take, user="U0ALICE")
        assert "Este plantão é seu: quem cobre tem que ser um colega." in own.reply_text()
        outsider = await click(h, offer, Action.cover_take, user="U0IVAN")
        assert "Only members of Customer support can cover this shift" in outsider.reply_text()

        await click(h, offer, Action.cover_take, user="U0BOB")
        assert (
            ":white_check_mark: <@U0BOB> reprend l'astreinte de <@U0ALICE> sam. 5 déc. 00:00"
        ) in message_text(post(h))
        assert any(
            "<@U0BOB> assume seu plantão sáb., 5 de dez. 00:00 – dom., 6 de dez. 00:00 "
            "(horário de Paris) em Customer support." in text
            for text in h.dm_texts("U0ALICE")
        )
        late = await click(h, offer, Action.cover_take, user="U0CAROL")
        assert "Too late: <@U0BOB> already took this shift." in late.reply_text()
        h.assert_all_valid()


async def test_the_cover_form_its_errors_and_its_words_in_portuguese(tmp_path: Path) -> None:
    async with slack_harness(PLAN, tmp_path=tmp_path, now=NOW, locales={"U0ALICE": "pt-BR"}) as h:
        helped = await h.command("/cover", "ajuda", user="U0ALICE")
        assert "• `/cover` abre um formulário" in helped.reply_text()
        assert "ou, com um dia da semana para o próximo, `/cover sáb 22:00-06:00`" in (
            helped.reply_text()
        )

        await h.command("/cover", user="U0ALICE")
        view = form(h, "U0ALICE")
        assert title(view) == "Passar meu plantão"
        assert view.view["submit"]["text"] == "Pedir à equipe"
        (weekend,) = shift_options(view)
        assert weekend["text"]["text"] == "sex., 4 de dez. 18:00 – seg., 7 de dez. 09:00"
        labels = [b["label"]["text"] for b in view.blocks if b["type"] == "input"]
        assert labels == ["Qual plantão", "De", "Até", "Um recado para sua equipe"]

        # A Portuguese weekday is read as such; a time outside the shift is refused in Portuguese.
        refused = await submit(
            h,
            view,
            user="U0ALICE",
            answers={Action.cover_shift: weekend["value"], Action.cover_from: "qua 10:00"},
        )
        (said,) = refused.response.json()["errors"].values()
        assert said.startswith("“qua 10:00” não está dentro do plantão, sex., 4 de dez. 18:00")

        done = await submit(
            h,
            view,
            user="U0ALICE",
            answers={Action.cover_shift: weekend["value"], Action.cover_from: "sáb 10:00"},
        )
        assert done.status == 200
        assert "sáb., 5 de dez. 10:00 – seg., 7 de dez. 09:00" in h.dm_texts("U0ALICE")[-1]
        # The team says no language: the channel post is in English.
        assert "<@U0ALICE> needs someone to cover *Sat 5 Dec 10:00" in message_text(post(h))
        h.assert_all_valid()


async def test_someone_with_nothing_to_cover_is_told_so_in_french(tmp_path: Path) -> None:
    async with slack_harness(
        PLAN, tmp_path=tmp_path, now=NOW, extra_users=["U0ZOE"], locales={"U0ZOE": "fr-CA"}
    ) as h:
        await h.command("/cover", user="U0ZOE")
        view = h.standin.last_view("U0ZOE")
        assert view is not None
        assert title(view) == "Céder mon astreinte"
        assert view.view["close"]["text"] == "Fermer"
        assert "Vous ne faites partie d'aucune équipe d'astreinte" in str(view.blocks)
        typed = await h.command("/cover", "2026-12-05", user="U0ZOE")
        assert "Vous ne faites partie d'aucune équipe d'astreinte" in typed.reply_text()


@pytest.mark.parametrize(
    ("language", "text", "says"),
    [
        # A French reader types French weekdays, a Portuguese reader English ones.
        (
            "fr-FR",
            "samedi 22:00-06:00",
            "sam. 5 déc. 22:00 – dim. 6 déc. 06:00 (heure de Paris) dans <#C0SUPPORT>",
        ),
        ("pt-BR", "sat 10:00-14:00", "sáb., 5 de dez. 10:00 – 14:00 (horário de Paris) em"),
        ("pt-BR", "sáb 08:00 - dom 08:00", "sáb., 5 de dez. 08:00 – dom., 6 de dez. 08:00"),
    ],
)
async def test_a_weekday_after_cover_in_any_language_is_answered_in_the_readers(
    tmp_path: Path, language: str, text: str, says: str
) -> None:
    wednesday = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)  # before Alice's weekend
    async with slack_harness(
        PLAN, tmp_path=tmp_path, now=wednesday, locales={"U0ALICE": language}
    ) as h:
        asked = await cover(h, text, user="U0ALICE")
        assert says in asked.reply_text()
        assert len(h.standin.messages("C0SUPPORT")) == 1


@pytest.mark.parametrize(
    ("language", "says"),
    [
        (
            "fr-FR",
            "Je n'ai pas compris “demain” comme une date ou une période : écrivez un jour "
            "(2026-11-28), une suite de jours (2026-11-28..2026-11-30) ou une période avec les "
            "heures (2026-11-28 18:00 - 2026-11-29 09:00) ; un jour de la semaine à la place d'une "
            "date désigne le prochain (sam, sam 22:00-06:00).",
        ),
        (
            "pt-BR",
            "um dia da semana no lugar de uma data quer dizer o próximo (sáb, sáb 22:00-06:00).",
        ),
    ],
)
async def test_the_cover_hint_names_weekdays_in_the_readers_language(
    tmp_path: Path, language: str, says: str
) -> None:
    async with slack_harness(PLAN, tmp_path=tmp_path, now=NOW, locales={"U0ALICE": language}) as h:
        sent = await h.command("/cover", "demain", user="U0ALICE")
        assert says in sent.reply_text()
        assert h.standin.messages("C0SUPPORT") == []
