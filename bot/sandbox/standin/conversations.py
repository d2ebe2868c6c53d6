"""conversations.open, .info and .history: the app's DMs, what it may see of a channel, and a
channel's messages, page by page."""

from __future__ import annotations

import copy
from typing import Any

from bot.sandbox.standin.base import ApiError, StandInBase
from bot.sandbox.standin.records import Channel


class ConversationsMethods(StandInBase):
    """conversations.open, conversations.info and conversations.history."""

    def _conversations_open(self, args: dict[str, Any]) -> dict[str, Any]:
        users = args.get("users")
        if isinstance(users, list):
            users = ",".join(users)
        if not users:
            if args.get("channel"):
                channel = self._channel(args["channel"])
                if not channel.is_im:
                    raise ApiError("method_not_supported_for_channel_type")
                return {"ok": True, "no_op": True, "already_open": True, **self._im(channel)}
            raise ApiError("users_list_not_supplied")
        ids = [u.strip() for u in str(users).split(",") if u.strip()]
        if len(ids) > 1:
            # Multi-person DMs are not something the bot opens; say so plainly.
            raise ApiError("method_not_supported_for_channel_type")
        user = self._user(ids[0])
        if user.deleted:
            raise ApiError("user_disabled")
        existed = user.id in self._dms and self._dms[user.id] in self._channels
        channel = self._dm_for(user.id)
        self._changed()
        body: dict[str, Any] = {"ok": True}
        if existed:
            body.update(no_op=True, already_open=True)
        truthy = str(args.get("return_im", "")).lower() in ("1", "true")
        body.update(self._im(channel) if existed or truthy else {"channel": {"id": channel.id}})
        return body

    def _im(self, channel: Channel) -> dict[str, Any]:
        return {
            "channel": {
                "id": channel.id,
                "created": channel.created,
                "is_im": True,
                "is_org_shared": False,
                "user": channel.user,
                "last_read": "0000000000.000000",
                "latest": None,
                "unread_count": 0,
                "unread_count_display": 0,
                "is_open": True,
                "priority": 0,
            }
        }

    def _conversations_history(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._member_channel(args.get("channel"))
        oldest = float(args.get("oldest") or 0)
        latest = float(args.get("latest") or "inf")
        limit = max(1, min(int(args.get("limit") or 100), 999))
        cursor = str(args.get("cursor") or "")
        start = int(cursor.removeprefix("next:")) if cursor.startswith("next:") else 0
        with_metadata = str(args.get("include_all_metadata", "")).lower() in ("1", "true")
        found = [
            copy.deepcopy(m)
            for m in self._messages.get(channel.id, [])
            if (m.thread_ts is None or m.thread_ts == m.ts) and oldest <= float(m.ts) <= latest
        ]
        found.reverse()  # newest first, as Slack answers
        page = []
        for msg in found[start : start + limit]:
            body = self._message_json(msg)
            if not with_metadata:
                body.pop("metadata", None)
            page.append(body)
        more = len(found) > start + limit
        answer: dict[str, Any] = {
            "ok": True,
            "channel": channel.id,
            "messages": page,
            "has_more": more,
            "pin_count": 0,
        }
        if more:
            answer["response_metadata"] = {"next_cursor": f"next:{start + limit}"}
        return answer

    def _conversations_info(self, args: dict[str, Any]) -> dict[str, Any]:
        ref = str(args.get("channel") or "")
        channel = self._channels.get(ref)
        if channel is None:
            raise ApiError("channel_not_found")
        member = channel.is_im or self.identity.bot_user_id in channel.members
        if channel.is_private and not member:
            raise ApiError("channel_not_found")
        if channel.is_im:
            info: dict[str, Any] = {
                "id": channel.id,
                "created": channel.created,
                "is_im": True,
                "is_org_shared": False,
                "user": channel.user,
                "is_user_deleted": False,
                "priority": 0,
            }
        else:
            info = {
                "id": channel.id,
                "name": channel.name,
                "is_channel": True,
                "is_group": False,
                "is_im": False,
                "is_mpim": False,
                "is_private": channel.is_private,
                "created": channel.created,
                "is_archived": channel.archived,
                "is_general": False,
                "name_normalized": channel.name,
                "is_shared": False,
                "is_org_shared": False,
                "is_member": member,
                "creator": self.identity.bot_user_id,
                "topic": {"value": "", "creator": "", "last_set": 0},
                "purpose": {"value": "", "creator": "", "last_set": 0},
            }
            if str(args.get("include_num_members", "")).lower() in ("1", "true"):
                info["num_members"] = len(channel.members)
        return {"ok": True, "channel": info}
