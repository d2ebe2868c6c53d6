"""One builder for the setup files the tests write (``oncall.yaml``), in the layout people use.

``support_team()`` is the team most tests page: weekends and weekdays in Paris, two leads as the
backup and a three-step escalation; keyword arguments replace a part (None leaves it out).
``setup_yaml`` writes teams and integrations into a file's text.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from bot.plan.reading import TEAM_KEYS

ESCALATION: list[dict[str, Any]] = [
    {"notify": "oncall", "wait": "10m"},
    {"notify": "backup", "wait": "20m"},
    {"notify": "leadership"},
]


def rotation(
    name: str, members: Sequence[str], start: str, every: str, only: str | None = None
) -> dict[str, Any]:
    """A rotation around the clock, or held only within the window ``only``."""
    layer: dict[str, Any] = {"name": name, "members": list(members), "start": start, "every": every}
    if only is not None:
        layer["only"] = [only]
    return layer


def weekend(
    members: Sequence[str] = ("U0ALICE", "U0BOB", "U0CAROL", "U0CEO"),
    start: str = "2026-11-06 18:00",
) -> dict[str, Any]:
    """Friday 18:00 to Monday 09:00, a week each."""
    return rotation("weekend", members, start, "1w", only="fri 18:00 - mon 09:00")


def weekdays(
    members: Sequence[str] = ("U0DAN", "U0ERIN"), start: str = "2026-11-09 09:00"
) -> dict[str, Any]:
    """Monday to Friday, 09:00 to 18:00, a day each."""
    return rotation("weekdays", members, start, "1d", only="mon-fri 09:00 - 18:00")


def leads(members: Sequence[str] = ("U0LEAD1", "U0LEAD2")) -> list[dict[str, Any]]:
    """The backup: the leads, a week each."""
    return [rotation("leads", members, "2026-11-02 09:00", "1w")]


def support_team(**parts: Any) -> dict[str, Any]:
    """The support team, with ``parts`` replacing (or, given None, leaving out) its keys."""
    team: dict[str, Any] = {
        "name": "Customer support",
        "channel": "C0SUPPORT",
        "timezone": "Europe/Paris",
        "rotations": [weekend(), weekdays()],
        "backup": leads(),
        "escalation": ESCALATION,
    }
    team.update(parts)
    # The keys in the order the reader lists them, which the README's setup file follows.
    return {key: team[key] for key in TEAM_KEYS if team.get(key) is not None} | {
        key: value for key, value in team.items() if key not in TEAM_KEYS and value is not None
    }


def integration(kind: str, team: str, token_env: str) -> dict[str, str]:
    return {"kind": kind, "team": team, "token_env": token_env}


def heartbeat(team: str, every: str, grace: str, token_env: str) -> dict[str, str]:
    return {"team": team, "every": every, "grace": grace, "token_env": token_env}


def setup_yaml(
    teams: Mapping[str, Mapping[str, Any]],
    *,
    integrations: Mapping[str, Mapping[str, Any]] | None = None,
    heartbeats: Mapping[str, Mapping[str, Any]] | None = None,
    leadership: Sequence[str] | None = ("U0CEO",),
    timezone: str = "Europe/Paris",
) -> str:
    """The text of a setup file with these teams, integrations and heartbeats."""
    document: dict[str, Any] = {"timezone": timezone}
    if leadership is not None:
        document["leadership"] = list(leadership)
    document["teams"] = teams
    if integrations:
        document["integrations"] = integrations
    if heartbeats:
        document["heartbeats"] = heartbeats
    return "\n".join(_lines(document, 0)) + "\n"


def channel_of(team: str) -> str:
    return f"C0{team.upper()}"


def holders_yaml(teams: Mapping[str, str], token_env: str) -> str:
    """A setup file of ``teams`` (team -> its only pager holder, so that no hand-off comes),
    each with its own channel and a generic integration whose token is in ``token_env``."""
    return setup_yaml(
        {
            team: {
                "name": team.title(),
                "channel": channel_of(team),
                "rotations": [rotation("always", [holder], "2025-01-06 09:00", "1w")],
                "escalation": [{"notify": "oncall", "wait": "1h"}, {"notify": "leadership"}],
            }
            for team, holder in teams.items()
        },
        integrations={team: integration("generic", team, token_env) for team in teams},
        timezone="UTC",
    )


def _lines(mapping: Mapping[str, Any], indent: int) -> list[str]:
    pad = " " * indent
    out: list[str] = []
    for key, value in mapping.items():
        if isinstance(value, Mapping):
            out.append(f"{pad}{key}:")
            out += _lines(value, indent + 2)
        elif isinstance(value, list) and value and isinstance(value[0], Mapping):
            out.append(f"{pad}{key}:")
            for item in value:
                first, *rest = _lines(item, indent + 4)
                out.append(f"{pad}  - {first.lstrip()}")
                out += rest
        else:
            out.append(f"{pad}{key}: {_scalar(value)}")
    return out


def _scalar(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_flow_item(item) for item in value) + "]"
    return str(value)


def _flow_item(item: Any) -> str:
    text = str(item)
    return json.dumps(text) if " " in text or ":" in text else text


# The support team as the CLI and the README know it.
SUPPORT = setup_yaml({"support": support_team()})

# Saturday 28 November 2026, 21:00 in Paris: the CEO's weekend (shift k=3 of the support team's
# weekend layer).
SATURDAY_NIGHT = datetime(2026, 11, 28, 20, 0, tzinfo=UTC)

# The support team and a second team in New York, for the Slack commands.
SUPPORT_AND_INFRA = setup_yaml(
    {
        "support": support_team(escalation=None),
        "infra": {
            "name": "Infrastructure",
            "channel": "C0INFRA",
            "timezone": "America/New_York",
            "rotations": [rotation("weekly", ["U0IVAN", "U0JUDY"], "2026-11-02 09:00", "1w")],
        },
    }
)
