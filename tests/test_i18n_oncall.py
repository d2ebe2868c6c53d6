"""/oncall in the reader's language: the setup file's choice, else the Slack client's, else the
team's, else English; French and Portuguese command words; dates as each language writes them."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar

from bot.i18n import speaking
from bot.plan.model import Person
from bot.plan.reading import parse_plan
from bot.schedule import timefmt
from tests.harness import slack_harness
from tests.support.setup_check import edited, line_of, problems
from tests.support.setup_files import SATURDAY_NIGHT
from tests.support.setup_files import SUPPORT_AND_INFRA as PLAN

PARIS = ZoneInfo("Europe/Paris")
NEW_YORK = ZoneInfo("America/New_York")
SAO_PAULO = ZoneInfo("America/Sao_Paulo")


async def test_a_french_a_brazilian_and_an_english_slack_user_each_read_their_own(
    tmp_path: Path,
) -> None:
    async with slack_harness(
        PLAN,
        tmp_path=tmp_path,
        now=SATURDAY_NIGHT,
        zones={"U0ALICE": "America/New_York"},
        locales={"U0ALICE": "fr-FR", "U0BOB": "pt-BR", "U0CAROL": "en-GB"},
    ) as h:
        says = {
            "U0ALICE": [
                "*Customer support* : <@U0CEO> est d'astreinte en ce moment, ven. 27 nov. 12:00 – "
                "lun. 30 nov. 03:00 (votre heure, New York ; heure de l'équipe, Paris : ven. 27 "
                "nov. 18:00 – lun. 30 nov. 09:00).",
                "Renfort : <@U0LEAD2>.",
                "`/oncall semaine` les sept prochains jours",
            ],
            "U0BOB": [
                "*Customer support*: <@U0CEO> está de plantão agora, sex., 27 de nov. 18:00 – "
                "seg., 30 de nov. 09:00 (horário de Paris).",
                "Próximo: <@U0ERIN> a partir de seg., 30 de nov. 09:00",
            ],
            "U0CAROL": [
                "*Customer support*: <@U0CEO> is on call now, Fri 27 Nov 18:00 – Mon 30 Nov 09:00 "
                "(Paris time).",
            ],
        }
        for user, lines in says.items():
            reply = (await h.command("/oncall", "support", user=user)).reply_text()
            for line in lines:
                assert line in reply, (user, line)
        # The Slack client's language was asked for, as Slack answers it only when asked.
        asked = {c.args.get("include_locale") for c in h.standin.calls_to("users.info")}
        assert asked == {"1"}


@pytest.mark.parametrize(
    ("words", "user", "expected"),
    [
        ("semaine", "U0ALICE", "Customer support : les sept prochains jours"),
        ("support semana", "U0BOB", "Customer support: os próximos sete dias"),
        ("week", "U0BOB", "Customer support: os próximos sete dias"),
        ("moi", "U0ALICE", "*Vos prochaines astreintes*"),
        ("eu", "U0BOB", "*Seus próximos plantões*"),
        ("me", "U0ALICE", "*Vos prochaines astreintes*"),
        ("aide", "U0ALICE", "• `/oncall moi` — vos prochaines astreintes."),
        ("ajuda", "U0BOB", "• `/oncall eu` — seus próximos plantões."),
        ("semana", "U0CAROL", "Customer support: the next seven days"),
        ("moi", "U0CAROL", "*Your next shifts*"),
    ],
)
async def test_command_words_work_in_every_language_for_everyone(
    tmp_path: Path, words: str, user: str, expected: str
) -> None:
    async with slack_harness(
        PLAN,
        tmp_path=tmp_path,
        now=SATURDAY_NIGHT,
        locales={"U0ALICE": "fr-FR", "U0BOB": "pt-BR"},
    ) as h:
        assert expected in (await h.command("/oncall", words, user=user)).reply_text()


PEOPLE = """\
people:
  U0ALICE:
    language: pt-BR
  U0BOB: {}
