"""What people chose for themselves in the App Home: their language."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session

from storage.db import read_scope, session_scope
from storage.models import PersonLanguage


def chosen_language(*, session: Session, user: str) -> str | None:
    """The language ``user`` picked, or None when they let the bot choose."""
    row = session.get(PersonLanguage, user)
    return row.language if row is not None else None


def choose_language(*, session: Session, user: str, language: str | None, now: datetime) -> None:
    """Keep ``user``'s pick (None: forget it, the bot chooses again)."""
    row = session.get(PersonLanguage, user)
    if language is None:
        if row is not None:
            session.delete(row)
        return
    if row is None:
        session.add(PersonLanguage(user=user, language=language, chosen_at=now))
    else:
        row.language, row.chosen_at = language, now
        session.add(row)


def read_chosen_language(engine: Engine, user: str) -> str | None:
    """chosen_language in a read-only session of its own (for the database threads)."""
    with read_scope(engine) as session:
        return chosen_language(session=session, user=user)


def save_chosen_language(engine: Engine, user: str, language: str | None, now: datetime) -> None:
    """choose_language in a transaction of its own (for the database threads)."""
    with session_scope(engine) as session:
        choose_language(session=session, user=user, language=language, now=now)
