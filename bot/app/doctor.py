"""`watchkeeper doctor`: the live Slack workspace checked against the setup file.

It calls Slack's real Web API with the bot's token and changes nothing anyone would notice: the
token works (auth.test); the bot is in every team channel, which is neither archived nor gone
(conversations.info, once per channel); every person the setup names exists and is active
(users.info, once per person); every team user group can be written — its members are read
(usergroups.users.list) and written back unchanged (usergroups.users.update), the one way to ask
Slack "may I?" without changing the group. Each problem comes with how to fix it. Its calls go
through the bot's Slack gateway, which waits out Slack's rate limits (a 429 is no problem).

It also reads what the running bot recorded in its database (opened read-only, never created or
written): what Slack keeps refusing about a channel or a DM, and deliveries that failed for good.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from slack_sdk.errors import SlackApiError
from sqlalchemy.engine import Engine

from bot.app.factory import slack_client
from bot.app.services import Services
from bot.app.settings import Settings
from bot.plan.holder import PlanHolder
from bot.plan.model import NotifyTarget, Plan, Team
from bot.runtime.clock import SystemClock
from bot.schedule.roster import Roster
from bot.slack.gateway import HELD, UNHURRIED, SlackCallError, SlackGateway, http_session
from bot.slack.usergroups import refusal_fix
from bot.wake.methods import SECRET_FIX, SECRET_USE, in_setup, methods_without_secret
from storage.db import make_engine, read_scope
from storage.outbox import failed_deliveries
from storage.problems import known_problems
from storage.wakeups import any_method, users_with_methods

# What each check looks up: the method, the error saying the thing is not there, the problem
# that error is and its fix (where `{invite}` is the command that invites the bot).
LOOKUPS: dict[str, tuple[str, str, str, str]] = {
    "channel": (
        "conversations.info",
        "channel_not_found",
        "no such channel, or a private one the bot is not in",
        "check `channel:` in the setup file; for a private channel, {invite} there",
    ),
    "user": (
        "users.info",
        "user_not_found",
        "no such user in this workspace",
        "fix the id in the setup file (in Slack: the person's profile → ⋮ → Copy member ID)",
    ),
    "usergroup": (
        "usergroups.users.list",
        "no_such_subteam",
        "no such user group in this workspace",
        "fix `usergroup:` in the setup file, or remove it",
    ),
}
PUBLIC_URL_TIMEOUT_S = 10.0
FAILED_SHOWN = 10  # deliveries failed for good listed one by one; the rest are counted
# auth.test errors that mean the token itself is no good.
BAD_TOKEN = {"invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired"}


@dataclass(frozen=True)
class Problem:
    """One thing to fix: what it is about, what is wrong, and what to do."""

    check: str  # token, scope, channel, user, usergroup, public_url, delivery
    subject: str
    problem: str
    fix: str

    @property
    def line(self) -> str:
        return f"{self.subject}: {self.problem}: {self.fix}"


@dataclass
class Report:
    """What the doctor found: the problems, the notes, and how much it checked."""

    workspace: str = ""
    bot: str = ""
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    checked: dict[str, int] = field(
        default_factory=lambda: {"channels": 0, "users": 0, "usergroups": 0}
    )

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        """The last line: all good, or how many problems."""
        checked = self.checked
        what = (
            f"{checked['channels']} channel(s), {checked['users']} person(s) and "
            f"{checked['usergroups']} user group(s) checked"
        )
        where = f" in {self.workspace}" if self.workspace else ""
        if self.ok:
            return f"All good{where}: the token works; {what}."
        count = len(self.problems)
        noun = "problem" if count == 1 else "problems"
        return f"{count} {noun}{where} ({what}): fix them, then run `watchkeeper doctor` again."

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "workspace": self.workspace,
            "bot": self.bot,
            "problems": [
                {
                    "check": p.check,
                    "subject": p.subject,
                    "problem": p.problem,
                    "fix": p.fix,
                    "line": p.line,
                }
                for p in self.problems
            ],
            "notes": self.notes,
            "checked": self.checked,
        }


def people_of(plan: Plan) -> dict[str, list[str]]:
    """Every user id the setup names, with where it names them, in the file's order."""
    found: dict[str, list[str]] = {}

    def note(users: Iterable[str], where: str) -> None:
        for user in users:
            places = found.setdefault(user, [])
            if where not in places:
                places.append(where)

    note(plan.leadership, "leadership")
    for team in plan.teams.values():
        for kind, layers in (("rotation", team.rotations), ("backup", team.backup)):
            for layer in layers:
                note(layer.members, f"{kind} {layer.name} of team {team.id}")
        for i, step in enumerate(team.escalation):
            if step.notify is NotifyTarget.users:
                note(step.users, f"escalation step {i + 1} of team {team.id}")
    return found


