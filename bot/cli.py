"""The `watchkeeper` command line: check, who, shifts, doctor, serve, sandbox."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.exc import OperationalError

from bot import schedule
from bot.clock import SystemClock
from bot.config import ConfigError, load_plan
from bot.plan import Plan, Team
from bot.settings import Settings, SettingsError, load_settings

GAP_HORIZON = timedelta(weeks=4)


class UsageError(Exception):
    """A command-line value that cannot be used; the message says which and why."""


def parse_instant(text: str, zone: ZoneInfo, *, flag: str) -> datetime:
    """An ISO-8601 instant, or a date (its midnight) or naive time, read in ``zone``."""
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), time(0), zone).astimezone(UTC)
        value = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(
            f"{flag}: expected a date (2026-11-28) or an ISO-8601 instant "
            f"(2026-11-28T21:00:00+01:00), got {text!r}"
        ) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone)
    return value.astimezone(UTC)


def iso(instant: datetime | None, zone: ZoneInfo) -> str | None:
    return None if instant is None else instant.astimezone(zone).isoformat()


def _human(instant: datetime | None, zone: ZoneInfo) -> str:
    if instant is None:
        return "—"
    return instant.astimezone(zone).strftime("%a %Y-%m-%d %H:%M %Z")


def _load(path: str) -> Plan:
    return load_plan(path)


def _open_roster(plan: Plan, database_url: str | None) -> Any:
    from bot.roster import Roster

    engine = None
    if database_url:
        from storage.db import make_engine
        from storage.migrate import upgrade

        engine = make_engine(database_url)
        upgrade(engine)
    return Roster(lambda: plan, engine)


def cmd_check(args: argparse.Namespace) -> int:
    plan = _load(args.file)
    now = SystemClock().now()
    print(f"{args.file}: OK — {len(plan.teams)} team(s), {len(plan.integrations)} integration(s)")
    for team in plan.teams.values():
        zone = team.timezone
        layers = ", ".join(f"{layer.name} (every {layer.every})" for layer in team.rotations)
        print(f"  {team.id}: {team.name}, {zone.key}, layers: {layers}")
        found = schedule.gaps(team, [], now, now + GAP_HORIZON)
        if not found:
            print("    no gaps in the next four weeks")
            continue
        print(f"    {len(found)} gap(s) in the next four weeks (nobody holds the pager):")
        for gap in found:
            print(f"    - {_human(gap.start, zone)} → {_human(gap.end, zone)}")
    print("(gaps are computed from the setup file alone; overrides can fill them)")
    return 0


def _team_ids(plan: Plan, team: str | None) -> list[str]:
    if team is None:
        return sorted(plan.teams)
    if team not in plan.teams:
        raise UsageError(
            f"--team: no team {team!r} in the setup file; teams: {', '.join(sorted(plan.teams))}"
        )
    return [team]


def cmd_who(args: argparse.Namespace, settings_db: str | None) -> int:
    plan = _load(args.config)
    team_ids = _team_ids(plan, args.team)
    zone = plan.teams[team_ids[0]].timezone if args.team else plan.timezone
    at = parse_instant(args.at, zone, flag="--at") if args.at else SystemClock().now()
    roster = _open_roster(plan, settings_db)
    rows = []
    for team_id in team_ids:
        status = roster.status(team_id, at)
        tz = status.team.timezone
        rows.append(
            {
                "team": team_id,
                "oncall": status.oncall.user,
                "since": iso(status.oncall.since, tz),
                "until": iso(status.oncall.until, tz),
                "source": status.oncall.source,
                "backup": status.backup.user if status.backup else None,
                "next": (
                    {"user": status.next.user, "start": iso(status.next.start, tz)}
                    if status.next
                    else None
                ),
            }
        )
    if args.json:
        print(json.dumps({"at": iso(at, zone), "teams": rows}))
        return 0
    print(f"at {_human(at, zone)}")
    for row, team_id in zip(rows, team_ids, strict=True):
        tz = plan.teams[team_id].timezone
        holder = row["oncall"] or "nobody (gap)"
        print(f"  {team_id}: {holder}", end="")
        if row["oncall"]:
            since = datetime.fromisoformat(row["since"]) if row["since"] else None
            until = datetime.fromisoformat(row["until"]) if row["until"] else None
            print(f" since {_human(since, tz)} until {_human(until, tz)} [{row['source']}]", end="")
        print()
        if row["backup"] is not None or plan.teams[team_id].backup:
            print(f"    backup: {row['backup'] or 'nobody'}")
        if row["next"]:
            start = datetime.fromisoformat(row["next"]["start"])
            print(f"    next: {row['next']['user']} from {_human(start, tz)}")
    return 0


def cmd_shifts(args: argparse.Namespace, settings_db: str | None) -> int:
    plan = _load(args.config)
    (team_id,) = _team_ids(plan, args.team)
    team: Team = plan.teams[team_id]
    zone = team.timezone
    now = SystemClock().now()
    start = parse_instant(args.start, zone, flag="--from") if args.start else now
    end = parse_instant(args.end, zone, flag="--to") if args.end else start + GAP_HORIZON
    if end <= start:
        raise UsageError(f"--to ({iso(end, zone)}) must be after --from ({iso(start, zone)})")
    roster = _open_roster(plan, settings_db)
    shifts = roster.shifts(team_id, start, end, role=args.role)
    if args.json:
        doc = {
            "team": team_id,
            "shifts": [
                {
                    "user": s.user,
                    "start": iso(s.start, zone),
                    "end": iso(s.end, zone),
                    "source": s.source,
                }
                for s in shifts
            ],
        }
        print(json.dumps(doc))
        return 0
    print(f"{team_id} ({zone.key}), {_human(start, zone)} → {_human(end, zone)}")
    for s in shifts:
        who = s.user or "nobody (gap)"
        print(f"  {_human(s.start, zone)} → {_human(s.end, zone)}  {who:<12} {s.source}")
    return 0


def cmd_doctor(args: argparse.Namespace, settings: Settings) -> int:
    from bot.doctor import run_doctor, slack_client

    plan = _load(args.config)
    if not settings.slack_bot_token:
        raise SettingsError(
            "SLACK_BOT_TOKEN is not set: the doctor checks the workspace with the bot's token; "
            "put it (xoxb-…) in the environment or .env"
        )
    client = slack_client(settings.slack_bot_token, settings.slack_api_url)
    # PUBLIC_URL is not a setting yet: pass it here (public_url=settings.public_url) once the
    # acknowledge links bring it, and the doctor checks that it answers.
    report = run_doctor(plan, client, api_url=settings.slack_api_url, public_url=None)
    if args.json:
        print(json.dumps(report.as_json()))
    else:
        for problem in report.problems:
            print(problem.line)
        for note in report.notes:
            print(f"note: {note}")
        print(report.summary())
    return 0 if report.ok else 1


def cmd_serve(args: argparse.Namespace) -> int:
    from bot.serve import serve

    return serve(load_settings())


def cmd_sandbox(args: argparse.Namespace, settings: Settings) -> int:
    from bot.sandbox.run import run_sandbox

    return run_sandbox(
        host=args.host or settings.host,
        port=settings.port if args.port is None else args.port,
        log_level=settings.log_level,
        announce=lambda text: print(text, flush=True),
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="watchkeeper", description="Who holds the pager, handovers, alert relay, in Slack."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    check = sub.add_parser(
        "check", help="validate the setup file and list the gaps of the next four weeks"
    )
    check.add_argument(
        "file",
        nargs="?",
        default=None,
        help="the setup file (default: WATCHKEEPER_CONFIG or oncall.yaml)",
    )

    who = sub.add_parser("who", help="who holds the pager (and the backup) at an instant")
    who.add_argument("--team", help="one team's id (default: every team)")
    who.add_argument("--at", help="ISO-8601 instant (default: now)")
    who.add_argument("--json", action="store_true", help="one JSON document on stdout")

    shifts = sub.add_parser("shifts", help="the final schedule of a team, one row per shift")
    shifts.add_argument("--team", required=True, help="the team's id")
    shifts.add_argument("--from", dest="start", help="date or ISO-8601 instant (default: now)")
    shifts.add_argument(
        "--to", dest="end", help="date or ISO-8601 instant (default: four weeks later)"
    )
    shifts.add_argument("--role", choices=["oncall", "backup"], default="oncall")
    shifts.add_argument("--json", action="store_true", help="one JSON document on stdout")

    doctor = sub.add_parser(
        "doctor",
        help="check the Slack workspace against the setup file: token, channels, people, groups",
        description="Check the live Slack workspace against the setup file, changing nothing: "
        "the token works, the bot is in every team channel, every person exists and is active, "
        "every user group can be written. Prints one line per problem with how to fix it; "
        "exits 1 when anything is wrong. Uses SLACK_BOT_TOKEN and SLACK_API_URL.",
    )
    doctor.add_argument(
        "--config", help="the setup file (default: WATCHKEEPER_CONFIG or oncall.yaml)"
    )
    doctor.add_argument("--json", action="store_true", help="one JSON document on stdout")

    sub.add_parser("serve", help="run the bot: HTTP server, workers and scheduler")

    sandbox = sub.add_parser("sandbox", help="run the bot against a local stand-in of Slack")
    sandbox.add_argument("--host", help="where to listen (default: HOST or 127.0.0.1)")
    sandbox.add_argument("--port", type=int, help="where to listen (default: PORT or 3000)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
        args.config = getattr(args, "config", None) or settings.config_path
        if args.command == "check":
            args.file = args.file or settings.config_path
            return cmd_check(args)
        if args.command == "who":
            return cmd_who(args, settings.database_url)
        if args.command == "shifts":
            return cmd_shifts(args, settings.database_url)
        if args.command == "doctor":
            return cmd_doctor(args, settings)
        if args.command == "serve":
            return cmd_serve(args)
        if args.command == "sandbox":
            return cmd_sandbox(args, settings)
    except ConfigError as error:
        print(str(error), file=sys.stderr)
        return 1
    except (SettingsError, UsageError) as error:
        print(f"watchkeeper: {error}", file=sys.stderr)
        return 2
    except OperationalError as error:
        # The database named by DATABASE_URL is unreachable or refuses us: say so in one line.
        reason = str(error.orig or error).strip().splitlines()[0]
        print(f"watchkeeper: DATABASE_URL: cannot use the database: {reason}", file=sys.stderr)
        return 2
    return 2


if __name__ == "__main__":
    sys.exit(main())