"""


async def test_the_setup_files_language_wins_over_the_slack_client_then_the_team_speaks(
    tmp_path: Path,
) -> None:
    plan = PEOPLE + PLAN.replace(
        "    channel: C0SUPPORT\n", "    channel: C0SUPPORT\n    language: fr\n"
    )
    async with slack_harness(
        plan,
        tmp_path=tmp_path,
        now=SATURDAY_NIGHT,
        # Alice's Slack speaks French, but the setup file says Portuguese; Bob's Slack speaks a
        # language the bot does not, so his team's French; Ivan's team says nothing: English.
        locales={"U0ALICE": "fr-FR", "U0BOB": "es-ES", "U0IVAN": "de-DE"},
    ) as h:
        alice = (await h.command("/oncall", "", user="U0ALICE")).reply_text()
        assert "<@U0CEO> está de plantão agora" in alice
        bob = (await h.command("/oncall", "", user="U0BOB")).reply_text()
        assert "<@U0CEO> est d'astreinte en ce moment" in bob
        ivan = (await h.command("/oncall", "", user="U0IVAN")).reply_text()
        assert "is on call now" in ivan


async def test_a_dm_typed_without_the_slash_is_answered_in_the_writers_language(
    tmp_path: Path,
) -> None:
    async with slack_harness(
        PLAN, tmp_path=tmp_path, now=SATURDAY_NIGHT, locales={"U0BOB": "pt-BR"}
    ) as h:
        await h.send(h.slack.direct_message("U0BOB", "bonjour"))
        (text,) = h.dm_texts("U0BOB")
        assert text.startswith("Eu só leio comandos de barra")


def test_the_setup_file_names_each_persons_and_each_teams_language() -> None:
    plan = parse_plan(
        PEOPLE
        + PLAN.replace(
            "    timezone: America/New_York\n",
            "    timezone: America/New_York\n    language: PT-br\n",
        ),
        "oncall.yaml",
    )
    assert plan.people == {
        "U0ALICE": Person(language="pt-BR"),
        "U0BOB": Person(language=None),
    }
    assert plan.teams["infra"].language == "pt-BR"
    assert plan.teams["support"].language is None


@pytest.mark.parametrize(
    ("edit", "where", "says"),
    [
        (
            ("    channel: C0SUPPORT", "    channel: C0SUPPORT\n    language: de"),
            "language: de",
            "teams.support.language: expected a language the bot speaks: en, fr, pt-BR, got 'de'",
        ),
        (
            ("  U0ALICE:\n    wake:", "  U0ALICE:\n    language: es\n    wake:"),
            "language: es",
            "people.U0ALICE.language: expected a language the bot speaks: en, fr, pt-BR, got 'es'",
        ),
        (
            ("  U0ALICE:\n    wake:", "  U0ALICE:\n    lang: fr\n    wake:"),
            "lang: fr",
            "people.U0ALICE.lang: unknown key 'lang'; did you mean 'language'?",
        ),
    ],
)
def test_a_language_the_bot_does_not_speak_is_named_with_its_line(
    edit: tuple[str, str], where: str, says: str
) -> None:
    text = edited(*edit)
    assert problems(text) == [f"oncall.yaml:{line_of(text, where)}: {says}"]


# Instants across the year's clock changes: Paris's 25-hour day (25 October 2026) and 23-hour
# day (29 March 2026), New York's (1 November and 8 March 2026); São Paulo keeps no DST.
DATES = [
    (datetime(2026, 10, 25, 0, 30, tzinfo=UTC), PARIS, "fr", "dim. 25 oct. 02:30"),
    (datetime(2026, 10, 25, 1, 30, tzinfo=UTC), PARIS, "fr", "dim. 25 oct. 02:30"),
    (datetime(2026, 10, 25, 1, 30, tzinfo=UTC), PARIS, "pt-BR", "dom., 25 de out. 02:30"),
    (datetime(2026, 3, 29, 0, 59, tzinfo=UTC), PARIS, "fr", "dim. 29 mars 01:59"),
    (datetime(2026, 3, 29, 1, 0, tzinfo=UTC), PARIS, "fr", "dim. 29 mars 03:00"),
    (datetime(2026, 3, 29, 1, 0, tzinfo=UTC), PARIS, "pt-BR", "dom., 29 de mar. 03:00"),
    (datetime(2026, 11, 1, 5, 30, tzinfo=UTC), NEW_YORK, "pt-BR", "dom., 1 de nov. 01:30"),
    (datetime(2026, 11, 1, 6, 30, tzinfo=UTC), NEW_YORK, "pt-BR", "dom., 1 de nov. 01:30"),
    (datetime(2026, 3, 8, 7, 0, tzinfo=UTC), NEW_YORK, "fr", "dim. 8 mars 03:00"),
    (datetime(2026, 12, 31, 23, 0, tzinfo=UTC), SAO_PAULO, "pt-BR", "qui., 31 de dez. 20:00"),
    (datetime(2027, 1, 1, 3, 0, tzinfo=UTC), SAO_PAULO, "pt-BR", "sex., 1 de jan. 00:00"),
    (datetime(2026, 10, 25, 1, 30, tzinfo=UTC), PARIS, "en", "Sun 25 Oct 02:30"),
]


@pytest.mark.parametrize(("at", "zone", "language", "written"), DATES)
def test_times_are_written_as_each_language_writes_them(
    at: datetime, zone: ZoneInfo, language: str, written: str
) -> None:
    with speaking(language):
        assert timefmt.day_time(at, zone) == written


def test_a_span_across_the_25_hour_night_in_french_and_portuguese() -> None:
    start = datetime(2026, 10, 24, 16, 0, tzinfo=UTC)  # Saturday 18:00 in Paris (CEST)
    end = datetime(2026, 10, 26, 8, 0, tzinfo=UTC)  # Monday 09:00 in Paris (CET)
    with speaking("fr"):
        assert timefmt.span(start, end, NEW_YORK, PARIS) == (
            "sam. 24 oct. 12:00 – lun. 26 oct. 04:00 (votre heure, New York ; heure de "
            "l'équipe, Paris : sam. 24 oct. 18:00 – lun. 26 oct. 09:00)"
        )
        assert timefmt.day_name(start.date()) == "sam. 24 oct. 2026"
    with speaking("pt-BR"):
        assert timefmt.span(start, end, NEW_YORK, PARIS) == (
            "sáb., 24 de out. 12:00 – seg., 26 de out. 04:00 (seu horário, Nova York; horário "
            "da equipe, Paris: sáb., 24 de out. 18:00 – seg., 26 de out. 09:00)"
        )
        assert timefmt.day_name(start.date()) == "sáb., 24 de out. de 2026"


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("sam 10:00", datetime(2026, 11, 28, 9, 0, tzinfo=UTC)),
        ("samedi 10:00", datetime(2026, 11, 28, 9, 0, tzinfo=UTC)),
        ("sáb 10:00", datetime(2026, 11, 28, 9, 0, tzinfo=UTC)),
        ("sabado 10:00", datetime(2026, 11, 28, 9, 0, tzinfo=UTC)),
        ("dim 10:00", datetime(2026, 11, 29, 9, 0, tzinfo=UTC)),
        ("segunda 10:00", datetime(2026, 11, 30, 9, 0, tzinfo=UTC)),
        ("mardi 10:00", datetime(2026, 12, 1, 9, 0, tzinfo=UTC)),
        ("terça 10:00", datetime(2026, 12, 1, 9, 0, tzinfo=UTC)),
    ],
)
def test_weekdays_are_read_in_every_language(typed: str, expected: datetime) -> None:
    friday = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
    assert timefmt.parse_moment(typed, PARIS, friday) == expected


def test_a_mistyped_time_is_explained_in_the_readers_language() -> None:
    with speaking("fr"), pytest.raises(timefmt.UnreadableTime) as caught:
        timefmt.parse_moment("xyz 10:00", PARIS, SATURDAY_NIGHT)
    assert str(caught.value) == (
        "« xyz » n'est pas un jour de la semaine : écrivez 2026-11-28 10:00, sam 10:00 ou 10:00 "
        "(sur 24 h, heure de l'équipe)."
    )


@pytest.mark.parametrize(
    ("language", "summary", "description"),
    [
        ("fr", "Astreinte : ", "est d'astreinte pour Customer support (rotation weekend)."),
        ("pt-BR", "Plantão: ", "está de plantão por Customer support (escala weekend)."),
    ],
)
async def test_the_calendar_feed_speaks_its_teams_language(
    tmp_path: Path, language: str, summary: str, description: str
) -> None:
    plan = PLAN.replace(
        "    channel: C0SUPPORT\n", f"    channel: C0SUPPORT\n    language: {language}\n"
    )
    async with slack_harness(plan, tmp_path=tmp_path, now=SATURDAY_NIGHT) as h:
        answer = await h.client.get("/calendar/support.ics")
        assert answer.status_code == 200
        feed = Calendar.from_ical(answer.content)
        assert str(feed["x-wr-calname"]) == f"{summary}Customer support"
        events = list(feed.walk("VEVENT"))
        assert events and all(str(e["summary"]).startswith(summary) for e in events)
        assert any(str(e["description"]).endswith(description) for e in events)
