"""The `watchkeeper` command line: check, who, shifts, doctor, serve, sandbox."""

from __future__ import annotations

import argparse
import json
import sys
from argparse import ArgumentParser
from collections.abc import Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.exc import OperationalError

from bot.app.settings import Settings, SettingsError, load_settings
from bot.plan.model import Plan
from bot.plan.reading import ConfigError, load_plan
from bot.runtime.clock import SystemClock
from bot.schedule import documents
from bot.schedule import engine as schedule
from bot.schedule.documents import BadValue
from bot.schedule.roster import Roster
from bot.wake.methods import secret_missing
from storage.read_only import SchemaMismatch, open_read_only

GAP_HORIZON = timedelta(weeks=4)


def _human(instant: datetime | None, zone: ZoneInfo) -> str:
    if instant is None:
        return "—"
    return instant.astimezone(zone).strftime("%a %Y-%m-%d %H:%M %Z")


def _load(path: str) -> Plan:
    return load_plan(path)


def _open_roster(plan: Plan, database_url: str) -> Roster:
    """The plan with the overrides stored at ``database_url``, read without creating, migrating
    or writing the database; where it holds nothing yet, the plan alone (said on stderr)."""
    stored = open_read_only(database_url)
    if stored.nothing_because:
        print(
            f"watchkeeper: {stored.nothing_because}: the setup file alone, "
            "without swaps, covers or overrides",
            file=sys.stderr,
        )
    return Roster(lambda: plan, stored.engine)


def cmd_check(args: argparse.Namespace, settings: Settings) -> int:
    smtp_port = settings.smtp_port
    plan = _load(args.file)
    now = SystemClock().now()
    print(
        f"{args.file}: OK — {len(plan.teams)} team(s), {len(plan.integrations)} integration(s), "
        f"{len(plan.runbooks)} runbook(s), {len(plan.heartbeats)} heartbeat(s)"
    )
    for team in plan.teams.values():
        zone = team.timezone
        layers = ", ".join(f"{layer.name} (every {layer.every})" for layer in team.rotations)
        print(f"  {team.id}: {team.name}, {zone.key}, layers: {layers}")
        found = schedule.gaps(team, [], now, now + GAP_HORIZON)
        if not found:
            print("    no gaps in the next four weeks")
        else:
            print(f"    {len(found)} gap(s) in the next four weeks (nobody holds the pager):")
            for gap in found:
                print(f"    - {_human(gap.start, zone)} → {_human(gap.end, zone)}")
        clashes = schedule.backup_clashes(team, [], now, now + GAP_HORIZON) if team.backup else []
        if clashes:
            print(
                f"    warning: {len(clashes)} time(s) in the next four weeks the backup's turn "
                "falls to the pager holder:"
            )
        for clash in clashes:
            instead = f"{clash.backup} backs up instead" if clash.backup else "no backup then"
            print(
                f"    - {_human(clash.start, zone)} → {_human(clash.end, zone)}: "
                f"{clash.user} holds the pager; {instead}"
            )
    for integration in plan.integrations.values():
        if integration.kind == "email":
            listening = f"port {smtp_port}" if smtp_port is not None else "SMTP_PORT is not set"
            print(
                f"  {integration.id}: email to {integration.id}+<{integration.token_env}>@ "
                f"this host ({listening})"
            )
    print("(gaps are computed from the setup file alone; overrides can fill them)")
    refusal = secret_missing(plan, added=False, secret=settings.watchkeeper_secret)
    if refusal is not None:
        # The file is sound; the environment it runs in is not, yet: said before serve refuses.
        print(f"warning: {refusal} (`watchkeeper serve` does not start without it)")
    return 0


