"""`watchkeeper doctor` through the real command line, against the Slack stand-in: the exact lines
it prints for each kind of problem, its exit code, and that it changes nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from bot.app.doctor import NOBODY_WAKEABLE, Problem, check_public_url
from bot.sandbox.server import serve_in_thread
from bot.sandbox.standin.app import SlackStandIn
from storage.db import make_engine, session_scope
from storage.migrate import upgrade
from storage.models import Outbox
from storage.problems import record_problem
from tests.support.cli import run
from tests.support.setup_files import SUPPORT as CLI_PLAN

# The command line tests' setup, with a user group, someone who never existed, and two more
# teams.
PLAN = (
    CLI_PLAN.replace(
        "    channel: C0SUPPORT\n", "    channel: C0SUPPORT\n    usergroup: S0ONCALL\n"
    )
    .replace("U0CAROL, U0CEO]", "U0CAROL, U0CEO, U0GHOST]")
    .replace("      - notify: leadership\n", "      - notify: [U0LEAD]\n")
    + """\
  sales:
    name: Sales
    channel: C0SALES
    rotations:
      - name: days
        members: [U0DAN, U0ALICE]
        start: 2026-11-02 09:00
        every: 1d
  legacy:
    name: Legacy
    channel: C0LEGACY
    rotations:
      - name: weeks
        members: [U0ERIN]
        start: 2026-11-02 09:00
        every: 1w
