"""outbox: index pending rows by due time

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 01:00:00
"""

from storage.migrations.changes import index, new_index, reversible

revision: str = "0004"
down_revision: str | None = "0003"

upgrade, downgrade = reversible(
    new_index("outbox", index("ix_outbox_status_due", "status", "next_attempt_at"))
)
