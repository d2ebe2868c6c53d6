"""delivery bookkeeping: claims per outbox row, content hash per Slack message

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 23:55:00
"""

import sqlalchemy as sa

from storage.migrations.changes import new_columns, reversible
from storage.migrations.columns import integer

revision: str = "0002"
down_revision: str | None = "0001"

upgrade, downgrade = reversible(
    new_columns("outbox", integer("claims", server_default="0")),
    new_columns("slack_message", sa.Column("content_hash", sa.String(length=64), nullable=True)),
)
