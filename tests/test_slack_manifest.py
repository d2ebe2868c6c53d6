"""manifest.yml: the app it creates has every command, the events, and only the scopes used."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

from bot.enums import Command
from bot.sandbox.standin.app import BOT_SCOPES
from bot.slack.blocks.commands import SUMMARIES
from tests.conftest import fixtures_dir

ROOT = Path(__file__).resolve().parents[1]


def manifest() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "manifest.yml").read_text())
    return loaded


def test_every_command_is_declared_and_swap_gets_escaped_mentions() -> None:
    commands = {c["command"]: c for c in manifest()["features"]["slash_commands"]}
    assert set(commands) == {c.value for c in Command}
    assert commands["/swap"]["should_escape"] is True
    for command in commands.values():
        assert 0 < len(command["description"]) <= 100
        assert len(command.get("usage_hint", "")) <= 1000
    # Slack's command list says what the bot's own help says, word for word.
    assert {name: c["description"] for name, c in commands.items()} == {
        command.value: summary for command, summary in SUMMARIES.items()
    }


def test_only_the_scopes_the_bot_uses() -> None:
    scopes = manifest()["oauth_config"]["scopes"]
    assert set(scopes) == {"bot"}
    assert sorted(scopes["bot"]) == sorted(
        [
            "commands",
            "chat:write",
            "im:write",
            "users:read",
            "usergroups:write",
            "channels:read",
            "groups:read",
            "usergroups:read",
            "channels:history",
            "groups:history",
            "im:history",
        ]
    )


def test_the_slack_stand_in_grants_exactly_the_manifests_scopes() -> None:
    """A call the real app could not make is refused by the stand-in too (missing_scope)."""
    assert sorted(BOT_SCOPES) == sorted(manifest()["oauth_config"]["scopes"]["bot"])


def test_home_tab_events_interactivity_and_socket_mode() -> None:
    found = manifest()
    app_home = found["features"]["app_home"]
    assert app_home["home_tab_enabled"] is True
    # A read-only Messages tab has no message box: the DM must take what people type.
    assert app_home["messages_tab_enabled"] is True
    assert app_home["messages_tab_read_only_enabled"] is False
    assert found["settings"]["event_subscriptions"]["bot_events"] == [
        "app_home_opened",
        "message.im",
    ]
    assert found["settings"]["interactivity"]["is_enabled"] is True
    assert found["settings"]["socket_mode_enabled"] is True


def test_it_has_the_shape_of_real_manifests() -> None:
    """Every top-level section and setting a real manifest uses is spelled the same way."""
    ours = manifest()
    reals = sorted((fixtures_dir() / "slack").glob("manifest_*.json"))
    assert len(reals) == 2
    for path in reals:
        real = json.loads(path.read_text())
        assert set(real) <= set(ours)
        assert set(real["settings"]) <= set(ours["settings"])
        assert set(real["features"]) <= set(ours["features"])


def test_http_mode_is_one_uncommenting_away() -> None:
    """The request URL lines for HTTP mode are there, commented, each on /slack/events."""
    text = (ROOT / "manifest.yml").read_text()
    urls = re.findall(r"#\s*(?:request_)?url:\s*(\S+)", text)
    assert len(urls) == len(manifest()["features"]["slash_commands"]) + 2
    assert all(url.endswith("/slack/events") for url in urls)
    uncommented = re.sub(r"#\s*((?:request_)?url:)", r"\1", text)
    uncommented = uncommented.replace("socket_mode_enabled: true", "socket_mode_enabled: false")
    as_http = yaml.safe_load(uncommented)
    assert as_http["settings"]["interactivity"]["request_url"].endswith("/slack/events")
    assert all(c["url"].endswith("/slack/events") for c in as_http["features"]["slash_commands"])
