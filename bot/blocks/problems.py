"""The DM that tells the pager holder, once, what stops the bot from posting somewhere."""

from __future__ import annotations

from bot.blocks import Message, context, message, section
from bot.slack_errors import Problem

INVITE = "/invite @watchkeeper"  # the bot user's display name (manifest.yml)
MEANWHILE = "Until then, alerts still reach whoever holds the pager by DM."


def _where(target: str) -> str:
    """How a target reads in a message: a channel link, or a user mention."""
    return f"<@{target}>" if target.startswith(("U", "W")) else f"<#{target}>"


def problem_notice(problem: Problem, target: str, team_name: str, error: str) -> Message | None:
    """What to tell the pager holder about ``problem`` with ``target`` (a channel, or a user's
    DM) for the team ``team_name``; None when there is nothing anyone can do about it (a message
    deleted by hand) or no way to say it (the bot's token no longer works)."""
    where = _where(target)
    if problem is Problem.not_member:
        text = (
            f"I can't post in {where}: I'm not a member of it. Type `{INVITE}` in {where} "
            f"so that *{team_name}*'s alerts show there."
        )
    elif problem is Problem.unknown_channel:
        text = (
            f"I can't find the channel `{target}` where *{team_name}*'s alerts go: it was "
            "deleted, its id is mistyped in the setup file, or it is private and I'm not in it. "
            f"Fix the team's `channel:` in the setup file, or type `{INVITE}` in the channel."
        )
    elif problem is Problem.archived:
        text = (
            f"{where} is archived, so I can't post *{team_name}*'s alerts there. Unarchive it, "
            "or give the team another `channel:` in the setup file."
        )
    elif problem is Problem.restricted:
        text = (
            f"A workspace or channel setting stops me from posting in {where} (Slack says "
            f"`{error}`). Ask a Slack admin to let Watchkeeper post there."
        )
    elif problem is Problem.refused:
        text = (
            f"Slack refused a message I built for {where} (`{error}`). That is a bug in "
            "Watchkeeper: please report it with this error."
        )
    elif problem is Problem.user_unreachable:
        text = (
            f"I can't send DMs to {where} (Slack says `{error}`): their account may be "
            "deactivated. If they left, take them out of the setup file's rotations."
        )
    else:
        return None
    return message(f":warning: {text}", [section(f":warning: {text}"), context(MEANWHILE)])
