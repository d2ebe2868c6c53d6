"""cover note: what the requester tells the team with a cover request, shown on its post

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 09:00:00
"""

from collections.abc import Sequence

from storage.migrations.columns import add_columns, drop_columns, string

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    add_columns("cover_request", string("note", 500, nullable=True))


def downgrade() -> None:
    drop_columns("cover_request", "note")
