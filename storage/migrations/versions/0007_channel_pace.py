"""channel_pace: a channel's posting turns, booked by every replica in one place

Slack takes about one message a second in a channel. Each process kept that pace for its own
posts only, so two replicas posting into one channel went at twice it and drew 429s (whose
Retry-After then held up that replica's posts to every channel). On PostgreSQL the turns are now
booked in this table. It is UNLOGGED there: a booking is worth a second, so it is not written to
the WAL and its commit does not wait for a disk flush (a crash empties the table, which only
starts every channel with a full burst again).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05 12:10:00
"""

import sqlalchemy as sa

from storage.migrations.changes import new_table, reversible
from storage.migrations.columns import instant, string

revision: str = "0007"
down_revision: str | None = "0006"

upgrade, downgrade = reversible(
    new_table(
        "channel_pace",
        string("channel", 64),
        instant("booked_until"),
        sa.PrimaryKeyConstraint("channel"),
        unlogged=True,
    )
)
