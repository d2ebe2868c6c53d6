"""What ``watchkeeper check`` says about a setup file: the example (oncall.example.yaml) with one
edit, the problems it names line by line, and where a snippet stands."""

from __future__ import annotations

import pytest

from bot.plan.reading import ConfigError, parse_plan
from tests.conftest import ROOT

EXAMPLE = (ROOT / "oncall.example.yaml").read_text(encoding="utf-8")


def problems(text: str) -> list[str]:
    """What `watchkeeper check` would print for ``text`` saved as oncall.yaml, line by line."""
    with pytest.raises(ConfigError) as caught:
        parse_plan(text, "oncall.yaml")
    return str(caught.value).splitlines()


def line_of(text: str, snippet: str) -> int:
    """The 1-based number of the first line of ``text`` holding ``snippet``."""
    for number, line in enumerate(text.splitlines(), start=1):
        if snippet in line:
            return number
    raise AssertionError(f"{snippet!r} is not in the text")


def edited(old: str, new: str) -> str:
    """The example setup file with one edit."""
    assert old in EXAMPLE, old
    return EXAMPLE.replace(old, new, 1)
