"""The setup file: the example (oncall.example.yaml, DESIGN's shape) read into a plan, and every
mistake named by file, line and field with what was expected."""

from __future__ import annotations

from datetime import time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.plan.model import Digest, Every, NotifyTarget, Window
from bot.plan.reading import ConfigError, load_plan, parse_plan
from tests.conftest import ROOT
from tests.support.setup_check import EXAMPLE, edited, line_of, problems

PARIS = ZoneInfo("Europe/Paris")
DAY = 1440


def test_the_design_example_reads_into_the_plan_it_describes() -> None:
    plan = load_plan(ROOT / "oncall.example.yaml")
    assert plan.timezone == PARIS
    assert plan.leadership == ("U0CEO",)
    assert plan.digest == Digest(weekday=0, at=time(9, 0), timezone=None)
    support = plan.teams["support"]
    assert (support.id, support.name, support.channel) == (
        "support",
        "Customer support",
        "C0SUPPORT",
    )
    assert support.timezone == PARIS
    assert support.reminder == timedelta(hours=1)
    assert support.usergroup == "S0ONCALL"
    weekend, weekdays = support.rotations
    assert weekend.name == "weekend"
    assert weekend.members == ("U0ALICE", "U0BOB", "U0CAROL", "U0CEO")
    assert weekend.start.isoformat() == "2025-01-17T18:00:00"  # a wall time, in team time
    assert weekend.every == Every(1, "w")
    assert weekend.timezone == PARIS
    # Friday 18:00 to Monday 09:00: one window wrapping the end of the week.
    assert weekend.only == (Window(4 * DAY + 18 * 60, 9 * 60),)
    assert weekdays.every == Every(1, "d")
    # No window: the weekday layer holds whatever the weekend leaves.
    assert (weekdays.members, weekdays.only) == (("U0ALICE", "U0BOB", "U0CAROL"), ())
    (backup,) = support.backup
    assert (backup.name, backup.members, backup.only) == ("backup", ("U0DAN",), ())
    assert [(s.notify, s.wait) for s in support.escalation] == [
        (NotifyTarget.oncall, timedelta(minutes=10)),
        (NotifyTarget.backup, timedelta(minutes=20)),
        (NotifyTarget.leadership, None),
    ]
    assert support.leadership_now == frozenset({"critical"})
    integration = plan.integrations["prometheus"]
    assert (integration.kind, integration.team, integration.token_env) == (
        "alertmanager",
        "support",
        "PROMETHEUS_ALERT_TOKEN",
    )


@pytest.mark.parametrize(
    ("window", "expected"),
    [
        ("fri 18:00 - mon 09:00", [(4 * DAY + 18 * 60, 9 * 60)]),
        ("sat 10:00 - 14:00", [(5 * DAY + 10 * 60, 5 * DAY + 14 * 60)]),
        ("sun 22:00 - mon 00:00", [(6 * DAY + 22 * 60, 7 * DAY)]),
        ("Friday 18:00 - Monday 09:00", [(4 * DAY + 18 * 60, 9 * 60)]),
        # An end at or before the start is on the next day's clock; Sunday's wraps the week.
        (
            "sat-sun 22:00 - 06:00",
            [(5 * DAY + 22 * 60, 6 * DAY + 6 * 60), (6 * DAY + 22 * 60, 360)],
        ),
        ("09:00 - 17:00", [(d * DAY + 540, d * DAY + 1020) for d in range(7)]),
        ("fri-mon 00:00 - 24:00", [(d * DAY, (d + 1) * DAY) for d in (4, 5, 6)] + [(0, DAY)]),
    ],
)
def test_windows_in_the_forms_people_write_them(
    window: str, expected: list[tuple[int, int]]
) -> None:
    plan = parse_plan(edited('"fri 18:00 - mon 09:00"', f'"{window}"'), "oncall.yaml")
    only = plan.teams["support"].rotations[0].only
    assert [(w.start, w.end) for w in only] == expected


def test_optional_parts_take_their_defaults() -> None:
    minimal = """\
teams:
  ops:
    channel: C0OPS
    rotations:
      - name: daily
        members: [U0A, U0B]
        start: 2026-11-02 09:00
        every: 24h
"""
    plan = parse_plan(minimal, "oncall.yaml")
    ops = plan.teams["ops"]
    assert plan.timezone == ZoneInfo("UTC") and ops.timezone == ZoneInfo("UTC")
    assert ops.name == "ops"  # the id stands in for the name
    assert ops.backup == () and ops.reminder is None and ops.usergroup is None
    assert [(s.notify, s.wait) for s in ops.escalation] == [(NotifyTarget.oncall, None)]
    assert plan.leadership == () and plan.integrations == {}
    assert plan.leadership_title == "CEO"
    assert ops.rotations[0].every == Every(24, "h")


