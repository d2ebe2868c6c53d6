"""The setup file (`oncall.yaml`) read into a Plan, with errors that name file, line and field.

This module is the file's schema: which keys, which values, what they mean. Reading YAML with
the line of every value, and collecting every problem in one pass into one ``ConfigError``, is
``bot.plan.lined_yaml``'s, so that a reviewer fixes a broken file in one go.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, time, timedelta
from functools import cache
from pathlib import Path
from typing import cast
from zoneinfo import ZoneInfo, available_timezones

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from bot.i18n import LANGUAGES
from bot.plan.lined_yaml import (
    STR_TAG,
    ConfigError,
    LinedReader,
    Problem,
    Value,
    compose,
    hint,
    is_null,
    join_field,
    line_of,
)
from bot.plan.model import (
    DEFAULT_LEADERSHIP_TITLE,
    Condition,
    Digest,
    DurationUnit,
    EscalationStep,
    Every,
    Heartbeat,
    Integration,
    IntegrationKind,
    Layer,
    NotifyTarget,
    Person,
    Plan,
    Runbook,
    Team,
    WakePolicy,
    Window,
)
from bot.text.urls import http_url

ID_PATTERN = re.compile(r"[a-z0-9][a-z0-9_-]*")
# A team id rides in select options (/escalate's team, /swap's shifts), whose values Slack caps
# at 150 characters; a shift's reference adds 46 to it.
ID_MAX = 64
USER_PATTERN = re.compile(r"[UW][A-Z0-9]+")
CHANNEL_PATTERN = re.compile(r"[CG][A-Z0-9]+")
USERGROUP_PATTERN = re.compile(r"S[A-Z0-9]+")
ENV_NAME_PATTERN = re.compile(r"[A-Z_][A-Z0-9_]*")
DURATION_PATTERN = re.compile(r"(\d+)([a-z]+)")
START_PATTERN = re.compile(r"(\d{4})-(\d{2})-(\d{2})[ T](\d{1,2}):(\d{2})")
WINDOW_PATTERN = re.compile(
    r"\s*(?:(?P<first>[A-Za-z]+)(?:\s*-\s*(?P<last>[A-Za-z]+))?\s+)?(?P<start>\d{1,2}:\d{2})"
    r"\s*-\s*(?:(?P<end_day>[A-Za-z]+)\s+)?(?P<end>\d{1,2}:\d{2})\s*"
)

SEVERITIES = ("critical", "error", "warning", "info")
KINDS: tuple[IntegrationKind, ...] = (
    "alertmanager",
    "grafana",
    "pagerduty",
    "opsgenie",
    "generic",
    "email",
)
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
FULL_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
DAY = 24 * 60
WEEK = 7 * DAY
# Longer than anyone means, short enough that no date arithmetic downstream overflows.
LONGEST = timedelta(days=366)
UNIT_MINUTES = {"m": 1, "h": 60, "d": DAY, "w": WEEK}
DEFAULT_ZONE = "UTC"
DEFAULT_WAIT = timedelta(minutes=15)

TOP_KEYS = (
    "timezone",
    "leadership",
    "leadership_title",
    "teams",
    "integrations",
    "digest",
    "runbooks",
    "heartbeats",
    "people",
)
TEAM_KEYS = (
    "name",
    "channel",
    "timezone",
    "reminder",
    "usergroup",
    "rotations",
    "backup",
    "escalation",
    "leadership_now",
    "wake",
    "language",
)
WAKE_KEYS = ("now", "after", "every", "times")
PERSON_KEYS = ("wake", "language")
WAKE_TIMES_MAX = 20
LAYER_KEYS = ("name", "members", "start", "every", "only")
STEP_KEYS = ("notify", "wait")
INTEGRATION_KEYS = ("kind", "team", "token_env")
DIGEST_KEYS = ("day", "at", "timezone")
RUNBOOK_KEYS = ("match", "url", "text")
HEARTBEAT_KEYS = ("team", "every", "grace", "token_env")
# A runbook's text is read at 3 a.m. on a phone: a few lines, the rest behind its link.
RUNBOOK_TEXT_MAX = 500
# How late a heartbeat may be when the setup file does not say.
DEFAULT_GRACE = timedelta(minutes=5)
WAKE_URL_PATTERN = re.compile(r"[a-z][a-z0-9+.-]*://\S+")
TIME_PATTERN = re.compile(r"(\d{1,2}):(\d{2})")
# The title goes on buttons ("Escalate to CEO": Slack keeps 30 characters of a confirm button)
# and into formatted text, where these characters would be read as markup.
TITLE_MAX = 30 - len("Escalate to ")
TITLE_MARKUP = "<>&*_~`|"

# What a missing required key should have held, for the error that says it is missing.
REQUIRED = {
    "teams": "a mapping of team ids to teams, with at least one team",
    "channel": "the Slack channel id (C… or G…) where alert cards and handover posts go",
    "rotations": "a list of rotation layers (name, members, start, every)",
    "name": "the layer's name, unique within the team",
    "members": "a list of Slack user ids taking turns",
    "start": "when the first member's first shift starts, like 2026-11-06 18:00 (team time)",
    "every": "the shift length, like 12h, 1d or 1w",
    "notify": "oncall, backup, leadership or a list of user ids",
    "kind": "the payload format: " + ", ".join(KINDS),
    "team": "the id of the team whose pager its alerts go to",
    "token_env": "the name of the environment variable holding its secret, like HELPDESK_TOKEN",
    "match": "the labels (or team, severity, customer) an alert must carry, like "
    "{alertname: RefundQueueStuck}",
}
# What a heartbeat's required keys hold, where the words differ from a rotation's or an
# integration's.
HEARTBEAT_REQUIRED = {
    "every": "how often a ping is expected at least, like 1h or 1d",
    "team": "the id of the team whose pager a missed ping goes to",
}


def load_plan(path: str | Path) -> Plan:
    """The plan in the setup file at ``path``; raises ConfigError naming every problem."""
    source = str(path)
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        message = "file not found; copy oncall.example.yaml to start one"
        raise ConfigError([Problem(source, None, "", message)]) from None
    except IsADirectoryError:
        raise ConfigError([Problem(source, None, "", "is a folder, not a setup file")]) from None
    except OSError as error:
        message = f"cannot be read: {error.strerror or error}"
        raise ConfigError([Problem(source, None, "", message)]) from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        message = f"expected UTF-8 text, got the byte {data[error.start]:#04x}"
        raise ConfigError([Problem(source, line, "", message)]) from None
    return parse_plan(text, source)


def parse_plan(text: str, source: str) -> Plan:
    """The plan in ``text``, read from ``source`` (named in errors); raises ConfigError."""
    root = compose(text, source)
    reader = _Reader(source)
    plan = reader.plan(root)
    if reader.problems or plan is None:
        raise ConfigError(reader.problems)
    return plan


@cache
def _zone_names() -> frozenset[str]:
    return frozenset(available_timezones())


def _zone(name: str) -> ZoneInfo | None:
    """The IANA zone called ``name``, or None when there is none."""
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError, OSError):  # not found, a malformed key, a folder of zones
        return None


def _one_of(choices: Sequence[str]) -> str:
    return ", ".join(choices[:-1]) + " or " + choices[-1]


class _Reader(LinedReader):
    """Walks the composed setup file, building the plan and collecting every problem on the way."""

    def __init__(self, source: str) -> None:
        super().__init__(source, REQUIRED)

    # Values ------------------------------------------------------------------------------

    def user(self, value: Value) -> str | None:
        """A Slack user id."""
        extra = ""
        text = value.node.value if isinstance(value.node, ScalarNode) else None
        if isinstance(text, str) and (text.startswith("@") or not text.isupper()):
            extra = " (a member id from the user's Slack profile, not a name)"
        return self.matching(value, USER_PATTERN, "a Slack user id like U0123ABCD", extra)

    def users(self, value: Value) -> tuple[str, ...] | None:
        """A non-empty list of Slack user ids."""
        items = self.sequence(value, "[U0ALICE, U0BOB]", what="Slack user ids")
        if items is None:
            return None
        users = [self.user(item) for item in items]
        return tuple(u for u in users if u is not None) if None not in users else None

    def zone(self, value: Value) -> ZoneInfo | None:
        """An IANA time zone."""
        expected = "an IANA time zone like Europe/Paris"
        name = self.text(value, expected)
        if name is None:
            return None
        zone = _zone(name)
        if zone is None:
            self.expected(value, expected, hint(name, _zone_names()))
        return zone

    def duration(self, value: Value, units: str) -> tuple[int, DurationUnit] | None:
        """A count and unit like 12h, the unit among ``units``."""
        examples = {"hdw": "12h, 1d or 1w", "mhd": "10m, 1h or 1d", "mhdw": "10m, 1h or 1d"}[units]
        expected = f"a duration like {examples}"
        text = self.text(value, expected)
        if text is None:
            return None
        match = DURATION_PATTERN.fullmatch(text)
        if not match or match[2] not in units:
            self.expected(value, expected)
            return None
        count, unit = int(match[1]), cast(DurationUnit, match[2])
        if count < 1:
            self.expected(value, f"a duration of at least 1{unit}")
            return None
        if count * UNIT_MINUTES[unit] > LONGEST // timedelta(minutes=1):
            self.expected(value, f"a duration of at most {LONGEST.days} days")
            return None
        return count, unit

    def timedelta(self, value: Value) -> timedelta | None:
        """A wait or reminder: minutes, hours or days."""
        parsed = self.duration(value, "mhd")
        return Every(*parsed).wall_delta(1) if parsed else None

    def start(self, value: Value) -> datetime | None:
        """A naive local date and time, YYYY-MM-DD HH:MM."""
        expected = "a start like 2026-11-06 18:00 (YYYY-MM-DD HH:MM, team time)"
        text = self.text(value, expected)
        if text is None:
            return None
        match = START_PATTERN.fullmatch(text.strip())
        if not match:
            self.expected(value, expected)
            return None
        year, month, day, hour, minute = (int(part) for part in match.groups())
        try:
            return datetime(year, month, day, hour, minute)
        except ValueError as error:
            self.expected(value, "a real date and time", f" ({error})")
            return None

    def windows(self, value: Value) -> tuple[Window, ...] | None:
        """The weekly windows one window string stands for."""
        expected = (
            'a window like "fri 18:00 - mon 09:00", "mon-fri 09:00 - 18:00", '
            '"sat 10:00 - 14:00" or "09:00 - 17:00"'
        )
        text = self.text(value, expected)
        if text is None:
            return None
        match = WINDOW_PATTERN.fullmatch(text)
        if not match:
            self.expected(value, expected)
            return None
        try:
            return _windows(match)
        except ValueError as error:
            self.report(value.line, value.field, f"{error} (in {text!r})")
            return None

    # The plan ----------------------------------------------------------------------------

    def plan(self, root: Node | None) -> Plan | None:
        """The whole plan, or None when the file's shape is too broken to say more."""
        if root is None:
            self.report(1, "", "the file is empty; expected a mapping with at least 'teams'")
            return None
        top = self.mapping(
            Value(root, "", line_of(root)),
            TOP_KEYS,
            ("teams",),
            "a mapping with timezone, leadership, leadership_title, teams, integrations, digest, "
            "runbooks and heartbeats",
        )
        if top is None:
            return None
        zone = self.zone(top["timezone"]) if "timezone" in top else ZoneInfo(DEFAULT_ZONE)
        leadership: tuple[str, ...] | None = ()
        if "leadership" in top and not is_null(top["leadership"].node):
            leadership = self.leadership(top["leadership"])
        title: str | None = DEFAULT_LEADERSHIP_TITLE
        if "leadership_title" in top:
            title = self.leadership_title(top["leadership_title"])
        teams = self.teams(top["teams"], zone, leadership) if "teams" in top else None
        integrations: dict[str, Integration] | None = {}
        if "integrations" in top and not is_null(top["integrations"].node):
            team_ids = self.team_ids(top["teams"]) if "teams" in top else set()
            integrations = self.integrations(top["integrations"], team_ids)
        digest: Digest | None = Digest()
        if "digest" in top and not is_null(top["digest"].node):
            digest = self.digest(top["digest"])
        runbooks: tuple[Runbook, ...] | None = ()
        if "runbooks" in top and not is_null(top["runbooks"].node):
            runbooks = self.runbooks(top["runbooks"])
        heartbeats: dict[str, Heartbeat] | None = {}
        if "heartbeats" in top and not is_null(top["heartbeats"].node):
            team_ids = self.team_ids(top["teams"]) if "teams" in top else set()
            heartbeats = self.heartbeats(top["heartbeats"], team_ids)
        people: dict[str, Person] | None = {}
        if "people" in top and not is_null(top["people"].node):
            people = self.people(top["people"])
        if (
            zone is None
            or leadership is None
            or title is None
            or teams is None
            or integrations is None
            or digest is None
            or runbooks is None
            or heartbeats is None
            or people is None
        ):
            return None
        return Plan(
            timezone=zone,
            teams=teams,
            leadership=leadership,
            leadership_title=title,
            integrations=integrations,
            source=self.source,
            digest=digest,
            runbooks=runbooks,
            heartbeats=heartbeats,
            people=people,
        )

    def digest(self, value: Value) -> Digest | None:
        """When leadership gets the weekly digest: a day and a wall time, in a zone."""
        fields = self.mapping(value, DIGEST_KEYS, (), "a mapping with day, at and timezone")
        if fields is None:
            return None
        default = Digest()
        weekday: int | None = default.weekday
        if "day" in fields:
            expected = f"a day of the week among {_one_of(DAYS)}"
            day = self.text(fields["day"], expected)
            weekday = None
            if day is not None:
                try:
                    weekday = _day(day)
                except ValueError:
                    self.expected(fields["day"], expected, hint(day, DAYS + FULL_DAYS))
        at: time | None = default.at
        if "at" in fields:
            at = self.time_of_day(fields["at"])
        zone = self.zone(fields["timezone"]) if "timezone" in fields else None
        if weekday is None or at is None or ("timezone" in fields and zone is None):
            return None
        return Digest(weekday=weekday, at=at, timezone=zone)

    def time_of_day(self, value: Value) -> time | None:
        """A wall time like 09:00."""
        expected = 'a time of day like "09:00"'
        text = self.text(value, expected)
        if text is None:
            return None
        match = TIME_PATTERN.fullmatch(text.strip())
        if not match or int(match[1]) > 23 or int(match[2]) > 59:
            self.expected(value, expected)
            return None
        return time(int(match[1]), int(match[2]))

    def leadership(self, value: Value) -> tuple[str, ...] | None:
        """Who "Escalate to CEO" pages; an empty list is allowed."""
        if isinstance(value.node, SequenceNode) and not value.node.value:
            return ()
        return self.users(value)

    def leadership_title(self, value: Value) -> str | None:
        """What Slack calls the people under ``leadership``: "Escalate to <title>"."""
        expected = f"the role's name as buttons say it, like CEO (at most {TITLE_MAX} characters)"
        text = self.text(value, expected)
        if text is None:
            return None
        title = " ".join(text.split())
        if not title or len(title) > TITLE_MAX or "\n" in text.strip():
            self.expected(value, expected)
            return None
        markup = sorted({c for c in title if c in TITLE_MARKUP})
        if markup:
            self.report(
                value.line,
                value.field,
                f"{' '.join(markup)} would be read as Slack formatting: leave "
                f"{'it' if len(markup) == 1 else 'them'} out of {title!r}",
            )
            return None
        return title

    def team_ids(self, value: Value) -> set[str]:
        """The ids of the teams the file defines, valid or not (for references to them)."""
        if not isinstance(value.node, MappingNode):
            return set()
        return {str(key.value) for key, _ in value.node.value if isinstance(key, ScalarNode)}

    def teams(
        self, value: Value, zone: ZoneInfo | None, leadership: tuple[str, ...] | None
    ) -> dict[str, Team] | None:
        """Every team, by id."""
        return self.keyed(
            value,
            "a mapping of team ids to teams, with at least one team",
            lambda team_id, item: self.team(team_id, item, zone, leadership),
            empty_ok=False,
        )

    def team(
        self,
        team_id: str,
        value: Value,
        plan_zone: ZoneInfo | None,
        leadership: tuple[str, ...] | None,
    ) -> Team | None:
        """One team: where it posts, its layers, and how its alerts escalate."""
        good_id = self.identifier(value, team_id, "team id", "support")
        fields = self.mapping(
            value, TEAM_KEYS, ("channel", "rotations"), "a team (channel, rotations, …)"
        )
        if fields is None:
            return None
        name = self.text(fields["name"], "the team's name") if "name" in fields else team_id
        channel = None
        if "channel" in fields:
            channel = self.matching(
                fields["channel"],
                CHANNEL_PATTERN,
                "a Slack channel id like C0123ABCD (C… or G…)",
                " (the id at the bottom of the channel's details, not its name)",
            )
        zone = self.zone(fields["timezone"]) if "timezone" in fields else plan_zone
        reminder = self.timedelta(fields["reminder"]) if "reminder" in fields else None
        language = self.language(fields["language"]) if "language" in fields else None
        usergroup = None
        if "usergroup" in fields:
            usergroup = self.matching(
                fields["usergroup"], USERGROUP_PATTERN, "a Slack user group id like S0123ABCD"
            )
        names: dict[str, int] = {}
        layer_zone = zone or ZoneInfo(DEFAULT_ZONE)  # a bad zone is reported once, above
        rotations = self.layers(fields.get("rotations"), layer_zone, names)
        backup = self.layers(fields.get("backup"), layer_zone, names) if "backup" in fields else ()
        has_backup = "backup" in fields
        escalation = self.escalation(fields.get("escalation"), has_backup, leadership)
        leadership_now = self.leadership_now(fields.get("leadership_now"), leadership)
        wake: WakePolicy | None = WakePolicy()
        if "wake" in fields and not is_null(fields["wake"].node):
            wake = self.wake_policy(fields["wake"])
        if (
            not good_id
            or name is None
            or channel is None
            or zone is None
            or rotations is None
            or backup is None
            or escalation is None
            or leadership_now is None
            or wake is None
            or ("reminder" in fields and reminder is None)
            or ("usergroup" in fields and usergroup is None)
            or ("language" in fields and language is None)
        ):
            return None
        return Team(
            id=team_id,
            name=name,
            channel=channel,
            timezone=zone,
            rotations=rotations,
            backup=backup,
            escalation=escalation or _default_escalation(bool(backup), bool(leadership)),
            leadership_now=leadership_now,
            reminder=reminder,
            usergroup=usergroup,
            language=language,
            wake=wake,
        )

    def wake_policy(self, value: Value) -> WakePolicy | None:
        """When the person an alert pages is woken: now, after, every, times."""
        fields = self.mapping(value, WAKE_KEYS, (), "a mapping with now, after, every and times")
        if fields is None:
            return None
        default = WakePolicy()
        now: frozenset[str] | None = default.now
        if "now" in fields:
            now = self.severities(fields["now"])
        after = self.timedelta(fields["after"]) if "after" in fields else default.after
        every = self.timedelta(fields["every"]) if "every" in fields else default.every
        times: int | None = default.times
        if "times" in fields:
            expected = f"a number of wake-ups from 1 to {WAKE_TIMES_MAX}, like 3"
            text = self.text(fields["times"], expected)
            times = int(text) if text is not None and text.isdigit() else None
            if text is not None and (times is None or not 1 <= times <= WAKE_TIMES_MAX):
                self.expected(fields["times"], expected)
                times = None
        if now is None or after is None or every is None or times is None:
            return None
        return WakePolicy(now=now, after=after, every=every, times=times)

    def severities(self, value: Value) -> frozenset[str] | None:
        """A list of severities; an empty list is allowed (none of them)."""
        if isinstance(value.node, SequenceNode) and not value.node.value:
            return frozenset()
        items = self.sequence(value, "[critical]", what="severities")
        if items is None:
            return None
        expected = f"a severity among {_one_of(SEVERITIES)}"
        found: set[str] = set()
        for item in items:
            text = self.text(item, expected)
            if text is not None and text not in SEVERITIES:
                self.expected(item, expected, hint(text, SEVERITIES))
                text = None
            if text is None:
                return None
            found.add(text)
        return frozenset(found)

    def people(self, value: Value) -> dict[str, Person] | None:
        """What the file says about people, by Slack user id: their wake-up methods, their
        language."""
        return self.keyed(
            value,
            "a mapping of Slack user ids to people, like U0ALICE: {wake: …, language: fr}",
            self.person,
        )

    def person(self, user: str, value: Value) -> Person | None:
        """One person: their wake-up methods and their language."""
        key = Value(ScalarNode(STR_TAG, user), value.field, value.line)
        fields = self.mapping(value, PERSON_KEYS, (), "a person (wake, language)")
        good_user = self.user(key) is not None
        if fields is None or not good_user:
            return None
        wake: tuple[str, ...] = ()
        if "wake" in fields and not is_null(fields["wake"].node):
            urls = self.wake_urls(fields["wake"])
            if urls is None:
                return None
            wake = urls
        language = self.language(fields["language"]) if "language" in fields else None
        if "language" in fields and language is None:
            return None
        return Person(wake=wake, language=language)

    def language(self, value: Value) -> str | None:
        """One of the languages the bot speaks, as the file names it: en, fr or pt-BR."""
        expected = "a language the bot speaks: " + ", ".join(LANGUAGES)
        text = self.text(value, expected)
        if text is None:
            return None
        found = next((tag for tag in LANGUAGES if tag.lower() == text.strip().lower()), None)
        if found is None:
            self.expected(value, expected)
        return found

    def wake_urls(self, value: Value) -> tuple[str, ...] | None:
        """Apprise URLs (scheme://…), never repeated in an error: each may hold a secret."""
        items = self.sequence(value, "[ntfy://ntfy.sh/alice-pager-7f3k]", what="Apprise URLs")
        if items is None:
            return None
        urls: list[str] = []
        for item in items:
            node = item.node
            text = str(node.value).strip() if isinstance(node, ScalarNode) else ""
            if not WAKE_URL_PATTERN.match(text):
                # Said without the value: a wake-up URL is a secret.
                self.report(
                    item.line,
                    item.field,
                    "expected an Apprise URL like ntfy://ntfy.sh/topic or "
                    "pover://${PUSHOVER_USER}@${PUSHOVER_APP} (the value is not shown: it may "
                    "hold a secret)",
                )
                return None
            urls.append(text)
        return tuple(urls)

    def identifier(self, value: Value, key: str, what: str, example: str) -> bool:
        """Whether a team or integration id is usable in commands and URLs; reports it if not."""
        if ID_PATTERN.fullmatch(key) and len(key) <= ID_MAX:
            return True
        if len(key) > ID_MAX:
            message = (
                f"expected a {what} of at most {ID_MAX} characters (it travels in Slack's "
                f"menus and buttons, which keep 150), got {len(key)}: {key[:20]!r}…"
            )
        else:
            message = (
                f"expected a {what} of lowercase letters, digits, '-' and '_' (like {example}), "
                f"got {key!r}"
            )
        self.report(value.line, value.field, message)
        return False

    def layers(
        self, value: Value | None, zone: ZoneInfo, names: dict[str, int]
    ) -> tuple[Layer, ...] | None:
        """The rotation layers of a list (rotations or backup)."""
        if value is None:
            return None
        items = self.sequence(value, "[{name: …, members: […], start: …, every: …}]", what="layers")
        if items is None:
            return None
        layers = [self.layer(item, zone, names) for item in items]
        return tuple(layer for layer in layers if layer) if None not in layers else None

    def layer(self, value: Value, zone: ZoneInfo, names: dict[str, int]) -> Layer | None:
        """One rotation: members taking turns from ``start``, one shift ``every``."""
        fields = self.mapping(
            value,
            LAYER_KEYS,
            ("name", "members", "start", "every"),
            "a layer (name, members, start, every, only)",
        )
        if fields is None:
            return None
        name = self.text(fields["name"], "the layer's name") if "name" in fields else None
        if name is not None:
            # Shifts and overrides say which layer they come from by name, so names are unique.
            if name in names:
                message = f"layer name {name!r} is already used on line {names[name]}"
                self.report(fields["name"].line, fields["name"].field, message)
                name = None
            else:
                names[name] = fields["name"].line
        members = self.users(fields["members"]) if "members" in fields else None
        start = self.start(fields["start"]) if "start" in fields else None
        every = self.duration(fields["every"], "hdw") if "every" in fields else None
        only: tuple[Window, ...] | None = ()
        if "only" in fields:
            only = self.only(fields["only"])
        if name is None or members is None or start is None or every is None or only is None:
            return None
        return Layer(
            name=name,
            members=members,
            start=start,
            every=Every(*every),
            timezone=zone,
            only=only,
        )

    def only(self, value: Value) -> tuple[Window, ...] | None:
        """The windows a layer is limited to."""
        items = self.sequence(value, '["mon-fri 09:00 - 18:00"]', what="windows")
        if items is None:
            return None
        windows = [self.windows(item) for item in items]
        if None in windows:
            return None
        return tuple(window for found in windows if found for window in found)

    def escalation(
        self, value: Value | None, has_backup: bool, leadership: tuple[str, ...] | None
    ) -> tuple[EscalationStep, ...] | None:
        """The team's escalation steps; () when the file names none (the default applies)."""
        if value is None:
            return ()
        items = self.sequence(value, "[{notify: oncall, wait: 10m}, …]", what="escalation steps")
        if items is None:
            return None
        steps = [
            self.step(item, i == len(items) - 1, has_backup, leadership)
            for i, item in enumerate(items)
        ]
        return tuple(step for step in steps if step) if None not in steps else None

    def step(
        self,
        value: Value,
        last: bool,
        has_backup: bool,
        leadership: tuple[str, ...] | None,
    ) -> EscalationStep | None:
        """One escalation step: whom it notifies, and how long it waits before the next."""
        fields = self.mapping(value, STEP_KEYS, ("notify",), "a step (notify, wait)")
        if fields is None:
            return None
        wait = self.timedelta(fields["wait"]) if "wait" in fields else None
        if not last and "wait" not in fields:
            self.report(
                value.line,
                join_field(value.field, "wait"),
                "missing: how long to wait for an acknowledgement before the next step, like 10m",
            )
        if "notify" not in fields:
            return None
        notify = fields["notify"]
        target, users = self.target(notify, has_backup, leadership)
        if target is None or (not last and wait is None):
            return None
        # The last step has nowhere to go next: its wait, if any, means nothing.
        return EscalationStep(target, users=users, wait=None if last else wait)

    def target(
        self, value: Value, has_backup: bool, leadership: tuple[str, ...] | None
    ) -> tuple[NotifyTarget | None, tuple[str, ...]]:
        """Whom a step notifies: a named role, or a list of users."""
        if isinstance(value.node, SequenceNode):
            users = self.users(value)
            return (NotifyTarget.users, users) if users is not None else (None, ())
        roles = (NotifyTarget.oncall, NotifyTarget.backup, NotifyTarget.leadership)
        expected = "oncall, backup, leadership or a list of user ids like [U0ALICE]"
        text = self.text(value, expected)
        if text is None:
            return None, ()
        if text not in roles:
            self.expected(value, expected, hint(text, [role.value for role in roles]))
            return None, ()
        target = NotifyTarget(text)
        if target is NotifyTarget.backup and not has_backup:
            message = "the team has no backup layers: add 'backup' to the team or notify others"
            self.report(value.line, value.field, message)
            return None, ()
        if target is NotifyTarget.leadership and leadership == ():
            message = "the top-level 'leadership' list is empty: add someone to it"
            self.report(value.line, value.field, message)
            return None, ()
        return target, ()

    def leadership_now(
        self, value: Value | None, leadership: tuple[str, ...] | None
    ) -> frozenset[str] | None:
        """The severities that also go to leadership at once."""
        if value is None:
            return frozenset()
        items = self.sequence(value, "[critical]", what="severities")
        if items is None:
            return None
        expected = f"a severity among {_one_of(SEVERITIES)}"
        severities: set[str] = set()
        broken = False
        for item in items:
            text = self.text(item, expected)
            if text is not None and text not in SEVERITIES:
                self.expected(item, expected, hint(text, SEVERITIES))
            if text is None or text not in SEVERITIES:
                broken = True
            else:
                severities.add(text)
        if leadership == ():
            message = "the top-level 'leadership' list is empty: nobody would be told"
            self.report(value.line, value.field, message)
            return None
        return None if broken else frozenset(severities)

    def integrations(self, value: Value, team_ids: set[str]) -> dict[str, Integration] | None:
        """Who may send alerts, by integration id."""
        return self.keyed(
            value,
            "a mapping of integration ids to integrations",
            lambda integration_id, item: self.integration(integration_id, item, team_ids),
        )

    def integration(self, key: str, value: Value, team_ids: set[str]) -> Integration | None:
        """One alert source: its payload format, its team, and where its secret lives."""
        good_id = self.identifier(value, key, "integration id", "prometheus")
        fields = self.mapping(
            value,
            INTEGRATION_KEYS,
            ("kind", "team", "token_env"),
            "an integration (kind, team, token_env)",
        )
        if fields is None:
            return None
        kind = None
        if "kind" in fields:
            expected = f"one of {_one_of(KINDS)}"
            kind = self.text(fields["kind"], expected)
            if kind is not None and kind not in KINDS:
                self.expected(fields["kind"], expected, hint(kind, KINDS))
                kind = None
        team = self.team_ref(fields["team"], team_ids) if "team" in fields else None
        token_env = self.token_env(fields["token_env"]) if "token_env" in fields else None
        if not good_id or kind is None or team is None or token_env is None:
            return None
        return Integration(id=key, kind=cast(IntegrationKind, kind), team=team, token_env=token_env)

    def team_ref(self, value: Value, team_ids: set[str]) -> str | None:
        """The id of a team the file defines, named by an integration or a heartbeat."""
        defined = ", ".join(sorted(team_ids)) or "none"
        expected = f"one of the teams defined in this file ({defined})"
        team = self.text(value, expected)
        if team is not None and team not in team_ids:
            self.expected(value, expected, hint(team, team_ids))
            return None
        return team

    # Runbooks and heartbeats -----------------------------------------------------------------

    def runbooks(self, value: Value) -> tuple[Runbook, ...] | None:
        """The runbooks, in the order they are tried."""
        items = self.sequence(
            value, "[{match: {alertname: RefundQueueStuck}, url: https://…}]", what="runbooks"
        )
        if items is None:
            return None
        runbooks = [self.runbook(item) for item in items]
        return tuple(r for r in runbooks if r) if None not in runbooks else None

    def runbook(self, value: Value) -> Runbook | None:
        """One runbook: the alerts it is for, and a link, a short text or both."""
        fields = self.mapping(value, RUNBOOK_KEYS, ("match",), "a runbook (match, url, text)")
        if fields is None:
            return None
        match = self.conditions(fields["match"]) if "match" in fields else None
        url = self.runbook_url(fields["url"]) if "url" in fields else None
        text = self.runbook_text(fields["text"]) if "text" in fields else None
        if "url" not in fields and "text" not in fields:
            message = "a runbook shows a url, a text or both: give at least one"
            self.report(value.line, value.field, message)
            return None
        broken = ("url" in fields and url is None) or ("text" in fields and text is None)
        if match is None or broken:
            return None
        return Runbook(match=match, url=url, text=text, line=value.line)

    def conditions(self, value: Value) -> tuple[Condition, ...] | None:
        """What an alert must carry for a runbook: every condition holds."""
        expected = "a mapping of labels to values, like {alertname: RefundQueueStuck}"
        if not isinstance(value.node, MappingNode) or not value.node.value:
            self.expected(value, expected)
            return None
        conditions = [self.condition(key, item) for key, item in self.entries(value)]
        return tuple(c for c in conditions if c) if None not in conditions else None

    def condition(self, key: str, value: Value) -> Condition | None:
        """One condition: a value as written, or a /regular expression/."""
        text = self.text(value, "a value like RefundQueueStuck, or a /regular expression/")
        if text is None:
            return None
        if len(text) < 2 or not (text.startswith("/") and text.endswith("/")):
            return Condition(key=key, value=text)
        try:
            pattern = re.compile(text[1:-1])
        except re.error as error:
            where = f" at character {error.pos + 1}" if error.pos is not None else ""
            message = f"{text!r} is not a regular expression Python reads: {error.msg}{where}"
            self.report(value.line, value.field, message)
            return None
        return Condition(key=key, value=text, pattern=pattern)

    def runbook_url(self, value: Value) -> str | None:
        """The link a runbook shows."""
        expected = "an http(s) URL like https://wiki.example.com/runbooks/refunds"
        text = self.text(value, expected)
        if text is None:
            return None
        url = http_url(text)
        if url is None:
            self.expected(value, expected)
        return url

    def runbook_text(self, value: Value) -> str | None:
        """The few words a runbook shows."""
        expected = f"a short text (at most {RUNBOOK_TEXT_MAX} characters)"
        text = self.text(value, expected)
        if text is None:
            return None
        text = text.strip()
        if not text or len(text) > RUNBOOK_TEXT_MAX:
            extra = f" of {len(text)} characters: put the rest behind the url" if text else ""
            self.expected(value, expected, extra)
            return None
        return text

    def heartbeats(self, value: Value, team_ids: set[str]) -> dict[str, Heartbeat] | None:
        """What must keep calling in, by name."""
        return self.keyed(
            value,
            "a mapping of heartbeat names to heartbeats",
            lambda name, item: self.heartbeat(name, item, team_ids),
        )

    def heartbeat(self, name: str, value: Value, team_ids: set[str]) -> Heartbeat | None:
        """One heartbeat: whose pager its silence goes to, how often it pings, its secret."""
        good_name = self.identifier(value, name, "heartbeat name", "nightly-backup")
        fields = self.mapping(
            value,
            HEARTBEAT_KEYS,
            ("team", "every", "token_env"),
            "a heartbeat (team, every, grace, token_env)",
            HEARTBEAT_REQUIRED,
        )
        if fields is None:
            return None
        team = self.team_ref(fields["team"], team_ids) if "team" in fields else None
        every = self.duration(fields["every"], "mhdw") if "every" in fields else None
        grace: timedelta | None = DEFAULT_GRACE
        if "grace" in fields:
            grace = self.timedelta(fields["grace"])
        token_env = self.token_env(fields["token_env"]) if "token_env" in fields else None
        if not good_name or team is None or every is None or grace is None or token_env is None:
            return None
        return Heartbeat(
            name=name, team=team, every=Every(*every), grace=grace, token_env=token_env
        )

    def token_env(self, value: Value) -> str | None:
        """The name of the environment variable that holds an integration's secret."""
        expected = "the NAME of an environment variable like PROMETHEUS_ALERT_TOKEN"
        text = self.text(value, expected)
        if text is None:
            return None
        if not ENV_NAME_PATTERN.fullmatch(text):
            # It may be the secret itself: an error message must not spread it to logs.
            message = (
                f"expected {expected}, got a value that is not one (not shown, in case it is "
                "the secret itself: secrets live in the environment, not in this file)"
            )
            self.report(value.line, value.field, message)
            return None
        return text


