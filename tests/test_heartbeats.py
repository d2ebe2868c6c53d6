"""Heartbeats: a ping recorded through GET or POST /heartbeat/{name} (token checked, nothing
recorded on refusal); a silence past `every` and `grace` raised once as an ordinary alert (card,
DM, escalation) saying when the last ping came, across restarts and replicas; the next ping
resolves it. Days are counted on the team's clock: a daily job across the 23- and 25-hour days."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session, col, select

from bot.alerts.heartbeats import Watcher, due_at
from bot.app.factory import build_services
from bot.plan.holder import PlanHolder
from bot.plan.model import Every, Heartbeat
from bot.plan.reading import parse_plan
from storage.db import session_scope
from storage.models import Alert, HeartbeatState, Outbox
from tests.harness import Harness, slack_harness
from tests.readme import curl_request, fenced
from tests.support.relay import delivery_of
from tests.support.setup_check import line_of, problems
from tests.support.setup_files import heartbeat, rotation, setup_yaml, support_team

PARIS = ZoneInfo("Europe/Paris")
NEW_YORK = ZoneInfo("America/New_York")
TOKEN = "hb-5e1f09aa"
WATCHDOG_TOKEN = "wd-0c7d2b31"
ENV = {"HEARTBEAT_TOKEN": TOKEN, "ALERTMANAGER_HEARTBEAT_TOKEN": WATCHDOG_TOKEN}
# Bob holds the support team's pager around the clock; two jobs ping: a nightly backup and
# Alertmanager's watchdog.
PLAN = setup_yaml(
    {
        "support": support_team(
            rotations=[rotation("always", ["U0BOB"], "2025-01-06 09:00", "1w")],
            backup=None,
            escalation=[{"notify": "oncall", "wait": "10m"}, {"notify": "leadership"}],
        )
    },
    heartbeats={
        "nightly-backup": heartbeat("support", "1d", "10m", "HEARTBEAT_TOKEN"),
        "alertmanager": heartbeat("support", "5m", "5m", "ALERTMANAGER_HEARTBEAT_TOKEN"),
    },
)


def paris(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=PARIS)


# --- when a silence is a miss: days on the team's clock ------------------------------------------
@pytest.mark.parametrize(
    ("every", "grace", "zone", "last", "due", "hours"),
    [
        # An ordinary day: 24 hours, and the grace.
        (Every(1, "d"), 10, PARIS, "2026-07-14 03:30", "2026-07-15 03:40", 24),
        # Sunday 29 March 2026 has 23 hours in Paris: the 03:30 job comes 23 hours later.
        (Every(1, "d"), 10, PARIS, "2026-03-28 03:30", "2026-03-29 03:40", 23),
        # Sunday 25 October 2026 has 25: a 24-hour count would raise it an hour early.
        (Every(1, "d"), 10, PARIS, "2026-10-24 03:30", "2026-10-25 03:40", 25),
        # 02:30 does not exist on 29 March: the job runs when the clock jumps, at 03:00.
        (Every(1, "d"), 10, PARIS, "2026-03-28 02:30", "2026-03-29 03:10", 23.5),
        # A week across New York's spring-forward (8 March 2026) is 167 hours.
        (Every(1, "w"), 60, NEW_YORK, "2026-03-05 09:00", "2026-03-12 10:00", 167),
        # Hours and minutes are counted as they pass: 02:30 CEST, an hour later is 02:30 CET.
        (Every(1, "h"), 5, PARIS, "2026-10-25 02:30", "2026-10-25 02:35+01:00", 1),
        (Every(5, "m"), 5, PARIS, "2026-03-29 01:58", "2026-03-29 03:08", 5 / 60),
    ],
)
def test_a_silence_is_a_miss_one_every_later_on_the_teams_clock(
    every: Every, grace: int, zone: ZoneInfo, last: str, due: str, hours: float
) -> None:
    heartbeat = Heartbeat("job", "support", every, timedelta(minutes=grace), "TOKEN")
    since = datetime.fromisoformat(last).replace(tzinfo=zone)
    expected = datetime.fromisoformat(due)
    expected = expected if expected.tzinfo else expected.replace(tzinfo=zone)
    found = due_at(heartbeat, zone, since)
    assert found == expected
    # Hours as they pass (aware datetimes of one zone subtract on the wall clock).
    assert found.astimezone(UTC) - since.astimezone(UTC) == timedelta(hours=hours, minutes=grace)


# --- the setup file ------------------------------------------------------------------------------
def test_heartbeats_are_read_with_their_team_period_grace_and_secret() -> None:
    plan = parse_plan(PLAN, "oncall.yaml")
    assert plan.heartbeats == {
        "nightly-backup": Heartbeat(
            "nightly-backup", "support", Every(1, "d"), timedelta(minutes=10), "HEARTBEAT_TOKEN"
        ),
        "alertmanager": Heartbeat(
            "alertmanager",
            "support",
            Every(5, "m"),
            timedelta(minutes=5),
            "ALERTMANAGER_HEARTBEAT_TOKEN",
        ),
    }
    without_grace = parse_plan(PLAN.replace("    grace: 10m\n", ""), "oncall.yaml")
    assert without_grace.heartbeats["nightly-backup"].grace == timedelta(minutes=5)


@pytest.mark.parametrize(
    ("old", "new", "at", "says"),
    [
        (
            "    team: support\n    every: 1d",
            "    team: sales\n    every: 1d",
            "team: sales",
            "heartbeats.nightly-backup.team: expected one of the teams defined in this file "
            "(support), got 'sales'",
        ),
        (
            "every: 1d",
            "every: daily",
            "every: daily",
            "heartbeats.nightly-backup.every: expected a duration like 10m, 1h or 1d, got 'daily'",
        ),
        (
            "grace: 10m",
            "grace: 1w",
            "grace: 1w",
            "heartbeats.nightly-backup.grace: expected a duration like 10m, 1h or 1d, got '1w'",
        ),
        (
            "token_env: HEARTBEAT_TOKEN",
            "token_env: hb-5e1f09aa",
            "token_env: hb-",
            "heartbeats.nightly-backup.token_env: expected the NAME of an environment variable "
            "like PROMETHEUS_ALERT_TOKEN, got a value that is not one (not shown, in case it is "
            "the secret itself: secrets live in the environment, not in this file)",
        ),
        (
            "  nightly-backup:",
            "  Nightly Backup:",
            "Nightly Backup:",
            "heartbeats.Nightly Backup: expected a heartbeat name of lowercase letters, digits, "
            "'-' and '_' (like nightly-backup), got 'Nightly Backup'",
        ),
        (
            "    every: 1d\n",
            "",
            "  nightly-backup:",
            "heartbeats.nightly-backup.every: missing: how often a ping is expected at least, "
            "like 1h or 1d",
        ),
    ],
)
def test_a_heartbeat_mistake_is_named_by_line_and_field(
    old: str, new: str, at: str, says: str
) -> None:
    assert old in PLAN
    text = PLAN.replace(old, new, 1)
    assert problems(text) == [f"oncall.yaml:{line_of(text, at)}: {says}"]


# --- pings, misses and their alerts --------------------------------------------------------------
@contextlib.asynccontextmanager
async def watching(
    tmp_path: Path, now: datetime, plan: str = PLAN, **kwargs: Any
) -> AsyncIterator[tuple[Harness, Watcher]]:
    async with slack_harness(plan, tmp_path=tmp_path, now=now, env=ENV, **kwargs) as h:
        watcher = h.services.heartbeats
        assert isinstance(watcher, Watcher)
        yield h, watcher


async def ping(h: Harness, name: str = "nightly-backup", **kwargs: Any) -> Any:
    params = kwargs.pop("params", {"token": TOKEN})
    return await h.client.request(
        kwargs.pop("method", "GET"), f"/heartbeat/{name}", params=params, **kwargs
    )


def heartbeat_alerts(h: Harness) -> list[Alert]:
    with Session(h.services.engine) as session:
        query = select(Alert).where(col(Alert.dedup_key).startswith("heartbeat:"))
        return list(session.exec(query.order_by(col(Alert.id))))


def state(h: Harness, name: str = "nightly-backup") -> HeartbeatState | None:
    with Session(h.services.engine) as session:
        return session.get(HeartbeatState, name)


async def deliver(h: Harness) -> None:
    for _ in range(4):
        await delivery_of(h).drain()
        h.clock.advance(timedelta(seconds=2))


def heartbeat_cards(h: Harness) -> list[str]:
    return [t for t in h.channel_texts("C0SUPPORT") if "Heartbeat" in t]


async def test_a_ping_is_recorded_and_refusals_record_nothing(tmp_path: Path) -> None:
    at = paris("2026-11-27 02:14")
    async with watching(tmp_path, at) as (h, _):
        unknown = await ping(h, "nightly-backups")
        assert unknown.status_code == 404
        assert unknown.json() == {
            "error": "no heartbeat 'nightly-backups' in the setup file",
            "field": "name",
        }
        wrong = await ping(h, params={"token": "hb-5e1f09ab"})
        assert wrong.status_code == 401
        assert wrong.json()["error"] == "wrong token for heartbeat 'nightly-backup'"
        missing = await ping(h, params={})
        assert missing.status_code == 401 and "missing token" in missing.json()["error"]
        # The other heartbeat's token is not this one's.
        crossed = await ping(
            h, method="POST", headers={"Authorization": f"Bearer {WATCHDOG_TOKEN}"}
        )
        assert crossed.status_code == 401
        assert state(h) is None

        answer = await ping(h)
        assert answer.status_code == 200
        assert answer.json() == {
            "status": "ok",
            "heartbeat": "nightly-backup",
            "at": at.astimezone(UTC).isoformat(),
            "resolved": None,
        }
        h.clock.advance(timedelta(hours=1))
        posted = await ping(
            h, method="POST", params={}, headers={"Authorization": f"Bearer {TOKEN}"}, json={}
        )
        assert posted.status_code == 200
        recorded = state(h)
        assert recorded is not None
        assert recorded.last_ping_at == (at + timedelta(hours=1)).astimezone(UTC)
        # A wrong token after a good ping leaves the good one in place.
        h.clock.advance(timedelta(hours=1))
        assert (await ping(h, params={"token": "nope"})).status_code == 401
        assert state(h).last_ping_at == recorded.last_ping_at  # type: ignore[union-attr]


async def test_a_missed_heartbeat_is_raised_once_and_the_next_ping_resolves_it(
    tmp_path: Path,
) -> None:
    last = paris("2026-11-27 02:14")
    async with watching(tmp_path, last) as (h, watcher):
        assert (await ping(h)).status_code == 200
        assert (await ping(h, "alertmanager", params={"token": WATCHDOG_TOKEN})).status_code == 200
        # 1d and 10m later, and Alertmanager kept pinging: nothing is missed yet.
        for minutes in range(5, 24 * 60 + 10, 5):
            h.clock.set(last + timedelta(minutes=minutes))
            await ping(h, "alertmanager", params={"token": WATCHDOG_TOKEN})
        h.clock.set(paris("2026-11-28 02:23:59"))
        assert await watcher.run_once() == []
        h.clock.set(paris("2026-11-28 02:24"))
        ((name, alert_id),) = await watcher.run_once()
        assert name == "nightly-backup"
        # Looked at again, and by a second look in the same instant: still one alert.
        assert await watcher.run_once() == []
        h.clock.advance(timedelta(minutes=1))
        assert await watcher.run_once() == []
        await deliver(h)

        (alert,) = heartbeat_alerts(h)
        assert alert.id == alert_id
        assert alert.title == "Heartbeat nightly-backup missed, last ping Fri 27 Nov 02:14"
        assert alert.dedup_key == "heartbeat:nightly-backup"
        assert alert.labels == {"heartbeat": "nightly-backup"}
        assert alert.summary == (
            "nightly-backup pings at least every 1d, give or take 10m: one was due by "
            "2026-11-28 02:24 CET. The last came at 2026-11-27 02:14 CET. "
            "The next ping to /heartbeat/nightly-backup resolves this alert."
        )
        # An ordinary alert: its card, the pager holder's DM, an escalation in 10 minutes.
        assert alert.next_escalation_at == paris("2026-11-28 02:34").astimezone(UTC)
        (card,) = heartbeat_cards(h)
        assert "Heartbeat nightly-backup missed, last ping Fri 27 Nov 02:14" in card
        (dm,) = [t for t in h.dm_texts("U0BOB") if "Heartbeat" in t]
        assert "You are paged for *Customer support*: on call." in dm

        h.clock.set(paris("2026-11-28 02:40"))
        answer = await ping(h)
        assert answer.json()["resolved"] == alert_id
        await deliver(h)
        (card,) = heartbeat_cards(h)
        assert "Resolved by heartbeat" in card
        (alert,) = heartbeat_alerts(h)
        assert alert.status == "resolved" and alert.next_escalation_at is None
        h.assert_all_valid()

        # The next silence is a new alert, saying when its own last ping came.
        # (Alertmanager, silent since the day before, is missed too.)
        h.clock.set(paris("2026-11-29 02:51"))
        raised = dict(await watcher.run_once())
        assert sorted(raised) == ["alertmanager", "nightly-backup"]
        (again,) = [a for a in heartbeat_alerts(h) if a.id == raised["nightly-backup"]]
        assert again.id != alert_id
        assert again.title == "Heartbeat nightly-backup missed, last ping Sat 28 Nov 02:40"


async def test_a_heartbeat_that_never_pinged_is_missed_one_period_after_the_bot_watches_it(
    tmp_path: Path,
) -> None:
    start = paris("2026-11-27 09:00")
    async with watching(tmp_path, start) as (h, watcher):
        await ping(h)  # the nightly backup pings; Alertmanager never does
        assert await watcher.run_once() == []
        h.clock.set(start + timedelta(minutes=10))
        ((name, _),) = await watcher.run_once()
        assert name == "alertmanager"
        (alert,) = heartbeat_alerts(h)
        assert alert.title == "Heartbeat alertmanager missed, no ping since 09:00"
        assert "None came since it is watched, 2026-11-27 09:00 CET." in alert.summary


@pytest.mark.parametrize(
    ("last", "quiet", "missed", "title"),
    [
        # The 23-hour day: 03:30 CET to 03:30 CEST is 23 hours; missed at 03:40.
        ("2026-03-28 03:30", "2026-03-29 03:39", "2026-03-29 03:40", "Sat 28 Mar 03:30"),
        # The 25-hour day: at 03:35 CET, 25 hours after 03:30 CEST, it is not late yet.
        ("2026-10-24 03:30", "2026-10-25 03:39", "2026-10-25 03:40", "Sat 24 Oct 03:30"),
    ],
)
async def test_a_daily_heartbeat_across_the_dst_days_is_missed_at_its_wall_time(
    tmp_path: Path, last: str, quiet: str, missed: str, title: str
) -> None:
    async with watching(tmp_path, paris(last)) as (h, watcher):
        await ping(h)
        await ping(h, "alertmanager", params={"token": WATCHDOG_TOKEN})
        h.clock.set(paris(quiet))
        await ping(h, "alertmanager", params={"token": WATCHDOG_TOKEN})
        assert await watcher.run_once() == []
        h.clock.set(paris(missed))
        await ping(h, "alertmanager", params={"token": WATCHDOG_TOKEN})
        ((name, _),) = await watcher.run_once()
        assert name == "nightly-backup"
        assert heartbeat_alerts(h)[0].title == f"Heartbeat nightly-backup missed, last ping {title}"


async def test_a_french_teams_missed_heartbeat_is_said_in_french(tmp_path: Path) -> None:
    french = PLAN.replace(
        "    channel: C0SUPPORT\n", "    channel: C0SUPPORT\n    language: fr\n", 1
    )
    async with watching(tmp_path, paris("2026-11-27 02:14"), french) as (h, watcher):
        await ping(h)
        await ping(h, "alertmanager", params={"token": WATCHDOG_TOKEN})
        h.clock.set(paris("2026-11-28 02:24"))
        await ping(h, "alertmanager", params={"token": WATCHDOG_TOKEN})
        ((name, _),) = await watcher.run_once()
        assert name == "nightly-backup"
        await deliver(h)
        (card,) = heartbeat_cards(h)
        assert "Heartbeat nightly-backup manqué, dernier ping ven. 27 nov. 02:14" in card
        assert "Le dernier est arrivé le 2026-11-27 02:14 CET." in card
        h.assert_all_valid()


async def test_a_heartbeat_missed_while_the_bot_was_down_is_raised_when_it_starts(
    tmp_path: Path,
) -> None:
    last = paris("2026-11-27 02:14")
    database = f"sqlite:///{tmp_path / 'watchkeeper.db'}"
    async with watching(tmp_path, last, database_url=database) as (h, _):
        await ping(h)
        await ping(h, "alertmanager", params={"token": WATCHDOG_TOKEN})
    # Down from 02:20 until Saturday 09:00: both were missed meanwhile.
    later = paris("2026-11-28 09:00")
    async with watching(tmp_path, later, database_url=database, start_background=True) as (h, _):
        # The watcher's first look, at the start, raises both; the delivery worker posts them.
        await h.standin.wait_for_async(lambda _: len(heartbeat_cards(h)) == 2, timeout=20)
        titles = sorted(a.title for a in heartbeat_alerts(h))
        # Alertmanager's was due at 02:24 the same day, the backup's the next: the day is said.
        assert titles == [
            "Heartbeat alertmanager missed, last ping 02:14",
            "Heartbeat nightly-backup missed, last ping Fri 27 Nov 02:14",
        ]
        assert len(heartbeat_cards(h)) == 2


async def test_two_replicas_on_postgresql_raise_a_missed_heartbeat_once(
    tmp_path: Path, postgres_url: str
) -> None:
    last = paris("2026-11-27 02:14")
    async with watching(tmp_path, last, database_url=postgres_url) as (h, first):
        await ping(h)
        await ping(h, "alertmanager", params={"token": WATCHDOG_TOKEN})
        # A second replica on the same database, with the same setup file and the same time.
        other = build_services(
            h.settings, plans=PlanHolder.from_file(h.settings.config_path), clock=h.clock
        )
        second = Watcher(other)
        try:
            h.clock.set(paris("2026-11-28 09:00"))
            raised: list[tuple[str, int]] = []
            for _ in range(5):
                rounds = await asyncio.gather(
                    asyncio.to_thread(first.raise_missed_now),
                    asyncio.to_thread(second.raise_missed_now),
                )
                raised.extend(found for each in rounds for found in each)
            assert sorted(name for name, _ in raised) == ["alertmanager", "nightly-backup"]
            assert len(heartbeat_alerts(h)) == 2
            with session_scope(h.services.engine) as session:
                notices = session.exec(select(Outbox).where(Outbox.kind == "alert-notify")).all()
            assert len(notices) == 2  # one DM to the pager holder per alert

            # The next ping, answered by the first replica, resolves; the second raises nothing.
            (backup,) = [a for a in heartbeat_alerts(h) if a.dedup_key.endswith("backup")]
            assert (await ping(h)).json()["resolved"] == backup.id
            assert await asyncio.to_thread(second.raise_missed_now) == []
            statuses = {a.dedup_key: a.status for a in heartbeat_alerts(h)}
            assert statuses == {
                "heartbeat:nightly-backup": "resolved",
                "heartbeat:alertmanager": "open",
            }
        finally:
            other.engine.dispose()


# --- the README ----------------------------------------------------------------------------------
def test_the_readme_shows_the_heartbeats_of_this_file_with_a_watchdog_route() -> None:
    (setup,) = [b for b in fenced("yaml") if b.startswith("heartbeats:")]
    assert setup in PLAN
    (route,) = [b for b in fenced("yaml") if "Watchdog" in b and "/heartbeat/alertmanager" in b]
    assert re.search(r"repeat_interval: 1m", route)


async def test_the_readme_cron_line_pings_its_heartbeat(tmp_path: Path) -> None:
    (crontab,) = fenced("crontab")
    (line,) = [line for line in crontab.splitlines() if "curl " in line]
    sent = curl_request(line[line.index("curl ") :], ENV)
    assert sent.url == "https://watchkeeper.example.com/heartbeat/nightly-backup"
    async with watching(tmp_path, paris("2026-11-27 02:30")) as (h, _):
        answer = await h.client.request(
            sent.method, "/heartbeat/nightly-backup", headers=sent.headers
        )
        assert answer.status_code == 200
        assert state(h) is not None
