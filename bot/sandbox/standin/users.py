"""users.info and users.list: the workspace's members as Slack describes them, time zone labels and
locales included."""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.sandbox.standin.base import ApiError, StandInBase
from bot.sandbox.standin.records import SlackUser

# Slack's tz_label is the zone's long name; zoneinfo only knows abbreviations.
_TZ_LABELS = {
    "UTC": "Coordinated Universal Time",
    "GMT": "Greenwich Mean Time",
    "BST": "British Summer Time",
    "WET": "Western European Time",
    "WEST": "Western European Summer Time",
    "CET": "Central European Time",
    "CEST": "Central European Summer Time",
    "EET": "Eastern European Time",
    "EEST": "Eastern European Summer Time",
    "MSK": "Moscow Time",
    "EST": "Eastern Standard Time",
    "EDT": "Eastern Daylight Time",
    "CST": "Central Standard Time",
    "CDT": "Central Daylight Time",
    "MST": "Mountain Standard Time",
    "MDT": "Mountain Daylight Time",
    "PST": "Pacific Standard Time",
    "PDT": "Pacific Daylight Time",
    "AKST": "Alaska Standard Time",
    "AKDT": "Alaska Daylight Time",
    "HST": "Hawaii-Aleutian Standard Time",
    "JST": "Japan Standard Time",
    "KST": "Korea Standard Time",
    "AEST": "Australian Eastern Standard Time",
    "AEDT": "Australian Eastern Daylight Time",
    "ACST": "Australian Central Standard Time",
    "ACDT": "Australian Central Daylight Time",
    "AWST": "Australian Western Standard Time",
    "NZST": "New Zealand Standard Time",
    "NZDT": "New Zealand Daylight Time",
    "SAST": "South Africa Standard Time",
}


class UsersMethods(StandInBase):
    """users.info and users.list."""

    def _user_json(self, user: SlackUser) -> dict[str, Any]:
        zone = ZoneInfo(user.tz)
        now = datetime.fromtimestamp(self._now(), zone)
        offset = now.utcoffset()
        offset_seconds = int(offset.total_seconds()) if offset is not None else 0
        abbreviation = now.tzname() or ""
        if abbreviation == "IST":
            # The same letters name Irish and India Standard Time.
            label = "India Standard Time" if user.tz.startswith("Asia/") else "Irish Standard Time"
        elif abbreviation in _TZ_LABELS:
            label = _TZ_LABELS[abbreviation]
        else:
            sign = "+" if offset_seconds >= 0 else "-"
            hours, minutes = divmod(abs(offset_seconds) // 60, 60)
            label = f"UTC{sign}{hours:02d}:{minutes:02d}"
        profile: dict[str, Any] = {
            "real_name": user.real_name,
            "display_name": user.display_name,
            "real_name_normalized": user.real_name,
            "display_name_normalized": user.display_name,
            "status_text": "",
            "status_emoji": "",
            "avatar_hash": hashlib.md5(user.id.encode()).hexdigest()[:12],
            "team": self.identity.team_id,
        }
        if user.email:
            profile["email"] = user.email
        if user.is_bot:
            profile["bot_id"] = (
                self.identity.bot_id if user.id == self.identity.bot_user_id else None
            )
        return {
            "id": user.id,
            "team_id": self.identity.team_id,
            "name": user.name,
            "deleted": user.deleted,
            "color": hashlib.md5(user.name.encode()).hexdigest()[:6],
            "real_name": user.real_name,
            "tz": user.tz,
            "tz_label": label,
            "tz_offset": offset_seconds,
            "profile": profile,
            "is_admin": False,
            "is_owner": False,
            "is_primary_owner": False,
            "is_restricted": False,
            "is_ultra_restricted": False,
            "is_bot": user.is_bot,
            "is_app_user": False,
            "updated": self._now_int(),
        }

    def _users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        user = self._user(args.get("user"))
        answer = self._user_json(user)
        # As Slack: the client's language only when asked for it.
        if str(args.get("include_locale", "")).lower() in ("1", "true"):
            answer["locale"] = user.locale
        return {"ok": True, "user": answer}

    def _users_list(self, args: dict[str, Any]) -> dict[str, Any]:
        members = list(self._users.values())
        start = 0
        cursor = str(args.get("cursor") or "")
        if cursor:
            try:
                after = base64.b64decode(cursor.encode(), validate=True).decode()
            except ValueError as error:
                raise ApiError("invalid_cursor") from error
            ids = [u.id for u in members]
            if not after.startswith("user:") or after[5:] not in ids:
                raise ApiError("invalid_cursor")
            start = ids.index(after[5:])
        try:
            limit = int(args.get("limit") or 0)
        except ValueError as error:
            raise ApiError("invalid_limit") from error
        page = members[start:] if limit <= 0 else members[start : start + limit]
        rest = members[start + len(page) :]
        next_cursor = base64.b64encode(f"user:{rest[0].id}".encode()).decode() if rest else ""
        return {
            "ok": True,
            "members": [self._user_json(u) for u in page],
            "cache_ts": self._now_int(),
            "response_metadata": {"next_cursor": next_cursor},
        }