def _default_escalation(has_backup: bool, has_leadership: bool) -> tuple[EscalationStep, ...]:
    """The policy of a team that names none: on call, then backup, then leadership."""
    targets = [NotifyTarget.oncall]
    if has_backup:
        targets.append(NotifyTarget.backup)
    if has_leadership:
        targets.append(NotifyTarget.leadership)
    return tuple(
        EscalationStep(target, wait=None if i == len(targets) - 1 else DEFAULT_WAIT)
        for i, target in enumerate(targets)
    )


def _day(name: str | None) -> int:
    """The weekday number (0 = Monday) of a day name like "fri" or "Friday"."""
    lowered = (name or "").lower()
    for names in (DAYS, FULL_DAYS):
        if lowered in names:
            return names.index(lowered)
    raise ValueError(f"unknown day {name!r}, expected one of {', '.join(DAYS)}")


def _minutes(text: str, *, end: bool) -> int:
    """Minutes after midnight of HH:MM; 24:00 only as an end."""
    hours, minutes = (int(part) for part in text.split(":"))
    if end and (hours, minutes) == (24, 0):
        return DAY
    if hours > 23 or minutes > 59:
        if (hours, minutes) == (24, 0):
            raise ValueError("24:00 can only end a window, not start it")
        raise ValueError(f"{text!r} is not a time of day (00:00 to 24:00)")
    return hours * 60 + minutes


