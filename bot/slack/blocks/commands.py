"""What each slash command is for, in the one set of words that every help text, the App Home,
the answer to a message in the DM and the app manifest's descriptions use."""

from __future__ import annotations

from bot.enums import Command
from bot.i18n import N_, _
from bot.slack.blocks import Message, context, message, section

# In English (the app manifest's descriptions); shown translated with _(summary).
SUMMARIES: dict[Command, str] = {
    Command.oncall: N_("Who holds the pager now, the next seven days, or your own shifts"),
    Command.swap: N_("Trade one of your shifts with a teammate"),
    Command.cover: N_("Ask your team to take one of your shifts"),
    Command.escalate: N_("Page your team's on-call person about something that just happened"),
}
HELP_HINT = N_("`/oncall help` shows every way to type them.")


def command_lines() -> list[str]:
    """One line per command: "`/swap` — Trade one of your shifts with a teammate"."""
    return [f"`{command.value}` — {_(SUMMARIES[command])}" for command in SUMMARIES]


def dm_help_message() -> Message:
    """The answer to a message typed in the DM that is not a command: what to type instead."""
    text = _(
        "I only read slash commands, so that message paged nobody. Type one here or in any channel:"
    )
    text += "\n" + "\n".join(f"• {line}" for line in command_lines())
    return message(
        _("I only read slash commands: try /oncall, /swap, /cover or /escalate"),
        [section(text), context(_(HELP_HINT))],
    )


def typed_without_slash(command: Command) -> str:
    """The note under an answer given to a command typed as a message, without its slash."""
    return _("That is what `{command}` answers: next time, type it with the slash.").format(
        command=command.value
    )
