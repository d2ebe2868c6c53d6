"""Alerts in their readers' languages: a card speaks its team's language, a DM its reader's; and
every message, rendered in each language from any text, stays within Slack's Block Kit limits."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.enums import Action
from bot.i18n import LANGUAGES, speaking
from bot.schedule.engine import Shift
from bot.slack.blocks.alert import AlertCard, TimelineLine, alert_card, alert_dm, leadership_dm
from bot.slack.blocks.oncall import help_message, week_message
from bot.slack.blocks.rollup import RolledAlert, RollupSummary, rollup_message
from handlers.ack import written_moment
from tests.harness import message_text, validate_blocks
from tests.support.cards import SEEN, alert_card_of
from tests.support.relay import (
    BRAZILIAN_TEAM,
    FRIDAY_NIGHT,
    delivery_of,
    grafana_memory_card,
    post_alert,
    relay,
)
from tests.support.shifts import button_texts


async def test_a_card_in_a_brazilian_teams_channel_and_each_dm_in_its_readers_language(
    tmp_path: Path,
) -> None:
    async with relay(
        tmp_path,
        BRAZILIAN_TEAM,
        # Bob holds the pager and reads French; the CEO reads English.
        locales={"U0BOB": "fr-FR", "U0CEO": "en-US"},
    ) as h:
        await post_alert(h, "prometheus", "alertmanager/v0.25-firing.json")
        await delivery_of(h).drain()

        (card,) = h.standin.messages("C0SUPPORT")
        assert button_texts(card.blocks) == {
            Action.alert_ack: "Assumir",
            Action.alert_resolve: "Resolver",
            Action.alert_escalate: "Escalar",
            Action.alert_escalate_ceo: "Escalar: CEO",
        }
        confirm = card.blocks[-1]["elements"][-1]["confirm"]
        assert confirm["deny"]["text"] == "Cancelar"
        assert "agora para CEO, por mensagem direta" in confirm["text"]["text"]
        text = message_text(card)
        assert "*Gravidade*\ncrítico" in text
        assert "CRÍTICO · Checkout 5xx" in text
        assert ":bell: Aberto, ninguém assumiu" in text

        (dm,) = h.standin.dms("U0BOB")
        assert "On vous appelle pour *Customer support* : vous êtes d'astreinte." in (
            message_text(dm)
        )
        assert button_texts(dm.blocks)[Action.alert_ack] == "Je prends"
        (ceo_dm,) = h.standin.dms("U0CEO")
        assert ":rotating_light: Bad news now: a critical alert" in message_text(ceo_dm)
        assert button_texts(ceo_dm.blocks)[Action.alert_ack] == "Acknowledge"
        h.assert_all_valid()


# --- Block Kit limits in every language -------------------------------------------------------

TEXT = st.lists(
    st.sampled_from([*"abcXYZ09 .-*_`~<>&|@!#:/\né…", "&amp;", "<@U0ALICE>", "ção", "w" * 40]),
    max_size=120,
).map("".join)
NAME = st.text(alphabet=st.sampled_from([*"abcXYZ09 -éã"]), min_size=1, max_size=80)
TITLE = st.text(alphabet=st.sampled_from([*"abcXYZ09 -éã"]), min_size=1, max_size=18).filter(
    str.strip
)
AT = st.datetimes(
    min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
)


@settings(max_examples=120, deadline=None)
@given(
    language=st.sampled_from(LANGUAGES),
    title=TEXT,
    summary=TEXT,
    team=NAME,
    customer=TEXT,
    leader_title=TITLE,
    count=st.integers(min_value=1, max_value=10**6),
    status=st.sampled_from(["open", "acknowledged", "resolved"]),
    at=AT,
    timeline=st.integers(min_value=0, max_value=30),
    labels=st.lists(st.tuples(NAME, TEXT), max_size=12),
)
def test_alert_messages_fit_slacks_limits_in_every_language(
    language: str,
    title: str,
    summary: str,
    team: str,
    customer: str,
    leader_title: str,
    count: int,
    status: str,
    at: datetime,
    timeline: int,
    labels: list[tuple[str, str]],
) -> None:
    card = AlertCard(
        id=7,
        team_name=team,
        title=title or "x",
        severity="critical",
        status=status,
        integration="prometheus",
        first_seen=at,
        last_seen=at + timedelta(minutes=count % 600),
        count=count,
        summary=summary,
        customer=customer or None,
        runbook_url="https://runbooks.example.com/x",
        labels=tuple(labels),
        acknowledged_at=at if status != "open" else None,
        acknowledged_by="U0BOB" if status != "open" else None,
        resolved_at=at if status == "resolved" else None,
        resolved_by="U0BOB" if status == "resolved" else None,
        leadership_at=at,
        leadership_by=None if count % 2 else "U0DAN",
        timeline=tuple(
            TimelineLine(at + timedelta(minutes=n), "repeated", None, summary[:300])
            for n in range(timeline)
        ),
        leadership_title=leader_title,
    )
    with speaking(language):
        messages = [
            alert_card(card),
            alert_dm(card, "on call"),
            alert_dm(card, "on call", to_leader=True),
            leadership_dm(card, "U0DAN", at),
            leadership_dm(card, None, at),
        ]
    for rendered in messages:
        validate_blocks(rendered["blocks"])
        assert len(rendered["text"]) <= 40_000
        assert len(rendered["blocks"]) <= 50


@settings(max_examples=60, deadline=None)
@given(
    language=st.sampled_from(LANGUAGES),
    team_name=NAME,
    teams=st.lists(st.from_regex(r"[a-z0-9][a-z0-9_-]{0,39}", fullmatch=True), max_size=40),
    start=AT,
    shifts=st.integers(min_value=0, max_value=60),
)
def test_oncall_answers_fit_slacks_limits_in_every_language(
    language: str, team_name: str, teams: list[str], start: datetime, shifts: int
) -> None:
    from bot.plan.reading import parse_plan
    from tests.support.setup_files import SUPPORT_AND_INFRA as ONCALL_PLAN

    team = parse_plan(ONCALL_PLAN, "oncall.yaml").teams["support"]
    team = replace(team, name=team_name)
    rows = [
        Shift("U0ALICE", start + timedelta(hours=3 * n), start + timedelta(hours=3 * n + 3), "gap")
        for n in range(shifts)
    ]
    with speaking(language):
        for rendered in (
            week_message(team, rows, None, start),
            help_message(teams),
        ):
            validate_blocks(rendered["blocks"])


async def test_escalate_speaks_portuguese_from_the_form_to_its_answer(tmp_path: Path) -> None:
    async with relay(tmp_path, locales={"U0DAN": "pt-BR"}) as h:
        await h.command("/escalate", "", user="U0DAN")
        (form,) = h.standin.open_views("U0DAN")
        assert form["title"]["text"] == "Acionar o plantão"
        labels = [b["label"]["text"] for b in form["blocks"] if b["type"] == "input"]
        assert labels == ["Equipe", "O que aconteceu", "Gravidade", "Cliente"]
        answer = await h.command("/escalate", "support Acme diz que o checkout falha", user="U0DAN")
        assert answer.reply_text().startswith(
            "Alerta aberto para *Customer support*: “Acme diz que o checkout falha”. "
        )
        h.assert_all_valid()


async def test_an_alert_raised_from_slack_names_its_source_in_the_teams_language(
    tmp_path: Path,
) -> None:
    async with relay(tmp_path, BRAZILIAN_TEAM, locales={"U0ALICE": "fr-FR"}) as h:
        await h.command("/escalate", "support Acme says checkout fails", user="U0ALICE")
        await delivery_of(h).drain()
        (card,) = h.standin.messages("C0SUPPORT")
        assert "*Origem*\n/escalate por alice" in message_text(card)


# --- what a click, a wake-up or a broken channel says, in its reader's language ----------------


async def test_each_button_answers_the_clicker_in_their_language(tmp_path: Path) -> None:
    async with relay(tmp_path, locales={"U0BOB": "pt-BR", "U0ALICE": "fr-FR"}) as h:
        memory = await grafana_memory_card(h)

        escalated = await h.click(memory, Action.alert_escalate, user="U0BOB")
        assert "Escalado para a etapa 2 (reserva): <@U0LEAD2> acionado." in (escalated.reply_text())
        acknowledged = await h.click(memory, Action.alert_ack, user="U0ALICE")
        assert "Pris en charge : l'escalade est arrêtée, la carte indique que c'est vous." in (
            acknowledged.reply_text()
        )
        again = await h.click(memory, Action.alert_ack, user="U0BOB")
        assert "<@U0ALICE> já assumiu este alerta." in again.reply_text()
        resolved = await h.click(memory, Action.alert_resolve, user="U0ALICE")
        assert "Résolue." in resolved.reply_text()
        late = await h.click(memory, Action.alert_escalate, user="U0LEAD2")
        assert "This alert is already resolved by <@U0ALICE>." in late.reply_text()
        request = h.slack.block_action(
            Action.alert_ack,
            '{"alert_id": "drop table"}',
            user_id="U0ALICE",
            channel_id="C0SUPPORT",
            message_ts=memory.ts,
            text="Acknowledge",
        )
        assert "Je ne sais plus lire ce bouton." in (await h.send(request)).reply_text()


# Slack may say who Bob is (users.info) after the channel's refusal is settled: the notice still
# waits for his language.
@pytest.mark.parametrize(
    "users_info_late", [0.0, 0.5], ids=["users-info-at-once", "users-info-late"]
)
async def test_the_pager_holder_hears_of_a_broken_channel_in_their_language(
    tmp_path: Path, users_info_late: float
) -> None:
    async with relay(tmp_path, locales={"U0BOB": "fr-FR"}) as h:
        if users_info_late:
            h.standin.fail_rate(1.0, ["users.info"], kinds=["slow"], slow_seconds=users_info_late)
        h.standin.fail_next("chat.postMessage", 100, error="not_in_channel", channel="C0SUPPORT")
        await post_alert(h, "grafana", "grafana/webhook-docs-example.json")
        await delivery_of(h).drain()
        (notice,) = [m for m in h.standin.dms("U0BOB") if m.text.startswith(":warning:")]
        assert (
            ":warning: Je ne peux pas publier dans <#C0SUPPORT> : je n'en suis pas membre. Tapez "
            "`/invite @watchkeeper` dans <#C0SUPPORT> pour que les alertes de *Customer support* "
            "y apparaissent."
        ) in message_text(notice)
        assert "D'ici là, les alertes arrivent toujours par message direct" in message_text(notice)


@pytest.mark.parametrize(
    ("language", "in_dm", "headline", "counted", "handled"),
    [
        (
            "fr",
            False,
            "3 nouvelles alertes depuis",
            "avertissement : 3",
            "(1 prise en charge, 1 résolue)",
        ),
        ("pt-BR", True, "3 alertas acionaram você desde", "aviso: 3", "(1 assumido, 1 resolvido)"),
        ("en", False, "3 new alerts since", "3 warning", "(1 acknowledged, 1 resolved)"),
    ],
)
def test_a_roll_up_reads_in_its_readers_language(
    language: str, in_dm: bool, headline: str, counted: str, handled: str
) -> None:
    alerts = tuple(
        RolledAlert(id=n, title=f"Disk {n}", severity="warning", status=status, team_name="Ops")
        for n, status in enumerate(("open", "acknowledged", "resolved"), start=1)
    )
    summary = RollupSummary(in_dm=in_dm, since=FRIDAY_NIGHT, alerts=alerts)
    with speaking(language):
        rolled = rollup_message(summary)
    assert rolled["text"].startswith(headline)
    assert rolled["text"].endswith(f"{counted} {handled}")
    validate_blocks(rolled["blocks"])


@pytest.mark.parametrize(
    ("at", "zone", "language", "written"),
    [
        # The night Paris skips 02:00-03:00 (a 23-hour day), and the one it lives 02:00-03:00 twice.
        ("2026-03-29T00:30Z", "Europe/Paris", "fr", "dimanche 29 mars 2026, 01:30 (Paris)"),
        ("2026-03-29T01:30Z", "Europe/Paris", "fr", "dimanche 29 mars 2026, 03:30 (Paris)"),
        ("2026-10-25T00:30Z", "Europe/Paris", "fr", "dimanche 25 octobre 2026, 02:30 (Paris)"),
        ("2026-10-25T01:30Z", "Europe/Paris", "fr", "dimanche 25 octobre 2026, 02:30 (Paris)"),
        # São Paulo keeps no summer time now; New York leaves it on 1 November 2026.
        (
            "2026-12-31T23:59Z",
            "America/Sao_Paulo",
            "pt-BR",
            "quinta-feira, 31 de dezembro de 2026 20:59 (São Paulo)",
        ),
        (
            "2026-11-01T06:30Z",
            "America/New_York",
            "pt-BR",
            "domingo, 1 de novembro de 2026 01:30 (Nova York)",
        ),
        (
            "2026-11-01T05:30Z",
            "America/New_York",
            "en",
            "Sunday, November 1, 2026, 01:30 (New York)",
        ),
    ],
)
def test_the_acknowledge_page_writes_times_by_babel_in_the_readers_zone(
    at: str, zone: str, language: str, written: str
) -> None:
    with speaking(language):
        assert written_moment(datetime.fromisoformat(at), ZoneInfo(zone)) == written


@pytest.mark.parametrize(
    ("language", "word"), [("en", "someone"), ("fr", "quelqu'un"), ("pt-BR", "alguém")]
)
def test_an_acknowledgement_by_nobody_known_says_someone_in_the_readers_language(
    language: str, word: str
) -> None:
    # The card of an acknowledged alert whose acknowledger is not on record.
    card = alert_card_of(status="acknowledged", acknowledged_at=SEEN, acknowledged_by=None)
    with speaking(language):
        text = message_text(alert_card(card))
    assert word in text
    if language != "en":
        assert "someone" not in text
