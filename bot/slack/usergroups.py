"""Slack's refusals to keep a team's user group, remembered so that each is said once.

A free workspace has no user groups (`plan_upgrade_required`), and a workspace may let only
admins edit them (`permission_denied`): no retry mends either, and trying again at every
handover would only repeat the same error. After a refusal the group is left alone until the
setup names another group for the team, or a day has passed (someone may have upgraded the
plan or opened the setting meanwhile).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

# The errors of usergroups.users.update that say the workspace itself will not have it.
REFUSALS = {
    "plan_upgrade_required": (
        "this workspace's plan has no user groups (a paid Slack plan has them): remove "
        "`usergroup:` from the team in the setup file, or upgrade the workspace"
    ),
    "permission_denied": (
        "the workspace lets only some people edit user groups, and the bot is not one of "
        "them: allow it in Workspace settings → Roles & permissions (create and edit user "
        "groups), or remove `usergroup:` from the team in the setup file"
    ),
}
QUIET_FOR = timedelta(days=1)


def refusal_fix(error: str) -> str | None:
    """What to do about a refusal of the workspace, or None for any other error."""
    return REFUSALS.get(error)


@dataclass
class UsergroupRefusals:
    """When Slack last refused to write each team's user group, by (team, user group)."""

    quiet_for: timedelta = QUIET_FOR
    _refused: dict[tuple[str, str], datetime] = field(default_factory=dict)

    def may_try(self, team: str, usergroup: str, now: datetime) -> bool:
        """Whether to write the group now: never refused, refused for another group of the
        team (the setup changed), or refused long enough ago."""
        refused_at = self._refused.get((team, usergroup))
        return refused_at is None or now - refused_at >= self.quiet_for

    def refused(self, team: str, usergroup: str, now: datetime) -> None:
        """Slack refused to write the group: leave it alone for a while."""
        self._refused = {k: v for k, v in self._refused.items() if k[0] != team}
        self._refused[(team, usergroup)] = now

    def written(self, team: str, usergroup: str) -> None:
        """Slack took the group: an earlier refusal no longer holds."""
        self._refused.pop((team, usergroup), None)