"""
)
# Said after the problems of every run below: nobody in this setup has a wake-up method.
NO_PHONES = f"note: {NOBODY_WAKEABLE}"
PEOPLE = ["U0CEO", "U0ALICE", "U0BOB", "U0CAROL", "U0DAN", "U0ERIN", "U0LEAD1", "U0LEAD2", "U0LEAD"]


def workspace(**settings: object) -> SlackStandIn:
    """Every person and channel the plan names, as a workspace set up for the bot would have."""
    standin = SlackStandIn(**settings)  # type: ignore[arg-type]
    for user in PEOPLE:
        standin.add_user(user, user[2:].lower())
    standin.add_channel("C0SUPPORT", "support")
    standin.add_channel("C0SALES", "sales")
    standin.add_channel("C0LEGACY", "legacy")
    standin.add_usergroup("S0ONCALL", "support-oncall", users=["U0ALICE", "U0DAN"])
    return standin


@pytest.fixture
def setup_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "oncall.yaml"
    path.write_text(PLAN)
    monkeypatch.chdir(tmp_path)  # no .env of the developer's is read
    monkeypatch.setenv("WATCHKEEPER_CONFIG", str(path))
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-doctor")
    return path


def serving(standin: SlackStandIn, monkeypatch: pytest.MonkeyPatch) -> SlackStandIn:
    standin.start()
    monkeypatch.setenv("SLACK_API_URL", standin.base_url)
    return standin


@pytest.fixture
def clean(monkeypatch: pytest.MonkeyPatch) -> Iterator[SlackStandIn]:
    standin = serving(workspace(), monkeypatch)
    yield standin
    standin.stop()


@pytest.fixture
def troubled(monkeypatch: pytest.MonkeyPatch) -> Iterator[SlackStandIn]:
    """A free workspace where the bot was never invited to #sales, #legacy was archived, Bob
    left the company and U0GHOST never existed."""
    standin = workspace(plan="free")
    standin.remove_bot("C0SALES")
    standin.archive_channel("C0LEGACY")
    standin.deactivate_user("U0BOB")
    serving(standin, monkeypatch)
    yield standin
    standin.stop()


def doctor(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[str], str]:
    code, out, err = run(capsys, "doctor", *argv)
    return code, out.splitlines(), err


def test_each_problem_is_one_line_saying_how_to_fix_it(
    setup_file: Path, troubled: SlackStandIn, capsys: pytest.CaptureFixture[str]
) -> None:
    code, lines, err = doctor(capsys)
    assert code == 1, err
    assert lines == [
        "#sales: the bot is not a member: /invite @watchkeeper in #sales",
        "#legacy: archived (channel of team legacy): unarchive it, or give the team another "
        "`channel:` in the setup file",
        "U0BOB (@bob, rotation weekend of team support): deactivated in Slack: take them out "
        "of the setup file, or reactivate their account",
        "U0GHOST (rotation weekend of team support): no such user in this workspace: fix the id "
        "in the setup file (in Slack: the person's profile → ⋮ → Copy member ID)",
        "S0ONCALL (user group of team support): Slack will not let the bot write it "
        "(plan_upgrade_required): this workspace's plan has no user groups (a paid Slack plan "
        "has them): remove `usergroup:` from the team in the setup file, or upgrade the "
        "workspace",
        NO_PHONES,
        "5 problems in Watchkeeper Sandbox (3 channel(s), 10 person(s) and 1 user group(s) "
        "checked): fix them, then run `watchkeeper doctor` again.",
    ]
    # Nothing changed: the group keeps its members, nothing was posted.
    assert troubled.usergroup_users("S0ONCALL") == ["U0ALICE", "U0DAN"]
    assert not any(c.method.startswith("chat.") for c in troubled.calls)


def test_a_workspace_in_order_passes_with_few_calls_and_no_change(
    setup_file: Path, clean: SlackStandIn, capsys: pytest.CaptureFixture[str]
) -> None:
    # Two teams in one channel: one conversations.info for it.
    setup_file.write_text(
        PLAN.replace("channel: C0LEGACY", "channel: C0SUPPORT").replace("U0GHOST", "U0ERIN")
    )
    code, lines, err = doctor(capsys, "--config", str(setup_file))
    assert (code, err) == (0, "")
    assert lines == [
        NO_PHONES,
        "All good in Watchkeeper Sandbox: the token works; 2 channel(s), 9 person(s) and "
        "1 user group(s) checked.",
    ]
    assert len(clean.calls_to("conversations.info")) == 2
    assert sorted(c.args["user"] for c in clean.calls_to("users.info")) == sorted(PEOPLE)
    # Written back as it was: the one way to learn that writing works, unnoticed.
    assert clean.usergroup_history("S0ONCALL") == [["U0ALICE", "U0DAN"]]
    assert clean.usergroup_users("S0ONCALL") == ["U0ALICE", "U0DAN"]


def test_json_and_a_workspace_that_keeps_user_groups_to_admins(
    setup_file: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    setup_file.write_text(PLAN.replace("U0GHOST", "U0ERIN"))
    with serving(workspace(usergroups_admins_only=True), monkeypatch):
        code, lines, _ = doctor(capsys, "--json")
    assert code == 1
    (document,) = [json.loads(line) for line in lines]
    assert document["ok"] is False
    assert document["workspace"] == "Watchkeeper Sandbox"
    (problem,) = document["problems"]
    assert (problem["check"], problem["subject"]) == (
        "usergroup",
        "S0ONCALL (user group of team support)",
    )
    assert problem["problem"] == "Slack will not let the bot write it (permission_denied)"
    assert "Roles & permissions" in problem["fix"]
    assert problem["line"] == f"{problem['subject']}: {problem['problem']}: {problem['fix']}"
    assert document["checked"] == {"channels": 3, "users": 9, "usergroups": 1}


def test_an_empty_group_is_not_written_and_says_why(
    setup_file: Path, clean: SlackStandIn, capsys: pytest.CaptureFixture[str]
) -> None:
    setup_file.write_text(PLAN.replace("U0GHOST", "U0ERIN"))
    clean.add_usergroup("S0ONCALL", "support-oncall")
    code, lines, _ = doctor(capsys)
    assert code == 0
    assert lines[0] == (
        "note: S0ONCALL (user group of team support): empty, so writing it was not tried (that "
        "would change it); the next handover fills it — run the doctor again after it"
    )
    assert clean.calls_to("usergroups.users.update") == []


def test_slacks_429_is_waited_out(
    setup_file: Path, clean: SlackStandIn, capsys: pytest.CaptureFixture[str]
) -> None:
    setup_file.write_text(PLAN.replace("U0GHOST", "U0ERIN"))
    clean.rate_limit("users.info", retry_after=1)
    code, lines, _ = doctor(capsys)
    assert code == 0, lines
    (event,) = clean.rate_limit_events
    assert event.method == "users.info" and event.respected is True


def test_a_bad_token_stops_at_the_token(
    setup_file: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with serving(workspace(token="xoxb-the-real-one"), monkeypatch) as standin:
        code, lines, _ = doctor(capsys)
    assert code == 1
    assert lines == [
        "SLACK_BOT_TOKEN: Slack refuses the token (invalid_auth): put the app's Bot User OAuth "
        "Token (xoxb-…, under OAuth & Permissions) in .env",
        NO_PHONES,
        "1 problem (0 channel(s), 0 person(s) and 0 user group(s) checked): fix them, then run "
        "`watchkeeper doctor` again.",
    ]
    assert [c.method for c in standin.calls] == ["auth.test"]


def test_a_missing_scope_is_said_once_with_the_scope_to_add(
    setup_file: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    setup_file.write_text(PLAN.replace("U0GHOST", "U0ERIN"))
    scopes = ["chat:write", "users:read", "usergroups:read", "usergroups:write"]
    with serving(workspace(scopes=scopes), monkeypatch):
        code, lines, _ = doctor(capsys)
    assert code == 1
    assert lines[:-1] == [
        "Slack app: the app lacks the channels:read scope (conversations.info needs it): add it "
        "under OAuth & Permissions → Bot Token Scopes (manifest.yml lists it), then reinstall "
        "the app to the workspace",
        NO_PHONES,
    ]


def test_without_a_token_the_doctor_says_which_variable(
    setup_file: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("SLACK_BOT_TOKEN")
    code, lines, err = doctor(capsys)
    assert (code, lines) == (2, [])
    assert err.startswith("watchkeeper: SLACK_BOT_TOKEN is not set: the doctor checks")


def test_an_unreachable_slack_is_one_line(
    setup_file: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    standin = workspace().start()
    url = standin.base_url
    standin.stop()  # nothing listens there any more
    monkeypatch.setenv("SLACK_API_URL", url)
    code, lines, _ = doctor(capsys)
    assert code == 1
    assert lines[0].startswith(f"SLACK_API_URL: cannot reach Slack at {url} (")
    assert lines[0].endswith("): check the address and this machine's network")


def test_public_url_answers_or_is_a_problem() -> None:
    app = Starlette(routes=[Route("/healthz", lambda _: PlainTextResponse("ok"))])
    with serve_in_thread(app, "127.0.0.1", 0) as server:
        assert check_public_url(server.url + "/") == []
    assert check_public_url("https://ack.example.com", get=lambda *a, **k: httpx.Response(502)) == [
        Problem(
            "public_url",
            "PUBLIC_URL",
            "https://ack.example.com/healthz answered 502",
            "set PUBLIC_URL to the address people's phones reach the bot at, and open it there",
        )
    ]
    (gone,) = check_public_url(server.url)
    assert gone.problem == f"{server.url}/healthz does not answer (ConnectError)"


def test_the_doctor_checks_the_public_url_of_the_environment(
    setup_file: Path,
    clean: SlackStandIn,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    setup_file.write_text(
        PLAN.replace("channel: C0LEGACY", "channel: C0SUPPORT").replace("U0GHOST", "U0ERIN")
    )
    app = Starlette(routes=[Route("/healthz", lambda _: PlainTextResponse("ok"))])
    with serve_in_thread(app, "127.0.0.1", 0) as server:
        monkeypatch.setenv("PUBLIC_URL", server.url)
        code, lines, _ = doctor(capsys)
        assert code == 0, lines
    # The bot is not there any more: the acknowledge links would lead nowhere.
    code, lines, _ = doctor(capsys)
    assert code == 1
    assert lines[0] == (
        f"PUBLIC_URL: {server.url}/healthz does not answer (ConnectError): set PUBLIC_URL to the "
        "address people's phones reach the bot at, and open it there"
    )


@pytest.fixture
def bot_database(setup_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """The URL of the bot's database (SQLite, migrated, empty), which DATABASE_URL names, with
    a setup file whose people are all in the workspace."""
    setup_file.write_text(PLAN.replace("U0GHOST", "U0ERIN"))
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    monkeypatch.setenv("DATABASE_URL", url)
    return url


def test_what_the_running_bot_could_not_deliver_is_listed_from_its_database(
    bot_database: str, clean: SlackStandIn, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    engine = make_engine(bot_database)
    at = datetime(2026, 12, 5, 21, 4, tzinfo=UTC)
    with session_scope(engine) as session:
        record_problem(
            session=session,
            target="C0SALES",
            problem="not_member",
            error="not_in_channel",
            team="sales",
            now=at,
        )
        session.add(
            Outbox(
                kind="alert-sync",
                subject="alert:7",
                status="failed",
                last_error="chat.postMessage: invalid_blocks",
                created_at=at,
                next_attempt_at=at,
                done_at=at + timedelta(minutes=1),
            )
        )
    engine.dispose()
    before = (tmp_path / "bot.db").read_bytes()

    code, lines, _ = doctor(capsys)

    assert code == 1
    assert lines[:2] == [
        "C0SALES (team sales): Slack has refused deliveries there since 2026-12-05 21:04 UTC "
        "(not_in_channel): type `/invite @watchkeeper` in that channel",
        "delivery 1 (alert-sync, alert:7): failed for good at 2026-12-05 21:05 UTC: "
        "chat.postMessage: invalid_blocks: mend what the error names; the bot's log says more "
        "at that time",
    ]
    assert lines[-1].startswith("2 problems in Watchkeeper Sandbox")
    # Read, never written.
    assert (tmp_path / "bot.db").read_bytes() == before


def test_a_workspace_in_order_with_a_database_that_recorded_nothing_passes(
    bot_database: str, clean: SlackStandIn, capsys: pytest.CaptureFixture[str]
) -> None:
    code, lines, _ = doctor(capsys)
    assert code == 0, lines