class Unreachable(Exception):
    """Slack could not be reached: the network's error, after the gateway's tries."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(str(error))
        self.error = error


class _Doctor:
    def __init__(self, plan: Plan, slack: SlackGateway, report: Report) -> None:
        self.plan = plan
        self.slack = slack
        self.report = report
        self._scopes_said: set[str] = set()

    def problem(self, check: str, subject: str, problem: str, fix: str) -> None:
        self.report.problems.append(Problem(check, subject, problem, fix))

    async def call(self, method: str, **args: Any) -> dict[str, Any] | str:
        """Slack's answer, or its error code (a missing scope is reported once, here);
        Unreachable when no answer came."""
        try:
            answer = await self.slack.call(method, policy=UNHURRIED, **args)
            return dict(answer.data) if isinstance(answer.data, dict) else {}
        except SlackCallError as error:
            answered = error.__cause__
            if not isinstance(answered, SlackApiError) and error.code != HELD:
                raise Unreachable(answered or error) from error
            code = error.code
            if code == "missing_scope" and isinstance(answered, SlackApiError):
                needed = str(answered.response.get("needed") or "?")
                if needed not in self._scopes_said:
                    self._scopes_said.add(needed)
                    self.problem(
                        "scope",
                        "Slack app",
                        f"the app lacks the {needed} scope ({method} needs it)",
                        "add it under OAuth & Permissions → Bot Token Scopes (manifest.yml lists "
                        "it), then reinstall the app to the workspace",
                    )
            return code

    # ------------------------------------------------------------------ checks

    def unreachable(self, api_url: str, error: BaseException) -> None:
        self.problem(
            "token",
            "SLACK_API_URL",
            f"cannot reach Slack at {api_url} ({error.__class__.__name__}: {error})",
            "check the address and this machine's network",
        )

    async def token(self) -> bool:
        """auth.test: whether the token works; the later checks need it."""
        answer = await self.call("auth.test")
        if isinstance(answer, str):
            fix = (
                "put the app's Bot User OAuth Token (xoxb-…, under OAuth & Permissions) in .env"
                if answer in BAD_TOKEN
                else "run `watchkeeper doctor` again in a moment"
            )
            self.problem("token", "SLACK_BOT_TOKEN", f"Slack refuses the token ({answer})", fix)
            return False
        self.report.workspace = str(answer.get("team") or answer.get("team_id") or "")
        self.report.bot = str(answer.get("user") or "")
        return True

    async def channels(self) -> None:
        """conversations.info, once per team channel: there, not archived, the bot in it."""
        invite = self._invite()
        for channel, teams in self._teams_by(lambda team: team.channel).items():
            self.report.checked["channels"] += 1
            of_teams = f"channel of team {', '.join(teams)}"
            answer = await self._found("channel", f"{channel} ({of_teams})", channel=channel)
            if answer is None:
                continue
            info = answer.get("channel") or {}
            name = f"#{info.get('name') or channel}"
            if info.get("is_archived"):
                self.problem(
                    "channel",
                    name,
                    f"archived ({of_teams})",
                    "unarchive it, or give the team another `channel:` in the setup file",
                )
            elif not info.get("is_member"):
                self.problem("channel", name, "the bot is not a member", f"{invite} in {name}")

    async def users(self) -> None:
        """users.info, once per person the setup names: they exist and are active."""
        for user, places in people_of(self.plan).items():
            self.report.checked["users"] += 1
            where = ", ".join(places)
            answer = await self._found("user", f"{user} ({where})", user=user)
            if answer is None:
                continue
            info = answer.get("user") or {}
            if info.get("deleted"):
                self.problem(
                    "user",
                    f"{user} (@{info.get('name') or user}, {where})",
                    "deactivated in Slack",
                    "take them out of the setup file, or reactivate their account",
                )

    async def usergroups(self) -> None:
        """Each team's user group: its members read, then written back unchanged."""
        for group, teams in self._teams_by(lambda team: team.usergroup).items():
            self.report.checked["usergroups"] += 1
            subject = f"{group} (user group of team {', '.join(teams)})"
            members = await self._found("usergroup", subject, usergroup=group)
            if members is None:
                continue
            users = [str(u) for u in members.get("users") or []]
            if not users:
                # Slack refuses an empty list; writing anyone else would change the group.
                self.report.notes.append(
                    f"{subject}: empty, so writing it was not tried (that would change it); "
                    "the next handover fills it — run the doctor again after it"
                )
                continue
            written = await self.call(
                "usergroups.users.update", usergroup=group, users=",".join(users)
            )
            if isinstance(written, str):
                fix = refusal_fix(written)
                if fix is not None:
                    self.problem(
                        "usergroup",
                        subject,
                        f"Slack will not let the bot write it ({written})",
                        fix,
                    )
                else:
                    self._failed("usergroup", subject, "usergroups.users.update", written)

    def _teams_by(self, key: Callable[[Team], str | None]) -> dict[str, list[str]]:
        """The ids of the teams sharing each channel (or user group), in the file's order."""
        found: dict[str, list[str]] = {}
        for team in self.plan.teams.values():
            value = key(team)
            if value is not None:
                found.setdefault(value, []).append(team.id)
        return found

    async def _found(self, check: str, subject: str, **args: Any) -> dict[str, Any] | None:
        """Slack's answer to the check's look-up, or None once its error is reported: the one
        that says the thing is not there as a problem with its fix, any other as failed."""
        method, missing, problem, fix = LOOKUPS[check]
        answer = await self.call(method, **args)
        if answer == missing:
            self.problem(check, subject, problem, fix.format(invite=self._invite()))
            return None
        if isinstance(answer, str):
            self._failed(check, subject, method, answer)
            return None
        return answer

    def _invite(self) -> str:
        return f"/invite @{self.report.bot or 'watchkeeper'}"

    def _failed(self, check: str, subject: str, method: str, error: str) -> None:
        if error == "missing_scope":
            return  # said once, as a scope to add
        self.problem(
            check,
            subject,
            f"Slack answered {method} with {error}",
            "run `watchkeeper doctor` again in a moment",
        )