def test_the_leadership_title_names_the_role_as_slack_shows_it() -> None:
    text = edited("leadership: [U0CEO]", "leadership: [U0CEO]\nleadership_title: Head  of Ops")
    assert parse_plan(text, "oncall.yaml").leadership_title == "Head of Ops"


def test_the_digest_day_time_and_zone_are_configurable() -> None:
    text = edited(
        "integrations:",
        "digest:                         # when leadership gets the weekly digest\n"
        "  day: fri\n"
        "  at: 17:30\n"
        "  timezone: America/New_York\n"
        "integrations:",
    )
    plan = parse_plan(text, "oncall.yaml")
    assert plan.digest == Digest(weekday=4, at=time(17, 30), timezone=ZoneInfo("America/New_York"))
    only_time = parse_plan(edited("integrations:", 'digest:\n  at: "08:00"\nintegrations:'), "x")
    assert only_time.digest == Digest(weekday=0, at=time(8, 0), timezone=None)
    # The example's commented-out block, once uncommented, says the defaults out loud.
    uncommented = EXAMPLE.replace("# digest:", "digest:  ").replace("\n#   ", "\n    ")
    assert parse_plan(uncommented, "oncall.yaml").digest == Digest(0, time(9, 0), PARIS)


ERRORS = [
    # (what the reviewer wrote instead, where, what the check says)
    (("every: 1d", "every: 1x"), "every: 1x",
     "teams.support.rotations[1].every: expected a duration like 12h, 1d or 1w, got '1x'"),
    (("every: 1d", "every: 0d"), "every: 0d",
     "teams.support.rotations[1].every: expected a duration of at least 1d, got '0d'"),
    (("every: 1d", "every: 30m"), "every: 30m",
     "teams.support.rotations[1].every: expected a duration like 12h, 1d or 1w, got '30m'"),
    (("every: 1d", "every: 400d"), "every: 400d",
     "teams.support.rotations[1].every: expected a duration of at most 366 days, got '400d'"),
    (("channel: C0SUPPORT", "channel: '#support'"), "channel: '#support'",
     "teams.support.channel: expected a Slack channel id like C0123ABCD (C… or G…), got "
     "'#support' (the id at the bottom of the channel's details, not its name)"),
    (("members: [U0ALICE, U0BOB, U0CAROL]", "members: [dan, U0BOB]"), "members: [dan",
     "teams.support.rotations[1].members[0]: expected a Slack user id like U0123ABCD, got 'dan' "
     "(a member id from the user's Slack profile, not a name)"),
    (("members: [U0ALICE, U0BOB, U0CAROL]", "members: []"), "members: []",
     "teams.support.rotations[1].members: expected a list of Slack user ids, like "
     "[U0ALICE, U0BOB], got an empty list"),
    (("start: 2025-01-13 09:00", "start: 2026-02-30 09:00"), "start: 2026-02-30",
     "teams.support.rotations[1].start: expected a real date and time, got '2026-02-30 09:00' "
     "(day is out of range for month)"),
    (("start: 2025-01-13 09:00", "start: next monday"), "start: next monday",
     "teams.support.rotations[1].start: expected a start like 2026-11-06 18:00 "
     "(YYYY-MM-DD HH:MM, team time), got 'next monday'"),
    (('"fri 18:00 - mon 09:00"', '"weekends"'), '"weekends"',
     "teams.support.rotations[0].only[0]: expected a window like \"fri 18:00 - mon 09:00\", "
     "\"mon-fri 09:00 - 18:00\", \"sat 10:00 - 14:00\" or \"09:00 - 17:00\", got 'weekends'"),
    (('"fri 18:00 - mon 09:00"', '"fri 25:00 - mon 09:00"'), "25:00",
     "teams.support.rotations[0].only[0]: '25:00' is not a time of day (00:00 to 24:00) "
     "(in 'fri 25:00 - mon 09:00')"),
    (('"fri 18:00 - mon 09:00"', '"fry 18:00 - mon 09:00"'), "fry 18:00",
     "teams.support.rotations[0].only[0]: unknown day 'fry', expected one of mon, tue, wed, thu, "
     "fri, sat, sun (in 'fry 18:00 - mon 09:00')"),
    (('"fri 18:00 - mon 09:00"', '"fri 18:00 - fri 18:00"'), "fri 18:00 - fri 18:00",
     "teams.support.rotations[0].only[0]: empty window: it ends where it starts "
     "(in 'fri 18:00 - fri 18:00')"),
    (("- name: weekdays", "- name: weekend  # again"), "# again",
     "teams.support.rotations[1].name: layer name 'weekend' is already used on line 12"),
    (("    rotations:", "    rotation:"), "    rotation:",
     "teams.support.rotation: unknown key 'rotation'; did you mean 'rotations'?"),
    (("    name: Customer support\n", "    name: Customer support\n    name: Support\n"),
     "name: Support",
     "teams.support.name: duplicate key 'name', first given on line 6"),
    (("timezone: Europe/Paris\n", "timezone: Europe/Pariss\n"), "Europe/Pariss",
     "teams.support.timezone: expected an IANA time zone like Europe/Paris, got 'Europe/Pariss'; "
     "did you mean 'Europe/Paris'?"),
    (("reminder: 1h", "reminder: 1w"), "reminder: 1w",
     "teams.support.reminder: expected a duration like 10m, 1h or 1d, got '1w'"),
    (("usergroup: S0ONCALL", "usergroup: oncall-support"), "usergroup: oncall",
     "teams.support.usergroup: expected a Slack user group id like S0123ABCD, got "
     "'oncall-support'"),
    (("- notify: backup", "- notify: backups"), "notify: backups",
     "teams.support.escalation[1].notify: expected oncall, backup, leadership or a list of user "
     "ids like [U0ALICE], got 'backups'; did you mean 'backup'?"),
    (("leadership_now: [critical]", "leadership_now: [urgent]"), "leadership_now",
     "teams.support.leadership_now[0]: expected a severity among critical, error, warning or "
     "info, got 'urgent'"),
    (("kind: alertmanager", "kind: prometheus"), "kind: prometheus",
     "integrations.prometheus.kind: expected one of alertmanager, grafana, pagerduty, opsgenie, "
     "generic or email, got 'prometheus'"),
    (("    team: support\n", "    team: suport\n"), "team: suport",
     "integrations.prometheus.team: expected one of the teams defined in this file (support), "
     "got 'suport'; did you mean 'support'?"),
    (("integrations:", "digest:\n  day: mondy\nintegrations:"), "day: mondy",
     "digest.day: expected a day of the week among mon, tue, wed, thu, fri, sat or sun, got "
     "'mondy'; did you mean 'monday'?"),
    (("integrations:", "digest:\n  at: '25:00'\nintegrations:"), "at: '25:00'",
     "digest.at: expected a time of day like \"09:00\", got '25:00'"),
    (("integrations:", "digest: weekly\nintegrations:"), "digest: weekly",
     "digest: expected a mapping with day, at and timezone, got 'weekly'"),
    (("leadership: [U0CEO]", "leadership: [U0CEO]\nleadership_title: Chief Executive Officer"),
     "leadership_title",
     "leadership_title: expected the role's name as buttons say it, like CEO (at most 18 "
     "characters), got 'Chief Executive Officer'"),
    (("leadership: [U0CEO]", "leadership: [U0CEO]\nleadership_title: [CEO, CTO]"),
     "leadership_title",
     "leadership_title: expected the role's name as buttons say it, like CEO (at most 18 "
     "characters), got a list"),
    (("leadership: [U0CEO]", "leadership: [U0CEO]\nleadership_title: '*the* <boss>'"),
     "leadership_title",
     "leadership_title: * < > would be read as Slack formatting: leave them out of "
     "'*the* <boss>'"),
]  # fmt: skip


