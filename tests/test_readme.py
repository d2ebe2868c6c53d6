"""The README works as written: its setup file, its intake examples, and its two commands run in a
fresh clone with a fresh virtual environment."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
import yaml

from bot.plan.reading import parse_plan
from tests.conftest import ROOT
from tests.harness import slack_harness
from tests.readme import (
    SANDBOX_URL,
    curl_commands,
    curl_request,
    fenced,
    readme_text,
    shown_runs,
)

EXAMPLE = (ROOT / "oncall.example.yaml").read_text(encoding="utf-8")
# pip installs everything from the index the first time; the rest takes seconds.
INSTALL_AND_START_S = 900
CARD_S = 30
STOP_S = 30
COLLECT_S = 300


def env_example_names() -> list[str]:
    text = (ROOT / ".env.example").read_text(encoding="utf-8")
    return re.findall(r"^([A-Z][A-Z0-9_]*)=", text, flags=re.M)


def intake_integrations() -> str:
    """The README's `integrations:` block for the four kinds of sender."""
    (block,) = [b for b in fenced("yaml") if b.startswith("integrations:")]
    return block


# --------------------------------------------------------------------------- consistency


def test_the_setup_file_shown_is_the_example_file() -> None:
    assert EXAMPLE in readme_text()
    parse_plan(EXAMPLE, "oncall.example.yaml")


