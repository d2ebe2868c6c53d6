"""The migrations build exactly the tables the code declares, on SQLite and PostgreSQL: a column
or index added to a model without its migration (or the other way round) fails here."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

import storage.models  # noqa: F401  (the tables register themselves on SQLModel.metadata)


def test_the_migrated_schema_is_the_declared_one(engine: sa.Engine) -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, SQLModel.metadata) == []
