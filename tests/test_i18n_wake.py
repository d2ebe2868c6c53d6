"""The App Home's "Wake me" in its reader's language: the methods, the buttons and their confirm
dialog, the form and its refusals, the test wake-up and the DM that says how it went; and every
one of them, in each language, within Slack's Block Kit limits."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.enums import Action, View
from bot.i18n import LANGUAGES, preferred, speaking
from bot.sandbox.standin.records import Message
from bot.slack.blocks.wake import add_method_modal, wake_blocks, wake_off_modal
from bot.wake.methods import Method, UnsetVariables
from bot.wake.sender import NO_ANSWER, PUSH_SERVICE, Outcome, Result
from bot.wake.worker import Waker
from bot.wake.worker import test_result_text as result_text
from storage.db import session_scope
from storage.wakeups import queue_wakeups
from tests.harness import Harness, message_text, validate_blocks, validate_view
from tests.support.push_receiver import PushReceiver
from tests.support.rows import added_alert
from tests.support.wake_home import home_text, wake_home

SECRET = "i18n-wake-secret-7b2e"
TOPIC = "bob-setup-topic-q4k9"
READERS = {"U0ALICE": "fr-FR", "U0BOB": "pt-BR"}


def home(
    tmp_path: Path, *, secret: str | None = SECRET
) -> AbstractAsyncContextManager[tuple[Harness, PushReceiver, Waker]]:
    return wake_home(tmp_path, bob_topic=TOPIC, secret=secret, locales=READERS)


def buttons(h: Harness, user: str) -> dict[str, dict[str, Any]]:
    view = h.standin.home(user)
    assert view is not None
    return {
        e["action_id"]: e
        for b in view.blocks
        if b["type"] == "actions" and str(b.get("block_id", "")).startswith("wake")
        for e in b["elements"]
    }


async def open_form(h: Harness, user: str) -> dict[str, Any]:
    await h.click(h.standin.home(user), Action.wake_add, user=user)
    form = h.standin.last_view(user)
    assert form is not None
    return form.view


async def add(h: Harness, user: str, url: str) -> Any:
    await open_form(h, user)
    form = h.standin.last_view(user)
    assert form is not None and form.view["callback_id"] == View.wake_add
    return await h.submit(form, user=user, answers={Action.wake_url: url})


async def test_a_french_reader_adds_tests_and_removes_a_method_in_french(tmp_path: Path) -> None:
    async with home(tmp_path) as (h, receiver, waker):
        await h.open_home("U0ALICE")
        text = home_text(h, "U0ALICE")
        assert "Me réveiller" in text
        assert "Vous n'avez aucun moyen de réveil" in text
        assert buttons(h, "U0ALICE")[Action.wake_add]["text"]["text"] == "Ajouter un réveil"

        form = await open_form(h, "U0ALICE")
        assert form["title"]["text"] == "Ajouter un réveil"
        assert (form["submit"]["text"], form["close"]["text"]) == ("Ajouter", "Annuler")
        assert [b["label"]["text"] for b in form["blocks"] if b["type"] == "input"] == [
            "URL de réveil"
        ]
        assert "Une URL Apprise qui envoie une notification" in message_text(
            Message("", "", "", form["blocks"])
        )

        refused = await add(h, "U0ALICE", "pover://${NOT_SET_HERE}@secret-part-31")
        assert refused.response.json()["errors"] == {
            "wake-url": "Cette URL est inutilisable : elle cite NOT_SET_HERE, que "
            "l'environnement ne définit pas."
        }
        empty = await add(h, "U0ALICE", " ")
        assert empty.response.json()["errors"] == {"wake-url": "Merci de remplir ce champ."}

        url = receiver.url("json", "alice-topic-f8r2")
        await add(h, "U0ALICE", url)
        assert "— ajouté ici" in home_text(h, "U0ALICE")
        again = await add(h, "U0ALICE", url)
        assert again.response.json()["errors"] == {"wake-url": "Vous avez déjà ce moyen de réveil."}

        shown = buttons(h, "U0ALICE")
        assert shown[Action.wake_test]["text"]["text"] == "Envoyer un test"
        remove = shown[Action.wake_remove]
        assert remove["text"]["text"] == "Supprimer"
        confirm = remove["confirm"]
        assert confirm["title"]["text"] == "Supprimer ce moyen de réveil ?"
        assert confirm["text"]["text"].startswith(
            "Les alertes ne vous réveilleront plus par `json://"
        )
        assert (confirm["confirm"]["text"], confirm["deny"]["text"]) == ("Supprimer", "La garder")

        await h.click(h.standin.home("U0ALICE"), Action.wake_test, user="U0ALICE")
        assert await waker.run_once() == 1
        [push] = receiver.received
        assert push.title == "Réveil de test Watchkeeper"
        assert (
            "Quand vous êtes d'astreinte, les alertes vous réveillent ici." in push.body["message"]
        )
        assert h.services.delivery is not None
        await h.services.delivery.run_once()
        [said] = h.dm_texts("U0ALICE")
        assert said.startswith("Votre réveil de test est parti via JSON (json://••••")
        assert "il devrait être sur votre téléphone" in said
        h.assert_all_valid()


async def test_a_brazilian_reader_hears_of_a_refused_test_in_portuguese(tmp_path: Path) -> None:
    async with home(tmp_path) as (h, receiver, waker):
        await h.open_home("U0BOB")
        text = home_text(h, "U0BOB")
        assert "Me acordar" in text
        assert f"`json://••••{TOPIC[-4:]}` — do arquivo de configuração (altere lá)" in text
        assert Action.wake_remove not in buttons(h, "U0BOB")

        receiver.status = 401
        await h.click(h.standin.home("U0BOB"), Action.wake_test, user="U0BOB")
        assert await waker.run_once() == 1
        assert h.services.delivery is not None
        await h.services.delivery.run_once()
        [said] = h.dm_texts("U0BOB")
        assert "foi recusado (HTTP 401): não consigo te acordar por ele." in said
        assert "Corrija no arquivo de configuração, ou adicione outro." in said
        assert TOPIC not in said
        h.assert_all_valid()


async def test_without_the_secret_the_form_says_so_in_the_readers_language(
    tmp_path: Path,
) -> None:
    async with home(tmp_path, secret=None) as (h, _, _):
        await h.open_home("U0BOB")
        assert "Os despertares por telefone estão desativados" in home_text(h, "U0BOB")
        said = await open_form(h, "U0BOB")
        assert said["title"]["text"] == "Despertares desativados"
        assert "WATCHKEEPER_SECRET, que assina o link" in message_text(
            Message("", "", "", said["blocks"])
        )
        h.assert_all_valid()


# --- Block Kit limits in every language -------------------------------------------------------

URL = st.text(alphabet=st.sampled_from([*"abcxyz09:/.@-_${}<>&"]), min_size=1, max_size=120)


@settings(max_examples=80, deadline=None)
@given(
    language=st.sampled_from(LANGUAGES),
    urls=st.lists(st.tuples(URL, st.booleans()), max_size=12),
    enabled=st.booleans(),
)
def test_wake_me_fits_slacks_limits_in_every_language(
    language: str, urls: list[tuple[str, bool]], enabled: bool
) -> None:
    methods = [
        Method(url, "setup") if from_setup else Method(url, "home", n)
        for n, (url, from_setup) in enumerate(urls)
    ]
    with speaking(language):
        validate_blocks(wake_blocks(methods, enabled=enabled))
        validate_view(add_method_modal())
        validate_view(wake_off_modal())


# --- the acknowledge link, when whose it is cannot be known ------------------------------------


@pytest.mark.parametrize(
    ("accept", "language"),
    [
        ("pt-BR,pt;q=0.9,en-US;q=0.8", "pt-BR"),
        ("de-DE, fr-CH;q=0.7, en;q=0.5", "fr"),
        ("en;q=0.2, fr;q=0.9", "fr"),
        ("fr;q=0, es", "en"),
        ("fr;q=nonsense, pt", "pt-BR"),
        ("*", "en"),
        ("", "en"),
        (None, "en"),
    ],
)
def test_a_browser_gets_the_language_it_ranks_first_among_ours(
    accept: str | None, language: str
) -> None:
    assert preferred(accept) == language


@pytest.mark.parametrize(
    ("accept", "said"),
    [
        ("pt-BR,pt;q=0.9", "Este link não é válido."),
        ("fr-FR,fr;q=0.9", "Ce lien n&#x27;est pas valide."),
        (None, "This link is not valid."),
    ],
)
async def test_a_forged_link_is_refused_in_the_browsers_language(
    tmp_path: Path, accept: str | None, said: str
) -> None:
    async with home(tmp_path) as (h, _, _):
        headers = {"accept-language": accept} if accept else {}
        answer = await h.client.get("/ack/1.U0BOB.forged", headers=headers)
        assert answer.status_code == 403
        assert said in answer.text


async def test_links_without_the_secret_are_refused_in_the_browsers_language(
    tmp_path: Path,
) -> None:
    async with home(tmp_path, secret=None) as (h, _, _):
        answer = await h.client.get("/ack/1.U0BOB.any", headers={"accept-language": "fr"})
        assert answer.status_code == 404
        assert "Les liens d&#x27;acquittement sont désactivés" in answer.text


@pytest.mark.parametrize(
    ("outcome", "language", "said"),
    [
        (
            Outcome(Result.refused, PUSH_SERVICE, "x", UnsetVariables(["PUSHOVER_KEY"])),
            "fr",
            "Votre réveil de test via service de notification (pover://••••) a été refusé (elle "
            "cite PUSHOVER_KEY, que l'environnement ne définit pas) : je ne peux pas vous "
            "réveiller par là.",
        ),
        (
            Outcome(Result.failed, "Pushover", NO_ANSWER),
            "pt-BR",
            "Seu despertar de teste via Pushover (pover://••••) não pôde ser enviado depois de 3 "
            "tentativas (sem resposta (a conexão falhou ou expirou)): o serviço pode estar fora "
            "do ar.",
        ),
        (
            Outcome(Result.refused, "Pushover", "HTTP 400"),
            "fr",
            "Votre réveil de test via Pushover (pover://••••) a été refusé (HTTP 400) : je ne "
            "peux pas vous réveiller par là. Corrigez-le dans mon App Home",
        ),
    ],
)
def test_why_a_test_failed_is_said_in_the_readers_words(
    outcome: Outcome, language: str, said: str
) -> None:
    with speaking(language):
        assert said in result_text(Method("pover://${PUSHOVER_KEY}", "home", 1), outcome)


async def test_the_add_form_opens_within_the_triggers_life_however_slow_users_info_is(
    tmp_path: Path,
) -> None:
    async with home(tmp_path) as (h, _receiver, _waker):
        await h.open_home("U0ALICE")
        # Long enough after that Slack would be asked again where she is and what she reads.
        h.clock.advance(timedelta(hours=2))
        # Slack's 3 seconds, scaled down with users.info's delay so that the test stays short.
        h.standin.trigger_ttl = 1.0
        h.standin.fail_rate(1.0, ["users.info"], kinds=["slow"], slow_seconds=1.5)
        form = await open_form(h, "U0ALICE")
        (opened,) = h.standin.calls_to("views.open")
        assert opened.ok, opened.error
        # In the language her App Home was shown in.
        assert form["title"]["text"] == "Ajouter un réveil"


async def test_a_refused_method_is_told_in_the_language_slack_gives_though_nobody_asked_yet(
    tmp_path: Path,
) -> None:
    # Bob reads Portuguese in Slack, and nothing has asked Slack about him before his wake-up.
    async with home(tmp_path) as (h, receiver, waker):
        receiver.status = 401
        now = h.clock.now()
        with session_scope(h.services.engine) as session:
            alert = added_alert(session, "Checkout 5xx", now, severity="critical")
            assert alert.id is not None
            queue_wakeups(
                session=session,
                alert_id=alert.id,
                users=["U0BOB"],
                due=now,
                times=1,
                every=timedelta(minutes=5),
                now=now,
            )
        assert await waker.run_once() == 1
        assert h.services.delivery is not None
        await h.services.delivery.run_once()
        [said] = h.dm_texts("U0BOB")
        assert "foi recusado (HTTP 401): não consigo te acordar por ele." in said