@pytest.mark.parametrize(("edit", "where", "says"), ERRORS)
def test_each_mistake_is_named_by_file_line_and_field(
    edit: tuple[str, str], where: str, says: str
) -> None:
    text = edited(*edit)
    assert problems(text) == [f"oncall.yaml:{line_of(text, where)}: {says}"]


def test_a_team_id_too_long_for_slacks_menus_is_refused() -> None:
    long_id = "customer-support-for-the-enterprise-accounts-in-europe-and-the-americas"
    text = EXAMPLE.replace("support:", f"{long_id}:", 1).replace(
        "    team: support\n", f"    team: {long_id}\n"
    )
    assert problems(text) == [
        f"oncall.yaml:{line_of(text, long_id)}: teams.{long_id}: expected a team id of at most "
        f"64 characters (it travels in Slack's menus and buttons, which keep 150), got "
        f"{len(long_id)}: 'customer-support-for'…"
    ]
    fits = long_id[:64]
    plan = parse_plan(
        EXAMPLE.replace("support:", f"{fits}:", 1).replace(
            "    team: support\n", f"    team: {fits}\n"
        ),
        "oncall.yaml",
    )
    assert list(plan.teams) == [fits]


def test_a_missing_required_field_says_what_it_should_hold() -> None:
    text = edited("    channel: C0SUPPORT          # alert cards and handover posts go here\n", "")
    assert problems(text) == [
        "oncall.yaml:5: teams.support.channel: missing: the Slack channel id (C… or G…) where "
        "alert cards and handover posts go"
    ]
    text = edited("        wait: 20m\n", "")
    assert problems(text) == [
        f"oncall.yaml:{line_of(text, 'notify: backup')}: teams.support.escalation[1].wait: "
        "missing: how long to wait for an acknowledgement before the next step, like 10m"
    ]