def check_public_url(url: str, get: Callable[..., httpx.Response] = httpx.get) -> list[Problem]:
    """Whether ``url`` (PUBLIC_URL) reaches the bot: its /healthz answers 200."""
    address = url.rstrip("/") + "/healthz"
    fix = "set PUBLIC_URL to the address people's phones reach the bot at, and open it there"
    try:
        answer = get(address, timeout=PUBLIC_URL_TIMEOUT_S, follow_redirects=True)
    except httpx.HTTPError as error:
        return [
            Problem(
                "public_url",
                "PUBLIC_URL",
                f"{address} does not answer ({error.__class__.__name__})",
                fix,
            )
        ]
    if answer.status_code != 200:
        return [
            Problem("public_url", "PUBLIC_URL", f"{address} answered {answer.status_code}", fix)
        ]
    return []


WAKE_HORIZON = timedelta(days=14)


NOBODY_WAKEABLE = (
    "nobody can be woken by phone: no one has a wake-up method, and a Slack DM does not wake "
    "anyone at 3 a.m.: give the pager holders one under people.<id>.wake in the setup file, or "
    "ask them to add one in the bot's App Home (Add a wake-up method)"
)


def unwakeable_holders(plan: Plan, engine: Engine | None, now: datetime) -> list[str]:
    """Pager holders of the next two weeks with no wake-up method, a line each: a Slack DM does
    not wake anyone at 3 a.m. (methods from the setup file, and those added in the App Home when
    the bot's database is there). When nobody has one, a single line says so."""
    roster = Roster(lambda: plan, engine)
    added: set[str] = set()
    if engine is not None:
        with read_scope(engine) as session:
            added = users_with_methods(session=session)
    first: dict[str, tuple[datetime, str]] = {}
    for team in plan.teams.values():
        for shift in roster.shifts(team.id, now, now + WAKE_HORIZON):
            user = shift.user
            person = plan.people.get(user) if user else None
            if user is None or user in added or (person is not None and person.wake):
                continue
            if user not in first or shift.start < first[user][0]:
                first[user] = (max(shift.start, now), team.id)
    if not first:
        return []
    if not added and not in_setup(plan):
        return [NOBODY_WAKEABLE]
    return [
        f"{user} (team {team}) holds the pager from {_utc(start)} and has no wake-up method: "
        f"add one under people.{user}.wake in the setup file, or ask them to add one in the "
        "bot's App Home (Add a wake-up method)"
        for user, (start, team) in sorted(first.items(), key=lambda item: item[1])
    ]


