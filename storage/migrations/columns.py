"""The columns the migrations repeat, written once (each builds what the revisions wrote out by
hand before, to the same schema)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlmodel.sql.sqltypes import AutoString

import storage.types


def string(name: str, length: int, *, nullable: bool = False) -> sa.Column[Any]:
    """A text column of at most `length` characters."""
    return sa.Column(name, AutoString(length=length), nullable=nullable)


def instant(name: str, *, nullable: bool = False) -> sa.Column[Any]:
    """A UTC instant."""
    return sa.Column(name, storage.types.UTCDateTime(timezone=True), nullable=nullable)


def integer(
    name: str, *, nullable: bool = False, server_default: str | None = None
) -> sa.Column[Any]:
    """A whole number (server_default: what rows present when the column is added get)."""
    return sa.Column(name, sa.Integer(), nullable=nullable, server_default=server_default)


def json(name: str) -> sa.Column[Any]:
    """A JSON document, or null."""
    return sa.Column(name, sa.JSON(), nullable=True)


def lease(*, error_length: int) -> list[sa.Column[Any]]:
    """A queued row's turn: when it is due, who holds it until when, its last error, and when it
    was queued and done."""
    return [
        instant("next_attempt_at"),
        instant("locked_until", nullable=True),
        string("last_error", error_length, nullable=True),
        instant("created_at"),
        instant("done_at", nullable=True),
    ]