def cmd_who(args: argparse.Namespace, database_url: str) -> int:
    plan = _load(args.config)
    query = documents.who_query(
        plan, team=args.team, at=args.at, now=SystemClock().now(), field_prefix="--"
    )
    statuses = documents.who_statuses(_open_roster(plan, database_url), query)
    if args.json:
        print(json.dumps(documents.who_document(query, statuses)))
        return 0
    print(f"at {_human(query.at, query.zone)}")
    for status in statuses:
        tz, held = status.team.timezone, status.oncall
        if held.user is None:
            print(f"  {status.team.id}: nobody (gap)")
        else:
            print(
                f"  {status.team.id}: {held.user} since {_human(held.since, tz)} "
                f"until {_human(held.until, tz)} [{held.source}]"
            )
        if status.backup is not None:
            backup = status.backup.user
            print(f"    backup: {backup}" if backup else "    no backup")
        if status.next is not None:
            print(f"    next: {status.next.user} from {_human(status.next.start, tz)}")
    return 0


def cmd_shifts(args: argparse.Namespace, database_url: str) -> int:
    plan = _load(args.config)
    query = documents.shifts_query(
        plan,
        team=args.team,
        start=args.start,
        end=args.end,
        role=args.role,
        now=SystemClock().now(),
        field_prefix="--",
    )
    shifts = documents.team_shifts(_open_roster(plan, database_url), query)
    if args.json:
        print(json.dumps(documents.shifts_document(query, shifts)))
        return 0
    zone = query.zone
    print(f"{query.team_id} ({zone.key}), {_human(query.start, zone)} → {_human(query.end, zone)}")
    for s in shifts:
        who = s.user or "nobody (gap)"
        print(f"  {_human(s.start, zone)} → {_human(s.end, zone)}  {who:<12} {s.source}")
    return 0


def cmd_doctor(args: argparse.Namespace, settings: Settings) -> int:
    from bot.app.doctor import run_doctor

    plan = _load(args.config)
    if not settings.slack_bot_token:
        raise SettingsError(
            "SLACK_BOT_TOKEN is not set: the doctor checks the workspace with the bot's token; "
            "put it (xoxb-…) in the environment or .env"
        )
    # What the running bot recorded, when it has run here (before the first start: nothing).
    stored = open_read_only(settings.database_url)
    try:
        report = run_doctor(plan, settings, engine=stored.engine)
    finally:
        if stored.engine is not None:
            stored.engine.dispose()
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
    from bot.app.serve import serve

    return serve(load_settings())


def cmd_sandbox(args: argparse.Namespace, settings: Settings) -> int:
    from bot.app.sandbox import run_sandbox

    return run_sandbox(
        host=args.host or settings.host,
        port=settings.port if args.port is None else args.port,
        log_level=settings.log_level,
        announce=lambda text: print(text, flush=True),
    )


CHECK_EXAMPLES = """\
examples:
  watchkeeper check                      # WATCHKEEPER_CONFIG, else oncall.yaml
  watchkeeper check staging/oncall.yaml
"""

WHO_EXAMPLES = """\
examples:
  watchkeeper who                        # every team, now
  watchkeeper who --team support --at 2026-11-28T21:00:00+01:00 --json
  watchkeeper who --config staging/oncall.yaml --at 2026-11-28T21:00
"""

SHIFTS_EXAMPLES = """\
examples:
  watchkeeper shifts                     # the only team, the next four weeks
  watchkeeper shifts --team support --from 2026-11-27 --to 2026-12-07
  watchkeeper shifts --team support --role backup --json
"""

DOCTOR_DOES = """\
Checks the live Slack workspace against the setup file, changing nothing: the
token works, the bot is in every team channel, every person exists and is
active, every user group can be written. Prints one line per problem with how
to fix it; exits 1 when anything is wrong. Uses SLACK_BOT_TOKEN and SLACK_API_URL.

"""

DOCTOR_EXAMPLES = """\
examples:
  watchkeeper doctor                     # right after installing the app in Slack
  watchkeeper doctor --config staging/oncall.yaml --json
"""

SERVE_EXAMPLES = """\
examples:
  watchkeeper serve                      # settings from the environment and .env
  DATABASE_URL=postgresql://watchkeeper:secret@db.internal:5432/watchkeeper watchkeeper serve
"""

SANDBOX_EXAMPLES = """\
examples:
  watchkeeper sandbox                    # then open http://127.0.0.1:3000/
  watchkeeper sandbox --port 3001
"""

