"""The sandbox as a newcomer meets it: the page's API, /oncall, the README's curl, the CLI."""

from __future__ import annotations

import ast
import asyncio
import json
import re
import socket
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from bot.app.sandbox import Sandbox, alert_curl
from tests.conftest import ROOT
from tests.readme import SANDBOX_URL, curl_request, sandbox_curl
from tests.support.sandbox import TEAM_CHANNEL, send_readme_curl


class MiddayClock:
    """Today's noon in Paris, then running with the wall clock. The example team hands the
    pager over at 09:00 Paris (and at 18:00 on Fridays) and reminds the next holder an hour
    before: at midday neither a reminder, a hand-off nor a late one caught up at start lands in
    a conversation the tests read, whatever the hour they run at."""

    def __init__(self) -> None:
        paris = datetime.now(ZoneInfo("Europe/Paris"))
        self._noon = paris.replace(hour=12, minute=0, second=0, microsecond=0)
        self._started = time.monotonic()

    def now(self) -> datetime:
        return (self._noon + timedelta(seconds=time.monotonic() - self._started)).astimezone(UTC)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(port=0, clock=MiddayClock()) as running:
        yield running


@pytest.fixture
def page(sandbox: Sandbox) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sandbox.url, timeout=30) as client:
        yield client


def api(page: httpx.Client, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    """Call the page's API as app.js does; fail on an error answer."""
    if body is None:
        answer = page.get(f"/sandbox/api/{path}")
    else:
        answer = page.post(f"/sandbox/api/{path}", json=body)
    doc: dict[str, Any] = answer.json()
    assert answer.status_code == 200 and doc["ok"] is True, doc
    return doc


def conversation(state: dict[str, Any], conv_id: str) -> dict[str, Any]:
    found: dict[str, Any] = next(c for c in state["conversations"] if c["id"] == conv_id)
    return found


def dm_of(state: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = next(c for c in state["conversations"] if c["kind"] == "dm")
    return found


def texts(conv: dict[str, Any]) -> str:
    """Everything written in a conversation's messages, blocks included."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") in ("mrkdwn", "plain_text"):
                found.append(str(node.get("text", "")))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    for message in conv["messages"]:
        found.append(message["text"])
        walk(message["blocks"])
    return "\n".join(found)


def bot_shortcodes() -> set[str]:
    """The `:shortcode:` emoji in the strings of the bot's code (docstrings left out)."""
    found: set[str] = set()
    for path in [*(ROOT / "bot").rglob("*.py"), *(ROOT / "handlers").rglob("*.py")]:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = {
            id(node.body[0].value)
            for node in ast.walk(tree)
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
            and node.body
            and isinstance(node.body[0], ast.Expr)
            and isinstance(node.body[0].value, ast.Constant)
        }
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and id(node) not in docstrings
            ):
                found.update(re.findall(r":([a-z][a-z0-9_+-]*):", node.value))
    return found


# --------------------------------------------------------------------------- the page


def test_the_page_and_its_assets_are_served_next_to_the_bot(page: httpx.Client) -> None:
    index = page.get("/")
    assert index.status_code == 200
    assert "Watchkeeper sandbox" in index.text
    script = page.get("/sandbox/assets/app.js")
    assert script.status_code == 200 and "/sandbox/api/" in script.text
    # The same port serves the bot itself.
    assert page.get("/healthz").json() == {"status": "ok"}


def test_everything_the_page_links_to_is_served(page: httpx.Client) -> None:
    index = page.get("/").text
    linked = re.findall(r'(?:href|src)="(/[^"]*)"', index)
    assert "/sandbox/assets/app.js" in linked and any("emoji" in url for url in linked)
    for url in linked:
        assert page.get(url).status_code == 200, url


def test_every_emoji_the_bot_writes_has_a_picture_the_page_serves(page: httpx.Client) -> None:
    codes = page.get("/sandbox/assets/emoji/shortcodes.json").json()
    written = bot_shortcodes()
    assert {"rotating_light", "white_check_mark", "bell"} <= written
    assert sorted(written - set(codes)) == []
    for name in sorted(written):
        picture = page.get(f"/sandbox/assets/emoji/{codes[name]}.svg")
        assert picture.status_code == 200, name
        assert picture.headers["content-type"].startswith("image/svg+xml")
        assert picture.text.startswith("<svg ")


def test_the_wheel_carries_every_file_the_page_serves() -> None:
    # setuptools takes package-data globs as Path.glob does: "*" does not go into folders.
    with (ROOT / "pyproject.toml").open("rb") as file:
        globs = tomllib.load(file)["tool"]["setuptools"]["package-data"]["bot"]
    package = ROOT / "bot"
    carried = {path for pattern in globs for path in package.glob(pattern) if path.is_file()}
    served = {p for p in (package / "sandbox" / "assets").rglob("*") if p.is_file()}
    assert served and sorted(str(p.relative_to(package)) for p in served - carried) == []


def test_the_page_knows_the_names_mentions_stand_for(page: httpx.Client) -> None:
    assert api(page, "users")["commands"] == ["/oncall", "/swap", "/cover", "/escalate"]
    directory = api(page, "state?user=U0BOB")["directory"]
    assert directory["channels"] == {TEAM_CHANNEL: "support"}
    assert directory["usergroups"] == {"S0ONCALL": "support-oncall"}
    assert directory["users"]["U0CEO"] == "Erin Weiss (CEO)"
    assert directory["users"]["U0WKBOT"] == "Watchkeeper"


def test_the_example_workspace_lists_its_people_with_their_zones_and_languages(
    page: httpx.Client,
) -> None:
    doc = api(page, "users")
    people = {u["id"]: u for u in doc["users"]}
    assert set(people) == {"U0ALICE", "U0BOB", "U0CAROL", "U0DAN", "U0CEO"}
    assert people["U0BOB"] == {
        "id": "U0BOB",
        "name": "Bob Tanaka",
        "tz": "Asia/Tokyo",
        "locale": "en-US",
    }
    # One reads French and one Portuguese, to see the bot speak each their language.
    assert people["U0ALICE"]["locale"] == "fr-FR"
    assert people["U0DAN"]["locale"] == "pt-BR"
    assert "CEO" in people["U0CEO"]["name"]
    assert doc["default_user"] in people


def test_people_who_read_french_or_portuguese_get_oncall_so(page: httpx.Client) -> None:
    api(page, "command", {"user": "U0DAN", "channel": None, "command": "/oncall", "text": "semana"})
    assert "Customer support: os próximos sete dias" in texts(dm_of(api(page, "state?user=U0DAN")))
    api(page, "command", {"user": "U0ALICE", "channel": None, "command": "/oncall", "text": "aide"})
    assert "`/oncall moi` — vos prochaines astreintes" in texts(
        dm_of(api(page, "state?user=U0ALICE"))
    )


def test_everyone_sees_the_team_channel_and_their_own_dm(page: httpx.Client) -> None:
    state = api(page, "state?user=U0CEO")
    kinds = [(c["kind"], c["name"]) for c in state["conversations"]]
    assert kinds == [("channel", "support"), ("dm", "Watchkeeper")]
    assert state["modal"] is None and state["home"] is None


# --------------------------------------------------------------------------- commands


def test_oncall_answers_only_the_asker_and_names_the_pager_holder(
    sandbox: Sandbox, page: httpx.Client
) -> None:
    holder = sandbox.services.roster.status("support", sandbox.services.clock.now()).oncall.user
    assert holder is not None, "the example rotation has someone on call whatever the date"

    api(page, "command", {"user": "U0CAROL", "channel": None, "command": "/oncall", "text": ""})

    carol = api(page, "state?user=U0CAROL")
    answers = dm_of(carol)["messages"]
    assert [m["ephemeral"] for m in answers] == [True]
    assert f"<@{holder}> is on call now" in texts(dm_of(carol))
    # Bob typed nothing: he sees nothing.
    assert dm_of(api(page, "state?user=U0BOB"))["messages"] == []


def test_a_command_typed_in_the_channel_is_answered_there_to_the_asker_alone(
    page: httpx.Client,
) -> None:
    command = {"user": "U0BOB", "channel": TEAM_CHANNEL, "command": "/oncall", "text": "week"}
    api(page, "command", command)

    bob_channel = conversation(api(page, "state?user=U0BOB"), TEAM_CHANNEL)
    assert len(bob_channel["messages"]) == 1 and bob_channel["messages"][0]["ephemeral"]
    assert "your time (Tokyo" in texts(bob_channel)
    assert conversation(api(page, "state?user=U0ALICE"), TEAM_CHANNEL)["messages"] == []


def test_a_command_the_app_does_not_have_is_refused_with_the_ones_it_has(
    page: httpx.Client,
) -> None:
    answer = page.post(
        "/sandbox/api/command",
        json={"user": "U0BOB", "channel": None, "command": "/pager", "text": ""},
    )
    assert answer.status_code == 400
    assert answer.json() == {
        "ok": False,
        "error": "/pager is not a command of this app: try /oncall, /swap, /cover, /escalate",
    }


def test_someone_outside_the_workspace_cannot_act(page: httpx.Client) -> None:
    answer = page.get("/sandbox/api/state?user=U0MALLORY")
    assert answer.status_code == 400
    assert "no user U0MALLORY" in answer.json()["error"]


# --------------------------------------------------------------------------- clicks and modals


def test_a_cover_request_is_taken_by_a_click_on_its_button(
    sandbox: Sandbox, page: httpx.Client
) -> None:
    # /cover opens a form; Alice puts up her next shift, as it comes first.
    api(page, "command", {"user": "U0ALICE", "channel": None, "command": "/cover", "text": ""})
    modal = api(page, "state?user=U0ALICE")["modal"]
    shift = next(b for b in modal["blocks"] if b.get("block_id") == "shift")
    picked = shift["element"]["initial_option"]
    values = {"shift": {"cover-shift": {"type": "static_select", "selected_option": picked}}}
    api(page, "submit", {"user": "U0ALICE", "view_id": modal["id"], "values": values})
    # The post goes out through the outbox, as alert cards do (the page shows it on its next look).
    sandbox.standin.wait_for(lambda s: s.messages(TEAM_CHANNEL), timeout=20)
    channel = conversation(api(page, "state?user=U0BOB"), TEAM_CHANNEL)
    (post,) = channel["messages"]
    assert "needs someone to cover" in texts(channel)

    api(
        page,
        "action",
        {"user": "U0BOB", "channel": TEAM_CHANNEL, "ts": post["ts"], "action_id": "cover-take"},
    )

    sandbox.standin.wait_for(lambda s: s.messages(TEAM_CHANNEL)[0].edited, timeout=20)
    channel = conversation(api(page, "state?user=U0CAROL"), TEAM_CHANNEL)
    assert channel["messages"][0]["edited"] is True
    assert "<@U0BOB> covers <@U0ALICE>'s shift" in texts(channel)
    # Alice's Slack is French in the sandbox: her DM says it in French.
    assert "<@U0BOB> reprend votre astreinte" in texts(dm_of(api(page, "state?user=U0ALICE")))


def test_the_swap_form_opens_refuses_a_bad_answer_next_to_it_and_closes(
    page: httpx.Client,
) -> None:
    api(page, "command", {"user": "U0ALICE", "channel": None, "command": "/swap", "text": ""})
    modal = api(page, "state?user=U0ALICE")["modal"]
    assert modal is not None and modal["type"] == "modal"
    inputs = [b for b in modal["blocks"] if b["type"] == "input"]
    assert inputs, "the swap form asks for the shifts and the teammate"

    # Alice asks herself: the bot refuses it in the form, which stays open.
    teammate = next(b for b in inputs if b["element"]["type"] == "users_select")
    values = {
        teammate["block_id"]: {
            teammate["element"]["action_id"]: {"type": "users_select", "selected_user": "U0ALICE"}
        }
    }
    answer = api(page, "submit", {"user": "U0ALICE", "view_id": modal["id"], "values": values})
    assert answer["errors"], "the refusal names the input at fault"
    state = api(page, "state?user=U0ALICE")
    assert state["modal"]["id"] == modal["id"]
    assert state["modal_errors"] == answer["errors"]

    api(page, "close", {"user": "U0ALICE", "view_id": modal["id"]})
    assert api(page, "state?user=U0ALICE")["modal"] is None


def test_opening_the_home_tab_shows_what_the_bot_publishes_there(page: httpx.Client) -> None:
    api(page, "home", {"user": "U0DAN"})
    home = api(page, "state?user=U0DAN")["home"]
    assert home is not None and home["blocks"]
    assert api(page, "state?user=U0BOB")["home"] is None


# --------------------------------------------------------------------------- alerts


def test_the_readme_curl_is_the_one_the_sandbox_prints() -> None:
    assert curl_request(sandbox_curl()) == curl_request(alert_curl(SANDBOX_URL))


def test_the_readme_curl_puts_an_alert_card_in_the_team_channel(
    sandbox: Sandbox, page: httpx.Client
) -> None:
    answer = send_readme_curl(sandbox.url)
    assert answer.status_code == 202, answer.text

    sandbox.standin.wait_for(lambda s: s.messages(TEAM_CHANNEL), timeout=20)
    channel = conversation(api(page, "state?user=U0ALICE"), TEAM_CHANNEL)
    assert "Checkout fails for Acme" in texts(channel)
    buttons = [
        element["action_id"]
        for message in channel["messages"]
        for block in message["blocks"]
        if block["type"] == "actions"
        for element in block["elements"]
    ]
    assert "alert-escalate-ceo" in buttons


def test_a_critical_alert_reaches_the_ceo_at_once_as_the_readme_says(
    sandbox: Sandbox, page: httpx.Client
) -> None:
    sent = curl_request(sandbox_curl())
    body = json.loads(sent.body or "{}") | {"severity": "critical", "title": "Site down"}
    url = sent.url.replace(SANDBOX_URL, sandbox.url)
    assert httpx.post(url, json=body, timeout=30).status_code == 202

    sandbox.standin.wait_for(lambda s: s.dms("U0CEO"), timeout=20)
    assert "Site down" in texts(dm_of(api(page, "state?user=U0CEO")))


def test_an_alert_with_the_wrong_token_is_refused(sandbox: Sandbox) -> None:
    answer = httpx.post(
        f"{sandbox.url}/alerts/helpdesk?token=guess", json={"title": "x"}, timeout=30
    )
    assert answer.status_code == 401


# --------------------------------------------------------------------------- running it


def test_a_sandbox_that_cannot_have_its_port_says_so_and_exits_1(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [str(Path(sys.executable).with_name("watchkeeper")), "sandbox", "--port", str(port)],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr
    assert "Address already in use" in done.stderr


def test_a_stopped_sandbox_serves_nothing_more() -> None:
    sandbox = Sandbox(port=0).start()
    url = sandbox.url
    sandbox.stop()
    assert not sandbox.running
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/healthz", timeout=5)


# --------------------------------------------------------------------------- phones


def test_a_critical_alert_wakes_the_pager_holders_phone_and_its_link_acknowledges(
    sandbox: Sandbox, page: httpx.Client
) -> None:
    holder = sandbox.services.roster.status("support", sandbox.services.clock.now()).oncall.user
    assert holder is not None
    assert api(page, f"state?user={holder}")["phone"] == []
    sent = curl_request(sandbox_curl())
    body = json.loads(sent.body or "{}") | {"severity": "critical", "title": "Site down"}
    url = sent.url.replace(SANDBOX_URL, sandbox.url)
    assert httpx.post(url, json=body, timeout=30).status_code == 202

    def woken() -> list[dict[str, str]]:
        pushes: list[dict[str, str]] = api(page, f"state?user={holder}")["phone"]
        return pushes

    deadline = time.monotonic() + 30
    while not woken() and time.monotonic() < deadline:
        time.sleep(0.2)
    [push] = woken()
    assert push["title"] == "[CRITICAL] Site down"
    link = re.search(r"(?:Acknowledge|Reconhecer|Acquitter)\S*: (\S+)", push["message"])
    assert link is not None, push["message"]
    assert link[1].startswith(f"{sandbox.url}/ack/")
    # Nobody else's phone rang.
    others = [p["id"] for p in api(page, "users")["users"] if p["id"] != holder]
    assert all(api(page, f"state?user={other}")["phone"] == [] for other in others)

    # The link, opened from the phone panel, shows the alert; its button acknowledges it.
    shown = page.get(link[1])
    assert shown.status_code == 200 and "Site down" in shown.text
    assert page.post(link[1]).status_code == 200
    sandbox.standin.wait_for(
        lambda s: (
            any("acknowledged" in m.text.lower() for m in s.messages(TEAM_CHANNEL))
            or any("acknowledged" in json.dumps(m.blocks).lower() for m in s.messages(TEAM_CHANNEL))
        ),
        timeout=20,
    )


def test_a_push_to_a_phone_nobody_has_is_refused(page: httpx.Client) -> None:
    assert page.post("/sandbox/phone/U0NOBODY", json={"title": "x"}).status_code == 404
    assert page.post("/sandbox/phone/U0BOB", content=b"not json").status_code == 400
    assert api(page, "state?user=U0BOB")["phone"] == []
