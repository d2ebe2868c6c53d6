"""The stand-in's workspace: its members, channels (and the bot's place in them), DMs and user
groups, as tests and the sandbox set them up."""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.sandbox.standin.base import StandInBase
from bot.sandbox.standin.records import Channel, SlackUser

USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
CHANNEL_ID = re.compile(r"^[CG][A-Z0-9]{2,}$")
USERGROUP_ID = re.compile(r"^S[A-Z0-9]{2,}$")


class Workspace(StandInBase):
    """The directory: members, channels and user groups."""

    def add_user(
        self,
        id: str,
        name: str,
        tz: str = "Europe/Paris",
        real_name: str | None = None,
        *,
        display_name: str | None = None,
        email: str | None = None,
        is_bot: bool = False,
        locale: str = "en-US",
    ) -> SlackUser:
        """Add (or replace) a workspace member; ``locale`` is their Slack client's language."""
        if not USER_ID.match(id):
            raise ValueError(f"user id {id!r} must look like U0ALICE: U or W, then capitals/digits")
        if not name:
            raise ValueError(f"user {id}: name must not be empty")
        try:
            ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(f"user {id}: unknown time zone {tz!r}") from error
        user = SlackUser(
            id=id,
            name=name,
            tz=tz,
            real_name=real_name or name,
            display_name=display_name if display_name is not None else name,
            email=email,
            is_bot=is_bot,
            locale=locale,
        )
        with self._lock:
            self._users[id] = user
            self._changed()
        return copy.deepcopy(user)

    def add_channel(
        self,
        id: str,
        name: str,
        members: Iterable[str] = (),
        *,
        bot_member: bool = True,
        archived: bool = False,
    ) -> Channel:
        """Add (or replace) a channel (private when its id starts with G).

        By default the bot was invited to it, as in a workspace set up for the bot; with
        ``bot_member=False`` it never was, and posting there is refused `not_in_channel`.
        """
        if not CHANNEL_ID.match(id):
            raise ValueError(f"channel id {id!r} must look like C0SUPPORT: C or G, then capitals")
        name = name.lstrip("#")
        if not name:
            raise ValueError(f"channel {id}: name must not be empty")
        people = [m for m in dict.fromkeys(members) if m != self.identity.bot_user_id]
        if bot_member:
            people.append(self.identity.bot_user_id)
        with self._lock:
            channel = Channel(
                id=id, name=name, created=self._now_int(), members=people, archived=archived
            )
            self._channels[id] = channel
            self._changed()
            return copy.deepcopy(channel)

    def invite_bot(self, channel: str) -> None:
        """Someone typed `/invite @bot` in ``channel``."""
        with self._lock:
            found = self._known_channel(channel)
            if self.identity.bot_user_id not in found.members:
                found.members.append(self.identity.bot_user_id)
            self._changed()

    def remove_bot(self, channel: str) -> None:
        """Someone removed the bot from ``channel`` (or it was never invited)."""
        with self._lock:
            found = self._known_channel(channel)
            found.members = [m for m in found.members if m != self.identity.bot_user_id]
            self._changed()

    def archive_channel(self, channel: str) -> None:
        """Archive ``channel``: nothing can be posted or edited there any more."""
        with self._lock:
            self._known_channel(channel).archived = True
            self._changed()

    def deactivate_user(self, user: str) -> None:
        """Deactivate a member's account: users.info then says `deleted: true`."""
        with self._lock:
            found = self._users.get(user)
            if found is None:
                raise KeyError(f"no user {user!r} in the stand-in workspace")
            found.deleted = True
            self._changed()

    def is_bot_member(self, channel: str) -> bool:
        """Whether the bot is in ``channel`` (always, for its DMs)."""
        with self._lock:
            found = self._known_channel(channel)
            return found.is_im or self.identity.bot_user_id in found.members

    def _known_channel(self, ref: str) -> Channel:
        found = self._channel_or_none(ref)
        if found is None:
            raise KeyError(f"no channel {ref!r} in the stand-in workspace")
        return found

    def add_usergroup(
        self, id: str, handle: str, name: str | None = None, users: Iterable[str] = ()
    ) -> None:
        """Add (or replace) a user group (Slack's @handle groups; ids start with S)."""
        if not USERGROUP_ID.match(id):
            raise ValueError(f"user group id {id!r} must look like S0ONCALL: S, then capitals")
        now = self._now_int()
        members = list(users)
        with self._lock:
            self._usergroups[id] = {
                "id": id,
                "team_id": self.identity.team_id,
                "is_usergroup": True,
                "is_subteam": True,
                "name": name or handle,
                "description": "",
                "handle": handle.lstrip("@"),
                "is_external": False,
                "date_create": now,
                "date_update": now,
                "date_delete": 0,
                "auto_type": None,
                "auto_provision": False,
                "enterprise_subteam_id": "",
                "created_by": self.identity.bot_user_id,
                "updated_by": self.identity.bot_user_id,
                "deleted_by": None,
                "prefs": {"channels": [], "groups": []},
                "users": members,
                "user_count": len(members),
                "channel_count": 0,
            }
            self._changed()

    def users(self) -> list[SlackUser]:
        """Every member, the bot and Slackbot included."""
        with self._lock:
            return copy.deepcopy(list(self._users.values()))

    def channels(self) -> list[Channel]:
        """Every channel and DM."""
        with self._lock:
            return copy.deepcopy(list(self._channels.values()))

    def user_name(self, user: str) -> str:
        """A member's username (Slack's `name`), as slash commands and payloads carry it."""
        with self._lock:
            found = self._users.get(user)
            if found is None:
                raise KeyError(f"no user {user!r} in the stand-in workspace")
            return found.name

    def channel_name(self, channel: str) -> str:
        """A channel's name; "directmessage" for a DM, as Slack names it in slash commands."""
        with self._lock:
            found = self._channel_or_none(channel)
            if found is None:
                raise KeyError(f"no channel {channel!r} in the stand-in workspace")
            return "directmessage" if found.is_im else found.name

    def dm_channel(self, user: str) -> str:
        """The id of the app's DM with `user` (stable; created on first use)."""
        with self._lock:
            if user not in self._users:
                raise KeyError(f"no user {user!r} in the stand-in workspace")
            dm = self._dm_for(user)
            self._changed()
            return dm.id

    def _add_builtin_users(self) -> None:
        self._users[self.identity.bot_user_id] = SlackUser(
            id=self.identity.bot_user_id,
            name=self.identity.bot_name,
            tz="America/Los_Angeles",
            real_name=self.identity.bot_name.capitalize(),
            display_name="",
            is_bot=True,
        )
        # Slack lists Slackbot among the members of every workspace.
        self._users["USLACKBOT"] = SlackUser(
            id="USLACKBOT",
            name="slackbot",
            tz="America/Los_Angeles",
            real_name="Slackbot",
            display_name="Slackbot",
        )
