"""The schema changes the migrations make, each written once with its undoing (they build what
the revisions wrote out by hand before, to the same schema).

A revision lists its changes once: ``upgrade, downgrade = reversible(...)`` makes them in order
and undoes them in the reverse order, each undone as it was made (a table's indexes dropped
before the table, columns dropped in the reverse order they were added)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from alembic import op


@dataclass(frozen=True)
class Change:
    """One change of the schema: how an upgrade makes it and how a downgrade undoes it."""

    make: Callable[[], None]
    undo: Callable[[], None]


def reversible(*changes: Change) -> tuple[Callable[[], None], Callable[[], None]]:
    """A revision's upgrade (the changes made in order) and downgrade (undone in reverse)."""

    def upgrade() -> None:
        for change in changes:
            change.make()

    def downgrade() -> None:
        for change in reversed(changes):
            change.undo()

    return upgrade, downgrade


def undone(change: Change) -> Change:
    """A change the other way round: a revision dropping what an earlier one made."""
    return Change(make=change.undo, undo=change.make)


@dataclass(frozen=True)
class Index:
    """An index by name, on columns in order; ``where``: partial, over the rows it holds."""

    name: str
    columns: Sequence[str]
    unique: bool = False
    where: str | None = None

    def create(self, table: str) -> None:
        condition = {} if self.where is None else _where(self.where)
        op.create_index(self.name, table, list(self.columns), unique=self.unique, **condition)

    def drop(self, table: str) -> None:
        op.drop_index(self.name, table_name=table)


def index(name: str, *columns: str, unique: bool = False, where: str | None = None) -> Index:
    """An index named ``name`` on the columns, in this order."""
    return Index(name, columns, unique=unique, where=where)


def _where(condition: str) -> dict[str, Any]:
    return {f"{dialect}_where": sa.text(condition) for dialect in ("sqlite", "postgresql")}


def new_index(table: str, made: Index) -> Change:
    """An index added to a table."""
    return Change(make=lambda: made.create(table), undo=lambda: made.drop(table))


def new_table(
    name: str, *items: sa.schema.SchemaItem, indexes: Sequence[Index] = (), unlogged: bool = False
) -> Change:
    """A table of these columns and constraints, then its indexes in order. ``unlogged``: on
    PostgreSQL, not written to the WAL (a crash empties it)."""

    def make() -> None:
        postgresql = op.get_bind().dialect.name == "postgresql"
        prefixes = ["UNLOGGED"] if unlogged and postgresql else []
        op.create_table(name, *items, prefixes=prefixes)
        for made in indexes:
            made.create(name)

    def undo() -> None:
        for made in reversed(indexes):
            made.drop(name)
        op.drop_table(name)

    return Change(make=make, undo=undo)


def new_columns(table: str, *columns: sa.Column[Any]) -> Change:
    """Columns added to a table (in a batch, as SQLite copies the table to drop one)."""

    def make() -> None:
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in columns:
                batch_op.add_column(column)

    def undo() -> None:
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in reversed(columns):
                batch_op.drop_column(column.name)

    return Change(make=make, undo=undo)


def statement(sql: str) -> Change:
    """Rows rewritten by an SQL statement, kept as they are when the revision is undone."""
    return Change(make=lambda: op.execute(sql), undo=lambda: None)
