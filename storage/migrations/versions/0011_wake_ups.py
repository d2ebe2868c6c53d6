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
from alembic import op

from storage.migrations.columns import instant, integer, lease, string

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "wake_method",
        integer("id"),
        string("user_id", 32),
        string("url", 2000),
        string("fingerprint", 64),
        instant("created_at"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user_id", "fingerprint", name="uq_wake_method"),
    )
    op.create_index("ix_wake_method_user_id", "wake_method", ["user_id"])
    op.create_table(
        "wake_up",
        integer("id"),
        integer("alert_id"),
        string("user_id", 32),
        string("status", 16),
        integer("sent"),
        integer("times"),
        integer("every_s"),
        integer("attempts"),
        sa.Column("reached", sa.JSON(), nullable=True),
        integer("claims"),
        *lease(error_length=500),
        sa.ForeignKeyConstraint(["alert_id"], ["alert.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("alert_id", "user_id", name="uq_wake_up"),
    )
    op.create_index("ix_wake_up_alert_id", "wake_up", ["alert_id"])
    op.create_index("ix_wake_up_status_due", "wake_up", ["status", "next_attempt_at"])
    op.create_table(
        "wake_notice",
        integer("id"),
        string("user_id", 32),
        string("about", 80),
        instant("at"),
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
