"""wake tests: the test wake-ups people ask for in the App Home, sent once by the wake-up worker

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-08 10:00:00
"""

import sqlalchemy as sa

from storage.migrations.changes import index, new_table, reversible
from storage.migrations.columns import integer, lease, string

revision: str = "0016"
down_revision: str | None = "0015"

upgrade, downgrade = reversible(
    new_table(
        "wake_test",
        integer("id"),
        string("user_id", 32),
        string("method", 64),
        string("status", 16),
        integer("attempts"),
        integer("claims"),
        *lease(error_length=500),
        sa.PrimaryKeyConstraint("id"),
        indexes=[index("ix_wake_test_status_due", "status", "next_attempt_at")],
    )
)
