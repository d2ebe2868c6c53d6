"""The migrations build exactly the tables the code declares, on SQLite and PostgreSQL: a column
or index added to a model without its migration (or the other way round) fails here; and each
migration's downgrade gives back the schema its upgrade found."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

import storage.models  # noqa: F401  (the tables register themselves on SQLModel.metadata)
from storage.db import make_engine
from storage.migrate import downgrade, revisions, upgrade


def test_the_migrated_schema_is_the_declared_one(engine: sa.Engine) -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, SQLModel.metadata) == []


def _schema(engine: sa.Engine) -> dict[str, object]:
    """Every table as the database describes it: columns in order (type, null, default), keys,
    indexes (partial ones with their condition) and unique constraints."""
    inspector = sa.inspect(engine)
    return {
        table: {
            "columns": [
                (c["name"], str(c["type"]), c["nullable"], c.get("default"))
                for c in inspector.get_columns(table)
            ],
            "primary_key": inspector.get_pk_constraint(table)["constrained_columns"],
            "foreign_keys": sorted(
                (fk["constrained_columns"], fk["referred_table"], fk["referred_columns"])
                for fk in inspector.get_foreign_keys(table)
            ),
            "indexes": sorted(
                (i["name"], i["column_names"], i["unique"], sorted(i.get("dialect_options", {})))
                for i in inspector.get_indexes(table)
            ),
            "unique": sorted(
                (u["name"], u["column_names"]) for u in inspector.get_unique_constraints(table)
            ),
        }
        for table in sorted(inspector.get_table_names())
        if table != "alembic_version"
    }


def test_each_downgrade_gives_back_the_schema_before_its_upgrade(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        before: dict[str, dict[str, object]] = {}
        for revision in ["base", *revisions()]:
            if revision != "base":
                upgrade(engine, revision)
            before[revision] = _schema(engine)
        for revision in reversed(["base", *revisions()[:-1]]):
            downgrade(engine, revision)
            assert _schema(engine) == before[revision], f"downgrade to {revision}"
    finally:
        engine.dispose()