def _windows(match: re.Match[str]) -> tuple[Window, ...]:
    """The weekly windows of a parsed window string; ValueError says what is wrong."""
    start = _minutes(match["start"], end=False)
    end = _minutes(match["end"], end=True)
    if match["end_day"]:
        if not match["first"] or match["last"]:
            raise ValueError(
                "a window across days names one day at each end, like 'fri 18:00 - mon 09:00'"
            )
        first = _day(match["first"]) * DAY + start
        until = _day(match["end_day"]) * DAY + end
        if first == until:
            raise ValueError("empty window: it ends where it starts")
        # An end at Monday 00:00 is the end of the week; 10080 keeps start < end where it can.
        return (Window(first, until if until else WEEK),)
    if start == end:
        raise ValueError("empty window: it ends where it starts (a whole day is 00:00 - 24:00)")
    if match["first"]:
        first_day = _day(match["first"])
        last_day = _day(match["last"]) if match["last"] else first_day
        days = [(first_day + i) % 7 for i in range((last_day - first_day) % 7 + 1)]
    else:
        days = list(range(7))
    windows = []
    for day in days:
        begin = day * DAY + start
        # An end at or before the start is on the next day's clock.
        finish = day * DAY + end + (DAY if end <= start else 0)
        windows.append(Window(begin, finish - WEEK if finish > WEEK else finish))
    return tuple(windows)