READS_THE_DATABASE = """\
Swaps, covers and overrides come from the database at DATABASE_URL, which this
command only reads: it never creates, migrates nor writes it.

"""

MAIN_EXAMPLES = """\
examples:
  watchkeeper check                      # is the setup file sound, where are its gaps
  watchkeeper who --team support         # who holds the pager now
  watchkeeper shifts --help              # each command's options, with examples
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="watchkeeper",
        description="Who holds the pager, handovers, alert relay, in Slack.",
        epilog=MAIN_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)

    def command(name: str, help_text: str, examples: str, more: str = "") -> ArgumentParser:
        return sub.add_parser(
            name,
            help=help_text,
            description=f"{help_text[0].upper()}{help_text[1:]}.",
            epilog=more + examples,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )

    def setup_command(name: str, help_text: str, examples: str, more: str) -> ArgumentParser:
        """A command that reads the setup file and answers in text or, with --json, JSON."""
        parser = command(name, help_text, examples, more)
        parser.add_argument(
            "--config",
            metavar="FILE",
            help="the setup file (default: WATCHKEEPER_CONFIG, else oncall.yaml)",
        )
        parser.add_argument("--json", action="store_true", help="one JSON document on stdout")
        return parser

    check = command(
        "check", "validate the setup file and list the gaps of the next four weeks", CHECK_EXAMPLES
    )
    check.add_argument(
        "file",
        nargs="?",
        default=None,
        help="the setup file (default: WATCHKEEPER_CONFIG, else oncall.yaml)",
    )

    who = setup_command(
        "who",
        "who holds the pager (and the backup) at an instant",
        WHO_EXAMPLES,
        READS_THE_DATABASE,
    )
    who.add_argument("--team", help="one team's id (default: every team)")
    who.add_argument(
        "--at",
        help="ISO-8601 instant or date; without an offset, in team time (default: now)",
    )

    shifts = setup_command(
        "shifts",
        "the final schedule of a team, one row per shift",
        SHIFTS_EXAMPLES,
        READS_THE_DATABASE,
    )
    shifts.add_argument("--team", help="the team's id (needed when the setup has several)")
    shifts.add_argument("--from", dest="start", help="date or ISO-8601 instant (default: now)")
    shifts.add_argument(
        "--to", dest="end", help="date or ISO-8601 instant (default: four weeks later)"
    )
    shifts.add_argument(
        "--role",
        choices=["oncall", "backup"],
        default="oncall",
        help="whose shifts: the pager holder's (default) or the backup's",
    )

    setup_command(
        "doctor",
        "check the Slack workspace against the setup file: token, channels, people, groups",
        DOCTOR_EXAMPLES,
        DOCTOR_DOES,
    )

    command(
        "serve",
        "run the bot: HTTP server, workers and scheduler",
        SERVE_EXAMPLES,
        "It brings the database to this version's schema before it starts.\n\n",
    )

    sandbox = command("sandbox", "run the bot against a local stand-in of Slack", SANDBOX_EXAMPLES)
    sandbox.add_argument("--host", help="where to listen (default: HOST or 127.0.0.1)")
    sandbox.add_argument("--port", type=int, help="where to listen (default: PORT or 3000)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
        # A --config given on the command line wins over WATCHKEEPER_CONFIG.
        args.config = getattr(args, "config", None) or settings.config_path
        if args.command == "check":
            args.file = args.file or settings.config_path
            return cmd_check(args, settings)
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
    except (SettingsError, BadValue) as error:
        print(f"watchkeeper: {error}", file=sys.stderr)
        return 2
    except SchemaMismatch as error:
        print(f"watchkeeper: DATABASE_URL: {error}", file=sys.stderr)
        return 2
    except OperationalError as error:
        # The database named by DATABASE_URL is unreachable or refuses us: say so in one line.
        reason = str(error.orig or error).strip().splitlines()[0]
        print(f"watchkeeper: DATABASE_URL: cannot use the database: {reason}", file=sys.stderr)
        return 2
    return 2


if __name__ == "__main__":
    sys.exit(main())
