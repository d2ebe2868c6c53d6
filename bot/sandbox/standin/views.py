"""views.open, .push, .update and .publish: modals and the App Home, with the triggers that open
them and the limits Slack puts on a view."""

from __future__ import annotations

import copy
import hashlib
import json
from typing import Any

from bot.sandbox.standin.base import ApiError, StandInBase
from bot.sandbox.standin.limits import Limits, checked_blocks
from bot.sandbox.standin.records import ViewRecord

# Slack lets an app answer a trigger with a modal for this long.
TRIGGER_TTL_SECONDS = 3.0
MAX_VIEW_BLOCKS = 100
MAX_MODAL_TITLE = 24
MAX_VIEW_STACK = 3
# A view's private_metadata, callback_id and external_id (docs.slack.dev, "Modals" and the
# view object reference).
MAX_PRIVATE_METADATA = 3000
MAX_VIEW_BYTES = 250_000  # a whole view, as JSON
MAX_VIEW_ID_FIELD = 255


class ViewsMethods(StandInBase):
    """Modals and the App Home: views.* and the triggers they need."""

    def issue_trigger(self, user: str) -> str:
        """A new trigger_id for an interaction by `user` (valid for `trigger_ttl` seconds)."""
        with self._lock:
            self._trigger_counter += 1
            n = self._trigger_counter
            secret = hashlib.sha256(f"{self._seed}:{n}:{user}".encode()).hexdigest()[:20]
            trigger = f"{self._now_int()}.{n}.{secret}"
            self._triggers[trigger] = (user, self._monotonic())
            return trigger

    def _new_view(
        self, args: dict[str, Any], kind: str, *, keep_id: str | None = None
    ) -> dict[str, Any]:
        """A view as Slack stores and returns it, from a call's `view` argument."""
        view = args.get("view")
        if not isinstance(view, dict):
            raise ApiError("invalid_arguments", messages=["[ERROR] missing required field: view"])
        if len(json.dumps(view, ensure_ascii=False).encode()) > MAX_VIEW_BYTES:
            raise ApiError("view_too_large")
        if view.get("type") != kind:
            raise ApiError(
                "invalid_arguments",
                messages=[f"[ERROR] `view.type` must be {kind!r} here [json-pointer:/view/type]"],
            )
        title = view.get("title") if isinstance(view.get("title"), dict) else None
        limits = Limits()
        if kind == "modal" and not title:
            limits.problems.append("[ERROR] missing required field: title [json-pointer:/view]")
        for name in ("title", "submit", "close"):
            limits.text(view.get(name), MAX_MODAL_TITLE, f"/view/{name}")
        limits.text(view.get("private_metadata"), MAX_PRIVATE_METADATA, "/view/private_metadata")
        for name in ("callback_id", "external_id"):
            limits.text(view.get(name), MAX_VIEW_ID_FIELD, f"/view/{name}")
        problems = limits.problems
        blocks = view.get("blocks") or []
        if not isinstance(blocks, list) or len(blocks) > MAX_VIEW_BLOCKS:
            problems.append(
                f"[ERROR] blocks must be a list of at most {MAX_VIEW_BLOCKS} [json-pointer:/view]"
            )
        if problems:
            raise ApiError("invalid_arguments", messages=problems)
        blocks = checked_blocks(
            blocks, "/view/blocks", "invalid_arguments", validate=self.validate_blocks
        )
        external_id = str(view.get("external_id") or "")
        if external_id and self._external_ids.get(external_id, keep_id) != keep_id:
            raise ApiError("duplicate_external_id")
        if keep_id is None:
            self._view_counter += 1
            view_id = f"V{self._view_counter:08X}"
        else:
            view_id = keep_id
        if external_id:
            self._external_ids[external_id] = view_id
        stored: dict[str, Any] = {
            "id": view_id,
            "team_id": self.identity.team_id,
            "type": kind,
            "blocks": blocks,
            "private_metadata": str(view.get("private_metadata") or ""),
            "callback_id": str(view.get("callback_id") or ""),
            "state": {"values": {}},
            "hash": f"{self._now_int()}.{self._view_counter:08x}{self._version:04x}",
            "title": title,
            "clear_on_close": bool(view.get("clear_on_close", False)),
            "notify_on_close": bool(view.get("notify_on_close", False)),
            "close": view.get("close"),
            "submit": view.get("submit"),
            "previous_view_id": None,
            "root_view_id": view_id,
            "app_id": self.identity.app_id,
            "external_id": external_id,
            "app_installed_team_id": self.identity.team_id,
            "bot_id": self.identity.bot_id,
        }
        if kind == "home":
            for name in ("title", "close", "submit", "root_view_id", "previous_view_id"):
                stored.pop(name)
        return stored

    def _trigger_user(self, args: dict[str, Any]) -> str | None:
        trigger = args.get("trigger_id") or args.get("interactivity_pointer")
        if not trigger:
            raise ApiError(
                "invalid_arguments", messages=["[ERROR] missing required field: trigger_id"]
            )
        issued = self._triggers.get(str(trigger))
        if issued is None:
            if self.strict_triggers:
                raise ApiError("invalid_arguments", messages=["invalid `trigger_id`"])
            return None
        user, at = issued
        if self._monotonic() - at > self.trigger_ttl:
            raise ApiError("expired_trigger_id")
        # A trigger opens one view: the next views.open or views.push with it is refused.
        if str(trigger) in self._exchanged:
            raise ApiError("exchanged_trigger_id")
        return user

    def _exchange(self, args: dict[str, Any]) -> None:
        """Spend the call's trigger: it opened its view."""
        self._exchanged.add(str(args.get("trigger_id") or args.get("interactivity_pointer")))

    def _record_view(self, view: dict[str, Any], user: str | None, method: str, args: Any) -> None:
        self._views[view["id"]] = view
        trigger = args.get("trigger_id")
        self._view_log.append(
            ViewRecord(view["id"], user, method, copy.deepcopy(view), trigger and str(trigger))
        )

    def _views_open(self, args: dict[str, Any]) -> dict[str, Any]:
        user = self._trigger_user(args)
        view = self._new_view(args, "modal")
        self._exchange(args)
        self._record_view(view, user, "views.open", args)
        if user is not None:
            self._stacks[user] = [view["id"]]
        self._changed()
        return {"ok": True, "view": copy.deepcopy(view)}

    def _views_push(self, args: dict[str, Any]) -> dict[str, Any]:
        user = self._trigger_user(args)
        stack = self._stacks.get(user, []) if user is not None else []
        if len(stack) >= MAX_VIEW_STACK:
            raise ApiError("push_limit_reached")
        view = self._new_view(args, "modal")
        self._exchange(args)
        if stack:
            view["previous_view_id"] = stack[-1]
            view["root_view_id"] = stack[0]
        self._record_view(view, user, "views.push", args)
        if user is not None:
            self._stacks.setdefault(user, []).append(view["id"])
        self._changed()
        return {"ok": True, "view": copy.deepcopy(view)}

    def _views_update(self, args: dict[str, Any]) -> dict[str, Any]:
        view_id = args.get("view_id")
        if not view_id and args.get("external_id"):
            view_id = self._external_ids.get(str(args["external_id"]))
        if not view_id and not args.get("external_id"):
            raise ApiError(
                "invalid_arguments", messages=["[ERROR] view_id or external_id is required"]
            )
        current = self._views.get(str(view_id or ""))
        if current is None or current["id"] in self._closed:
            # Slack answers the same for a modal its user closed: it is gone.
            raise ApiError("not_found")
        if args.get("hash") and args["hash"] != current["hash"]:
            raise ApiError("hash_conflict")
        user = next((r.user for r in reversed(self._view_log) if r.id == current["id"]), None)
        view = self._new_view(args, current["type"], keep_id=current["id"])
        for name in ("previous_view_id", "root_view_id"):
            if name in current:
                view[name] = current[name]
        self._record_view(view, user, "views.update", args)
        self._changed()
        return {"ok": True, "view": copy.deepcopy(view)}

    def _views_publish(self, args: dict[str, Any]) -> dict[str, Any]:
        user = self._user(args.get("user_id"))
        current_id = self._homes.get(user.id)
        if args.get("hash") and current_id and args["hash"] != self._views[current_id]["hash"]:
            raise ApiError("hash_conflict")
        view = self._new_view(args, "home", keep_id=current_id)
        self._homes[user.id] = view["id"]
        self._record_view(view, user.id, "views.publish", args)
        self._changed()
        return {"ok": True, "view": copy.deepcopy(view)}
