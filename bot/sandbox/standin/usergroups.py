"""usergroups.list, usergroups.users.list and usergroups.users.update: the @handle groups the bot
keeps pointed at whoever holds the pager."""

from __future__ import annotations

import copy
from typing import Any

from bot.sandbox.standin.base import ApiError, StandInBase


class UsergroupsMethods(StandInBase):
    """usergroups.list, usergroups.users.list and usergroups.users.update."""

    def _usergroups_users_update(self, args: dict[str, Any]) -> dict[str, Any]:
        if not args.get("usergroup"):
            raise ApiError("missing_argument")
        # User groups are a paid feature; a workspace may also keep their editing to admins.
        if self.plan == "free":
            raise ApiError("plan_upgrade_required")
        if self.usergroups_admins_only:
            raise ApiError("permission_denied")
        group = self._usergroups.get(str(args["usergroup"]))
        if group is None:
            raise ApiError("no_such_subteam")
        users = args.get("users")
        ids = users if isinstance(users, list) else str(users or "").split(",")
        ids = [str(u).strip() for u in ids if str(u).strip()]
        if not ids:
            # Slack cannot empty a group this way; usergroups.disable does that.
            raise ApiError("no_users_provided")
        for uid in ids:
            member = self._users.get(uid)
            if member is None:
                raise ApiError("invalid_users")
            if member.is_bot:
                raise ApiError("invalid_user")
        group["users"] = list(dict.fromkeys(ids))
        group["user_count"] = len(group["users"])
        group["date_update"] = self._now_int()
        self._usergroup_updates.setdefault(group["id"], []).append(list(group["users"]))
        self._changed()
        return {"ok": True, "usergroup": copy.deepcopy(group)}

    def _usergroups_users_list(self, args: dict[str, Any]) -> dict[str, Any]:
        if not args.get("usergroup"):
            raise ApiError("missing_argument")
        group = self._usergroups.get(str(args["usergroup"]))
        if group is None:
            raise ApiError("no_such_subteam")
        return {"ok": True, "users": list(group["users"])}

    def _usergroups_list(self, args: dict[str, Any]) -> dict[str, Any]:
        include_users = str(args.get("include_users", "")).lower() in ("1", "true")
        groups = []
        for group in self._usergroups.values():
            shown = copy.deepcopy(group)
            if not include_users:
                shown.pop("users")
            groups.append(shown)
        return {"ok": True, "usergroups": groups}
