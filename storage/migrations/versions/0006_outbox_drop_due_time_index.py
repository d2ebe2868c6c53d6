"""outbox: drop the index on the due time alone

Every look at the outbox by due time asks for pending rows, which the index on (status,
next_attempt_at) serves; the index on next_attempt_at alone only cost a write for every row
queued, postponed or retried (two or more for every alert received).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 16:40:00
"""

from storage.migrations.changes import index, new_index, reversible, undone

revision: str = "0006"
down_revision: str | None = "0005"

upgrade, downgrade = reversible(
    undone(new_index("outbox", index("ix_outbox_next_attempt_at", "next_attempt_at")))
)
