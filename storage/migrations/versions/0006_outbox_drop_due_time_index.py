"""outbox: drop the index on the due time alone

Every look at the outbox by due time asks for pending rows, which the index on (status,
next_attempt_at) serves; the index on next_attempt_at alone only cost a write for every row
queued, postponed or retried (two or more for every alert received).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 16:40:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_next_attempt_at")


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_next_attempt_at", ["next_attempt_at"], unique=False)
