"""An alert's timeline and why each person was paged, in the reader's language: kept as notes (a
key and its parameters), said on the card in the team's language and in a DM in its reader's;
lines and pages stored as English text before the notes are shown as they were."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.alerts.notes import Key, not_acknowledged, note, say
from bot.enums import Action
from bot.i18n import LANGUAGES, speaking
from bot.plan.model import EscalationStep, NotifyTarget
from bot.slack.blocks.alert import AlertCard, TimelineLine, alert_card, alert_dm
from storage import alerts as alert_store
from storage.db import make_engine, session_scope
from storage.migrate import revisions, upgrade
from tests.harness import message_text, validate_blocks
from tests.support.cards import SEEN, alert_card_of
from tests.support.relay import BRAZILIAN_TEAM, delivery_of, grafana_memory_card, relay

AT = SEEN


def card(*timeline: TimelineLine) -> AlertCard:
    return alert_card_of(timeline=timeline)


async def test_the_card_tells_its_timeline_in_the_teams_language_and_a_dm_in_its_readers(
    tmp_path: Path,
) -> None:
    async with relay(tmp_path, BRAZILIAN_TEAM, locales={"U0BOB": "en-US", "U0LEAD2": "fr-FR"}) as h:
        memory = await grafana_memory_card(h)
        assert "recebido de grafana" in message_text(memory)
        await h.click(memory, Action.alert_escalate, user="U0BOB")
        h.clock.advance(timedelta(seconds=3))
        await delivery_of(h).drain()

        shown = h.standin.message("C0SUPPORT", memory.ts)
        assert shown is not None
        assert (
            "escalado manualmente: etapa 2 (reserva), <@U0LEAD2> acionado — <@U0BOB>"
            in message_text(shown)
        )
        (lead_dm,) = h.standin.dms("U0LEAD2")
        said = message_text(lead_dm)
        assert "On vous appelle pour *Customer support* : étape d'escalade 2 (renfort)." in said
        assert "escaladée à la main : étape 2 (renfort), <@U0LEAD2> appelé·e — <@U0BOB>" in said
        bob_dms = [message_text(m) for m in h.standin.dms("U0BOB")]
        (bob_dm,) = [t for t in bob_dms if "High memory usage" in t]
        assert "You are paged for *Customer support*: on call." in bob_dm
        assert "escalated by hand: step 2 (backup), paged <@U0LEAD2>" in bob_dm
        h.assert_all_valid()


@pytest.mark.parametrize(
    ("language", "said"),
    [
        ("en", ["received from grafana", "acknowledged — <@U0BOB>", "seen 3 times"]),
        ("fr", ["reçue de grafana", "prise en charge — <@U0BOB>", "vue 3 fois"]),
        ("pt-BR", ["recebido de grafana", "assumido — <@U0BOB>", "visto 3 vezes"]),
    ],
)
def test_each_line_is_said_in_the_language_being_spoken(language: str, said: list[str]) -> None:
    built = card(
        TimelineLine(AT, "received", "grafana", note=note(Key.received, integration="grafana")),
        TimelineLine(AT, "repeated", note=note(Key.repeated, count=3)),
        TimelineLine(AT, "acknowledged", "U0BOB"),
    )
    with speaking(language):
        text = message_text(alert_card(built))
    for words in said:
        assert words in text


@pytest.mark.parametrize("language", ["fr", "pt-BR"])
def test_counts_take_the_languages_plural(language: str) -> None:
    with speaking(language):
        text = message_text(alert_card(card(*(TimelineLine(AT, "repeated") for _ in range(9)))))
    earlier = {"fr": "… 1 ligne plus ancienne", "pt-BR": "… 1 linha anterior"}[language]
    assert earlier in text


@pytest.mark.parametrize(
    ("wait", "language", "said"),
    [
        (timedelta(minutes=10), "en", "not acknowledged within 10 min"),
        (timedelta(minutes=10), "fr", "non prise en charge en 10 min"),
        (timedelta(minutes=10), "pt-BR", "ninguém assumiu em 10 min"),
        (timedelta(minutes=90), "fr", "non prise en charge en 1 h 30 min"),
        (timedelta(days=2), "fr", "non prise en charge en 2 j"),
        (timedelta(days=2), "pt-BR", "ninguém assumiu em 2 d"),
        (None, "pt-BR", "ninguém assumiu"),
    ],
)
def test_a_steps_wait_is_said_as_the_reader_writes_durations(
    wait: timedelta | None, language: str, said: str
) -> None:
    users = EscalationStep(NotifyTarget.users, users=("U0SRE1", "U0SRE2"))
    escalated = note(
        Key.escalated,
        why=not_acknowledged(wait),
        number=3,
        target=note(Key.target, notify=users.notify.value, users=list(users.users)),
        users=["U0SRE1", "U0SRE2"],
    )
    with speaking(language):
        assert say(escalated).startswith(f"{said}: " if language != "fr" else f"{said} : ")
        assert say(escalated).count("<@U0SRE1>, <@U0SRE2>") == 2


def test_words_stored_before_the_notes_are_shown_as_they_were() -> None:
    old = "escalated by hand: step 2 (backup), paged <@U0LEAD2>"
    with speaking("fr"):
        text = message_text(alert_card(card(TimelineLine(AT, "escalated", "U0BOB", old))))
        assert f"{old} — <@U0BOB>" in text
        # A page's reason stored as text: "on call" was always translated where shown.
        assert "On vous appelle pour *Support* : vous êtes d'astreinte." in message_text(
            alert_dm(card(), "on call")
        )
        assert "On vous appelle pour *Support* : escalation step 2 (backup)." in message_text(
            alert_dm(card(), "escalation step 2 (backup)")
        )


def test_a_timeline_line_written_before_the_migration_keeps_its_words(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    before = revisions()[revisions().index("0017") - 1]
    upgrade(engine, before)
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO alert (id, team, integration, dedup_key, title, severity, status, "
                "summary, count, first_seen, last_seen, links, labels, escalation_step) VALUES "
                "(1, 'support', 'grafana', 'k', 'Disk full', 'critical', 'open', '', 1, :at, :at, "
                "'[]', '{}', 0)"
            ),
            {"at": AT.isoformat()},
        )
        connection.execute(
            sa.text(
                "INSERT INTO alert_event (alert_id, at, kind, actor, detail) VALUES "
                "(1, :at, 'escalated', NULL, 'not acknowledged within 10 min: step 2 (backup), "
                "paged <@U0LEAD2>')"
            ),
            {"at": AT.isoformat()},
        )
    upgrade(engine)
    with session_scope(engine) as session:
        alert_store.add_event(
            session=session, alert_id=1, at=AT, kind="escalated", note=note(Key.nobody_to_page)
        )
    with session_scope(engine) as session:
        events = alert_store.timelines(session=session, alert_ids=[1])[1]
        lines = [TimelineLine(e.at, e.kind, e.actor, e.detail, e.note) for e in events]
    engine.dispose()
    with speaking("pt-BR"):
        text = message_text(alert_card(card(*lines)))
    assert "not acknowledged within 10 min: step 2 (backup), paged <@U0LEAD2>" in text
    assert "ninguém para acionar: todas as etapas do escalonamento estão vazias agora" in text


# --- Block Kit limits in every language -------------------------------------------------------

WORD = st.text(alphabet=st.sampled_from([*"abcXYZ09 -_<>&*`éã|"]), max_size=80)
USERS = st.lists(st.from_regex(r"U0[A-Z0-9]{2,9}", fullmatch=True), max_size=12)
STEP = st.builds(
    lambda notify, users: note(Key.target, notify=notify, users=users),
    st.sampled_from([t.value for t in NotifyTarget]),
    USERS,
)
WHY = st.one_of(
    st.builds(lambda: note(Key.by_hand)),
    st.builds(lambda: note(Key.bad_news_now)),
    st.builds(lambda title: note(Key.escalated_to, title=title), WORD),
    st.builds(
        not_acknowledged,
        st.one_of(st.none(), st.integers(0, 10**5).map(lambda m: timedelta(minutes=m))),
    ),
)
NUMBER = st.integers(min_value=1, max_value=99)


def _notes() -> st.SearchStrategy[dict[str, Any]]:
    return st.one_of(
        st.builds(lambda i: note(Key.received, integration=i), WORD),
        st.builds(lambda c: note(Key.repeated, count=c), st.integers(2, 10**9)),
        st.builds(lambda: note(Key.nobody_to_page)),
        st.builds(
            lambda s, n, t, u: note(Key.skipped, skipped=s, number=n, target=t, users=u),
            NUMBER,
            NUMBER,
            STEP,
            USERS,
        ),
        st.builds(
            lambda w, n, t, u: note(Key.escalated, why=w, number=n, target=t, users=u),
            WHY,
            NUMBER,
            STEP,
            USERS,
        ),
        st.builds(lambda w: note(Key.no_further_step, why=w), WHY),
        st.builds(lambda t: note(Key.team_gone, team=t), WORD),
        st.builds(lambda w, u: note(Key.leadership, why=w, users=u), WHY, USERS),
    )


REASON = st.one_of(
    st.none(),
    WORD,
    st.builds(lambda: note(Key.on_call)),
    st.builds(lambda n, t: note(Key.step, number=n, target=t), NUMBER, STEP),
)


@settings(max_examples=120, deadline=None)
@given(
    language=st.sampled_from(LANGUAGES),
    notes=st.lists(st.tuples(_notes(), st.one_of(st.none(), st.just("U0BOB"))), max_size=30),
    reason=REASON,
)
def test_timelines_and_reasons_fit_slacks_limits_in_every_language(
    language: str, notes: list[tuple[dict[str, Any], str | None]], reason: Any
) -> None:
    built = card(
        *(
            TimelineLine(AT + timedelta(minutes=n), str(said["key"]), actor, note=said)
            for n, (said, actor) in enumerate(notes)
        )
    )
    with speaking(language):
        messages = [
            alert_card(built),
            alert_dm(built, reason),
            alert_dm(built, reason, to_leader=True),
        ]
    for rendered in messages:
        validate_blocks(rendered["blocks"])
        assert len(rendered["blocks"]) <= 50
