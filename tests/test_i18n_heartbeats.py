"""A missed heartbeat's alert in its team's language, its times written by Babel on the team's
clock (days across the 23- and 25-hour days of Paris, and São Paulo's and New York's)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.alerts.heartbeats import missed_alert
from bot.i18n import speaking
from bot.plan.model import Every, Heartbeat

NIGHTLY = Heartbeat("nightly-backup", "support", Every(1, "d"), timedelta(minutes=10), "T")


@pytest.mark.parametrize(
    ("language", "zone", "last", "due", "title"),
    [
        # Paris springs forward on Sunday 29 March 2026 (23 hours), falls back on 25 October.
        (
            "fr",
            "Europe/Paris",
            "2026-03-28 03:30",
            "2026-03-29 03:40",
            "Heartbeat nightly-backup manqué, dernier ping sam. 28 mars 03:30",
        ),
        (
            "fr",
            "Europe/Paris",
            "2026-10-24 03:30",
            "2026-10-25 03:40",
            "Heartbeat nightly-backup manqué, dernier ping sam. 24 oct. 03:30",
        ),
        (
            "pt-BR",
            "America/Sao_Paulo",
            "2026-12-31 23:50",
            "2027-01-01 23:59",
            "Heartbeat nightly-backup perdido, último ping qui., 31 de dez. 23:50",
        ),
        (
            "pt-BR",
            "America/New_York",
            "2026-11-01 01:30",
            "2026-11-01 01:45",
            "Heartbeat nightly-backup perdido, último ping 01:30",
        ),
        (
            "en",
            "America/New_York",
            "2026-03-07 02:30",
            "2026-03-08 03:40",
            "Heartbeat nightly-backup missed, last ping Sat 7 Mar 02:30",
        ),
    ],
)
def test_a_missed_heartbeat_reads_in_its_teams_language(
    language: str, zone: str, last: str, due: str, title: str
) -> None:
    tz = ZoneInfo(zone)
    with speaking(language):
        alert = missed_alert(
            NIGHTLY,
            tz,
            last_ping=datetime.fromisoformat(last).replace(tzinfo=tz),
            watched_since=datetime.fromisoformat(last).replace(tzinfo=tz),
            due=datetime.fromisoformat(due).replace(tzinfo=tz),
        )
    assert alert.title == title
    assert "/heartbeat/nightly-backup" in alert.summary


def test_with_no_ping_ever_it_says_since_when_it_is_watched() -> None:
    tz = ZoneInfo("Europe/Paris")
    since = datetime(2026, 11, 27, 9, 0, tzinfo=tz)
    with speaking("fr"):
        alert = missed_alert(
            NIGHTLY, tz, last_ping=None, watched_since=since, due=since + timedelta(days=1)
        )
    assert alert.title == "Heartbeat nightly-backup manqué, aucun ping depuis ven. 27 nov. 09:00"
    assert (
        "nightly-backup envoie un ping au moins toutes les 1d, à 10m près : il en fallait un "
        "avant le 2026-11-28 09:00 CET. Aucun n'est arrivé depuis le début de la surveillance, "
        "le 2026-11-27 09:00 CET."
    ) in alert.summary
