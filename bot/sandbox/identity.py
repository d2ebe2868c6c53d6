"""Who a Slack workspace is to the bot: the team, the app installed in it and the app's bot user;
by default the sandbox's workspace, which the stand-in serves and Slack's side speaks for."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class WorkspaceIdentity:
    """The ids and names Slack gives a workspace, the app installed in it and its bot user."""

    team_id: str = "T0SANDBOX"
    team_name: str = "Watchkeeper Sandbox"
    team_domain: str = "watchkeeper-sandbox"
    app_id: str = "A0WKAPP"
    bot_id: str = "B0WKBOT"
    bot_user_id: str = "U0WKBOT"
    bot_name: str = "watchkeeper"

    @property
    def url(self) -> str:
        """The workspace's address, e.g. https://watchkeeper-sandbox.slack.com/."""
        return f"https://{self.team_domain}.slack.com/"


SANDBOX_WORKSPACE = WorkspaceIdentity()
