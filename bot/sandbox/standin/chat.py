"""chat.* and reactions.add: posting, updating, deleting and reacting to messages; and what the
bot's answers to a response_url do to the conversation they came from."""

from __future__ import annotations

from typing import Any, NamedTuple

from bot.sandbox.standin.base import ApiError, StandInBase
from bot.sandbox.standin.limits import checked_blocks
from bot.sandbox.standin.records import (
    Channel,
    Edit,
    Ephemeral,
    Message,
)

# Slack's limits that apps trip over: blocks per message and per view, modal title length,
# views stacked in one modal, message text length.
MAX_MESSAGE_BLOCKS = 50
MAX_TEXT = 40_000


class Content(NamedTuple):
    """What a message shows: its text, blocks and attachments."""

    text: str
    blocks: list[dict[str, Any]]
    attachments: list[dict[str, Any]]


class ChatMethods(StandInBase):
    """Messages: chat.*, reactions.add and response_url answers."""

    def _post(
        self,
        channel: Channel,
        content: Content,
        *,
        thread_ts: Any = None,
        metadata: dict[str, Any] | None = None,
        source: str = "chat.postMessage",
    ) -> Message:
        msg = Message(
            channel=channel.id,
            ts=self._next_ts(),
            text=content.text,
            blocks=content.blocks,
            attachments=content.attachments,
            user=self.identity.bot_user_id,
            bot_id=self.identity.bot_id,
            thread_ts=str(thread_ts) if thread_ts else None,
            metadata=metadata,
            source=source,
        )
        self._messages.setdefault(channel.id, []).append(msg)
        return msg

    def _edit(self, msg: Message, content: Content) -> None:
        msg.edits.append(Edit(msg.text, msg.blocks, msg.attachments, self._monotonic()))
        msg.text, msg.blocks, msg.attachments = content

    def _content(self, args: dict[str, Any]) -> Content:
        """A message's text, blocks and attachments from a call's arguments, checked like Slack."""
        text = args.get("text") or ""
        blocks = args.get("blocks") or []
        attachments = args.get("attachments") or []
        if not isinstance(text, str):
            raise ApiError("invalid_arguments", messages=["[ERROR] `text` must be a string"])
        if not isinstance(blocks, list):
            raise ApiError("invalid_blocks_format")
        if not isinstance(attachments, list):
            raise ApiError("invalid_attachments")
        if not text and not blocks and not attachments:
            raise ApiError("no_text")
        if len(text) > MAX_TEXT:
            raise ApiError("msg_too_long")
        if len(blocks) > MAX_MESSAGE_BLOCKS:
            raise ApiError(
                "invalid_blocks",
                messages=[
                    f"[ERROR] no more than {MAX_MESSAGE_BLOCKS} items allowed "
                    "[json-pointer:/blocks]"
                ],
            )
        blocks = checked_blocks(blocks, "/blocks", "invalid_blocks", validate=self.validate_blocks)
        return Content(text, blocks, attachments)

    def _chat_post_message(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args.get("channel"))
        if channel.archived:
            raise ApiError("is_archived")
        channel = self._member_channel(channel.id)
        content = self._content(args)
        thread_ts = args.get("thread_ts") or None
        metadata = args.get("metadata") if isinstance(args.get("metadata"), dict) else None
        msg = self._post(channel, content, thread_ts=thread_ts, metadata=metadata)
        self._changed()
        return {"ok": True, "channel": channel.id, "ts": msg.ts, "message": self._message_json(msg)}

    def _chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        ref = str(args.get("channel") or "")
        # Slack updates DMs only by their D… id, never by the user's id.
        if ref in self._users:
            raise ApiError("channel_not_found")
        channel = self._channel(ref)
        if not args.get("ts"):
            raise ApiError("message_not_found")
        msg = self._find_message(channel.id, str(args["ts"]))
        if msg is None:
            raise ApiError("message_not_found")
        if msg.user != self.identity.bot_user_id:
            raise ApiError("cant_update_message")
        if channel.archived:
            raise ApiError("is_inactive")
        self._edit(msg, self._content(args))
        self._changed()
        return {
            "ok": True,
            "channel": channel.id,
            "ts": msg.ts,
            "text": msg.text,
            "message": self._message_json(msg),
        }

    def _chat_post_ephemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args.get("channel"))
        user = self._user(args.get("user"), "user_not_in_channel")
        content = self._content(args)
        eph = Ephemeral(channel.id, user.id, self._next_ts(), content.text, content.blocks)
        self._ephemerals.append(eph)
        self._changed()
        return {"ok": True, "message_ts": eph.ts}

    def _chat_delete(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args.get("channel"))
        msg = self._find_message(channel.id, str(args.get("ts") or ""))
        if msg is None:
            raise ApiError("message_not_found")
        if msg.user != self.identity.bot_user_id:
            raise ApiError("cant_delete_message")
        self._messages[channel.id].remove(msg)
        self._deleted.append(msg)
        self._changed()
        return {"ok": True, "channel": channel.id, "ts": msg.ts}

    def _chat_get_permalink(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args.get("channel"))
        msg = self._find_message(channel.id, str(args.get("message_ts") or ""))
        if msg is None:
            raise ApiError("message_not_found")
        link = f"{self.identity.url}archives/{channel.id}/p{msg.ts.replace('.', '')}"
        if msg.thread_ts and msg.thread_ts != msg.ts:
            link += f"?thread_ts={msg.thread_ts}&cid={channel.id}"
        return {"ok": True, "channel": channel.id, "permalink": link}

    def _reactions_add(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args.get("channel"))
        name = str(args.get("name") or "").strip(":")
        if not name or ":" in name or " " in name:
            raise ApiError("invalid_name")
        msg = self._find_message(channel.id, str(args.get("timestamp") or ""))
        if msg is None:
            raise ApiError("message_not_found")
        who = msg.reactions.setdefault(name, [])
        if self.identity.bot_user_id in who:
            raise ApiError("already_reacted")
        who.append(self.identity.bot_user_id)
        self._changed()
        return {"ok": True}

    def _apply_response(self, key: str, body: dict[str, Any]) -> str:
        """Do what a response_url answer asks to the conversation it came from; say what."""
        context = self._response_contexts.get(key)
        if context is None or context.channel is None:
            return "recorded"
        channel = self._channel_or_none(context.channel)
        if channel is None:
            return "recorded"
        blocks = list(body.get("blocks") or [])
        text = str(body.get("text") or "")
        content = Content(text, blocks, list(body.get("attachments") or []))
        if body.get("delete_original") or body.get("replace_original"):
            if context.message_ts is None:
                return "recorded"
            if context.is_ephemeral:
                for eph in self._ephemerals:
                    if eph.channel == channel.id and eph.ts == context.message_ts:
                        if body.get("delete_original"):
                            self._ephemerals.remove(eph)
                            return "deleted"
                        eph.text, eph.blocks, eph.replaced = text, blocks, True
                        return "replaced"
                return "recorded"
            msg = self._find_message(channel.id, context.message_ts)
            if msg is None:
                return "recorded"
            if body.get("delete_original"):
                self._messages[channel.id].remove(msg)
                self._deleted.append(msg)
                return "deleted"
            self._edit(msg, content)
            return "replaced"
        if body.get("response_type") == "in_channel":
            self._post(channel, content, thread_ts=body.get("thread_ts"), source="response_url")
            return "in_channel"
        if context.user is None:
            return "recorded"
        self._ephemerals.append(
            Ephemeral(channel.id, context.user, self._next_ts(), text, blocks, "response_url")
        )
        return "ephemeral"
