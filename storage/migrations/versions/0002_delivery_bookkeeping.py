"""delivery bookkeeping: claims per outbox row, content hash per Slack message

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 23:55:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

from storage.migrations.columns import add_columns, drop_columns, integer

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    add_columns("outbox", integer("claims", server_default="0"))
    add_columns("slack_message", sa.Column("content_hash", sa.String(length=64), nullable=True))


def downgrade() -> None:
    drop_columns("slack_message", "content_hash")
    drop_columns("outbox", "claims")