def test_the_who_example_prints_what_the_readme_shows(tmp_path: Path) -> None:
    # As a reader runs it: the example copied to oncall.yaml, in a folder of its own.
    [(command, shown)] = [run for run in shown_runs() if run[0].startswith("watchkeeper who ")]
    assert shown, "the README shows what `watchkeeper who` prints"
    shutil.copy(ROOT / "oncall.example.yaml", tmp_path / "oncall.yaml")
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLACK_", "WATCHKEEPER_", "DATABASE_URL"))
    }
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    done = subprocess.run(
        ["sh", "-c", command], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == shown


def test_every_variable_of_env_example_is_explained_in_the_readme() -> None:
    readme = readme_text()
    missing = [name for name in env_example_names() if f"`{name}`" not in readme]
    assert missing == []


def test_the_intake_integrations_use_the_secrets_named_in_env_example() -> None:
    doc = yaml.safe_load(intake_integrations())
    kinds = {spec["kind"] for spec in doc["integrations"].values()}
    assert kinds == {"alertmanager", "grafana", "pagerduty", "generic"}
    secrets = {spec["token_env"] for spec in doc["integrations"].values()}
    assert secrets <= set(env_example_names())


async def test_the_intake_curls_of_the_readme_are_accepted(tmp_path: Path) -> None:
    # The example team, with the README's integrations in place of the example's one.
    plan = EXAMPLE[: EXAMPLE.index("integrations:")] + intake_integrations()
    doc = yaml.safe_load(intake_integrations())
    secrets = {spec["token_env"]: f"secret-{n}" for n, spec in doc["integrations"].items()}
    # The example people have wake-up methods: the bot needs the secret of their links.
    secrets["WATCHKEEPER_SECRET"] = "readme-secret"
    commands = [c for c in curl_commands() if "watchkeeper.example.com" in c]
    assert len(commands) >= 3, "the README shows a curl for Alertmanager, PagerDuty, a help desk"
    now = datetime(2026, 11, 28, 20, 0, tzinfo=UTC)
    async with slack_harness(plan, tmp_path=tmp_path, now=now, env=secrets) as h:
        for command in commands:
            sent = curl_request(command, secrets)
            target = urlsplit(sent.url)
            answer = await h.client.request(
                sent.method, target.path, headers=sent.headers, content=sent.body
            )
            assert answer.status_code == 202, (command, answer.text)


# --------------------------------------------------------------------------- a fresh clone


def _skip_reason() -> str | None:
    for tool in ("git", "make", "curl"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    inside = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--is-inside-work-tree"],
        capture_output=True,
        text=True,
    )
    if inside.returncode != 0:
        return "the project is not a git checkout, so there is nothing to clone"
    index = os.environ.get("PIP_INDEX_URL") or "https://pypi.org/simple/"
    host = urlsplit(index).hostname or "pypi.org"
    try:
        socket.create_connection((host, 443), timeout=5).close()
    except OSError as error:
        return f"the package index {host} is not reachable ({error.__class__.__name__})"
    return None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.fixture
def fresh_clone(tmp_path: Path) -> Path:
    reason = _skip_reason()
    if reason:
        pytest.skip(f"the fresh-clone test needs git, make, curl and the package index: {reason}")
    clone = tmp_path / "watchkeeper"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
    return clone


def _newcomer_env() -> dict[str, str]:
    """The environment of someone who just cloned: no Slack credentials, no virtual environment
    or import path of this checkout."""
    return {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLACK_", "VIRTUAL_ENV", "PYTHONPATH", "PYTEST_ADDOPTS"))
    }


@pytest.fixture
def make_run(fresh_clone: Path, tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    port = _free_port()
    env = _newcomer_env()
    env.update(PORT=str(port), HOST="127.0.0.1")
    log = (tmp_path / "make-run.log").open("wb")
    process = subprocess.Popen(
        ["make", "run"],
        cwd=fresh_clone,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        yield process, port
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGINT)
            try:
                process.wait(STOP_S)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        log.close()


def _log_tail(tmp_path: Path) -> str:
    return (tmp_path / "make-run.log").read_text(errors="replace")[-3000:]


def _wait_until_healthy(process: subprocess.Popen[bytes], url: str, tmp_path: Path) -> None:
    deadline = time.monotonic() + INSTALL_AND_START_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"make run ended with {process.returncode}:\n{_log_tail(tmp_path)}")
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(1)
    log = _log_tail(tmp_path)
    pytest.fail(f"make run did not answer /healthz in {INSTALL_AND_START_S}s:\n{log}")


def _collect(python: Path | str, cwd: Path) -> tuple[list[str], list[str]]:
    """The test ids pytest collects in ``cwd`` with that interpreter, and its other lines that
    speak of an error (a module that fails to import, a missing file)."""
    done = subprocess.run(
        [str(python), "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"],
        cwd=cwd,
        env=_newcomer_env(),
        capture_output=True,
        text=True,
        timeout=COLLECT_S,
    )
    lines = (done.stdout + done.stderr).splitlines()
    assert done.returncode == 0, "\n".join(lines[-40:])
    ids = [line for line in lines if "::" in line]
    return ids, [line for line in lines if "::" not in line and "error" in line.lower()]


def test_a_fresh_clone_runs_the_sandbox_takes_the_readme_curl_and_collects_the_suite(
    fresh_clone: Path, make_run: tuple[subprocess.Popen[bytes], int], tmp_path: Path
) -> None:
    process, port = make_run
    url = f"http://127.0.0.1:{port}"
    _wait_until_healthy(process, url, tmp_path)

    # The README's command, run by the shell as written; only the port differs.
    (command,) = [c for c in curl_commands(fresh_clone) if f"{SANDBOX_URL}/alerts/" in c]
    sent = subprocess.run(
        ["sh", "-c", command.replace(SANDBOX_URL, url) + " --silent --show-error"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert sent.returncode == 0, sent.stderr
    assert '"status":"accepted"' in sent.stdout

    deadline = time.monotonic() + CARD_S
    seen = ""
    while "Checkout fails for Acme" not in seen:
        assert time.monotonic() < deadline, f"no alert card in #support: {seen}"
        state = httpx.get(f"{url}/sandbox/api/state?user=U0ALICE", timeout=10).json()
        channel = next(c for c in state["conversations"] if c["name"] == "support")
        seen = str(channel["messages"])
        time.sleep(0.5)

    # Ctrl-C: the sandbox stops cleanly (make itself reports the interrupt).
    os.killpg(process.pid, signal.SIGINT)
    assert process.wait(STOP_S) in (0, -signal.SIGINT), _log_tail(tmp_path)
    assert "Watchkeeper sandbox: open" in _log_tail(tmp_path)
    assert "sandbox stopped" in _log_tail(tmp_path)

    # `make test` in the same clone: its test suite is all there and imports with the clone's
    # own virtual environment (running it twice would take too long; collecting it does not).
    collected, errors = _collect(fresh_clone / ".venv" / "bin" / "python", fresh_clone)
    assert errors == []
    expected, _ = _collect(sys.executable, ROOT)
    missing, extra = sorted(set(expected) - set(collected)), sorted(set(collected) - set(expected))
    # A difference here may also be tests changed in this checkout and not yet committed.
    assert (missing, extra) == ([], [])
    assert len(collected) == len(expected) > 0