def wake_secret_problems(plan: Plan, engine: Engine | None, secret: str | None) -> list[Problem]:
    """WATCHKEEPER_SECRET unset while wake-up methods exist: the bot refuses to start."""
    if secret:
        return []
    added = False
    if engine is not None:
        with read_scope(engine) as session:
            added = any_method(session=session)
    where = methods_without_secret(plan, added=added, secret=secret)
    if where is None:
        return []
    return [
        Problem("wake", "WATCHKEEPER_SECRET", f"not set, and {where}: {SECRET_USE}", SECRET_FIX)
    ]


def stored_problems(engine: Engine) -> list[Problem]:
    """What the running bot recorded and no retry mends: what Slack keeps refusing about a
    channel or a DM, and the deliveries that failed for good (the latest first)."""
    with read_scope(engine) as session:
        known = known_problems(session=session)
        failed = failed_deliveries(session=session, limit=FAILED_SHOWN + 1)
    found = [
        Problem(
            "delivery",
            row.target if row.team is None else f"{row.target} (team {row.team})",
            f"Slack has refused deliveries there since {_utc(row.at)} ({row.error})",
            _REFUSAL_FIX.get(row.problem, "see the bot's log at that time"),
        )
        for row in known
    ]
    for row in failed[:FAILED_SHOWN]:
        about = row.subject or row.kind
        found.append(
            Problem(
                "delivery",
                f"delivery {row.id} ({row.kind}, {about})",
                f"failed for good at {_utc(row.done_at)}: {row.last_error or 'no error kept'}",
                "mend what the error names; the bot's log says more at that time",
            )
        )
    if len(failed) > FAILED_SHOWN:
        found.append(
            Problem(
                "delivery",
                "older deliveries",
                "more deliveries failed for good before these",
                "mend the ones above first; the bot's log lists every one",
            )
        )
    return found


# How to mend what Slack keeps refusing (storage.problems' kinds), in the doctor's words.
_REFUSAL_FIX = {
    "not_member": "type `/invite @watchkeeper` in that channel",
    "unknown_channel": "fix the team's `channel:` in the setup file, or invite the bot there",
    "archived": "unarchive the channel, or give the team another `channel:`",
    "restricted": "ask a Slack admin to let Watchkeeper post there",
    "refused": "Slack refused a message Watchkeeper built: please report it with this error",
    "user_unreachable": "if they left, take them out of the setup file's rotations",
}


def _utc(at: datetime | None) -> str:
    return "an unknown time" if at is None else at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def run_doctor(
    plan: Plan,
    settings: Settings,
    *,
    engine: Engine | None = None,
    now: datetime | None = None,
) -> Report:
    """Every check of the workspace against ``plan``, with the token and addresses of
    ``settings``; without a working token, only that and what the bot's database (``engine``,
    when there is one) recorded."""
    report = Report()
    asyncio.run(check_workspace(plan, settings, engine, report))
    if settings.public_url is not None:
        report.problems.extend(check_public_url(settings.public_url))
    if engine is not None:
        report.problems.extend(stored_problems(engine))
    report.problems.extend(wake_secret_problems(plan, engine, settings.watchkeeper_secret))
    # Said as notes: a setup without phones still works, through Slack alone.
    report.notes.extend(unwakeable_holders(plan, engine, now or datetime.now(UTC)))
    return report


async def check_workspace(
    plan: Plan, settings: Settings, engine: Engine | None, report: Report
) -> None:
    """The checks made in Slack (the token, channels, people, user groups), into ``report``."""
    plans = PlanHolder(plan)
    # Where the bot recorded nothing, an in-memory database stands in, never opened: the
    # gateway asks only what kind of database it is.
    engine = engine or make_engine("sqlite://")
    services = Services(
        settings=settings,
        engine=engine,
        plans=plans,
        roster=Roster(plans, engine),
        clock=SystemClock(),
        slack=slack_client(settings),
    )
    services.slack.session = session = http_session()
    doctor = _Doctor(plan, SlackGateway(services), report)
    try:
        if await doctor.token():
            await doctor.channels()
            await doctor.users()
            await doctor.usergroups()
    except Unreachable as unreachable:  # the connection failed, and kept failing
        doctor.unreachable(settings.slack_api_url, unreachable.error)
    finally:
        await session.close()
        services.database_threads.shutdown()
