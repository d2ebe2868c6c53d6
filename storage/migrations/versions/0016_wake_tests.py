"""wake tests: the test wake-ups people ask for in the App Home, sent once by the wake-up worker

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-08 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.migrations.columns import integer, lease, string

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "wake_test",
        integer("id"),
        string("user_id", 32),
        string("method", 64),
        string("status", 16),
        integer("attempts"),
        integer("claims"),
        *lease(error_length=500),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_wake_test_status_due", "wake_test", ["status", "next_attempt_at"])


def downgrade() -> None:
    op.drop_index("ix_wake_test_status_due", table_name="wake_test")
    op.drop_table("wake_test")