def test_a_secret_written_where_its_variable_name_belongs_is_not_repeated() -> None:
    text = edited("token_env: PROMETHEUS_ALERT_TOKEN", "token_env: s3cr3t-t0ken")
    (problem,) = problems(text)
    assert problem.startswith(
        f"oncall.yaml:{line_of(text, 'token_env')}: integrations.prometheus.token_env: "
        "expected the NAME of an environment variable"
    )
    assert "s3cr3t-t0ken" not in problem


def test_every_problem_is_reported_at_once_in_file_order() -> None:
    text = (
        EXAMPLE.replace("channel: C0SUPPORT", "channel: support")
        .replace("every: 1d", "every: daily")
        .replace("kind: alertmanager", "kind: prom")
    )
    found = problems(text)
    assert [p.split(": ")[1] for p in found] == [
        "teams.support.channel",
        "teams.support.rotations[1].every",
        "integrations.prometheus.kind",
    ]
    assert [int(p.split(":")[1]) for p in found] == [
        line_of(text, "channel: support"),
        line_of(text, "every: daily"),
        line_of(text, "kind: prom"),
    ]


def test_an_empty_leadership_cannot_be_notified() -> None:
    text = edited("leadership: [U0CEO]", "leadership: []")
    assert problems(text) == [
        f"oncall.yaml:{line_of(text, '- notify: leadership')}: "
        "teams.support.escalation[2].notify: the top-level 'leadership' list is empty: add "
        "someone to it",
        f"oncall.yaml:{line_of(text, 'leadership_now')}: teams.support.leadership_now: the "
        "top-level 'leadership' list is empty: nobody would be told",
    ]


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "oncall.yaml:1: the file is empty; expected a mapping with at least 'teams'"),
        ("- a\n- b\n", "oncall.yaml:1: expected a mapping with timezone, leadership, "
         "leadership_title, teams, integrations, digest, runbooks and heartbeats, got a list"),
        ("teams: {}\n", "oncall.yaml:1: teams: expected a mapping of team ids to teams, with at "
         "least one team, got an empty mapping"),
        ("timezone: UTC\nteams:\n\tops: 1\n", "oncall.yaml:3: YAML syntax error: a tab character "
         "cannot indent YAML; indent with spaces (column 1)"),
        ("timezone: UTC\nleadership: [U0CEO\n", "oncall.yaml:3: YAML syntax error: expected ',' "
         "or ']', but got '<stream end>' (column 1), while parsing a flow sequence started on "
         "line 2"),
    ],
)  # fmt: skip
def test_a_file_that_is_not_a_plan_at_all(text: str, says: str) -> None:
    assert problems(text) == [says]


def test_an_unreadable_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"absent\.yaml: file not found"):
        load_plan(tmp_path / "absent.yaml")
    binary = tmp_path / "oncall.yaml"
    binary.write_bytes(b"timezone: UTC\nteams: \xff\n")
    with pytest.raises(ConfigError) as caught:
        load_plan(binary)
    assert str(caught.value) == f"{binary}:2: expected UTF-8 text, got the byte 0xff"
