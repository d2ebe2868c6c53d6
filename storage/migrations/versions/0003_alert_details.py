"""alert details: the sender's other facts (values, custom_details), shown on the card

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 00:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

from storage.migrations.columns import add_columns, drop_columns

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    add_columns("alert", sa.Column("details", sa.JSON(), nullable=True))


def downgrade() -> None:
    drop_columns("alert", "details")
