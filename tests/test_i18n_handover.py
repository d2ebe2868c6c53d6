"""Handovers, reminders and the digest in French and Brazilian Portuguese: words, plurals, dates
and durations as each language writes them, across the year's clock changes."""

from __future__ import annotations

from datetime import timedelta

from bot.handovers.digest import ShiftReport
from bot.i18n import speaking
from bot.schedule.timefmt import duration_text
from bot.slack.blocks.handover import handover_message
from bot.wake.message import WakeContent, wake_push
from tests.support.handover import CARD_LINK, CARRIED, sections, summary, utc


def test_a_handover_in_french() -> None:
    report = ShiftReport(alerts=5, resolved=1, escalations=2, worst_ack=timedelta(minutes=12))
    with speaking("fr"):
        message = handover_message(summary(carried=CARRIED, last_shift=report))
    assert message["text"] == "Passation dans Customer support : <@U0ALICE> → <@U0BOB>"
    assert sections(dict(message)) == [
        "Passation — Customer support",
        "<@U0ALICE> → <@U0BOB>\n*Nouvelle astreinte :* ven. 27 nov. 18:00 – lun. 30 nov. 09:00 "
        "(heure de Paris)",
        "*Alertes ouvertes transmises (2) :*\n"
        "• :red_circle: <https://grafana.example/d/checkout|Checkout error rate 12%> — critique, "
        "client ACME, ouverte depuis le ven. 27 nov. 17:40, prise en charge par <@U0ALICE>\n"
        f"• :large_yellow_circle: <{CARD_LINK}|Disk 91% full on db-1> — avertissement, "
        "ouverte depuis le ven. 27 nov. 16:02, *pas prise en charge*",
        "*Astreinte précédente* — <@U0ALICE>, ven. 20 nov. 18:00 – ven. 27 nov. 18:00 (heure de "
        "Paris) : 5 alertes · 1 résolue · 2 escalades · pire délai de prise en charge 12 min.",
        "*Ensuite :* <@U0CAROL> à partir du ven. 4 déc. 18:00 (heure de Paris).",
    ]


def test_a_handover_across_the_autumn_and_spring_changes_in_portuguese() -> None:
    # Paris leaves summer time on Sunday 25 October 2026 (a 25-hour day) and enters it on
    # Sunday 28 March 2027 (a 23-hour day): wall times stay 18:00 and 09:00.
    with speaking("pt-BR"):
        autumn = handover_message(
            summary(instant=utc(2026, 10, 23, 16, 0), incoming_until=utc(2026, 10, 26, 8, 0))
        )
        spring = handover_message(
            summary(
                instant=utc(2027, 3, 26, 17, 0),
                incoming_until=utc(2027, 3, 29, 7, 0),
                outgoing_since=utc(2027, 3, 19, 17, 0),
                last_shift=ShiftReport(alerts=1, resolved=0, escalations=0, worst_ack=None),
            )
        )
    assert (
        "*Novo plantão:* sex., 23 de out. 18:00 – seg., 26 de out. 09:00 (horário de Paris)"
        in sections(dict(autumn))[1]
    )
    texts = sections(dict(spring))
    assert (
        "*Novo plantão:* sex., 26 de mar. 18:00 – seg., 29 de mar. 09:00 (horário de Paris)"
        in texts[1]
    )
    assert texts[3] == (
        "*Plantão anterior* — <@U0ALICE>, sex., 19 de mar. 18:00 – sex., 26 de mar. 18:00 "
        "(horário de Paris): 1 alerta · 0 resolvido · 0 escalonamento · nada assumido."
    )


def test_durations_in_each_language() -> None:
    three_days = timedelta(days=3, hours=4)
    assert duration_text(three_days) == "3 d 4 h"
    with speaking("fr"):
        assert duration_text(three_days) == "3 j 4 h"
        assert duration_text(timedelta(minutes=125)) == "2 h 05 min"
    with speaking("pt-BR"):
        assert duration_text(three_days) == "3 d 4 h"


def test_a_wake_up_reads_in_its_readers_language() -> None:
    content = WakeContent(
        title="Checkout 5xx",
        severity="critical",
        team="Customer support",
        customer="ACME",
        summary="",
        ack_url="https://oncall.example.com/ack/t0k",
        repeat=2,
    )
    english = wake_push(content)
    assert english.title == "[CRITICAL] Checkout 5xx (again, 2)"
    with speaking("fr"):
        french = wake_push(content)
    assert french.title == "[CRITIQUE] Checkout 5xx (encore, 2)"
    assert french.body == (
        "Gravité : critique\nÉquipe : Customer support\nClient : ACME\n"
        "Prendre en charge : https://oncall.example.com/ack/t0k"
    )
    with speaking("pt-BR"):
        assert wake_push(content).body.endswith("Assumir: https://oncall.example.com/ack/t0k")
