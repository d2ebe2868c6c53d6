"""The Slack messages posted for a subject (an alert's card, its DMs), kept to update them later."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, insert, update
from sqlmodel import Session, col, select

from storage.db import grouped
from storage.models import SlackMessage


def messages_of(*, session: Session, subject: str) -> list[SlackMessage]:
    """Every message posted for ``subject``, oldest first."""
    return messages_by_subject(session=session, subjects=[subject])[subject]


def messages_by_subject(
    *, session: Session, subjects: Collection[str]
) -> dict[str, list[SlackMessage]]:
    """``messages_of`` several subjects in one query."""
    return grouped(
        subjects,
        lambda keys: session.exec(_OF_SUBJECTS, params={"subjects": keys}),
        lambda message: message.subject,
    )


@dataclass(frozen=True)
class Posted:
    """A message just posted, to remember."""

    subject: str
    role: str
    recipient: str
    channel: str
    ts: str
    content_hash: str
    at: datetime


def record_posts(*, session: Session, posts: Sequence[Posted]) -> int:
    """Remember messages just posted, in one go; a message already remembered for the same
    subject, role and recipient (by a row tried before) is kept. Returns how many were new."""
    subjects = {post.subject for post in posts}
    if not subjects:
        return 0
    known = set(session.exec(_KEYS_OF_SUBJECTS, params={"subjects": list(subjects)}))
    rows = []
    for post in posts:
        key = (post.subject, post.role, post.recipient)
        if key in known:
            continue
        known.add(key)
        rows.append(
            {
                "subject": post.subject,
                "role": post.role,
                "recipient": post.recipient,
                "channel": post.channel,
                "ts": post.ts,
                "created_at": post.at,
                "updated_at": post.at,
                "content_hash": post.content_hash,
            }
        )
    if rows:
        session.execute(_INSERT, rows)
    return len(rows)


def note_update(*, session: Session, message_id: int, content_hash: str, now: datetime) -> None:
    """Remember that a message now shows the content hashed as ``content_hash``."""
    session.execute(_NOTE_UPDATE, {"message_id": message_id, "hash": content_hash, "at": now})


# Built once (the delivery worker asks them for every batch): building a statement costs more
# than running it.
_OF_SUBJECTS = (
    select(SlackMessage)
    .where(col(SlackMessage.subject).in_(bindparam("subjects", expanding=True)))
    .order_by(col(SlackMessage.id))
)
_KEYS_OF_SUBJECTS = select(SlackMessage.subject, SlackMessage.role, SlackMessage.recipient).where(
    col(SlackMessage.subject).in_(bindparam("subjects", expanding=True))
)
_TABLE = SlackMessage.__table__  # type: ignore[attr-defined]
_INSERT = insert(_TABLE)
_NOTE_UPDATE = (
    update(_TABLE)
    .where(_TABLE.c.id == bindparam("message_id"))
    .values(content_hash=bindparam("hash"), updated_at=bindparam("at"))
)
