"""Waking the person paged: pushes through Apprise to a local receiver, on the app's clock, the
acknowledge link, retries, refusals said once, and no wake-up URL in any log line."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import re
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.app.cli import main as cli_main
from bot.app.doctor import wake_secret_problems
from bot.app.factory import build_services, create_app
from bot.app.settings import Settings, SettingsError, load_settings
from bot.plan.holder import PlanHolder
from bot.plan.model import Condition, Person, Runbook, WakePolicy
from bot.plan.reading import load_plan
from bot.runtime.clock import FixedClock
from bot.runtime.metrics import metrics_of
from bot.wake.worker import Waker
from storage.db import session_scope
from storage.models import Outbox, WakeUp
from storage.people import save_chosen_language
from storage.wakeups import add_method
from tests.conftest import ROOT, fixture_bytes
from tests.support.intake import FRIDAY_NIGHT, TOKENS, Intake, running_intake, support_plan
from tests.support.push_receiver import PushReceiver, push_receiver
from tests.support.setup_files import SUPPORT as CLI_PLAN

SECRET = "wake-test-secret-1f6e"
PUBLIC = "https://oncall.example.com"
BOB_TOPIC = "bob-pager-7f3kq9zz"  # the secret part of Bob's ntfy URL
CRITICAL = fixture_bytes("pagerduty/trigger_openapi_example.json")  # critical, to U0BOB
WARNING = b'{"title": "Refunds are slow", "severity": "warning", "customer": "Acme"}'
ACK_LINK = re.compile(r"Acknowledge: (\S+)")


@dataclass
class Wake:
    intake: Intake
    receiver: PushReceiver
    waker: Waker

    @property
    def clock(self) -> FixedClock:
        return self.intake.clock

    def wakeups(self) -> list[WakeUp]:
        with Session(self.intake.services.engine) as session:
            return list(session.exec(select(WakeUp).order_by(col(WakeUp.id))))

    def posts(self) -> list[Outbox]:
        return [row for row in self.intake.outbox() if row.kind == "slack-post"]

    def link(self, index: int = -1) -> str:
        match = ACK_LINK.search(self.receiver.received[index].message)
        assert match is not None, self.receiver.received[index].message
        return match[1].removeprefix(PUBLIC)


async def told_once_of_two_pages(w: Wake) -> Outbox:
    """Page Bob for two critical alerts, run the waker once: the one DM that tells him."""
    for key in ("disk-1", "disk-2"):
        body = CRITICAL.replace(b"srv01/mysql", key.encode())
        assert (await w.intake.enqueue(body)).status_code == 202
    assert await w.waker.run_once() == 2
    [told] = w.posts()
    assert told.payload["user"] == "U0BOB"
    return told


@asynccontextmanager
async def waking(
    database_url: str,
    *,
    methods: tuple[str, ...] | None = None,
    policy: WakePolicy | None = None,
    runbooks: tuple[Runbook, ...] = (),
    others: dict[str, Person] | None = None,
) -> AsyncIterator[Wake]:
    """The app with Bob (the pager holder on Friday night) woken through the local receiver."""
    with push_receiver() as receiver:
        plan = support_plan()
        team = plan.teams["support"]
        if policy is not None:
            team = dataclasses.replace(team, wake=policy)
        wake = methods if methods is not None else (receiver.url("ntfy", BOB_TOPIC),)
        plan = dataclasses.replace(
            plan,
            teams={"support": team},
            people={**(others or {}), **({"U0BOB": Person(wake=wake)} if wake else {})},
            runbooks=runbooks,
        )
        env = {"WATCHKEEPER_SECRET": SECRET, "PUBLIC_URL": PUBLIC}
        async with running_intake(database_url, plan=plan, env=env) as intake:
            waker = intake.services.waker
            assert isinstance(waker, Waker) and waker.run in intake.services.workers
            try:
                yield Wake(intake, receiver, waker)
            finally:
                waker.sender.close()


async def test_a_critical_alert_wakes_the_pager_holder_at_once_with_what_to_know(
    database_url: str,
) -> None:
    async with waking(database_url) as w:
        assert (await w.intake.enqueue(CRITICAL)).status_code == 202
        assert await w.waker.run_once() == 1
        [push] = w.receiver.received
        assert w.receiver.topics() == [BOB_TOPIC]
        assert push.title.startswith("[CRITICAL] ")
        assert "Severity: critical" in push.message
        assert "Team: Customer support" in push.message
        assert w.link().startswith("/ack/")
        assert await w.waker.run_once() == 0  # once, not at every look


async def test_the_push_carries_the_setup_files_runbook_for_the_alert(sqlite_url: str) -> None:
    book = "https://wiki.example.com/runbooks/disk-full"
    runbooks = (
        Runbook(match=(Condition("customer", "Acme"),), text="Call Acme's ops desk."),
        Runbook(
            match=(Condition("team", "support"), Condition("severity", "critical")),
            text="Free space first: rotate the binlogs, then look for the cause.",
            url=book,
        ),
    )
    async with waking(
        sqlite_url, runbooks=runbooks, policy=WakePolicy(now=frozenset({"critical", "warning"}))
    ) as w:
        assert (await w.intake.enqueue(CRITICAL)).status_code == 202
        await w.waker.run_once()
        [push] = w.receiver.received
        lines = push.message.splitlines()
        assert "Runbook: Free space first: rotate the binlogs, then look for the cause." in lines
        assert f"Runbook: {book}" in lines  # whole: a link cut short leads nowhere
        assert "Call Acme's ops desk." not in push.message
        # A warning from Acme meets the first runbook, which has no link.
        assert (await w.intake.post("helpdesk", WARNING)).status_code == 202
        await w.waker.run_once()
        acme = w.receiver.received[-1].message
        assert "Runbook: Call Acme's ops desk." in acme.splitlines()
        assert book not in acme


async def test_a_warning_wakes_only_after_wake_after_without_an_acknowledgement(
    sqlite_url: str,
) -> None:
    async with waking(sqlite_url) as w:
        assert (await w.intake.post("helpdesk", WARNING)).status_code == 202
        w.clock.advance(timedelta(minutes=4, seconds=59))
        assert await w.waker.run_once() == 0
        assert w.receiver.received == []
        w.clock.advance(timedelta(seconds=1))
        assert await w.waker.run_once() == 1
        [push] = w.receiver.received
        assert push.title == "[WARNING] Refunds are slow"
        assert "Customer: Acme" in push.message


async def test_wakes_again_every_few_minutes_until_acknowledged_from_the_link(
    database_url: str,
) -> None:
    policy = WakePolicy(now=frozenset({"critical"}), every=timedelta(minutes=2), times=5)
    async with waking(database_url, policy=policy) as w:
        assert (await w.intake.enqueue(CRITICAL)).status_code == 202
        await w.waker.run_once()
        w.clock.advance(timedelta(minutes=1))
        assert await w.waker.run_once() == 0
        w.clock.advance(timedelta(minutes=1))
        assert await w.waker.run_once() == 1
        assert [p.title.endswith("(again, 2)") for p in w.receiver.received] == [False, True]

        # A link preview fetches the page: nothing changes, the wake-ups go on.
        page = await w.intake.client.get(w.link())
        assert page.status_code == 200 and "Acknowledge" in page.text
        assert '<form method="post">' in page.text and "Open in Slack" in page.text
        [alert] = w.intake.alerts()
        assert alert.status == "open"

        answer = await w.intake.client.post(w.link())
        assert answer.status_code == 200 and "Acknowledged" in answer.text
        [alert] = w.intake.alerts()
        assert (alert.status, alert.acknowledged_by) == ("acknowledged", "U0BOB")
        # As after a click: the timeline says who, and the card waits to be brought up to date.
        assert ("acknowledged", "U0BOB") in w.intake.events(alert.id)
        assert [r.status for r in w.intake.outbox(alert.id) if r.kind == "alert-sync"] == [
            "pending"
        ]
        w.clock.advance(timedelta(hours=1))
        assert await w.waker.run_once() == 0
        assert len(w.receiver.received) == 2
        [wake] = w.wakeups()
        assert wake.status == "stopped"


async def test_at_most_wake_times_in_all(sqlite_url: str) -> None:
    policy = WakePolicy(now=frozenset({"critical"}), every=timedelta(minutes=1), times=3)
    async with waking(sqlite_url, policy=policy) as w:
        assert (await w.intake.enqueue(CRITICAL)).status_code == 202
        for _ in range(6):
            await w.waker.run_once()
            w.clock.advance(timedelta(minutes=1))
        assert len(w.receiver.received) == 3
        [wake] = w.wakeups()
        assert (wake.status, wake.sent) == ("done", 3)


async def test_resolving_before_wake_after_means_nobody_is_woken(sqlite_url: str) -> None:
    async with waking(sqlite_url) as w:
        warning = b'{"title": "Refunds are slow", "severity": "warning", "dedup_key": "z-4711"}'
        assert (await w.intake.post("helpdesk", warning)).status_code == 202
        resolve = b'{"title": "Refunds are slow", "dedup_key": "z-4711", "status": "resolved"}'
        assert (await w.intake.post("helpdesk", resolve)).status_code == 202
        w.clock.advance(timedelta(hours=1))
        assert await w.waker.run_once() == 0
        assert w.receiver.received == []
        [wake] = w.wakeups()
        assert wake.status == "stopped"


async def test_get_of_the_link_acknowledges_nothing_and_bad_tokens_change_nothing(
    sqlite_url: str,
) -> None:
    async with waking(sqlite_url) as w:
        assert (await w.intake.enqueue(CRITICAL)).status_code == 202
        await w.waker.run_once()
        link = w.link()
        for _ in range(3):
            assert (await w.intake.client.get(link)).status_code == 200
            assert (await w.intake.client.head(link)).status_code == 200
        alert_id, user, signature = link.removeprefix("/ack/").split(".")
        forged = [
            f"/ack/{alert_id}.U0CEO.{signature}",  # someone else
            f"/ack/{int(alert_id) + 1}.{user}.{signature}",  # another alert
            f"/ack/{alert_id}.{user}.{signature[:-1]}{'B' if signature[-1] == 'A' else 'A'}",
            "/ack/not-a-token",
        ]
        for path in forged:
            answer = await w.intake.client.post(path)
            assert answer.status_code == 403, path
            assert "text/html" in answer.headers["content-type"]
        [alert] = w.intake.alerts()
        assert alert.status == "open"
        # The alert closes: its link dies.
        resolve = {"routing_key": TOKENS["DATAPIPE_ROUTING_KEY"], "event_action": "resolve"}
        resolve["dedup_key"] = "srv01/mysql"
        assert (await w.intake.enqueue(json.dumps(resolve).encode())).status_code == 202
        assert (await w.intake.client.post(link)).status_code == 410
        [alert] = w.intake.alerts()
        assert alert.acknowledged_at is None


async def test_a_failing_push_service_is_retried_with_backoff(sqlite_url: str) -> None:
    async with waking(sqlite_url) as w:
        w.receiver.status = 503
        assert (await w.intake.enqueue(CRITICAL)).status_code == 202
        await w.waker.run_once()
        [wake] = w.wakeups()
        assert (wake.status, wake.sent, wake.attempts) == ("pending", 0, 1)
        assert wake.last_error == "HTTP 503"
        assert await w.waker.run_once() == 0  # backing off
        w.receiver.status = 200
        w.clock.advance(timedelta(seconds=5))
        assert await w.waker.run_once() == 1
        assert len(w.receiver.received) == 1
        [wake] = w.wakeups()
        assert wake.sent == 1
        text = metrics_of(w.intake.services).render().decode()
        assert 'watchkeeper_wakeups_total{result="failed",service="ntfy"} 1.0' in text
        assert 'watchkeeper_wakeups_total{result="sent",service="ntfy"} 1.0' in text


async def test_a_refused_method_is_said_once_to_its_owner_in_slack(sqlite_url: str) -> None:
    async with waking(sqlite_url) as w:
        w.receiver.status = 400
        told = await told_once_of_two_pages(w)
        assert "ntfy wake-up method" in told.payload["text"]
        assert "was refused (HTTP 400)" in told.payload["text"]
        assert BOB_TOPIC not in told.payload["text"]
        assert {wake.status for wake in w.wakeups()} == {"failed"}


async def test_a_person_with_no_method_paged_for_a_critical_alert_is_told_once(
    sqlite_url: str,
) -> None:
    # Wake-ups are in use here (Alice has a method): Bob, with none, is told how to add one.
    alice = {"U0ALICE": Person(wake=("json://127.0.0.1:9/alice",))}
    async with waking(sqlite_url, methods=(), others=alice) as w:
        told = await told_once_of_two_pages(w)
        assert "Add a wake-up method" in told.payload["text"]


async def test_a_team_that_wakes_nobody_by_phone_is_not_asked_at_every_page(
    sqlite_url: str,
) -> None:
    # Nobody has a method, in the setup file or the App Home: the doctor says it, once.
    async with waking(sqlite_url, methods=()) as w:
        assert (await w.intake.enqueue(CRITICAL)).status_code == 202
        assert await w.waker.run_once() == 1
        assert w.posts() == []
        [wake] = w.wakeups()
        assert (wake.status, wake.last_error) == ("failed", "no wake-up method")


def _settings(database_url: str, **more: str) -> Settings:
    return load_settings(
        {
            "SLACK_BOT_TOKEN": "xoxb-test",
            "SLACK_SIGNING_SECRET": "secret",
            "DATABASE_URL": database_url,
            **more,
        },
        env_file=None,
    )


def test_with_wake_up_methods_and_no_secret_the_bot_does_not_start(sqlite_url: str) -> None:
    url = f"ntfy://ntfy.sh/{BOB_TOPIC}"
    plan = dataclasses.replace(support_plan(), people={"U0BOB": Person(wake=(url,))})
    services = build_services(_settings(sqlite_url), plans=PlanHolder(plan))
    with pytest.raises(SettingsError) as error:
        create_app(services.settings, services=services, start_background=False)
    said = str(error.value)
    assert said.startswith("WATCHKEEPER_SECRET is not set, and the setup file gives people ")
    assert "(people.U0BOB.wake)" in said and "in the environment or .env" in said
    assert BOB_TOPIC not in said
    assert not services.workers  # nothing was started

    # A method added in the App Home needs it as much.
    plain = build_services(_settings(sqlite_url), plans=PlanHolder(support_plan()))
    with session_scope(plain.engine) as session:
        add_method(session=session, user_id="U0BOB", url=url, now=FRIDAY_NIGHT)
    with pytest.raises(SettingsError, match=r"people added wake-up methods in the App Home"):
        create_app(plain.settings, services=plain, start_background=False)
    # With the secret, it starts.
    ready = build_services(_settings(sqlite_url, WATCHKEEPER_SECRET=SECRET), plans=PlanHolder(plan))
    assert isinstance(create_app(ready.settings, services=ready).state.bolt, object)
    for s in (services, plain, ready):
        s.engine.dispose()


def test_check_serve_and_doctor_say_the_secret_is_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    setup = tmp_path / "oncall.yaml"
    setup.write_text(CLI_PLAN + "people:\n  U0BOB:\n    wake: [ntfy://ntfy.sh/bob-7f3k]\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("WATCHKEEPER_CONFIG", str(setup))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'wk.db'}")
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "secret")
    monkeypatch.delenv("WATCHKEEPER_SECRET", raising=False)
    expected = "WATCHKEEPER_SECRET is not set, and the setup file gives people wake-up methods"

    # The file itself is sound: check passes, and warns.
    assert cli_main(["check"]) == 0
    out, _ = capsys.readouterr()
    assert f"{setup}: OK" in out
    assert f"warning: {expected} (people.U0BOB.wake): it signs" in out
    assert "(`watchkeeper serve` does not start without it)" in out

    # `serve` in a process of its own: it sets up the process's logging.
    served = subprocess.run(
        [sys.executable, "-m", "bot.app.cli", "serve"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT), "PORT": "9"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert served.returncode == 2, served.stderr
    assert f"watchkeeper: {expected} (people.U0BOB.wake)" in served.stderr.splitlines()[-1]

    plan = load_plan(setup)
    (problem,) = wake_secret_problems(plan, None, None)
    assert problem.line.startswith(
        "WATCHKEEPER_SECRET: not set, and the setup file gives people wake-up methods "
        "(people.U0BOB.wake): it signs the acknowledge link of every wake-up: set it in the "
        "environment or .env"
    )
    assert wake_secret_problems(plan, None, SECRET) == []

    monkeypatch.setenv("WATCHKEEPER_SECRET", SECRET)
    assert cli_main(["check"]) == 0
    assert "WATCHKEEPER_SECRET" not in capsys.readouterr().out


class _Kept(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.name} {record.getMessage()} {record.__dict__}")


async def test_no_log_line_holds_the_secret_of_a_wakeup_url(sqlite_url: str) -> None:
    # What reaches the root logger is what the app's log handler writes (bot.app.logs); kept at
    # DEBUG, the most a user can ask for.
    root = logging.getLogger()
    kept, level = _Kept(), root.level
    root.addHandler(kept)
    root.setLevel(logging.DEBUG)
    try:
        with push_receiver() as other:
            json_secret = "hook-5a1b9c0d2e"
            methods = (other.url("json", json_secret), other.url("ntfy", BOB_TOPIC))
            async with waking(sqlite_url, methods=methods) as w:
                other.status = 500
                assert (await w.intake.enqueue(CRITICAL)).status_code == 202
                await w.waker.run_once()
                other.status = 400
                w.clock.advance(timedelta(minutes=1))
                await w.waker.run_once()
                assert other.received == []
                assert len(w.posts()) == 2  # each refusal said to Bob, the URLs masked
                texts = " ".join(str(post.payload) for post in w.posts())
    finally:
        root.removeHandler(kept)
        root.setLevel(level)
    assert any("wake-up refused" in line for line in kept.lines)
    for secret in (json_secret, BOB_TOPIC):
        assert not [line for line in kept.lines if secret in line]
        assert secret not in texts


def test_the_setup_file_gives_people_wake_up_methods_and_teams_a_policy() -> None:
    from bot.plan.reading import ConfigError, parse_plan

    base = (ROOT / "oncall.example.yaml").read_text()
    plan = parse_plan(base, "oncall.yaml")
    assert plan.people["U0ALICE"].wake[1] == (
        "pover://${PUSHOVER_USER_ALICE}@${PUSHOVER_APP}?priority=emergency"
    )
    assert plan.teams["support"].wake == WakePolicy(
        now=frozenset({"critical"}),
        after=timedelta(minutes=5),
        every=timedelta(minutes=5),
        times=3,
    )
    secret = "tgram://bottoken-9f8e7d/chat"
    broken = base.replace("ntfy://ntfy.example.com/alice-pager-7f3k", secret.replace("://", ":"))
    with pytest.raises(ConfigError) as error:
        parse_plan(broken, "oncall.yaml")
    assert "people.U0ALICE.wake[0]: expected an Apprise URL" in str(error.value)
    assert "bottoken" not in str(error.value)
    bad_times = base.replace("times: 3", "times: 0")
    with pytest.raises(ConfigError, match=r"teams.support.wake.times: expected a number"):
        parse_plan(bad_times, "oncall.yaml")


def test_the_doctor_lists_the_pager_holders_of_the_next_two_weeks_with_no_wake_up_method(
    engine: Engine,
) -> None:
    from bot.app.doctor import unwakeable_holders

    plan = dataclasses.replace(
        support_plan(), people={"U0BOB": Person(wake=("ntfy://ntfy.sh/bob-pager-7f3k",))}
    )
    lines = unwakeable_holders(plan, None, FRIDAY_NIGHT)
    # Bob holds the pager this weekend and can be woken; Erin has Monday, Dan Tuesday, Alice the
    # next weekend: none of them can. Each from their first shift (Paris time, UTC in the line).
    assert [line.split(" ", 1)[0] for line in lines] == ["U0ERIN", "U0DAN", "U0ALICE"]
    assert all("has no wake-up method" in line for line in lines)
    assert "from 2026-11-30 08:00 UTC" in lines[0]  # Monday 09:00 in Paris
    assert "from 2026-12-04 17:00 UTC" in lines[2]  # Friday 18:00 in Paris
    assert "people.U0ALICE.wake" in lines[2]
    # A method Erin added in the App Home counts as much as one in the setup file.
    with Session(engine) as session:
        add_method(
            session=session, user_id="U0ERIN", url="json://127.0.0.1:9/erin", now=FRIDAY_NIGHT
        )
        session.commit()
    lines = unwakeable_holders(plan, engine, FRIDAY_NIGHT)
    assert [line.split(" ", 1)[0] for line in lines] == ["U0DAN", "U0ALICE"]


# --- in the reader's language -------------------------------------------------------------------


async def test_no_way_to_wake_you_is_said_in_the_readers_language(sqlite_url: str) -> None:
    # Alice has a method, so wake-ups are in use; Bob picked Portuguese in the App Home.
    alice = {"U0ALICE": Person(wake=("json://127.0.0.1:9/alice",))}
    async with waking(sqlite_url, methods=(), others=alice) as w:
        save_chosen_language(w.intake.services.engine, "U0BOB", "pt-BR", w.clock.now())
        assert (await w.intake.enqueue(CRITICAL)).status_code == 202
        assert await w.waker.run_once() == 1
        [told] = w.posts()
        assert told.payload["text"].startswith(
            "Você foi acionado por um alerta crítico, e não tenho como te acordar"
        )


async def test_a_refused_wake_up_method_is_said_in_the_readers_language(sqlite_url: str) -> None:
    async with waking(sqlite_url) as w:
        save_chosen_language(w.intake.services.engine, "U0BOB", "fr", w.clock.now())
        w.receiver.status = 400
        assert (await w.intake.enqueue(CRITICAL)).status_code == 202
        assert await w.waker.run_once() == 1
        [told] = w.posts()
        assert "Votre moyen de réveil ntfy (" in told.payload["text"]
        assert (
            "a été refusé (HTTP 400) : je ne peux pas vous réveiller par là."
            in (told.payload["text"])
        )


@pytest.mark.parametrize(
    ("language", "shown", "done"),
    [
        (
            "fr",
            [
                '<html lang="fr">',
                "<dt>Première alerte</dt><dd>vendredi 27 novembre 2026, 20:00 (Paris)</dd>",
                '<button type="submit">Je prends</button>',
                ">Ouvrir dans Slack</a>",
            ],
            "Pris en charge : les réveils sont arrêtés, et la carte dans Slack indique que "
            "c&#x27;est vous.",
        ),
        (
            "pt-BR",
            [
                '<html lang="pt-BR">',
                "<dt>Primeiro aviso</dt><dd>sexta-feira, 27 de novembro de 2026 20:00 (Paris)</dd>",
                "<dt>Situação</dt><dd>aberto</dd>",
                ">Abrir no Slack</a>",
            ],
            "Assumido: os despertares pararam, e o card no Slack mostra que é com você.",
        ),
    ],
)
async def test_the_acknowledge_page_speaks_the_woken_persons_language(
    sqlite_url: str, language: str, shown: list[str], done: str
) -> None:
    async with waking(sqlite_url) as w:
        save_chosen_language(w.intake.services.engine, "U0BOB", language, w.clock.now())
        assert (await w.intake.enqueue(CRITICAL)).status_code == 202
        assert await w.waker.run_once() == 1
        # The push is in their language too: the link is found whatever words come before it.
        (push,) = w.receiver.received
        found = re.search(r"https://\S+(/ack/\S+)", push.message)
        assert found is not None, push.message
        link = found[1]
        page = await w.intake.client.get(link)
        assert page.status_code == 200
        for words in shown:
            assert words in page.text
        answer = await w.intake.client.post(link)
        assert done in answer.text
