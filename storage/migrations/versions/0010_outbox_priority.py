"""outbox priority: what a user waits on goes before the cards of a flood

Due deliveries were taken in the order they came due, so 300 new alerts into one channel held
up, behind their cards waiting at Slack's pace of a post a second, a critical alert, the DMs
paging the holder and the update of a card just acknowledged. Each row now has a priority
(0 first): rows are taken by priority, then by when they came due.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("priority", sa.Integer(), nullable=False, server_default="1"))


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("priority")
