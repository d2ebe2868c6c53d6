"""wake-ups: people's wake-up methods, the wake-ups due for alerts, and what was said once

``wake_method`` keeps the Apprise URLs people add in the App Home; ``wake_up`` the next wake-up
of each person paged for an alert, claimed with a lease like the outbox; ``wake_notice`` what
the bot told a person about their wake-ups (no method, a method refused), so it is said once.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-10 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "wake_method",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("url", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
        sa.Column("fingerprint", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user_id", "fingerprint", name="uq_wake_method"),
    )
    op.create_index("ix_wake_method_user_id", "wake_method", ["user_id"])
    op.create_table(
        "wake_up",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("sent", sa.Integer(), nullable=False),
        sa.Column("times", sa.Integer(), nullable=False),
        sa.Column("every_s", sa.Integer(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("reached", sa.JSON(), nullable=True),
        sa.Column("claims", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("locked_until", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("done_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["alert_id"], ["alert.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("alert_id", "user_id", name="uq_wake_up"),
    )
    op.create_index("ix_wake_up_alert_id", "wake_up", ["alert_id"])
    op.create_index("ix_wake_up_status_due", "wake_up", ["status", "next_attempt_at"])
    op.create_table(
        "wake_notice",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("about", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user_id", "about", name="uq_wake_notice"),
    )


def downgrade() -> None:
    op.drop_table("wake_notice")
    op.drop_index("ix_wake_up_status_due", table_name="wake_up")
    op.drop_index("ix_wake_up_alert_id", table_name="wake_up")
    op.drop_table("wake_up")
    op.drop_index("ix_wake_method_user_id", table_name="wake_method")
    op.drop_table("wake_method")
