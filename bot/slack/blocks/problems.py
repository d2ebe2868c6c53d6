"""The DM that tells the pager holder, once, what stops the bot from posting somewhere."""

from __future__ import annotations

from bot.i18n import N_, _
from bot.slack.blocks import Message, context, message, section
from bot.slack.errors import Problem

INVITE = "/invite @watchkeeper"  # the bot user's display name (manifest.yml)
MEANWHILE = N_("Until then, alerts still reach whoever holds the pager by DM.")

# What to say of each problem someone can mend: {where} is the channel (or the user) as Slack
# shows it, {target} its id, {team} the team's name, {error} Slack's error.
_SAY = {
    Problem.not_member: N_(
        "I can't post in {where}: I'm not a member of it. Type `{invite}` in {where} so that "
        "*{team}*'s alerts show there."
    ),
    Problem.unknown_channel: N_(
        "I can't find the channel `{target}` where *{team}*'s alerts go: it was deleted, its id "
        "is mistyped in the setup file, or it is private and I'm not in it. Fix the team's "
        "`channel:` in the setup file, or type `{invite}` in the channel."
    ),
    Problem.archived: N_(
        "{where} is archived, so I can't post *{team}*'s alerts there. Unarchive it, or give the "
        "team another `channel:` in the setup file."
    ),
    Problem.restricted: N_(
        "A workspace or channel setting stops me from posting in {where} (Slack says "
        "`{error}`). Ask a Slack admin to let Watchkeeper post there."
    ),
    Problem.refused: N_(
        "Slack refused a message I built for {where} (`{error}`). That is a bug in Watchkeeper: "
        "please report it with this error."
    ),
    Problem.user_unreachable: N_(
        "I can't send DMs to {where} (Slack says `{error}`): their account may be deactivated. "
        "If they left, take them out of the setup file's rotations."
    ),
}


def has_notice(problem: Problem) -> bool:
    """Whether the pager holder is told of ``problem`` (someone can mend it)."""
    return problem in _SAY


def problem_notice(problem: Problem, target: str, team_name: str, error: str) -> Message | None:
    """What to tell the pager holder about ``problem`` with ``target`` (a channel, or a user's
    DM) for the team ``team_name``; None when there is nothing anyone can do about it (a message
    deleted by hand) or no way to say it (the bot's token no longer works)."""
    if not has_notice(problem):
        return None
    where = f"<@{target}>" if target.startswith(("U", "W")) else f"<#{target}>"
    text = ":warning: " + _(_SAY[problem]).format(
        where=where, target=target, team=team_name, error=error, invite=INVITE
    )
    return message(text, [section(text), context(_(MEANWHILE))])
