"""heartbeats: since when each heartbeat is watched, its last ping, and whether its silence was raised

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 10:00:00
"""

import sqlalchemy as sa

from storage.migrations.changes import new_table, reversible
from storage.migrations.columns import instant, string

revision: str = "0013"
down_revision: str | None = "0012"

upgrade, downgrade = reversible(
    new_table(
        "heartbeat",
        string("name", 64),
        instant("watched_since"),
        instant("last_ping_at", nullable=True),
        instant("missed_at", nullable=True),
        sa.PrimaryKeyConstraint("name"),
    )
)
