"""alert_event.note: what a timeline line says, as a key and its parameters, so that each
reader gets it in their own language (lines stored before keep their English detail)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

from storage.migrations.columns import add_columns, drop_columns

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    add_columns("alert_event", sa.Column("note", sa.JSON(), nullable=True))


def downgrade() -> None:
    drop_columns("alert_event", "note")
