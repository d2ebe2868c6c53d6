"""heartbeats: since when each heartbeat is watched, its last ping, and whether its silence was raised

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "heartbeat",
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("watched_since", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_ping_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("missed_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("name"),
    )


def downgrade() -> None:
    op.drop_table("heartbeat")
