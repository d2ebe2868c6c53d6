"""What each slash command is for, in the one set of words that every help text, the App Home,
the answer to a message in the DM and the app manifest's descriptions use."""

from __future__ import annotations

from bot.enums import Command
from bot.slack.blocks import Message, context, message, section

SUMMARIES: dict[Command, str] = {
    Command.oncall: "Who holds the pager now, the next seven days, or your own shifts",
    Command.swap: "Trade one of your shifts with a teammate",
    Command.cover: "Ask your team to take one of your shifts",
    Command.escalate: "Page your team's on-call person about something that just happened",
}
HELP_HINT = "`/oncall help` shows every way to type them."


def command_lines() -> list[str]:
    """One line per command: "`/swap` — Trade one of your shifts with a teammate"."""
    return [f"`{command.value}` — {summary}" for command, summary in SUMMARIES.items()]


def dm_help_message() -> Message:
    """The answer to a message typed in the DM that is not a command: what to type instead."""
    text = (
        "I only read slash commands, so that message paged nobody. Type one here or in any "
        "channel:\n" + "\n".join(f"• {line}" for line in command_lines())
    )
    return message(
        "I only read slash commands: try /oncall, /swap, /cover or /escalate",
        [section(text), context(HELP_HINT)],
    )


def typed_without_slash(command: Command) -> str:
    """The note under an answer given to a command typed as a message, without its slash."""
    return f"That is what `{command.value}` answers: next time, type it with the slash."
