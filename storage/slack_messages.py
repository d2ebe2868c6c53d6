"""The Slack messages posted for a subject (an alert's card, its DMs), kept to update them later."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, col, select

from storage.models import SlackMessage


def messages_of(*, session: Session, subject: str) -> list[SlackMessage]:
    """Every message posted for ``subject``, oldest first."""
    return list(
        session.exec(
            select(SlackMessage)
            .where(SlackMessage.subject == subject)
            .order_by(col(SlackMessage.id))
        )
    )


def find_message(
    *, session: Session, subject: str, role: str, recipient: str
) -> SlackMessage | None:
    """The message of ``role`` posted to ``recipient`` for ``subject``, if there is one."""
    return session.exec(
        select(SlackMessage).where(
            SlackMessage.subject == subject,
            SlackMessage.role == role,
            SlackMessage.recipient == recipient,
        )
    ).first()


def record_message(
    *,
    session: Session,
    subject: str,
    role: str,
    recipient: str,
    channel: str,
    ts: str,
    content_hash: str,
    now: datetime,
) -> SlackMessage:
    """Remember a message just posted, to update it later."""
    row = SlackMessage(
        subject=subject,
        role=role,
        recipient=recipient,
        channel=channel,
        ts=ts,
        created_at=now,
        updated_at=now,
        content_hash=content_hash,
    )
    session.add(row)
    session.flush()
    return row


def note_update(*, session: Session, message_id: int, content_hash: str, now: datetime) -> None:
    """Remember that a message now shows the content hashed as ``content_hash``."""
    session.execute(
        update(SlackMessage)
        .where(col(SlackMessage.id) == message_id)
        .values(content_hash=content_hash, updated_at=now)
    )
