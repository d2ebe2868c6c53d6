"""The README's commands, read as a newcomer would copy them: shell blocks, curl command lines."""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import ROOT

SANDBOX_URL = "http://127.0.0.1:3000"
# Options that change how curl behaves, never what it sends: a cron line's failure and patience.
QUIET_OPTIONS = ("-f", "-s", "-S", "-fsS", "--fail", "--silent", "--show-error")
PATIENCE_OPTIONS = ("-m", "--max-time", "--retry")


def readme_text(root: Path = ROOT) -> str:
    return (root / "README.md").read_text(encoding="utf-8")


def fenced(language: str, root: Path = ROOT) -> list[str]:
    """The README's fenced code blocks in ``language``, in order."""
    return re.findall(rf"```{language}\n(.*?)```", readme_text(root), flags=re.S)


def curl_commands(root: Path = ROOT) -> list[str]:
    """Every curl command of the README's shell blocks, continuation lines joined."""
    found = []
    for block in fenced("sh", root):
        joined = block.replace("\\\n", " ")
        found.extend(line.strip() for line in joined.splitlines() if line.startswith("curl "))
    return found


def shown_runs(root: Path = ROOT) -> list[tuple[str, str]]:
    """Each `$ command` of the README's shell blocks, with the output shown under it."""
    runs: list[tuple[str, str]] = []
    for block in fenced("sh", root):
        for line in block.splitlines(keepends=True):
            if line.startswith("$ "):
                runs.append((line[2:].strip(), ""))
            elif runs:
                command, shown = runs[-1]
                runs[-1] = (command, shown + line)
    return runs


def sandbox_curl(root: Path = ROOT) -> str:
    """The one command the README gives to send an alert into the sandbox."""
    commands = [c for c in curl_commands(root) if f"{SANDBOX_URL}/alerts/" in c]
    assert len(commands) == 1, "the README shows one curl that sends an alert to the sandbox"
    return commands[0]


@dataclass(frozen=True)
class CurlRequest:
    """What a `curl -X METHOD URL -H ... -d BODY` command line sends."""

    method: str
    url: str
    headers: dict[str, str]
    body: str | None


def curl_request(command: str, env: Mapping[str, str] | None = None) -> CurlRequest:
    """The request a curl command line sends, ``$VARIABLES`` taken from ``env``."""
    argv = shlex.split(command)
    assert argv[0] == "curl", command
    env = env or {}

    def expand(text: str) -> str:
        return re.sub(r"\$([A-Z_][A-Z0-9_]*)", lambda m: env[m.group(1)], text)

    method, url, headers, body = "GET", None, {}, None
    args = iter(argv[1:])
    for arg in args:
        if arg == "-X":
            method = next(args)
        elif arg == "-H":
            name, _, value = expand(next(args)).partition(":")
            headers[name.strip()] = value.strip()
        elif arg in ("-d", "--data"):
            body = expand(next(args))
            method = "POST" if method == "GET" else method
        elif arg in QUIET_OPTIONS:
            pass
        elif arg in PATIENCE_OPTIONS:
            next(args)
        else:
            assert not arg.startswith("-"), f"an option the README's curls do not use: {arg}"
            url = expand(arg)
    assert url is not None, command
    return CurlRequest(method, url, headers, body)
